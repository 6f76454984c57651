"""Reasoning generators over figures: arithmetic on handwritten digits (scikit-learn's digits) and bar charts.

Same signature as the scene generators: (rng, i, difficulty, size, with_images) -> Item, with every random draw made
before rendering.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from harness.data.reasoning_common import Item, font, multiple_choice

BAR_LABELS = "PQRSTU"  # not A-D, so a bar name is never mistaken for an option letter


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """(images (1797, 8, 8) in 0..16, targets) of scikit-learn's bundled handwritten digits (no download)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images, d.target


def digits(rng: np.random.Generator, i: int, difficulty: int, size: int, with_images: bool) -> Item:
    """d1: sum of two digits; d2: sum of three; d3: product of two (digits 2-9)."""
    images, targets = _digits()
    count, op = {1: (2, "sum"), 2: (3, "sum"), 3: (2, "product")}[difficulty]
    values = [int(v) for v in rng.integers(2 if op == "product" else 0, 10, size=count)]
    index = [int(rng.choice(np.flatnonzero(targets == v))) for v in values]
    answer = sum(values) if op == "sum" else values[0] * values[1]
    what = f"the {op} of the {'two' if count == 2 else 'three'} digits shown"
    question = f"What is {what}?"
    shown = ", ".join(map(str, values[:-1])) + f" and {values[-1]}"
    described = f"An image shows the handwritten digits {shown}, from left to right. What is {what}?"
    image = None
    if with_images:
        img = Image.new("L", (size, size), 255)
        cell = size // count
        px = min(cell - 4, size // 2)
        for k, idx in enumerate(index):
            ink = (255 - images[idx] * (255 / 16)).round().astype(np.uint8)  # dark strokes on white
            tile = Image.fromarray(ink).resize((px, px), Image.Resampling.NEAREST)
            img.paste(tile, (k * cell + (cell - px) // 2, (size - px) // 2))
        image = np.asarray(img.convert("RGB"))
    return Item(
        question, described, str(answer), None, image, {"digits": values, "dataset_index": index, "operation": op}
    )


def bar_chart(rng: np.random.Generator, i: int, difficulty: int, size: int, with_images: bool) -> Item:
    """Even i: 'Which bar is the tallest?' (4 options). Odd i: 'What is the value of bar R?' (numeric)."""
    n, vmax = {1: (4, 5), 2: (5, 8), 3: (6, 10)}[difficulty]
    labels = BAR_LABELS[:n]
    while True:
        values = [int(v) for v in rng.integers(1, vmax + 1, size=n)]
        if values.count(max(values)) == 1:  # a unique tallest bar
            break
    # Both question types draw the same numbers from rng, so the chart for sample i does not depend on its type.
    asked = labels[int(rng.integers(0, n))]
    order = [labels[j] for j in rng.permutation(n)]
    values_text = ", ".join(f"{lab} = {v}" for lab, v in zip(labels, values))
    described_chart = f"A bar chart has bars {values_text}."
    if i % 2 == 0:
        tallest = labels[values.index(max(values))]
        choices, answer = multiple_choice(rng, tallest, order)
        question = "Which bar in the chart is the tallest?"
        described = f"{described_chart} Which bar is the tallest?"
        meta = {"question_type": "tallest"}
    else:
        choices, answer = None, str(values[labels.index(asked)])
        question = f"What is the value of bar {asked} in the chart?"
        described = f"{described_chart} What is the value of bar {asked}?"
        meta = {"question_type": "value", "bar": asked}
    image = _render_bars(labels, values, vmax, size) if with_images else None
    return Item(question, described, answer, choices, image, {**meta, "values": dict(zip(labels, values))})


def _render_bars(labels: str, values: list[int], vmax: int, size: int) -> np.ndarray:
    img = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    f = font(max(7, size // 12))
    left, right, top, bottom = size * 0.17, size - 3, size * 0.06, size * 0.86
    unit = (bottom - top) / vmax
    label_every = 1 if vmax <= 6 else 2
    for v in range(vmax + 1):  # a gridline per unit, a number every label_every units
        y = bottom - v * unit
        draw.line([(left, y), (right, y)], fill=(215, 215, 215) if v else (0, 0, 0))
        if v % label_every == 0:
            draw.text((left - 2, y), str(v), fill=(0, 0, 0), font=f, anchor="rm")
    draw.line([(left, top), (left, bottom)], fill=(0, 0, 0))
    slot = (right - left) / len(labels)
    for k, (lab, v) in enumerate(zip(labels, values)):
        x0, x1 = left + k * slot + slot * 0.2, left + (k + 1) * slot - slot * 0.2
        draw.rectangle([x0, bottom - v * unit, x1, bottom], fill=(60, 110, 200))
        draw.text(((x0 + x1) / 2, bottom + 2), lab, fill=(0, 0, 0), font=f, anchor="mt")
    return np.asarray(img)
