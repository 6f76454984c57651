"""Embedded visual-reasoning suite: deterministic questions about rendered images with computed answers.

Five categories (counting shapes, arithmetic on handwritten digits, bar charts, analog clocks, geometry), a mix of
multiple-choice (4 options, letter answers) and numeric questions, difficulty 1-3 (more objects, larger numbers).
``with_images=False`` gives the text-only twin: the same questions and answers, the image content stated in words.

Sample ``i`` of a category depends only on (seed, category, i) (with ``unique_text``, also on the earlier samples of
its category): growing ``n_per_type`` keeps earlier samples.
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


# A redraw budget per sample for ``unique_text``: some (category, difficulty) cells have few distinct texts (digit
# arithmetic at difficulty 3 states ~64 different sums), so a cell can run out; the duplicate is then kept, counted.
MAX_REDRAWS = 200


@register_loader("reasoning_embedded", kind="reasoning")
def generate(
    seed: int = 0, n_per_type: int = 20, size: int = 96, with_images: bool = True, unique_text: bool = False
) -> list[ReasoningSample]:
    """``n_per_type`` questions per category; difficulty cycles 1, 2, 3 over each category's samples.

    ``unique_text``: redraw a sample whose text twin (described question + answer) already occurs in its category,
    so the text-only suite holds no repeated question (an image question with the same text still differs in its
    picture, but both suites keep the same ids and answers). Off, sample ``i`` is exactly the draw of (seed,
    category, i); on, redraws use (seed, category, i, attempt) and sample ``i`` also depends on the earlier ones."""
    if size < MIN_SIZE:
        raise DataError(f"reasoning_embedded: size must be >= {MIN_SIZE} to keep labels legible, got {size}")
    if n_per_type < 1:
        raise DataError(f"reasoning_embedded: n_per_type must be >= 1, got {n_per_type}")
    samples = []
    for c, (category, make) in enumerate(CATEGORIES.items()):
        seen: set[tuple[str, str]] = set()
        for i in range(n_per_type):
            difficulty = 1 + i % 3
            key = [seed, c, i]
            if unique_text:
                for attempt in range(MAX_REDRAWS):
                    key = [seed, c, i] + ([attempt] if attempt else [])
                    probe = make(np.random.default_rng(key), i, difficulty, size, False)
                    if (probe.described, probe.answer) not in seen:
                        break
                seen.add((probe.described, probe.answer))
            item = make(np.random.default_rng(key), i, difficulty, size, with_images)
            samples.append(
                ReasoningSample(
                    id=f"{category}-{i:03d}",
                    question=item.question if with_images else item.described,
                    images=[item.image] if with_images else [],
                    answer=item.answer,
                    choices=item.choices,
                    category=category,
                    difficulty=difficulty,
                    meta=item.meta,
                )
            )
    return samples
