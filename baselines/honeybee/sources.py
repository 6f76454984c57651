"""Training sources for HoneyBee recipes, built from the embedded reasoning generators.

Every source draws from the same five generators as the eval suite (``harness.data.reasoning_embedded``) but with
its own seed (eval tasks use seed 0; sources use 101+), and each is deliberately different in coverage or quality
so that context curation has something to rank: one source per category, a mixed source whose difficulties are
skewed towards easy questions (as collected data usually is), a noisy-teacher source, and a text-only source.

A source is indexed: ``describe(source, i)`` is cheap (no rendering) and gives the category and difficulty of
row ``i``; ``make_question(source, i, with_images)`` renders it. Both depend only on (source seed, i), so a build
can stream millions of rows without holding them, and growing a source keeps its earlier rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from harness.data.reasoning_embedded import CATEGORIES

ALL = tuple(CATEGORIES)
IMAGE_SIZE = 96  # same resolution as the eval suite


@dataclass(frozen=True)
class SourceDef:
    name: str
    description: str
    seed: int
    categories: tuple[str, ...] = ALL
    difficulty_weights: tuple[float, float, float] = (1 / 3, 1 / 3, 1 / 3)
    teacher_error: float = 0.0  # extra error rate of this source's CoT writer (a worse teacher)
    with_images: bool = True


SOURCES: dict[str, SourceDef] = {
    s.name: s
    for s in [
        *(SourceDef(c, f"only {c} questions", 101 + k, categories=(c,)) for k, c in enumerate(ALL)),
        SourceDef(
            "mixed", "all categories, difficulty skewed easy (60/30/10%)", 111, difficulty_weights=(0.6, 0.3, 0.1)
        ),
        SourceDef("noisy", "all categories, CoTs from a teacher that is wrong half the time", 112, teacher_error=0.5),
        SourceDef("text_only", "all categories, image content stated in words (no image)", 113, with_images=False),
    ]
}


@dataclass
class Question:
    """One (image, question, answer) row before its CoT is written.

    qtype names the question template (the teacher has one CoT writer per qtype); facts are the scene parameters
    the answer was computed from; caption states the image content in words."""

    source: str
    index: int
    category: str
    difficulty: int
    qtype: str
    question: str
    answer: str  # a letter when choices are given
    choices: list[str] | None
    image: np.ndarray | None
    caption: str
    facts: dict = field(default_factory=dict)
    variant: int = 0  # 0 = the generator's question; k > 0 = the k-th synthesized question on the same image


def describe(src: SourceDef, i: int) -> tuple[str, int]:
    """(category, difficulty) of row ``i`` without rendering anything."""
    rng = np.random.default_rng([src.seed, 7, i])
    category = src.categories[int(rng.integers(0, len(src.categories)))]
    difficulty = 1 + int(rng.choice(3, p=np.asarray(src.difficulty_weights) / sum(src.difficulty_weights)))
    return category, difficulty


def make_question(src: SourceDef, i: int, with_images: bool | None = None) -> Question:
    """Row ``i`` of ``src`` (rendered when the source has images and ``with_images`` is not False)."""
    category, difficulty = describe(src, i)
    images = src.with_images if with_images is None else (with_images and src.with_images)
    rng = np.random.default_rng([src.seed, ALL.index(category), i])
    item = CATEGORIES[category](rng, i, difficulty, IMAGE_SIZE, images)
    caption = _caption(item.described)
    question = item.question if src.with_images else item.described
    return Question(
        src.name,
        i,
        category,
        difficulty,
        _qtype(category, item.meta),
        question,
        item.answer,
        item.choices,
        item.image,
        caption,
        dict(item.meta),
    )


def _qtype(category: str, meta: dict) -> str:
    if category == "bar_chart":
        return f"bar_{meta['question_type']}"
    if category == "geometry":
        return meta["shape"]
    return category


def _caption(described: str) -> str:
    """The image content in words: the text-only question without its final question sentence."""
    sentences = re.split(r"(?<=[.])\s+", described.strip())
    return " ".join(s for s in sentences if not s.endswith("?")).strip()


def synthesize(q: Question, k: int, rng: np.random.Generator) -> Question:
    """A new numeric question about the same image, answered from the scene parameters (the "synthesized
    questions" scaling axis). ``k`` numbers the variant."""
    f, cat = q.facts, q.category
    if cat == "counting":
        target = str(rng.choice(sorted(set(f["objects"]))))
        color, shape = target.split()
        pick = int(rng.integers(0, 3))
        if pick == 0:
            text, ans, qt = f"How many {color} {shape}s are there in the image?", f["objects"].count(target), "counting"
        elif pick == 1:
            text, ans, qt = "How many shapes are there in the image in total?", len(f["objects"]), "counting_total"
        else:
            ans = sum(o.split()[1] == shape for o in f["objects"])
            text, qt = f"How many {shape}s of any colour are there in the image?", "counting_shape"
        facts = {**f, "target": target}
    elif cat == "digits":
        pick = int(rng.integers(0, 3))
        text, ans, qt = [
            ("What is the largest digit shown?", max(f["digits"]), "digits_max"),
            ("What is the first digit shown, from the left?", f["digits"][0], "digits_first"),
            ("How many digits are shown?", len(f["digits"]), "digits_count"),
        ][pick]
        facts = f
    elif cat == "bar_chart":
        bar = str(rng.choice(sorted(f["values"])))
        values = list(f["values"].values())
        text, ans, qt = [
            (f"What is the value of bar {bar} in the chart?", f["values"][bar], "bar_value"),
            (
                "What is the difference between the tallest and the shortest bar?",
                max(values) - min(values),
                "bar_range",
            ),
            ("What is the sum of all the bar values in the chart?", sum(values), "bar_sum"),
        ][int(rng.integers(0, 3))]
        facts = {**f, "bar": bar}
    elif cat == "clock":
        text, ans, qt = [
            ("What hour does the clock show?", f["hour"], "clock_hour"),
            ("How many minutes past the hour does the clock show?", f["minute"], "clock_minute"),
            ("How many minutes are left until the next full hour?", (60 - f["minute"]) % 60, "clock_to_hour"),
        ][int(rng.integers(0, 3))]
        facts = f
    elif f.get("shape") == "rectangle":
        pick = int(rng.integers(0, 3))
        w, h = f["width"], f["height"]
        text, ans, qt = [
            ("How many grid squares wide is the shaded rectangle?", w, "rect_width"),
            ("How many grid squares tall is the shaded rectangle?", h, "rect_height"),
            (
                "Each small grid square has side length 1. What is the perimeter of the shaded rectangle?",
                2 * (w + h),
                "rect_perimeter",
            ),
        ][pick]
        facts = f
    else:
        a, b, c = f["angles"]
        text, ans, qt = [
            ("What is the sum of the two labelled angles, in degrees?", a + b, "triangle_sum"),
            ("What is the largest of the triangle's three angles, in degrees?", max(a, b, c), "triangle_max"),
        ][int(rng.integers(0, 2))]
        facts = f
    return Question(q.source, q.index, cat, q.difficulty, qt, text, str(ans), None, q.image, q.caption, facts, k)
