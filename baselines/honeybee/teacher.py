"""The programmatic teacher: writes a step-by-step CoT for a Question from the generator's scene parameters.

A CoT is a few reasoning steps, then "so the answer is X." and ``\\boxed{X}`` (X: the option letter for multiple
choice). The teacher has two styles, drawn per CoT: a *long* one that walks through every object (each shape, each
bar, each hand) and a *short* one that states the key fact — so "keep only long CoTs" has something to select.

With probability ``error_rate`` the teacher makes a mistake in its last computation (an off-by-a-little number, or
the wrong option), keeping the CoT fluent: only comparing its final answer with the ground truth reveals it, which
is what the "drop CoTs whose answer disagrees" filter does.
"""

from __future__ import annotations

import numpy as np

from harness_baselines.honeybee.pretrain import describe
from harness_baselines.honeybee.sources import Question

LETTERS = "ABCDEFGH"


def write_cot(q: Question, rng: np.random.Generator, error_rate: float, long_share: float = 0.5) -> str:
    """One CoT for ``q``; all randomness (style, error) comes from ``rng``."""
    long = bool(rng.random() < long_share)
    wrong = bool(rng.random() < error_rate)
    value = _value(q)
    if wrong:
        value = _wrong(q, value, rng)
    # Reading steps use the base's own description wording (pretrain.describe): a CoT then starts from what the
    # pretrained base can already read, instead of teaching perception anew in other words.
    facts = {**q.facts, "seen": describe(q)}
    steps = _STEPS.get(q.qtype, _generic)(facts, value, long)
    if q.choices:
        letter = LETTERS[q.choices.index(value)]
        steps.append(f"{value} is option ({letter}).")
        final = letter
    else:
        final = value
    # Phrasing variety: extra CoTs of one question differ in wording, not only in length (cots scaling axis).
    opener = OPENERS[int(rng.integers(0, len(OPENERS)))]
    closer = CLOSERS[int(rng.integers(0, len(CLOSERS)))]
    return opener + " ".join(steps) + f" {closer} {final}. \\boxed{{{final}}}"


OPENERS = ("", "let me look at the image. ", "first, i read the picture. ", "looking carefully: ")
CLOSERS = ("so the answer is", "therefore the answer is", "hence the answer is")


def _value(q: Question) -> str:
    """The correct answer as text (the option's content for multiple choice)."""
    return q.choices[LETTERS.index(q.answer)] if q.choices else q.answer


def _wrong(q: Question, value: str, rng: np.random.Generator) -> str:
    if q.choices:
        others = [c for c in q.choices if c != value]
        return others[int(rng.integers(0, len(others)))]
    shift = int(rng.choice([-2, -1, 1, 2]))
    return str(abs(int(value) + shift) if int(value) + shift != int(value) else int(value) + 1)


def _counting(f, value, long):
    color, shape = f["target"].split()
    if long:
        steps = [f"i look for {color} {shape}s.", f["seen"]]
        hits = [str(k + 1) for k in range(len([o for o in f["objects"] if o == f["target"]]))]
        if hits:
            steps.append(f"counting the {color} {shape}s: {', '.join(hits)}.")
        return steps + [f"there are {value} {color} {shape}s."]
    return [f"there are {value} {color} {shape}s in the image."]


def _digits(f, value, long):
    d = f["digits"]
    op = " + " if f["operation"] == "sum" else " * "
    steps = [f["seen"]]
    if long:
        steps.append(f"the question asks for the {f['operation']} of the digits.")
    return steps + [f"{op.join(map(str, d))} = {value}."]


def _digit_fact(name):
    def write(f, value, long):
        steps = [f"the digits from left to right are {', '.join(map(str, f['digits']))}."]
        if long:
            steps.append(f"the question asks for the {name}.")
        return steps + [f"the {name} is {value}."]

    return write


def _bars(f, long):
    return [f"the chart has bars {', '.join(f'{k} = {v}' for k, v in f['values'].items())}."] if long else []


def _bar_tallest(f, value, long):
    return _bars(f, long) + [f"the tallest bar is {value}."]


