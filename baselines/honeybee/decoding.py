"""n completions per prompt from the proxy: independent sampling, or HoneyBee's shared-caption decoding.

Shared caption (HoneyBee, arXiv 2510.12225, test-time scaling; the official repository
facebookresearch/HoneyBee_VLM ships no code for it — its ``eval/eval_plm_multi_hf.py`` decodes one answer per
question): a caption-and-solve model writes ``caption: ... <end_caption> solution``. The first completion is decoded
in full; its caption, cut at the marker (``vocab.END_CAPTION``), becomes the start of the other n - 1 completions,
which only generate the solution. The caption is paid once instead of n times. A first completion without the
marker (a text-only prompt, a model that never learned to caption) leaves the other n - 1 independent.

Every sampled completion has its own generator, seeded from the sample seed and the completion index, so a
completion does not depend on which other samples share the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SEED_MOD = 2**63
# Part of the proxy adapter's fingerprint: bump it whenever a change here alters what a given checkpoint, prompt and
# seed decode to, so cached eval records of the old decoder are recomputed instead of reused. 2 = one generator per
# completion and shared-caption decoding (2026-12-01).
DECODER_VERSION = 2


@dataclass
class Completions:
    """The n token lists of one prompt, as generated (the shared caption is not repeated in ``tokens[1:]``)."""

    tokens: list[list[int]]
    caption: list[int] = field(default_factory=list)  # the shared prefix of tokens[1:], empty when not shared

    def texts(self, vocab) -> list[str]:
        return [vocab.decode(t if j == 0 else self.caption + t) for j, t in enumerate(self.tokens)]

    def info(self) -> dict:
        """Per-sample side information: what was generated (the caption of the first completion once)."""
        return {
            "generated_tokens": sum(len(t) for t in self.tokens),
            "caption_tokens": len(self.caption),
            "caption_shared": int(bool(self.caption)),
            "completion_tokens": [len(t) for t in self.tokens],
        }


def caption_prefix(tokens: list[int], end_caption: int) -> list[int]:
    """The caption of a caption-and-solve answer: its tokens up to and including the first end-of-caption marker;
    empty when there is none."""
    return tokens[: tokens.index(end_caption) + 1] if end_caption in tokens else []


def sample(
    model,
    vocab,
    images,
    has_image,
    prompts: list[list[int]],
    seeds: list[int],
    n: int,
    max_new_tokens: int,
    temperature: float,
    shared_caption: bool = False,
    greedy_first: bool = True,
) -> list[Completions]:
    """images [B, 3, H, W], has_image [B], prompts: B token lists (ending in <sep>), seeds: one per prompt.
    Completion 0 is greedy (``greedy_first``; batched, as in single-sample evaluation) or sampled with seed
    ``seed + 0``; completion j >= 1 is sampled with seed ``seed + j``."""
    import torch

    from harness_baselines.honeybee.model import generate
    from harness_baselines.honeybee.vocab import END_CAPTION

    eos, pad, end_caption = vocab.eos, vocab.pad, vocab.index[END_CAPTION]

    def gens(seed: int, js) -> list:
        return [torch.Generator().manual_seed((seed + j) % SEED_MOD) for j in js]

    if greedy_first:
        firsts = generate(model, images, has_image, prompts, eos, pad, max_new_tokens)
    else:
        firsts = [
            generate(model, images[k : k + 1], has_image[k : k + 1], [p], eos, pad, max_new_tokens, temperature,
                     gens(seeds[k], [0]))[0]
            for k, p in enumerate(prompts)
        ]  # fmt: skip
    out = []
    for k, (prompt, first) in enumerate(zip(prompts, firsts)):
        caption = caption_prefix(first, end_caption) if shared_caption else []
        rest: list[list[int]] = []
        if n > 1:  # the n - 1 others of this sample in one batch, each row with its own generator
            rows = n - 1
            rest = generate(
                model,
                images[k : k + 1].expand(rows, -1, -1, -1),
                has_image[k : k + 1].expand(rows),
                [prompt + caption] * rows,
                eos,
                pad,
                max(0, max_new_tokens - len(caption)),  # the same budget for the whole answer, caption included
                temperature,
                gens(seeds[k], range(1, n)),
            )
        out.append(Completions([first, *rest], caption if n > 1 else []))
    return out
