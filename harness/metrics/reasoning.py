"""Answer extraction and grading for reasoning tasks. Two graders, by name (a task picks one with
``options.grader``; name and version are part of the task hash):

- ``honeybee``: HoneyBee's ``eval/score.py`` exactly (harness/metrics/honeybee_score.py): used to reproduce its
  numbers; a response with no box, tag or marker is graded as the whole response.
- ``strict``: the extractor below, a better default for new work: a response with no extractable answer is wrong
  and counted (``extraction_failed``), never graded as its whole text.

``strict`` in detail: like HoneyBee it takes the last ``\\boxed{...}`` of a response and grades it with
``mathruler.grader.grade_answer`` (string normalization, then sympy equivalence); multiple-choice answers (a
letter) count as right when the extracted text contains "(B)" or starts with "B. ". A response without a box
falls back to ``<answer>`` tags, then to an "Answer:"-style marker; a response with no extractable answer is
wrong and counted separately (``extraction_failed``).
"""

from __future__ import annotations

import re

from mathruler.grader import grade_answer

from harness.metrics import honeybee_score
from harness.protocols.honeybee import GRADER_VERSION as honeybee_score_version

_BOXED = re.compile(r"\\boxed\s*\{")
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
# "Answer:", "Final answer:", "The answer is", "The final answer is", "Final answer is" (case-insensitive).
_MARKER = re.compile(r"(?:\bthe\s+)?(?:\bfinal\s+)?\banswer\s*(?::|\bis\b)", re.IGNORECASE)
_TEXT_WRAP = re.compile(r"^\\(?:text|textbf|mathrm|mathbf)\{(.*)\}$", re.DOTALL)
_STRIP = " \t\r\n$*"


def _balanced(text: str, start: int) -> str | None:
    """Content from ``start`` up to the brace closing the one just before it; None when unbalanced."""
    depth = 0
    for i in range(start, len(text)):
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            if depth == 0:
                return text[start:i]
            depth -= 1
    return None


def _last_boxed(response: str) -> str | None:
    """Content of the last complete, non-empty ``\\boxed{...}`` (nested braces balanced).

    An unclosed box (a generation cut off mid-answer) is skipped in favour of an earlier complete one."""
    for m in reversed(list(_BOXED.finditer(response))):
        content = _balanced(response, m.end())
        if content is not None and content.strip():
            return content.strip()
    return None


def _clean(text: str) -> str:
    text = text.strip(_STRIP)
    if text.endswith("."):
        text = text[:-1]
    return text.strip(_STRIP)


def extract_answer(response: str | None) -> str | None:
    """The final answer in ``response``: last ``\\boxed{}``, else last ``<answer>`` tag, else the first line after
    the last "Answer:" / "The answer is" / "Final answer:" marker. None when nothing (non-empty) is found."""
    if not response or not response.strip():
        return None
    boxed = _last_boxed(response)
    if boxed is not None:
        return boxed
    for content in reversed(_ANSWER_TAG.findall(response)):
        if _clean(content):
            return _clean(content)
    markers = list(_MARKER.finditer(response))
    if markers:
        rest = response[markers[-1].end() :].lstrip(" \t:*$")
        line = _clean(rest.split("\n", 1)[0])
        if line:
            return line
    return None


def _unwrap(text: str) -> str:
    """``\\text{B}`` -> ``B``; surrounding whitespace and a trailing period dropped."""
    text = _clean(text)
    m = _TEXT_WRAP.match(text)
    return _clean(m.group(1)) if m else text


def is_choice_letter(answer: str, choices: list[str] | None) -> bool:
    return bool(choices) and len(answer) == 1 and "A" <= answer <= chr(ord("A") + len(choices) - 1)


def _same(extracted: str, answer: str) -> bool:
    if extracted.strip().casefold() == answer.strip().casefold():
        return True
    if "**" in extracted:
        # Python's power operator slips past mathruler's guards (which only catch "^"): sympy would evaluate a
        # power tower like 10**10**10 and hang the run, so such an answer only counts when it matches verbatim.
        return False
    try:
        return grade_answer(extracted, answer)
    except Exception:  # noqa: BLE001 — an answer the grader cannot parse is not a match
        return False


def grade_extracted(extracted: str | None, answer: str, choices: list[str] | None = None) -> bool:
    """Grade an already extracted answer (None = extraction failure = wrong)."""
    if extracted is None:
        return False
    if is_choice_letter(answer, choices):
        text = _unwrap(extracted)
        if f"({answer})" in text or text.startswith(f"{answer}. "):  # HoneyBee's multiple-choice rule
            return True
        if text.upper() == answer:  # the bare letter
            return True
        right = choices[ord(answer) - ord("A")]
        return _same(text, right)  # the full text of the right choice
    return _same(extracted, answer)


