"""Generic question answering for the proxy's base (``harness recipe pretrain --mix answers``).

Why: the profile of the fine-tuned proxy (README, "Why the proxy does not learn the task") found that it reads the
picture in the base's words and then fails the *language* part — one-digit arithmetic, copying its own result into
``\\boxed{}``, and on text prompts writing any answer at all. HoneyBee fine-tunes an instruction-tuned VLM (PLM),
which knows all of that before it sees a recipe. This module is the base's share of such instruction data, on
questions that are *not* the suites' or the sources' templates:

- arithmetic questions ("what is 7 * 4?", "what is 3 * 4 + 5?", "what is 2 * (3 + 4)?"), open or multiple choice,
  answered step by step and restated: ``7 * 4 = 28. so the answer is 28. \\boxed{28}``;
- "which number is the largest?" over listed options;
- "what is the largest number in the image?" about a pretraining image (or the generator's words for it), answered
  by the base's description, then the number restated.

Prompts use the eval layout (question, ``(A) option`` lines, the suites' suffix), so the base learns the answer
format on generic questions; the CoTs use the teacher's closers. All words are in the closed vocabulary
(tests/test_honeybee_pretrain.py checks it). Every draw comes from the ``rng`` passed in.
"""

from __future__ import annotations

import random
import re

from harness_baselines.honeybee.build import LETTERS, prompt_text
from harness_baselines.honeybee.teacher import CLOSERS

LARGEST_IN_IMAGE = "what is the largest number in the image?"


def _closing(rng: random.Random, value: int, choices: list[str] | None) -> str:
    """'v is option (X).' for multiple choice, then a closer and the boxed final answer."""
    final = str(value)
    steps = ""
    if choices is not None:
        final = LETTERS[choices.index(str(value))]
        steps = f" {value} is option ({final})."
    return f"{steps} {rng.choice(CLOSERS)} {final}. \\boxed{{{final}}}"


def _options(rng: random.Random, value: int, n: int = 4) -> list[str]:
    """``n`` distinct non-negative numbers near ``value``, one of them ``value``, shuffled."""
    pool = {value}
    while len(pool) < n:
        pool.add(max(0, value + rng.choice([-3, -2, -1, 1, 2, 3, 10, -10])))
    out = sorted(pool)
    rng.shuffle(out)
    return [str(v) for v in out]


def _calculation(rng: random.Random) -> tuple[str, list[str], int]:
    """-> (expression, the steps computing it one operation at a time, value)."""
    kind = rng.randrange(6)
    if kind == 0:
        a, b = rng.randrange(10), rng.randrange(10)
        return f"{a} + {b}", [f"{a} + {b} = {a + b}."], a + b
    if kind == 1:
        a, b = rng.randrange(2, 10), rng.randrange(2, 10)
        return f"{a} * {b}", [f"{a} * {b} = {a * b}."], a * b
    if kind == 2:
        a, b = sorted((rng.randrange(21), rng.randrange(21)), reverse=True)
        return f"{a} - {b}", [f"{a} - {b} = {a - b}."], a - b
    if kind == 3:  # two steps, product first
        a, b, c = rng.randrange(2, 10), rng.randrange(2, 10), rng.randrange(10)
        return f"{a} * {b} + {c}", [f"{a} * {b} = {a * b}.", f"{a * b} + {c} = {a * b + c}."], a * b + c
    if kind == 4:  # two steps, brackets first
        a, b = rng.randrange(1, 10), rng.randrange(1, 10)
        return f"2 * ({a} + {b})", [f"{a} + {b} = {a + b}.", f"2 * {a + b} = {2 * (a + b)}."], 2 * (a + b)
    values = [rng.randrange(10) for _ in range(rng.randrange(3, 5))]  # a running sum
    steps, total = [], values[0]
    for v in values[1:]:
        steps.append(f"{total} + {v} = {total + v}.")
        total += v
    return " + ".join(map(str, values)), steps, total


def text_qa(rng: random.Random) -> tuple[str, str]:
    """One text-only generic question -> (prompt in the eval layout, CoT ending in ``\\boxed{}``)."""
    if rng.random() < 0.2:
        values = rng.sample(range(1, 30), 4)
        choices = [str(v) for v in values]
        top = max(values)
        cot = f"the largest number is {top}." + _closing(rng, top, choices)
        return prompt_text("which number is the largest?", choices), cot
    expr, steps, value = _calculation(rng)
    choices = _options(rng, value) if rng.random() < 0.3 else None
    return prompt_text(f"what is {expr}?", choices), " ".join(steps) + _closing(rng, value, choices)


def image_qa(rng: random.Random, description: str, words: str | None = None) -> tuple[str, str]:
    """ "The largest number in the image" of a pretraining image -> (prompt, CoT): the base's description, then the
    number restated. ``words``: the generator's words for the picture, for the text-only version of the row."""
    top = max(int(n) for n in re.findall(r"\d+", description))
    question = f"{words} {LARGEST_IN_IMAGE}" if words else LARGEST_IN_IMAGE
    cot = f"{description} the largest number is {top}." + _closing(rng, top, None)
    return prompt_text(question, None), cot