def _bar_value(f, value, long):
    return _bars(f, long) + [f"bar {f['bar']} reaches {value}."]


def _clock(f, value, long):
    steps = []
    if long:
        steps = [
            f"the short hour hand points near {(f['hour'] - 1) % 12 + 1}.",
            f"the long minute hand points at {f['minute'] // 5 or 12} on the dial, that is {f['minute']} minutes.",
        ]
    return steps + [f"the clock shows {value}."]


def _clock_part(part):
    def write(f, value, long):
        steps = _clock(f, f["time"], long)[:-1] if long else []
        return steps + [f"the {part} is {value}."]

    return write


def _rectangle(f, value, long):
    w, h = f["width"], f["height"]
    steps = [f"the shaded rectangle is {w} squares wide and {h} squares tall."] if long else []
    return steps + [f"area = {w} * {h} = {value}."]


def _rect_part(name):
    def write(f, value, long):
        w, h = f["width"], f["height"]
        steps = [f"the shaded rectangle is {w} squares wide and {h} squares tall."] if long else []
        if name == "perimeter":
            return steps + [f"perimeter = 2 * ({w} + {h}) = {value}."]
        return steps + [f"the {name} is {value}."]

    return write


def _triangle(f, value, long):
    a, b, _ = f["angles"]
    steps = [f"the labelled angles are {a} and {b} degrees.", "the angles of a triangle add up to 180."] if long else []
    return steps + [f"180 - {a} - {b} = {value}."]


def _triangle_sum(f, value, long):
    a, b, _ = f["angles"]
    return ([f"the labelled angles are {a} and {b} degrees."] if long else []) + [f"{a} + {b} = {value}."]


def _counting_total(f, value, long):
    return ([f["seen"]] if long else []) + [f"there are {value} shapes in all."]


def _counting_shape(f, value, long):
    shape = f["target"].split()[1]
    return ([f["seen"], f"i count every {shape}, whatever its colour."] if long else []) + [
        f"there are {value} {shape}s."
    ]


def _bar_range(f, value, long):
    values = f["values"].values()
    return _bars(f, long) + [
        f"the tallest bar reaches {max(values)} and the shortest {min(values)}.",
        f"{max(values)} - {min(values)} = {value}.",
    ]


def _bar_sum(f, value, long):
    return _bars(f, long) + [f"{' + '.join(map(str, f['values'].values()))} = {value}."]


def _clock_to_hour(f, value, long):
    steps = _clock(f, f["time"], long)[:-1] if long else []
    return steps + [
        f"the minute hand is at {f['minute']} minutes, and 60 - {f['minute']} leaves {value} minutes."
        if f["minute"]
        else "the clock shows a full hour, so 0 minutes are left."
    ]


def _triangle_max(f, value, long):
    a, b, c = f["angles"]
    return (
        [f"the labelled angles are {a} and {b} degrees, so the third is 180 - {a} - {b} = {c}."]
        if long
        else [f"the angles are {a}, {b} and {c} degrees."]
    ) + [f"the largest is {value}."]


def _generic(f, value, long):
    return [f"the answer is {value}."]


_STEPS = {
    "counting": _counting,
    "digits": _digits,
    "digits_max": _digit_fact("largest digit"),
    "digits_first": _digit_fact("first digit"),
    "digits_count": _digit_fact("number of digits"),
    "bar_tallest": _bar_tallest,
    "bar_value": _bar_value,
    "clock": _clock,
    "clock_hour": _clock_part("hour"),
    "clock_minute": _clock_part("minute"),
    "rectangle": _rectangle,
    "rect_width": _rect_part("width"),
    "rect_height": _rect_part("height"),
    "rect_perimeter": _rect_part("perimeter"),
    "triangle": _triangle,
    "triangle_sum": _triangle_sum,
    "counting_total": _counting_total,
    "counting_shape": _counting_shape,
    "bar_range": _bar_range,
    "bar_sum": _bar_sum,
    "clock_to_hour": _clock_to_hour,
    "triangle_max": _triangle_max,
}
