"""Shared pieces of the embedded reasoning generators: the item record, multiple-choice assembly and fonts."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np
from PIL import ImageFont

LETTERS = "ABCD"


@dataclass
class Item:
    """One generated question, before it becomes a ReasoningSample.

    question: asked about ``image``; described: the same question with the image content stated in words (the
    text-only variant). image is None when images were not requested."""

    question: str
    described: str
    answer: str
    choices: list[str] | None
    image: np.ndarray | None
    meta: dict = field(default_factory=dict)


def multiple_choice(rng: np.random.Generator, correct: str, distractors: list[str]) -> tuple[list[str], str]:
    """Four options: ``correct`` plus the first three distinct distractors (callers list the most plausible
    first), in a seeded random order. Returns (choices, letter of the correct one)."""
    picked: list[str] = []
    for d in distractors:
        if d != correct and d not in picked:
            picked.append(d)
        if len(picked) == len(LETTERS) - 1:
            break
    if len(picked) < len(LETTERS) - 1:
        raise ValueError(f"not enough distinct distractors for {correct!r}: {picked}")
    options = [correct, *picked]
    choices = [options[j] for j in rng.permutation(len(options))]
    return choices, LETTERS[choices.index(correct)]


@cache
def font(px: int) -> ImageFont.FreeTypeFont:
    """PIL's bundled font at ``px`` pixels (needs Pillow's FreeType support, present in the standard wheels)."""
    return ImageFont.load_default(size=max(6, px))


def fmt_number(x: float) -> str:
    """12.0 -> '12', 97.5 -> '97.5'."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"
