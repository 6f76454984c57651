"""Field mapping of each public reasoning benchmark onto ReasoningSample (I/O is in ``reasoning_public``).

Each converter reads one row in any of the benchmark's release forms (the GitHub/original JSON and the Hugging Face
snapshot parquet, including the variants HoneyBee evaluates) and builds:
- ``answer``: the gold as HoneyBee's ``get_processed_response`` makes it (an option letter where the gold is one
  of the options); ``mcq``: HoneyBee's per-item multiple-choice decision (``is_mcq``);
- ``prompts["honeybee"]``: exactly HoneyBee's prompt (harness/protocols/honeybee_prompts.py), and
  ``prompts["native"]``: the benchmark's own prompt (harness/protocols/native.py);
- ``choices``: the options as text, where the release gives them as text (for the ``strict`` grader);
- an id unique by construction.
HoneyBee's item keeps each field as released (no stripping): its prompt is built from the raw text. Rows that
cannot be scored (an empty question or gold) are skipped and counted.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from harness.data.reasoning_embedded import ReasoningSample
from harness.data.reasoning_public import Row
from harness.data.skips import SkipRow, describe, with_skips
from harness.errors import DataError
from harness.protocols import honeybee_prompts as hbp
from harness.protocols import native

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
VISION_ONLY_QUESTION = "Answer the question shown in the image."
MMMU_PRO_QUESTION = "Answer the multiple-choice question shown in the image with the letter of the correct option."
_LABEL = re.compile(r"^\s*([A-Z])\s*[.．:：]\s*")
_INLINE_LABEL = r"\s{}\s*[.．:：]\s*"


def _letter_of(row: Row, answer: str, choices: list[str], field: str = "answer") -> str:
    """The option letter of ``answer``: the letter itself, or the option whose text equals it."""
    if len(answer) == 1 and answer.upper() in LETTERS[: len(choices)]:
        return answer.upper()
    if answer in choices:
        return LETTERS[choices.index(answer)]
    raise row.error(field, f"{answer!r} is neither an option letter nor one of the {len(choices)} options")


def _list_field(row: Row, field: str) -> list:
    """A list of options, given as a list or as its Python repr (MMMU-Pro); a list nested in a one-element list
    (MMMU-Pro validation_Accounting_29: ``"[['A', 'B', 'Not enough information']]"``) is read as the inner list."""
    value = row.opt(field, [])
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value) if value.strip() else []
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise row.error(field, "not a list of options") from None
    if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], (list, tuple)):
        value = value[0]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, (str, int, float)) for v in value):
        raise row.error(field, "not a list of options")
    return [str(v) for v in value]


def parse_labelled_options(text: str) -> tuple[str, list[str]] | None:
    """We-Math's ``option`` string ("A. 6; B. 12; C. 24") -> (labels, texts), tolerant of what the release holds:
    full-width ``．``/``：``/``；``, options with no ``;`` between them ("A. 6 B. 12"), skipped letters (C -> F)
    and labels inside an option's text (``_starts_option``). None when the text does not start with "A.". Checked
    on all 1740 rows of We-Math's GitHub ``data/testmini.json``: all parse, every gold is a label, and the one
    non-consecutive sequence (A, B, C, F) is the release's own."""
    parts = re.split(r"\s*[;；]\s*", text.strip())
    labels = [(m[1] if m else None) for m in map(_LABEL.match, parts)]
    options: list[list[str]] = []
    for i, part in enumerate(parts):
        m = _LABEL.match(part)
        if m and _starts_option(m[1], part[m.end() :], options[-1][0] if options else None, labels[i + 1 :]):
            options.append([m[1], part[m.end() :]])
        elif options:
            options[-1][1] += "; " + part
        elif part:
            return None
    if not options:
        return None
    k = 0
    while k < len(options):  # "A. 6 B. 12": the next letter's label inside the text starts the next option
        label, body = options[k]
        nxt = chr(ord(label) + 1)
        if k + 1 == len(options) or options[k + 1][0] > nxt:
            m = re.search(_INLINE_LABEL.format(nxt), body)
            if m:
                options[k][1] = body[: m.start()]
                options.insert(k + 1, [nxt, body[m.end() :]])
        k += 1
    return "".join(o[0] for o in options), [o[1].strip().rstrip(";；").strip() for o in options]