GRADERS = {"strict": 1, "honeybee": honeybee_score_version}  # name -> version (hashed with the task)


def _check_grader(grader: str) -> None:
    if grader not in GRADERS:
        raise ValueError(f"unknown grader {grader!r} (known: {', '.join(GRADERS)})")


def grade(
    response: str | None,
    answer: str,
    choices: list[str] | None = None,
    grader: str = "honeybee",
    mcq: bool | None = None,
) -> bool:
    """True when ``response`` answers ``answer`` (a letter for multiple choice) under ``grader``.

    ``mcq`` (honeybee): whether HoneyBee treats the item as multiple choice (its per-item ``is_mcq``); by default
    ``choices is not None``, as ``is_mcq`` decides for an item carrying choices."""
    _check_grader(grader)
    if grader == "honeybee":
        return honeybee_score.grade(response or "", answer, choices is not None if mcq is None else mcq)
    return grade_extracted(extract_answer(response), answer, choices)


def _vote_key(extracted: str, choices: list[str] | None) -> str | None:
    """For multiple choice, the option letter an extracted answer selects (None when it selects none/several)."""
    picked = [
        chr(ord("A") + i) for i in range(len(choices or [])) if grade_extracted(extracted, chr(ord("A") + i), choices)
    ]
    return picked[0] if len(picked) == 1 else None


def majority_answer(extracted: list[str | None], choices: list[str] | None = None) -> str | None:
    """The most frequent extracted answer; equivalent answers (same option letter, or equal under
    ``grade_answer``) vote together, failures do not vote, ties go to the answer seen first."""
    groups: list[list] = []  # [representative, key, votes]
    for e in extracted:
        if e is None:
            continue
        key = _vote_key(e, choices) if choices else None
        for g in groups:
            if (key is not None and g[1] == key) or (key is None and g[1] is None and _same(e, g[0])):
                g[2] += 1
                break
        else:
            groups.append([e, key, 1])
    if not groups:
        return None
    best = max(groups, key=lambda g: g[2])  # max keeps the first of equal counts
    return best[0]


def _honeybee_scores(completions: list[str], answer: str, mcq: bool) -> dict[str, float]:
    """score.py's verdict per completion; majority vote over extracted texts equal under score.py's own rule
    (HoneyBee scores one completion: maj@n/pass@n are ours). extraction_failed: no box, tag or answer key (score.py
    then grades the whole response)."""
    extracted = [honeybee_score.extract(c or "") for c in completions]
    correct = [honeybee_score.match(text, answer, mcq) for text, _ in extracted]
    groups: list[list] = []  # [representative, votes]
    for text, _ in extracted:
        for g in groups:
            if honeybee_score.match(text, g[0], False):
                g[1] += 1
                break
        else:
            groups.append([text, 1])
    maj = bool(groups) and honeybee_score.match(max(groups, key=lambda g: g[1])[0], answer, mcq)
    return {
        "accuracy": 100.0 * bool(correct and correct[0]),
        "extraction_failed": 100.0 * (not extracted or not extracted[0][1]),
        "maj@n": 100.0 * (maj if len(completions) > 1 else bool(correct and correct[0])),
        "pass@n": 100.0 * any(correct),
        "mean@n": 100.0 * (sum(correct) / len(correct) if correct else 0.0),
    }


def score_completions(
    completions: list[str],
    answer: str,
    choices: list[str] | None = None,
    grader: str = "strict",
    mcq: bool | None = None,
) -> dict[str, float]:
    """Per-sample scores (0 to 100): accuracy and extraction_failed on the first completion; maj@n (majority vote),
    pass@n (any completion right) and mean@n (share of the n completions right) over all n (each equal to accuracy
    when n == 1). ``grader``/``mcq``: as in
    ``grade``."""
    _check_grader(grader)
    if grader == "honeybee":
        return _honeybee_scores(completions, answer, choices is not None if mcq is None else mcq)
    extracted = [extract_answer(c) for c in completions]
    correct = [grade_extracted(e, answer, choices) for e in extracted]
    first = correct[0] if correct else False
    if len(completions) > 1:
        maj = grade_extracted(majority_answer(extracted, choices), answer, choices)
        any_right = any(correct)
    else:
        maj = any_right = first
    return {
        "accuracy": 100.0 * first,
        "extraction_failed": 100.0 * (not extracted or extracted[0] is None),
        "maj@n": 100.0 * maj,
        "pass@n": 100.0 * any_right,
        "mean@n": 100.0 * (sum(correct) / len(correct) if correct else 0.0),  # mean single-sample accuracy
    }
