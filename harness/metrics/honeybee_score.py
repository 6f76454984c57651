"""The ``honeybee`` grader: facebookresearch/HoneyBee_VLM ``eval/score.py`` (``score_file``), reproduced rule by
rule so a response is right here exactly when it is right there.

Per response (score.py calls it ``answer``; the gold is ``processed_response``):
1. extraction: a response containing ``\\boxed{`` -> mathruler's ``extract_boxed_content`` (the last box; the
   string "None" when it is unclosed); else one containing ``</answer>`` -> the text between the last
   ``<answer>`` and the following ``</answer>``, stripped; else the first of ``ANSWER_KEYS`` (in order) found in
   it -> what follows its last occurrence, stripped, first line; with no key at all, the whole response. Then
   stripped, and one trailing period dropped.
2. multiple choice (per item: ``is_mcq``): right when "(G)" or "G. " occurs in the extracted text (G = gold).
3. otherwise right when gold and extracted text are equal ignoring case, or
   ``mathruler.grader.grade_answer(gold, extracted)`` (gold passed first, as score.py does).

One guard differs from score.py: an extracted text with two or more power operators (``**`` / ``^``) chained is
not handed to sympy, which can hang on power towers; it counts only when equal to the gold ignoring case.
"""

from __future__ import annotations

import re

from mathruler.grader import extract_boxed_content, grade_answer

from harness.protocols.honeybee import ANSWER_KEYS

_POWER_TOWER = re.compile(r"(\*\*|\^).*(\*\*|\^)", re.DOTALL)


def is_mcq(item: dict) -> bool:
    """score.py ``is_mcq`` on the item HoneyBee saved: ``choices`` present and not None, or ``options`` present,
    not None and non-empty, or ``answer_type == 'multiple choice'``."""
    if "choices" in item and item["choices"] is not None:
        return True
    if "options" in item:
        if item["options"] is None:
            return False
        if len(item["options"]) > 0:
            return True
    return item.get("answer_type") == "multiple choice"


def extract(response: str) -> tuple[str, bool]:
    """(extracted text, whether a box, answer tag or answer key was found) as score.py extracts it."""
    found = True
    if "\\boxed{" in response:
        text = extract_boxed_content(response)
    elif "</answer>" in response:
        text = response.split("<answer>")[-1].split("</answer>")[0].strip()
    else:
        text = response
        for key in ANSWER_KEYS:
            if key in text:
                text = text.split(key)[-1].strip()
                if "\n" in text:
                    text = text.split("\n")[0]
                break
        else:
            found = False
        text = text.strip()
    if text.endswith("."):
        text = text[:-1]
    return text, found


def match(extracted: str, gold: str, mcq: bool) -> bool:
    """score.py's verdict for an extracted text against the gold (``processed_response``)."""
    if mcq and (f"({gold})" in extracted or f"{gold}. " in extracted):
        return True
    if gold.lower() == extracted.lower():
        return True
    if _POWER_TOWER.search(extracted):
        return False
    try:
        return bool(grade_answer(gold, extracted))
    except Exception:  # noqa: BLE001 — score.py would crash on an ungradable pair; here it is a miss
        return False


def grade(response: str, gold: str, mcq: bool) -> bool:
    return match(extract(response)[0], gold, mcq)
