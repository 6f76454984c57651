"""Converters of the public math reasoning benchmarks (MathVista, MathVerse, MATH-Vision, We-Math, DynaMath,
MATH-500): one row of a release -> a ReasoningSample (see ``reasoning_public_formats``)."""

from __future__ import annotations

from harness.data.reasoning_embedded import ReasoningSample
from harness.data.reasoning_public import Row
from harness.data.reasoning_public_fields import (
    LETTERS,
    image_field,
    letter_of,
    list_field,
    make_sample,
    parse_labelled_options,
    sample_id_of,
)
from harness.protocols import honeybee_prompts as hbp
from harness.protocols import native

VISION_ONLY_QUESTION = "Answer the question shown in the image."


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
        choices = [str(c) for c in list_field(row, "choices")]
        letter_of(row, answer, choices)  # the gold must be one of the options
    elif qtype != "free_form":
        raise row.error("question_type", f"expected multi_choice or free_form, got {qtype!r}")
    item = {"instruction": query, "response": answer, "choices": hbp.roundtrip(row.get("choices")), "pid": pid}
    meta = row.opt("metadata", {})
    return make_sample(
        row,
        "mathvista",
        pid,
        question,
        [image_field(row, ("decoded_image", "image"))],
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
    sample_id = sample_id_of(row, "sample_index", "problem_index")
    gold_field = "numeric_or_choice_answer" if "numeric_or_choice_answer" in row else "answer"
    gold = row.question(gold_field, "sample_index")
    query = row.req("query_cot")
    question = str(row.opt("question", "")).strip() or VISION_ONLY_QUESTION
    item = {"instruction": query, "response": gold, "pid": row.opt("problem_index")}
    meta = row.opt("metadata", {})
    return make_sample(
        row,
        "mathverse",
        sample_id,
        question,
        [image_field(row, ("image",))],
        item,
        native.with_suffix(query),
        None,
        meta.get("subject", "") if isinstance(meta, dict) else "",
        question_type=row.opt("question_type"),
        problem_index=str(row.opt("problem_index", "")),
    )


def mathvision(row: Row, **_) -> ReasoningSample:
    sample_id = sample_id_of(row, "id")
    question = row.question("question", "id")
    options = list_field(row, "options")
    answer = row.req("answer")
    level = row.opt("level", 0)
    item = {
        "instruction": row["question"],
        "response": answer,
        "options": hbp.roundtrip(row.get("options")),
        "pid": sample_id,
    }
    return make_sample(
        row,
        "mathvision",
        sample_id,
        question,
        [image_field(row, ("decoded_image", "image"))],
        item,
        native.plain(question, options),
        options,
        row.opt("subject", ""),
        int(level) if str(level).isdigit() else 0,
    )


def wemath(row: Row, **_) -> ReasoningSample:
    """``ID`` repeats (1740 rows, 525 values): the id is ``question number``, else ``ID`` + ``key``."""
    sample_id = (
        sample_id_of(row, "question number")
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
    return make_sample(
        row,
        "wemath",
        sample_id,
        question,
        [image_field(row, ("image_path", "image"))],
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
    base = sample_id_of(row, "id", "_key", "qid")
    variant = row.opt("variant", row.opt("sample_variant"))
    sample_id = f"{base}-v{variant}" if variant not in (None, "") else base
    question = row.question("question", "id")
    gold_field = "ground_truth" if "ground_truth" in row else "answer"
    gold = row.req(gold_field)
    answer_type = row.opt("answer_type", "")
    levels = {"elementary school": 1, "high school": 2, "undergraduate": 3}
    level = str(row.opt("knowledge_level", row.opt("level", ""))).lower()
    item = {"instruction": row["question"], "response": gold, "answer_type": answer_type}
    return make_sample(
        row,
        "dynamath",
        sample_id,
        question,
        [image_field(row, ("decoded_image", "image"))],
        item,
        native.plain(question),
        None,
        row.opt("subject", ""),
        levels.get(level, 0),
        answer_type=answer_type,
    )


def math500(row: Row, **_) -> ReasoningSample:
    sample_id = sample_id_of(row, "unique_id")
    problem = row.question("problem", "unique_id")
    level = row.opt("level", 0)
    item = {"instruction": row["problem"], "response": row.req("answer")}
    return make_sample(
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
