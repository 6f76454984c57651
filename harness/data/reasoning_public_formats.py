"""Field mapping of each public reasoning benchmark onto ReasoningSample (I/O is in ``reasoning_public``).

Prompts follow HoneyBee's evaluation: the benchmark's question, then "(A) option" lines when the options are
given as text (the task kind adds them and the "Your final answer MUST BE put in \\boxed{}." suffix), graded by
harness.metrics.reasoning. Where the options live only in the image (MathVerse vision-only, MMMU-Pro vision,
DynaMath, LogicVista), choices stay None and the answer is the letter itself.
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from harness.data.reasoning_embedded import ReasoningSample
from harness.data.reasoning_public import Row
from harness.data.skips import SkipRow, describe, with_skips
from harness.errors import DataError

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
VISION_ONLY_QUESTION = "Answer the question shown in the image."
_WEMATH_OPTION = re.compile(r"(?:^|;)\s*([A-Z])[.:：]\s*")


def _letter_of(row: Row, answer: str, choices: list[str], field: str = "answer") -> str:
    """The option letter of ``answer``: the letter itself, or the option whose text equals it."""
    if len(answer) == 1 and answer.upper() in LETTERS[:len(choices)]:
        return answer.upper()
    if answer in choices:
        return LETTERS[choices.index(answer)]
    raise row.error(field, f"{answer!r} is neither an option letter nor one of the {len(choices)} options")


def _choices(row: Row, field: str) -> list[str]:
    value = row.opt(field, [])
    if isinstance(value, str):  # MMMU-Pro stores the list as its Python repr
        try:
            value = ast.literal_eval(value) if value.strip() else []
        except (ValueError, SyntaxError):
            raise row.error(field, "not a list of options") from None
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, (str, int, float)) for v in value):
        raise row.error(field, "not a list of options")
    return [str(v) for v in value]


def _image(row: Row) -> np.ndarray:
    """MathVista / MATH-Vision / DynaMath: ``image`` is a relative path; their parquet exports also carry the
    bytes in ``decoded_image``, used when the path is not in the folder."""
    path = row.get("image")
    if isinstance(path, str) and not (row.root / path).is_file() and row.get("decoded_image"):
        return row.image("decoded_image")
    return row.image("image")


def _sample(row: Row, id_field: str, question: str, images: list[np.ndarray], answer: str,
            choices: list[str] | None, category: str, difficulty: int = 0, **meta) -> ReasoningSample:
    return ReasoningSample(id=row.req(id_field), question=question, images=images, answer=answer,
                           choices=choices or None, category=category or "all", difficulty=difficulty, meta=meta)


def mathvista(row: Row, **_) -> ReasoningSample:
    qtype = row.req("question_type")
    question = row.req("question")
    if row.opt("unit"):
        question += f" (Unit: {row['unit']})"
    answer = row.req("answer")
    choices = None
    if qtype == "multi_choice":
        choices = _choices(row, "choices")
        answer = _letter_of(row, answer, choices)
    elif qtype != "free_form":
        raise row.error("question_type", f"expected multi_choice or free_form, got {qtype!r}")
    meta = row.opt("metadata", {})
    return _sample(row, "pid", question, [_image(row)], answer, choices,
                   meta.get("task", "") if isinstance(meta, dict) else "", answer_type=row.opt("answer_type", ""),
                   precision=row.opt("precision"))


def mathverse(row: Row, version: str = "Vision Only", **_) -> ReasoningSample | None:
    if row.req("problem_version").casefold() != version.casefold():
        return None
    question = str(row.opt("question", "")).strip() or VISION_ONLY_QUESTION
    meta = row.opt("metadata", {})
    return _sample(row, "sample_index", question, [row.image("image")], row.req("answer"), None,
                   meta.get("subject", "") if isinstance(meta, dict) else "", question_type=row.opt("question_type"))


def mathvision(row: Row, **_) -> ReasoningSample:
    choices = _choices(row, "options")
    answer = row.req("answer")
    if choices:
        answer = _letter_of(row, answer, choices)
    level = row.opt("level", 0)
    return _sample(row, "id", row.req("question"), [_image(row)], answer, choices,
                   row.opt("subject", ""), int(level) if str(level).isdigit() else 0)


def mmmu_pro(row: Row, **_) -> ReasoningSample:
    n_options = len(_choices(row, "options"))
    answer = row.req("answer").strip()
    if n_options and answer not in LETTERS[:n_options]:
        raise row.error("answer", f"{answer!r} is not one of the {n_options} option letters")
    question = "Answer the multiple-choice question shown in the image with the letter of the correct option."
    return _sample(row, "id", question, [row.image("image")], answer, None, row.opt("subject", ""),
                   n_options=n_options)


def wemath(row: Row, **_) -> ReasoningSample:
    text = row.req("option")
    parts = _WEMATH_OPTION.split(text)  # ["", "A", "text", "B", "text", ...]
    letters, choices = parts[1::2], [p.strip().rstrip(";").strip() for p in parts[2::2]]
    if not choices or letters != list(LETTERS[:len(letters)]):
        raise row.error("option", f"cannot parse options 'A. ...; B. ...' from {text[:60]!r}")
    answer = _letter_of(row, row.req("answer").strip(), choices)
    return _sample(row, "ID", row.req("question"), [row.image("image_path")], answer, choices,
                   row.opt("knowledge concept", ""), key=row.opt("key", ""))


def dynamath(row: Row, **_) -> ReasoningSample:
    level = {"elementary school": 1, "high school": 2, "undergraduate": 3}
    return _sample(row, "id", row.req("question"), [_image(row)], row.req("ground_truth"), None,
                   row.opt("subject", ""), level.get(str(row.opt("knowledge_level", "")).lower(), 0),
                   answer_type=row.opt("answer_type", ""))


def logicvista(row: Row, **_) -> ReasoningSample:
    row.setdefault("id", row.opt("_key"))
    skill = row.opt("skill", [])
    category = skill[0] if isinstance(skill, list) and skill else str(skill or row.opt("broad_capability", ""))
    return _sample(row, "id", row.question("question", "id"), [row.image("imagename")], row.question("answer", "id"),
                   None,
                   category)


def hallusionbench(row: Row, **_) -> ReasoningSample:
    gt = row.req("gt_answer")
    if gt not in ("0", "1"):
        raise row.error("gt_answer", f"expected '0' or '1', got {gt!r}")
    parts = [row.req(f) for f in ("category", "subcategory", "set_id", "figure_id", "question_id")]
    row["_id"] = "_".join(parts)
    images = [row.image("filename", subdirs=("", "hallusion_bench"))] if str(row.opt("visual_input", "0")) != "0" else []
    return _sample(row, "_id", row.req("question"), images, "Yes" if gt == "1" else "No", None,
                   row["category"], subcategory=row["subcategory"], visual_input=str(row.opt("visual_input")))


def math500(row: Row, **_) -> ReasoningSample:
    level = row.opt("level", 0)
    return _sample(row, "unique_id", row.question("problem", "unique_id"), [], row.req("answer"), None, row.opt("subject", ""),
                   int(level) if str(level).isdigit() else 0)


def gpqa(row: Row, seed: int = 0, **_) -> ReasoningSample:
    """Options: the correct answer and three incorrect ones, in an order drawn from (seed, question): the same
    for a question whatever the file order, different across seeds."""
    correct = row.req("Correct Answer").strip()
    options = [correct] + [row.req(f"Incorrect Answer {k}").strip() for k in (1, 2, 3)]
    question = row.req("Question").strip()
    key = int.from_bytes(hashlib.sha256(question.encode()).digest()[:8], "little")
    order = np.random.default_rng([seed, key]).permutation(4)
    choices = [options[j] for j in order]
    row.setdefault("_id", row.opt("Record ID") or f"gpqa-{key:016x}")
    return _sample(row, "_id", question, [], LETTERS[choices.index(correct)], choices,
                   row.opt("High-level domain", ""), subdomain=row.opt("Subdomain", ""))


@dataclass(frozen=True)
class Format:
    convert: Callable[..., ReasoningSample | None]
    patterns: tuple[str, ...]  # where the data file usually is, relative to the folder


FORMATS = {
    "mathvista": Format(mathvista, ("testmini.json", "data/testmini.json", "data/testmini-*.parquet")),
    "mathverse": Format(mathverse, ("testmini.json", "data/testmini-*.parquet")),
    "mathvision": Format(mathvision, ("data/test.jsonl", "test.jsonl", "data/test-*.parquet")),
    "mmmu_pro": Format(mmmu_pro, ("vision/test-*.parquet", "vision.jsonl", "vision.json")),
    "wemath": Format(wemath, ("testmini.json", "testmini.jsonl", "data/testmini-*.parquet")),
    "dynamath": Format(dynamath, ("sample_variant1.json", "data/sample_variant1-*.parquet")),
    "logicvista": Format(logicvista, ("dataset.json", "data/dataset.json")),
    "hallusionbench": Format(hallusionbench, ("HallusionBench.json",)),
    "math500": Format(math500, ("test.jsonl", "math500.jsonl")),
    "gpqa": Format(gpqa, ("gpqa_diamond.csv", "dataset/gpqa_diamond.csv")),
}


def convert(fmt: str, rows: list[Row], **kwargs) -> list[ReasoningSample]:
    """Rows -> samples (rows a format filters out, e.g. other MathVerse versions, are skipped); ids must be unique."""
    samples, seen, skipped = [], {}, {}
    for row in rows:
        try:
            sample = FORMATS[fmt].convert(row, **kwargs)
        except SkipRow as skip:
            skipped[skip.row_id] = skip.reason
            continue
        if sample is None:
            continue
        if sample.id in seen:
            raise DataError(f"{row.where}: duplicate sample id {sample.id!r} (first at {seen[sample.id]})")
        seen[sample.id] = row.where
        samples.append(sample)
    if not samples and skipped:
        raise DataError(f"{rows[0].where.split(':')[0]}: no {fmt} row can be scored ({describe(skipped)})")
    if not samples:
        raise DataError(f"{rows[0].where.split(':')[0]}: no {fmt} samples" + (f" with {kwargs}" if kwargs else ""))
    return with_skips(samples, skipped)
