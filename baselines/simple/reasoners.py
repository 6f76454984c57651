"""constant / random-choice reasoners: floors for the reasoning tasks. Neither sees answers; both only read the
prompt (random-choice looks for "(A) ..." option lines to tell multiple choice from open questions)."""

from __future__ import annotations

import re

import numpy as np
from pydantic import BaseModel, ConfigDict

from harness.adapters import Reasoner, register_adapter

_OPTION = re.compile(r"^\(([A-Z])\) ", re.MULTILINE)


@register_adapter("constant")
class ConstantReasoner(Reasoner):
    """Always answers \\boxed{A}: the multiple-choice floor of always picking the first option."""

    def generate(self, prompts, seeds, n=1, **gen_kwargs):
        return [["\\boxed{A}"] * n for _ in prompts]


class RandomChoiceArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_int: int = 20  # open questions get a random integer in 0..max_int


@register_adapter("random-choice")
class RandomChoiceReasoner(Reasoner):
    """A random option letter for multiple choice, else a random small integer; seeded per sample."""

    Args = RandomChoiceArgs

    def generate(self, prompts, seeds, n=1, **gen_kwargs):
        out = []
        for prompt, seed in zip(prompts, seeds):
            rng = np.random.default_rng(seed)
            letters = _OPTION.findall(prompt["text"])
            if letters:
                picks = [letters[int(j)] for j in rng.integers(0, len(letters), size=n)]
            else:
                picks = [str(int(v)) for v in rng.integers(0, self.args.max_int + 1, size=n)]
            out.append([f"\\boxed{{{p}}}" for p in picks])
        return out