def _starts_option(label: str, body: str, previous: str | None, later: list[str | None]) -> bool:
    """Whether "X. body" after a separator opens option X: the first is A; then the next letter, or a skip of at
    most three letters when the skipped-to-next letter never opens a later part (C -> F); a label with no text
    ("...rotated around point ;O." / "north to ;C.  ;B. ...") belongs to the text before it."""
    if not body.strip():
        return False
    if previous is None:
        return label == "A"
    step = ord(label) - ord(previous)
    return step == 1 or (1 < step <= 3 and chr(ord(previous) + 1) not in later)


def _image(row: Row, fields: tuple[str, ...]) -> np.ndarray:
    """The first of ``fields`` that holds image bytes or an existing file (HF snapshots carry ``decoded_image`` /
    ``image`` structs, GitHub releases a relative path)."""
    present = [f for f in fields if row.get(f) not in (None, "")]
    for f in present:
        value = row[f]
        if isinstance(value, (bytes, dict)) and (not isinstance(value, dict) or value.get("bytes")):
            return row.image(f)
    for f in present:
        value = row[f]
        rel = value.get("path") if isinstance(value, dict) else value
        if (
            isinstance(rel, str)
            and rel
            and any(
                p.is_file()
                for p in [
                    row.file_dir / rel.removeprefix("./"),
                    *(row.root / sub / rel.removeprefix("./") for sub in ("", "images", "data", "data/images")),
                ]
            )
        ):
            return row.image(f)
    if present:
        return row.image(present[0])  # names the field and what is missing
    raise row.error(fields[0], "missing")


def _id(row: Row, *fields: str) -> str:
    for f in fields:
        if row.get(f) not in (None, ""):
            return str(row[f])
    if row.index is not None:
        return f"{row.file_stem}-{row.index:05d}"
    raise row.error(fields[0], "missing")


def _make(
    row: Row,
    dataset: str,
    sample_id: str,
    question: str,
    images: list,
    item: dict,
    native_prompt: str,
    choices: list[str] | None = None,
    category: str = "",
    difficulty: int = 0,
    **meta,
) -> ReasoningSample:
    """A sample whose gold, MCQ flag and honeybee prompt come from HoneyBee's ``item`` for this row."""
    try:
        prompt, gold, mcq = hbp.build(dataset, item)
    except hbp.ProtocolError as e:
        raise row.error("options", str(e)) from None
    if not str(gold).strip():
        raise SkipRow(sample_id, "empty gold answer")
    return ReasoningSample(
        id=sample_id,
        question=question,
        images=images,
        answer=str(gold),
        choices=choices or None,
        category=category or "all",
        difficulty=difficulty,
        meta=meta,
        prompts={"honeybee": prompt, "native": native_prompt},
        mcq=mcq,
    )


def mathvista(row: Row, **_) -> ReasoningSample:
    qtype = row.req("question_type")
    pid = row.req("pid")
    question = row.question("question", "pid")
    if row.opt("unit"):  # the plain prompt states the unit, as MathVista's query does
        question += f" (Unit: {row['unit']})"
    query = row.req("query")
    answer = row.req("answer")
    choices = None
    if qtype == "multi_choice":
        choices = [str(c) for c in _list_field(row, "choices")]
        _letter_of(row, answer, choices)  # the gold must be one of the options
    elif qtype != "free_form":
        raise row.error("question_type", f"expected multi_choice or free_form, got {qtype!r}")
    item = {"instruction": query, "response": answer, "choices": hbp.roundtrip(row.get("choices")), "pid": pid}
    meta = row.opt("metadata", {})
    return _make(
        row,
        "mathvista",
        pid,
        question,
        [_image(row, ("decoded_image", "image"))],
        item,
        native.with_suffix(query),
        choices,
        meta.get("task", "") if isinstance(meta, dict) else "",
        answer_type=row.opt("answer_type", ""),
        precision=row.opt("precision"),
        unit=row.opt("unit"),
    )


