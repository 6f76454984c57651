"""Reasoning generators drawn with PIL: counting shapes, reading an analog clock, and geometry on a grid.

Every generator takes (rng, i, difficulty, size, with_images) and returns an Item; all random draws happen before
rendering, so the text-only variant (with_images=False) asks exactly the same questions with the same answers.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from harness.data.reasoning_common import Item, fmt_number, font, multiple_choice

COLORS = {"red": (220, 30, 30), "green": (30, 160, 50), "blue": (40, 70, 230), "yellow": (235, 200, 20)}
SHAPES = ("circle", "square", "triangle")
BACKGROUND = (235, 235, 235)


def _plural(shape: str) -> str:
    return shape + "s"


def counting(rng: np.random.Generator, i: int, difficulty: int, size: int, with_images: bool) -> Item:
    """'How many red circles are there?': more objects and a larger count at higher difficulty."""
    lo, hi = {1: (3, 5), 2: (6, 9), 3: (10, 14)}[difficulty]
    n = int(rng.integers(lo, hi + 1))
    target = (str(rng.choice(list(COLORS))), str(rng.choice(SHAPES)))
    k = int(rng.integers(1, min(n, {1: 3, 2: 5, 3: 7}[difficulty]) + 1))
    others = [(c, s) for c in COLORS for s in SHAPES if (c, s) != target]
    objects = [target] * k + [others[j] for j in rng.integers(0, len(others), size=n - k)]
    objects = [objects[j] for j in rng.permutation(n)]
    grid = 4
    cells = rng.choice(grid * grid, size=n, replace=False)
    jitter = rng.integers(-2, 3, size=(n, 2))
    color, shape = target
    question = f"How many {color} {_plural(shape)} are there in the image?"
    listing = ", ".join(f"a {c} {s}" for c, s in objects)
    described = f"A picture contains these shapes: {listing}. How many {color} {_plural(shape)} are there?"
    image = None
    if with_images:
        img = Image.new("RGB", (size, size), BACKGROUND)
        draw = ImageDraw.Draw(img)
        cell = size / grid
        r = cell * 0.34
        for (c, s), idx, (jx, jy) in zip(objects, cells, jitter):
            cx, cy = (idx % grid + 0.5) * cell + jx, (idx // grid + 0.5) * cell + jy
            box = [cx - r, cy - r, cx + r, cy + r]
            if s == "circle":
                draw.ellipse(box, fill=COLORS[c])
            elif s == "square":
                draw.rectangle(box, fill=COLORS[c])
            else:
                draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=COLORS[c])
        image = np.asarray(img)
    return Item(
        question,
        described,
        str(k),
        None,
        image,
        {"target": f"{color} {shape}", "objects": [f"{c} {s}" for c, s in objects]},
    )


def _time(h: int, m: int) -> str:
    return f"{(h - 1) % 12 + 1}:{m % 60:02d}"


def clock(rng: np.random.Generator, i: int, difficulty: int, size: int, with_images: bool) -> Item:
    """'What time does the clock show?' (4 options): whole/half hours, quarters, then 5-minute steps."""
    h = int(rng.integers(1, 13))
    step = {1: 30, 2: 15, 3: 5}[difficulty]
    m = int(rng.integers(0, 60 // step)) * step
    hour_angle, minute_angle = (h % 12) * 30 + m * 0.5, m * 6
    correct = _time(h, m)
    swapped = _time(m // 5 or 12, (h % 12) * 5)  # hands read the wrong way round
    distractors = [
        swapped,
        _time(h + 1, m),
        _time(h, 60 - m),
        _time(h - 1, m),
        _time(h, m + 15),
        _time(h, m + 30),
        _time(h + 2, m),
    ]
    choices, letter = multiple_choice(rng, correct, distractors)
    question = "What time does the clock show?"
    described = (
        f"On an analog clock, the hour hand points {fmt_number(hour_angle)} degrees and the minute hand "
        f"{fmt_number(minute_angle)} degrees clockwise from the 12. What time does the clock show?"
    )
    image = None
    if with_images:
        img = Image.new("RGB", (size, size), (255, 255, 255))
        draw = ImageDraw.Draw(img)
        c, r = size / 2, size * 0.45
        draw.ellipse([c - r, c - r, c + r, c + r], outline=(0, 0, 0), width=max(1, size // 48))

        def point(angle: float, length: float) -> tuple[float, float]:
            t = math.radians(angle)
            return c + length * math.sin(t), c - length * math.cos(t)

        for tick in range(12):
            inner = 0.80 if tick % 3 == 0 else 0.88
            draw.line(
                [point(tick * 30, r * inner), point(tick * 30, r * 0.97)],
                fill=(0, 0, 0),
                width=2 if tick % 3 == 0 else 1,
            )
        f = font(size // 9)
        for num, angle in ((12, 0), (3, 90), (6, 180), (9, 270)):
            draw.text(point(angle, r * 0.62), str(num), fill=(0, 0, 0), font=f, anchor="mm")
        draw.line([(c, c), point(minute_angle, r * 0.85)], fill=(30, 30, 30), width=max(1, size // 48))
        draw.line([(c, c), point(hour_angle, r * 0.48)], fill=(0, 0, 0), width=max(2, size // 24))
        image = np.asarray(img)
    return Item(question, described, letter, choices, image, {"hour": h, "minute": m, "time": correct})


def geometry(rng: np.random.Generator, i: int, difficulty: int, size: int, with_images: bool) -> Item:
    """Even i: area of a shaded rectangle on a unit grid (numeric). Odd i: third angle of a triangle (4 options)."""
    return (_rectangle if i % 2 == 0 else _triangle)(rng, difficulty, size, with_images)


def _rectangle(rng, difficulty, size, with_images) -> Item:
    cells = 10
    hi = {1: 4, 2: 6, 3: 9}[difficulty]
    w, h = (int(v) for v in rng.integers(2, hi + 1, size=2))
    x0, y0 = int(rng.integers(0, cells - w + 1)), int(rng.integers(0, cells - h + 1))
    question = "Each small grid square has side length 1. What is the area of the shaded rectangle?"
    described = (
        f"On a grid of unit squares, a shaded rectangle is {w} squares wide and {h} squares tall. "
        "What is the area of the shaded rectangle?"
    )
    image = None
    if with_images:
        img = Image.new("RGB", (size, size), (255, 255, 255))
        draw = ImageDraw.Draw(img)
        u = (size - 4) // cells
        off = (size - u * cells) // 2
        draw.rectangle([off + x0 * u, off + y0 * u, off + (x0 + w) * u, off + (y0 + h) * u], fill=(120, 170, 240))
        for k in range(cells + 1):
            draw.line([(off + k * u, off), (off + k * u, off + cells * u)], fill=(150, 150, 150))
            draw.line([(off, off + k * u), (off + cells * u, off + k * u)], fill=(150, 150, 150))
        draw.rectangle(
            [off + x0 * u, off + y0 * u, off + (x0 + w) * u, off + (y0 + h) * u], outline=(0, 0, 120), width=2
        )
        image = np.asarray(img)
    return Item(question, described, str(w * h), None, image, {"shape": "rectangle", "width": w, "height": h})


def _triangle(rng, difficulty, size, with_images) -> Item:
    step = {1: 10, 2: 5, 3: 1}[difficulty]
    while True:
        a, b = (int(v) * step for v in rng.integers(30 // step, 80 // step + 1, size=2))
        if 30 <= 180 - a - b <= 110:
            break
    c = 180 - a - b
    distractors = [180 - a, 180 - b, a + b, 90, c + 10, c - 10, c + 20]
    choices, letter = multiple_choice(rng, str(c), [str(d) for d in distractors if d > 0])
    question = (
        "In the triangle, two angles are labelled in degrees. What is the measure, in degrees, of the angle marked '?'"
    )
    described = (
        f"A triangle has two angles of {a} degrees and {b} degrees. What is the measure, in degrees, "
        "of its third angle?"
    )
    image = None
    if with_images:
        # Base from (0, 0) to (1, 0); apex where the rays at angles a and b meet.
        ta, tb = math.tan(math.radians(a)), math.tan(math.radians(b))
        ax = tb / (ta + tb)
        ay = ax * ta
        pad = size * 0.12
        scale = min((size - 2 * pad), (size - 2 * pad) / max(ay, 1e-6))
        ox, oy = (size - scale) / 2, size - pad - (size - 2 * pad - ay * scale) / 2

        def P(x, y):
            return ox + x * scale, oy - y * scale

        pts = [P(0, 0), P(1, 0), P(ax, ay)]
        img = Image.new("RGB", (size, size), (255, 255, 255))
        draw = ImageDraw.Draw(img)
        draw.polygon(pts, outline=(0, 0, 0), width=max(1, size // 64))
        f = font(size // 9)
        cx, cy = sum(p[0] for p in pts) / 3, sum(p[1] for p in pts) / 3
        for (px, py), label in zip(pts, (f"{a}°", f"{b}°", "?")):
            # Labels sit inside the triangle, pulled from each vertex towards the centroid.
            t = 0.42 if label == "?" else 0.5
            draw.text((px + (cx - px) * t, py + (cy - py) * t), label, fill=(200, 0, 0), font=f, anchor="mm")
        image = np.asarray(img)
    return Item(question, described, letter, choices, image, {"shape": "triangle", "angles": [a, b, c]})
