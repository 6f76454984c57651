"""Field helpers shared by the public reasoning converters (``reasoning_public_math``,
``reasoning_public_general``): option letters and lists, We-Math's labelled option strings, the image field of a
row, its id, and the sample built from HoneyBee's item for the row."""

from __future__ import annotations

import ast
import re

import numpy as np

from harness.data.reasoning_embedded import ReasoningSample
from harness.data.reasoning_public import Row
from harness.data.skips import SkipRow
from harness.protocols import honeybee_prompts as hbp

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LABEL = re.compile(r"^\s*([A-Z])\s*[.．:：]\s*")
_INLINE_LABEL = r"\s{}\s*[.．:：]\s*"


def letter_of(row: Row, answer: str, choices: list[str], field: str = "answer") -> str:
    """The option letter of ``answer``: the letter itself, or the option whose text equals it."""
    if len(answer) == 1 and answer.upper() in LETTERS[: len(choices)]:
        return answer.upper()
    if answer in choices:
        return LETTERS[choices.index(answer)]
    raise row.error(field, f"{answer!r} is neither an option letter nor one of the {len(choices)} options")


def list_field(row: Row, field: str) -> list:
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


def image_field(row: Row, fields: tuple[str, ...]) -> np.ndarray:
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


def sample_id_of(row: Row, *fields: str) -> str:
    for f in fields:
        if row.get(f) not in (None, ""):
            return str(row[f])
    if row.index is not None:
        return f"{row.file_stem}-{row.index:05d}"
    raise row.error(fields[0], "missing")


def make_sample(
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