def mathverse(row: Row, version: str = "Vision Only", **_) -> ReasoningSample | None:
    """AI4Math/MathVerse (gold ``answer``) or hbXNov/MATHVERSE_NUMERIC_OR_CHOICE_ANSWER (gold
    ``numeric_or_choice_answer``, which HoneyBee scores)."""
    if row.req("problem_version").casefold() != version.casefold():
        return None
    sample_id = _id(row, "sample_index", "problem_index")
    gold_field = "numeric_or_choice_answer" if "numeric_or_choice_answer" in row else "answer"
    gold = row.question(gold_field, "sample_index")
    query = row.req("query_cot")
    question = str(row.opt("question", "")).strip() or VISION_ONLY_QUESTION
    item = {"instruction": query, "response": gold, "pid": row.opt("problem_index")}
    meta = row.opt("metadata", {})
    return _make(
        row,
        "mathverse",
        sample_id,
        question,
        [_image(row, ("image",))],
        item,
        native.with_suffix(query),
        None,
        meta.get("subject", "") if isinstance(meta, dict) else "",
        question_type=row.opt("question_type"),
        problem_index=str(row.opt("problem_index", "")),
    )


def mathvision(row: Row, **_) -> ReasoningSample:
    sample_id = _id(row, "id")
    question = row.question("question", "id")
    options = _list_field(row, "options")
    answer = row.req("answer")
    level = row.opt("level", 0)
    item = {
        "instruction": row["question"],
        "response": answer,
        "options": hbp.roundtrip(row.get("options")),
        "pid": sample_id,
    }
    return _make(
        row,
        "mathvision",
        sample_id,
        question,
        [_image(row, ("decoded_image", "image"))],
        item,
        native.plain(question, options),
        options,
        row.opt("subject", ""),
        int(level) if str(level).isdigit() else 0,
    )


def mmmu_pro(row: Row, **_) -> ReasoningSample:
    """Vision setting: question and options are rendered in the image; the options field lists them as text."""
    sample_id = _id(row, "id")
    options = _list_field(row, "options")
    answer = row.req("answer").strip()
    if options and answer not in LETTERS[: len(options)]:
        raise row.error("answer", f"{answer!r} is not one of the {len(options)} option letters")
    item = {"instruction": "", "response": row["answer"], "options": hbp.roundtrip(row.get("options"))}
    return _make(
        row,
        "mmmu_pro",
        sample_id,
        MMMU_PRO_QUESTION,
        [_image(row, ("image",))],
        item,
        native.COT_VISION,
        None,
        row.opt("subject", ""),
        n_options=len(options),
    )


def wemath(row: Row, **_) -> ReasoningSample:
    """``ID`` repeats (1740 rows, 525 values): the id is ``question number``, else ``ID`` + ``key``."""
    sample_id = (
        _id(row, "question number")
        if row.get("question number") not in (None, "")
        else f"{row.req('ID')}-{row.req('key')}"
    )
    question = row.question("question", "ID")
    text = row.req("option")
    parsed = parse_labelled_options(text)
    if parsed is None:
        raise row.error("option", f"cannot parse options 'A. ...; B. ...' from {text[:60]!r}")
    labels, texts = parsed
    answer = row.req("answer").strip()
    if answer not in labels:
        raise row.error("answer", f"{answer!r} is not one of the option letters {', '.join(labels)}")
    # choices by letter position, so the strict grader's letter -> text lookup holds when letters skip (C -> F)
    choices = [texts[labels.index(c)] if c in labels else "" for c in LETTERS[: ord(labels[-1]) - ord("A") + 1]]
    item = {"instruction": row["question"], "response": row["answer"], "options": hbp.roundtrip(text)}
    return _make(
        row,
        "wemath",
        sample_id,
        question,
        [_image(row, ("image_path", "image"))],
        item,
        native.plain(question, texts, labels),
        choices,
        row.opt("knowledge concept", ""),
        key=row.opt("key", ""),
        we_math_id=str(row.opt("ID", "")),
        option_labels=labels,
    )


def dynamath(row: Row, **_) -> ReasoningSample:
    """DynaMath HF (``ground_truth``, ``knowledge_level``, ``decoded_image``), hbXNov/dynamath_mini (the same
    fields) or the GitHub JSON (``answer``, ``level``, ``image`` path)."""
    base = _id(row, "id", "_key", "qid")
    variant = row.opt("variant", row.opt("sample_variant"))
    sample_id = f"{base}-v{variant}" if variant not in (None, "") else base
    question = row.question("question", "id")
    gold_field = "ground_truth" if "ground_truth" in row else "answer"
    gold = row.req(gold_field)
    answer_type = row.opt("answer_type", "")
    levels = {"elementary school": 1, "high school": 2, "undergraduate": 3}
    level = str(row.opt("knowledge_level", row.opt("level", ""))).lower()
    item = {"instruction": row["question"], "response": gold, "answer_type": answer_type}
    return _make(
        row,
        "dynamath",
        sample_id,
        question,
        [_image(row, ("decoded_image", "image"))],
        item,
        native.plain(question),
        None,
        row.opt("subject", ""),
        levels.get(level, 0),
        answer_type=answer_type,
    )


