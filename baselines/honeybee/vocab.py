"""Word-level vocabulary of the proxy VLM (no torch).

The vocabulary is closed and fixed by code, not by a recipe's data, so every recipe's proxy reads the eval prompts
with the same tokens: it is collected from a reference set of source questions (question, text-only twin, options,
synthesized questions) and the teacher's and interventions' templates. Numbers 0-400 are single tokens, so every
answer of the embedded suites is one token. Anything else maps to <unk>.
"""

from __future__ import annotations

import re
from functools import lru_cache

PAD, UNK, SEP, EOS = "<pad>", "<unk>", "<sep>", "<eos>"
BOXED = "\\boxed{"
# End-of-caption marker of "caption and solve" CoTs (``caption: <image in words> <end_caption> <solution>``): HoneyBee's
# shared-caption decoding (arXiv 2510.12225, test-time scaling) cuts the caption out of the model's own first answer
# and reuses it as the prefix of the other n-1 samples, so the model must say where its caption ends. One token, so
# the decoder can detect it exactly (harness_baselines.honeybee.adapter; baselines/hf uses a configurable string).
END_CAPTION = "<end_caption>"
CAPTION_START = "caption:"
_TOKEN = re.compile(r"<end_caption>|\\boxed\{|\d+|[a-z]+|[^\sa-z\d]")


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def detokenize(tokens: list[str]) -> str:
    """Words joined by spaces; ``\\boxed{ 12 }`` keeps its content intact for answer extraction."""
    return " ".join(tokens)


@lru_cache(maxsize=1)
def build_vocab() -> tuple[str, ...]:
    import numpy as np

    from harness_baselines.honeybee.build import prompt_text
    from harness_baselines.honeybee.interventions import GENERIC_QUESTION
    from harness_baselines.honeybee.sources import SOURCES, make_question, synthesize
    from harness_baselines.honeybee.teacher import CLOSERS, OPENERS, write_cot

    words: set[str] = set(
        tokenize(" ".join([GENERIC_QUESTION, CAPTION_START, "".join("PQRSTUVWXYZ"), *OPENERS, *CLOSERS]))
    )
    rng = np.random.default_rng(0)
    for src in SOURCES.values():
        for i in range(30):
            q = make_question(src, 10_000 + i, with_images=False)
            for qq in (q, synthesize(q, 1, rng), synthesize(q, 2, rng)):
                text = " ".join(
                    [prompt_text(qq.question, qq.choices), qq.caption, write_cot(qq, rng, 0.0, long_share=1.0)]
                )
                words |= set(tokenize(text))
    words -= {str(n) for n in range(401)}
    return (PAD, UNK, SEP, EOS, BOXED, END_CAPTION, *map(str, range(401)), *sorted(words - {BOXED, END_CAPTION}))


class Vocab:
    def __init__(self, tokens: tuple[str, ...] | list[str]):
        self.tokens = list(tokens)
        self.index = {t: k for k, t in enumerate(self.tokens)}
        self.pad, self.unk, self.sep, self.eos = (self.index[t] for t in (PAD, UNK, SEP, EOS))

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> list[int]:
        return [self.index.get(t, self.unk) for t in tokenize(text)]

    def decode(self, ids: list[int]) -> str:
        out = []
        for i in ids:
            if i == self.eos:
                break
            if i not in (self.pad, self.sep):
                out.append(self.tokens[i])
        return detokenize(out)
