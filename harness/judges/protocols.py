"""Judge protocols: the official prompt templates (read at run time, see templates.py), the message layout and a
versioned parser. ``request_identity()`` — template file hash, layout, how requests are built — keys every stored
judge call, so other templates or another layout never reuse old replies; ``identity()`` adds the protocol's name
and parser version and goes into the run's spec, so a fixed parser re-scores the stored replies (a new run id)
without asking the judge again.

- ``viescore_tie`` / ``viescore_tie_qwen``: GEdit-Bench's VIEScore TIE, stepfun-ai/Step1X-Edit
  GEdit-Bench/viescore/__init__.py (``VIEScore.evaluate``) with the prompts of viescore/vie_prompts.py. SC call:
  [source, edit resized to the source size] + context/two-image rule/TIE SC rule (``<instruction>`` filled in) ->
  two 0-10 scores, SC = min; PQ call: [edit] + context/PQ rule -> naturalness and artifacts, PQ = min;
  O = sqrt(SC * PQ) per sample (calculate_statistics.py). Layouts: GPT-4.1 backend (mllm_tools/openai.py: text
  first, then images as JPEG at PIL's default quality 75) or the Qwen2.5-VL backend (mllm_tools/qwen25vl_eval.py:
  images first as PNG, then text). Parsing re-states viescore/utils.py ``mllm_output_to_dict``: the text between
  two ``||V^=^V||`` delimiters, else from the first ``{`` to the last ``}``, else a bare ``[a, b]`` list or a bare
  0-10 integer; ``score`` made a list. When either reply does not parse, both calls are made again once (the
  official ``max_tries = 1``); with the official failure policy that second round guesses ``random.randint(0, 10)``
  for a reply with no JSON at all, seeded 42 per call as the Qwen backend's ``set_seed(42)`` makes it (= 10).
- ``imgedit_basic`` / ``imgedit_uge``: PKU-YuanGroup/ImgEdit Benchmark/Basic/basic_bench.py with the per-type
  rubric of prompts.json (``<edit_prompt>`` filled in), Benchmark/UGE/UGE_bench.py with its module-level ``prompt``:
  text, then the original image file's bytes and the edit as PNG, both sent as ``data:image/png``. Parsing
  re-states step1_get_avgscore.py: every line ``X: <digits>`` (split on ``": "`` into exactly two parts) is a
  score; the sample's score is round(mean, 2). Upstream silently drops samples with no such line; here they are
  parse failures, counted and listed (the mean is the same either way).
"""

from __future__ import annotations

import io
import json
import math
import random
import re
from pathlib import Path

import numpy as np
from PIL import Image

from harness.errors import DataError
from harness.judges import templates as tpl
from harness.judges.base import JudgeRequest, Part

VIESCORE_DELIMITER = "||V^=^V||"  # viescore/utils.py
VIESCORE_GUESS_SEED = 42  # qwen25vl_eval.py get_parsed_output: set_seed(42) before every call
IMGEDIT_PLACEHOLDER = "<edit_prompt>"


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def _jpeg(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).convert("RGB").save(buf, format="JPEG")  # PIL default quality 75, as upstream
    return buf.getvalue()


class Protocol:
    name = ""
    version = 1  # the parser / scoring version: bump it when parse() or combine() change
    request_version = 1  # bump it when build() changes what is sent
    metrics: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    retries = 0  # extra rounds (all roles re-asked) when a reply does not parse
    required: tuple[str, ...] = ()
    family = ""  # protocols of one family build the same requests (they may parse differently)

    def __init__(self, templates_file: Path, sha256: str, source: str = ""):
        self.templates_file, self.sha256 = templates_file, sha256
        self.templates = tpl.load(templates_file, sha256, self.required, source)

    def request_identity(self) -> dict:
        return {"family": self.family, "templates_sha256": self.sha256, "request_version": self.request_version}

    def identity(self) -> dict:
        return {"protocol": self.name, "version": self.version, **self.request_identity()}

    def build(self, sample, edit: np.ndarray, role: str) -> JudgeRequest:
        raise NotImplementedError

    def parse(self, role: str, text: str, give_up: bool = False):
        """The role's parsed value, or None when the reply does not parse."""
        raise NotImplementedError

    def combine(self, parsed: dict) -> dict[str, float]:
        raise NotImplementedError


