"""Stage-2 data interventions that change a question or its image (the CoT-side ones — caption prefix, long-CoT
filter — live in build.py, next to the CoT writing).

Perception: rotate the image, scatter distractor marks over it, render the question into it, and drop questions a
blind model answers from its priors. Problem solving: more answer options, difficulty balance.
All randomness comes from the rng passed in, so a build is deterministic from the recipe seed.
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter

import numpy as np
from PIL import Image, ImageDraw

from harness.data.reasoning_common import font
from harness_baselines.honeybee.sources import Question

LETTERS = "ABCDEFGH"
GENERIC_QUESTION = "Answer the question written in the image."


def rotate(q: Question, rng: np.random.Generator, p: float) -> Question:
    """With probability p, rotate the image by 90, 180 or 270 degrees (the question and answer are unchanged)."""
    if q.image is not None and rng.random() < p:
        q.image = np.ascontiguousarray(np.rot90(q.image, k=int(rng.integers(1, 4))))
    return q


def distractors(q: Question, rng: np.random.Generator, n: int) -> Question:
    """Scatter ``n`` small grey crosses: grey is no colour any question asks about, so the answer stays valid."""
    if q.image is None:
        return q
    img = Image.fromarray(q.image)
    draw = ImageDraw.Draw(img)
    size = img.width
    for x, y in rng.integers(4, size - 4, size=(n, 2)):
        r = 3
        draw.line([(x - r, y - r), (x + r, y + r)], fill=(140, 140, 140), width=2)
        draw.line([(x - r, y + r), (x + r, y - r)], fill=(140, 140, 140), width=2)
    q.image = np.asarray(img)
    return q


def question_in_image(q: Question, rng: np.random.Generator, p: float) -> Question:
    """With probability p, shrink the image into the top of the canvas, write the question below it, and replace
    the text question by a generic instruction (options, if any, stay in the text)."""
    if q.image is None or rng.random() >= p:
        return q
    size = q.image.shape[0]
    top = int(size * 0.6)
    canvas = Image.new("RGB", (size, size), (255, 255, 255))
    canvas.paste(Image.fromarray(q.image).resize((top, top), Image.Resampling.BILINEAR), ((size - top) // 2, 0))
    draw = ImageDraw.Draw(canvas)
    f = font(max(6, size // 14))
    for k, line in enumerate(textwrap.wrap(q.question, width=max(10, size // 5))[:4]):
        draw.text((2, top + 1 + k * (size // 14 + 1)), line, fill=(0, 0, 0), font=f)
    q.image, q.question = np.asarray(canvas), GENERIC_QUESTION
    return q


_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def more_options(q: Question, rng: np.random.Generator, n_options: int) -> Question:
    """Grow a multiple-choice question to ``n_options`` plausible options (numbers near the answer, nearby times,
    bar names absent from the chart) in a new random order; open questions are left alone."""
    if not q.choices or len(q.choices) >= n_options:
        return q
    correct = q.choices[LETTERS.index(q.answer)]
    options = list(q.choices)
    for cand in _candidates(options, rng):
        if len(options) >= n_options:
            break
        if cand not in options:
            options.append(cand)
    order = rng.permutation(len(options))
    q.choices = [options[j] for j in order]
    q.answer = LETTERS[q.choices.index(correct)]
    return q


def _candidates(options: list[str], rng: np.random.Generator):
    if all(o.lstrip("-").isdigit() for o in options):
        base = [int(o) for o in options]
        for d in rng.permutation(np.arange(1, 40)):
            yield str(max(base) + int(d))
            yield str(max(0, min(base) - int(d)))
    elif all(_TIME.match(o) for o in options):
        h, m = map(int, _TIME.match(options[0]).groups())
        for d in rng.permutation(np.arange(1, 144)):
            t = (h * 60 + m + int(d) * 5) % 720
            yield f"{(t // 60 - 1) % 12 + 1}:{t % 60:02d}"
    else:
        yield from (c for c in "PQRSTUVWXYZ" if c not in options)


class BlindPrior:
    """A blind solver for "remove questions solvable without the image": it answers each question (by its text
    alone) with the answer most often right for that text in the source itself — the priors a model can learn.
    ``fit`` sees (key, answer) pairs from a cheap text-only first pass; ``solves`` says whether the blind answer
    would be right."""

    def __init__(self):
        self.counts: dict[str, Counter] = {}

    @staticmethod
    def key(q: Question) -> str:
        return q.qtype + "|" + q.question

    def fit(self, q: Question) -> None:
        self.counts.setdefault(self.key(q), Counter())[_value(q)] += 1

    def solves(self, q: Question) -> bool:
        c = self.counts.get(self.key(q))
        if not c or sum(c.values()) < 3:  # a template seen once or twice has no prior to exploit
            return False
        return c.most_common(1)[0][0] == _value(q)


def _value(q: Question) -> str:
    return q.choices[LETTERS.index(q.answer)] if q.choices else q.answer


def balanced_indices(difficulties: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
    """``total`` indices into ``difficulties`` (values 1-3, a pool larger than total) with a flat histogram: each
    level gets total/3 rows, drawn without replacement while it has enough and cycled with repetition after."""
    levels = [np.flatnonzero(difficulties == d) for d in (1, 2, 3)]
    levels = [lv for lv in levels if len(lv)]
    out = []
    for k, lv in enumerate(levels):
        want = total // len(levels) + (1 if k < total % len(levels) else 0)
        perm = rng.permutation(lv)
        out.append(np.resize(perm, want))
    idx = np.concatenate(out) if out else np.zeros(0, int)
    return np.sort(idx)
