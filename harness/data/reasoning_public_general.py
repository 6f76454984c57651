"""Converters of the public multi-discipline, logic and hallucination benchmarks (MMMU-Pro, LogicVista,
HallusionBench, GPQA): one row of a release -> a ReasoningSample (see ``reasoning_public_formats``)."""

from __future__ import annotations

import ast
import hashlib

import numpy as np

from harness.data.reasoning_embedded import ReasoningSample
from harness.data.reasoning_public import Row
from harness.data.reasoning_public_fields import (
    LETTERS,
    image_field,
    list_field,
    make_sample,
    sample_id_of,
)
from harness.data.skips import SkipRow
from harness.protocols import honeybee_prompts as hbp
from harness.protocols import native

MMMU_PRO_QUESTION = "Answer the multiple-choice question shown in the image with the letter of the correct option."


def mmmu_pro(row: Row, **_) -> ReasoningSample:
    """Vision setting: question and options are rendered in the image; the options field lists them as text."""
    sample_id = sample_id_of(row, "id")
    options = list_field(row, "options")
    answer = row.req("answer").strip()
    if options and answer not in LETTERS[: len(options)]:
        raise row.error("answer", f"{answer!r} is not one of the {len(options)} option letters")
    item = {"instruction": "", "response": row["answer"], "options": hbp.roundtrip(row.get("options"))}
    return make_sample(
        row,
        "mmmu_pro",
        sample_id,
        MMMU_PRO_QUESTION,
        [image_field(row, ("image",))],
        item,
        native.COT_VISION,
        None,
        row.opt("subject", ""),
        n_options=len(options),
    )


def logicvista(row: Row, **_) -> ReasoningSample:
    """GitHub ``data/dataset.json`` (id -> {imagename, question, answer, skill}) or lscpku/LogicVista (``image``
    struct, no ``imagename``)."""
    sample_id = sample_id_of(row, "id", "_key", "question_id")
    for field in ("question", "answer"):  # GitHub record v1_382 has both empty
        if not str(row.opt(field, "")).strip():
            raise SkipRow(sample_id, f"empty {field}")
    question = row["question"].strip()
    skill = row.opt("skill", [])
    if isinstance(skill, str) and skill.startswith("["):
        try:
            skill = ast.literal_eval(skill)
        except (ValueError, SyntaxError):
            pass
    category = skill[0] if isinstance(skill, list) and skill else str(skill or row.opt("broad_capability", ""))
    item = {"instruction": row["question"], "response": row.req("answer")}
    return make_sample(
        row,
        "logicvista",
        sample_id,
        question,
        [image_field(row, ("image", "imagename"))],
        item,
        native.plain(question),
        None,
        category,
    )


def hallusionbench(row: Row, include_text_only: bool = False, **_) -> ReasoningSample | None:
    """GitHub ``HallusionBench.json`` (``filename`` paths, ``visual_input`` "0" for text-only questions) or
    lmms-lab/HallusionBench (``image`` split parquet with image bytes; ``non_image`` for the text-only ones)."""
    visual = str(row.opt("visual_input", "1")) != "0"
    if not visual and not include_text_only:
        return None
    parts = [str(row.req(f)) for f in ("category", "subcategory", "set_id", "figure_id", "question_id")]
    sample_id = "_".join(parts)
    question = row.question("question", "question_id")
    gt = row.req("gt_answer")
    if gt not in ("0", "1"):  # HoneyBee would read anything but "1" as "No"; the release holds only "0"/"1"
        raise row.error("gt_answer", f"expected '0' or '1', got {gt!r}")
    images = [image_field(row, ("image", "filename"))] if visual else []
    item = {"instruction": row["question"], "response": gt}
    return make_sample(
        row,
        "hallusionbench",
        sample_id,
        question,
        images,
        item,
        native.with_suffix(question),
        None,
        parts[0],
        subcategory=parts[1],
        visual_input=str(row.opt("visual_input", "1")),
    )


def gpqa(row: Row, seed: int = 0, **_) -> ReasoningSample:
    """The correct answer and three incorrect ones in an order drawn from (seed, question): the same for a question
    whatever the file order, different across seeds. HoneyBee shuffles with an unseeded ``random.shuffle``, which
    cannot be reproduced: its option order (and so its gold letters) differ run to run."""
    raw = [row.req("Correct Answer")] + [row.req(f"Incorrect Answer {k}") for k in (1, 2, 3)]
    question = row.question("Question", "Record ID")
    key = int.from_bytes(hashlib.sha256(question.encode()).digest()[:8], "little")
    order = np.random.default_rng([seed, key]).permutation(4)
    shuffled = [raw[j] for j in order]
    letter = LETTERS[next(i for i, a in enumerate(shuffled) if a == raw[0])]
    options = ", ".join(f"{LETTERS[i]}: {a}" for i, a in enumerate(shuffled))  # eval/data.py's option string
    item = {"instruction": row["Question"], "options": options, "response": letter}
    choices = [a.strip() for a in shuffled]
    sample_id = str(row.opt("Record ID") or f"gpqa-{key:016x}")
    return make_sample(
        row,
        "gpqa",
        sample_id,
        question,
        [],
        item,
        native.plain(question, choices),
        choices,
        row.opt("High-level domain", ""),
        subdomain=row.opt("Subdomain", ""),
    )
