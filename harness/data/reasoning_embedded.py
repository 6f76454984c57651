"""Embedded visual-reasoning suite: deterministic questions about rendered images with computed answers.

Five categories (counting shapes, arithmetic on handwritten digits, bar charts, analog clocks, geometry), a mix of
multiple-choice (4 options, letter answers) and numeric questions, difficulty 1-3 (more objects, larger numbers).
``with_images=False`` gives the text-only twin: the same questions and answers, the image content stated in words.

Sample ``i`` of a category depends only on (seed, category, i): growing ``n_per_type`` keeps earlier samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.data import reasoning_figures, reasoning_scenes, register_loader
from harness.errors import DataError

CATEGORIES = {
    "counting": reasoning_scenes.counting,
    "digits": reasoning_figures.digits,
    "bar_chart": reasoning_figures.bar_chart,
    "clock": reasoning_scenes.clock,
    "geometry": reasoning_scenes.geometry,
}
MIN_SIZE = 64


@dataclass(frozen=True, eq=False)
class ReasoningSample:
    """One reasoning question. answer: a letter ("B") when ``choices`` is given, else the exact answer text.
    images: uint8 (H, W, 3) arrays, empty for a text-only question.
    prompts: full prompt texts by protocol name ("honeybee", "native"), built by readers of public benchmarks;
    without one the task builds the "plain" prompt (question, option lines, suffix).
    mcq: whether HoneyBee's score.py treats the item as multiple choice (None: ``choices is not None``)."""

    id: str
    question: str
    images: list[np.ndarray]
    answer: str
    choices: list[str] | None
    category: str
    difficulty: int
    meta: dict = field(default_factory=dict)
    prompts: dict[str, str] = field(default_factory=dict)
    mcq: bool | None = None


@register_loader("reasoning_embedded", kind="reasoning")
def generate(seed: int = 0, n_per_type: int = 20, size: int = 96, with_images: bool = True) -> list[ReasoningSample]:
    """``n_per_type`` questions per category; difficulty cycles 1, 2, 3 over each category's samples."""
    if size < MIN_SIZE:
        raise DataError(f"reasoning_embedded: size must be >= {MIN_SIZE} to keep labels legible, got {size}")
    if n_per_type < 1:
        raise DataError(f"reasoning_embedded: n_per_type must be >= 1, got {n_per_type}")
    samples = []
    for c, (category, make) in enumerate(CATEGORIES.items()):
        for i in range(n_per_type):
            difficulty = 1 + i % 3
            rng = np.random.default_rng([seed, c, i])
            item = make(rng, i, difficulty, size, with_images)
            samples.append(ReasoningSample(
                id=f"{category}-{i:03d}",
                question=item.question if with_images else item.described,
                images=[item.image] if with_images else [],
                answer=item.answer,
                choices=item.choices,
                category=category,
                difficulty=difficulty,
                meta=item.meta,
            ))
    return samples