def logicvista(row: Row, **_) -> ReasoningSample:
    """GitHub ``data/dataset.json`` (id -> {imagename, question, answer, skill}) or lscpku/LogicVista (``image``
    struct, no ``imagename``)."""
    sample_id = _id(row, "id", "_key", "question_id")
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
    return _make(
        row,
        "logicvista",
        sample_id,
        question,
        [_image(row, ("image", "imagename"))],
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
    images = [_image(row, ("image", "filename"))] if visual else []
    item = {"instruction": row["question"], "response": gt}
    return _make(
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


def math500(row: Row, **_) -> ReasoningSample:
    sample_id = _id(row, "unique_id")
    problem = row.question("problem", "unique_id")
    level = row.opt("level", 0)
    item = {"instruction": row["problem"], "response": row.req("answer")}
    return _make(
        row,
        "math500",
        sample_id,
        problem,
        [],
        item,
        native.plain(problem),
        None,
        row.opt("subject", ""),
        int(level) if str(level).isdigit() else 0,
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
    return _make(
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


@dataclass(frozen=True)
class Format:
    convert: Callable[..., ReasoningSample | None]
    patterns: tuple[str, ...]  # where the data file usually is, relative to the folder (first match wins)
    # ids may legitimately repeat (a mix of DynaMath variants keeps each seed question's id): a repeat is told
    # apart by its row number, "ID@ROW", instead of failing the load
    repeated_ids: bool = False


FORMATS = {
    "mathvista": Format(mathvista, ("data/testmini-*.parquet", "testmini.json", "data/testmini.json")),
    "mathverse": Format(mathverse, ("testmini.parquet", "data/testmini-*.parquet", "testmini.json")),
    "mathvision": Format(mathvision, ("data/{split}-*.parquet", "data/{split}.jsonl", "{split}.jsonl")),
    "mmmu_pro": Format(mmmu_pro, ("vision/test-*.parquet", "vision.jsonl", "vision.json")),
    "wemath": Format(wemath, ("data/testmini-*.parquet", "testmini.parquet", "testmini.json", "testmini.jsonl")),
    "dynamath": Format(
        dynamath,
        (
            "data/train-*.parquet",
            "data/sample{variant}-*.parquet",
            "data/sample_variant{variant}-*.parquet",
            "sample_variant{variant}.json",
            "dataset/dataset.json",
            "dataset.json",
        ),
        repeated_ids=True,
    ),
    "logicvista": Format(logicvista, ("data/test-*.parquet", "dataset.json", "data/dataset.json")),
    "hallusionbench": Format(hallusionbench, ("data/image-*.parquet", "HallusionBench.json")),
    "math500": Format(math500, ("test.jsonl", "math500.jsonl")),
    "gpqa": Format(gpqa, ("gpqa_diamond.csv", "dataset/gpqa_diamond.csv")),
}


def convert(fmt: str, rows: list[Row], **kwargs) -> list[ReasoningSample]:
    """Rows -> samples (rows a format filters out, e.g. other MathVerse versions, are dropped; rows that cannot be
    scored are skipped and reported); ids must be unique."""
    samples, seen, skipped = [], {}, {}
    for row in rows:
        try:
            sample = FORMATS[fmt].convert(row, **kwargs)
        except SkipRow as skip:
            skipped[skip.row_id] = skip.reason
            continue
        if sample is None:
            continue
        if sample.id in seen and FORMATS[fmt].repeated_ids and row.index is not None:
            sample = dataclasses.replace(sample, id=f"{sample.id}@{row.index}")
        if sample.id in seen:
            raise DataError(f"{row.where}: duplicate sample id {sample.id!r} (first at {seen[sample.id]})")
        seen[sample.id] = row.where
        samples.append(sample)
    if not samples and skipped:
        raise DataError(f"{rows[0].where.split(':')[0]}: no {fmt} row can be scored ({describe(skipped)})")
    if not samples:
        raise DataError(f"{rows[0].where.split(':')[0]}: no {fmt} samples" + (f" with {kwargs}" if kwargs else ""))
    return with_skips(samples, skipped)