class VIEScoreTIE(Protocol):
    name = "viescore_tie"
    metrics = ("viescore_sc", "viescore_pq", "viescore_o")
    roles = ("sc", "pq")
    retries = 1
    required = (
        "_context_no_delimit",
        "_prompts_0shot_two_image_edit_rule",
        "_prompts_0shot_tie_rule_SC",
        "_prompts_0shot_rule_PQ",
    )
    images_first = False

    family = "viescore_tie"

    def request_identity(self) -> dict:
        layout = "images-first-png" if self.images_first else "text-first-jpeg75"
        return {**super().request_identity(), "layout": layout}

    def prompt(self, role: str, instruction: str) -> str:
        t = self.templates
        if role == "sc":
            return "\n".join(
                [t["_context_no_delimit"], t["_prompts_0shot_two_image_edit_rule"], t["_prompts_0shot_tie_rule_SC"]]
            ).replace("<instruction>", instruction)
        return "\n".join([t["_context_no_delimit"], t["_prompts_0shot_rule_PQ"]])

    def build(self, sample, edit: np.ndarray, role: str) -> JudgeRequest:
        source = sample.source
        if edit.shape[:2] != source.shape[:2]:  # test_gedit_score.py: edit.resize(source size), PIL bicubic
            edit = np.asarray(Image.fromarray(edit).resize((source.shape[1], source.shape[0]), Image.BICUBIC))
        images = [source, edit] if role == "sc" else [edit]
        encode, mime = (_png, "image/png") if self.images_first else (_jpeg, "image/jpeg")
        image_parts = [Part("image", data=encode(im), mime=mime) for im in images]
        text = Part("text", text=self.prompt(role, sample.instruction))
        return JudgeRequest(tuple([*image_parts, text] if self.images_first else [text, *image_parts]))

    def parse(self, role: str, text: str, give_up: bool = False):
        scores = parse_viescore(text, give_up)
        if not scores or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in scores):
            return None
        return scores

    def combine(self, parsed: dict) -> dict[str, float]:
        sc, pq = float(min(parsed["sc"])), float(min(parsed["pq"]))
        return {"viescore_sc": sc, "viescore_pq": pq, "viescore_o": math.sqrt(sc * pq)}


class VIEScoreTIEQwen(VIEScoreTIE):
    name = "viescore_tie_qwen"
    images_first = True


def parse_viescore(text: str, give_up: bool = False) -> list | None:
    """The ``score`` list of a VIEScore reply, or None. ``give_up``: the official second-round guess."""
    if text.count(VIESCORE_DELIMITER) == 2:
        body = text[text.find(VIESCORE_DELIMITER) + len(VIESCORE_DELIMITER) : text.rfind(VIESCORE_DELIMITER)]
    elif text.find("{") != -1 and text.rfind("}") != -1:
        body = text[text.find("{") : text.rfind("}") + 1]
    else:
        bracket = text[text.find("[") : text.rfind("]") + 1] if "[" in text and "]" in text else ""
        if give_up:
            return [random.Random(VIESCORE_GUESS_SEED).randint(0, 10)]
        if re.match(r"^\[\d+, ?\d+\]$", bracket):
            return json.loads(bracket)
        try:  # is_int_between_0_and_10: Python's int(), which allows surrounding whitespace
            number = int(text)
        except ValueError:
            return None
        return [number] if 0 <= number <= 10 else None
    body = body.strip().replace("\n", "")
    try:
        data = json.loads(body)
    except ValueError:
        data = _repair(body)
    if not isinstance(data, dict) or "score" not in data:
        return None
    return data["score"] if isinstance(data["score"], list) else [data["score"]]


def _repair(body: str):
    """viescore/utils.py ``fix_json``: quote bare keys, wrap bare numbers in a list; None if still not JSON.
    (Upstream returns the repaired dict without making ``score`` a list; ``min`` then fails and the item is
    retried, so a repaired non-list score is treated as a parse failure here.)"""
    fixed = re.sub(r"(\w+):", r'"\1":', body)

    def value(m):
        key, val, comma = m.groups()
        val = val.strip()
        if re.match(r"^-?\d+(\.\d+)?$", val):
            val = f"[{val}]"
        elif not re.match(r"^(true|false|null)$", val, re.IGNORECASE):
            val = f'"{val}"'
        return f"{key}: {val}{comma}"

    try:
        data = json.loads(re.sub(r'(".*?"):(.*?)(,|})', value, fixed))
    except ValueError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("score"), list) else None


class ImgEditBasic(Protocol):
    name = "imgedit_basic"
    family = "imgedit"
    metrics = ("imgedit_score",)
    roles = ("rubric",)

    def template(self, sample) -> str:
        if sample.edit_type not in self.templates:
            raise DataError(
                f"{self.templates_file}: no rubric for edit_type {sample.edit_type!r} (sample {sample.id!r})"
            )
        return self.templates[sample.edit_type]

    def build(self, sample, edit: np.ndarray, role: str) -> JudgeRequest:
        text = self.template(sample).replace(IMGEDIT_PLACEHOLDER, sample.instruction)
        # basic_bench.py sends the original file's bytes labelled image/png whatever their format, then the edit.
        path = sample.meta.get("source_path")
        original = Path(path).read_bytes() if path and Path(path).is_file() else _png(sample.source)
        return JudgeRequest(
            (
                Part("text", text=text),
                Part("image", data=original, mime="image/png"),
                Part("image", data=_png(edit), mime="image/png"),
            )
        )

    def parse(self, role: str, text: str, give_up: bool = False):
        scores = []
        for line in text.splitlines():
            parts = line.strip().split(": ")
            if len(parts) == 2 and parts[1].isdigit():
                scores.append(int(parts[1]))
        return round(sum(scores) / len(scores), 2) if scores else None

    def combine(self, parsed: dict) -> dict[str, float]:
        return {"imgedit_score": float(parsed["rubric"])}


class ImgEditUGE(ImgEditBasic):
    name = "imgedit_uge"
    required = ("prompt",)

    def template(self, sample) -> str:
        return self.templates["prompt"]


PROTOCOLS: dict[str, type[Protocol]] = {p.name: p for p in (VIEScoreTIE, VIEScoreTIEQwen, ImgEditBasic, ImgEditUGE)}
