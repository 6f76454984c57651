"""Shared-caption decoding vs plain k-sample decoding (HoneyBee's test-time scaling) on a reasoning task.

    python -m harness_baselines.hf.compare_shared_caption --pretrained CKPT --task reasoning/embedded --limit 20 --k 4

All modes sample k solutions per question with the same per-sample seeds. ``shared_caption`` is HoneyBee's: the
caption of the first full answer (cut at ``--caption_end``) starts the other k - 1; ``prompted_caption`` is the
older variant, one greedy caption per image asked for separately and prefixed to the prompt. Reports accuracy
(first completion), maj@k, pass@k, mean@k and generated tokens per question (a caption once + the solutions).
Without --pretrained a tiny random LLaVA is built: that measures the plumbing (its solutions never stop early and
never write the marker, so no saving can show), not the method.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np


def compare(
    pretrained: str,
    task: str = "reasoning/embedded",
    limit: int = 10,
    k: int = 4,
    max_new_tokens: int = 64,
    caption_max_new_tokens: int = 64,
    temperature: float = 0.8,
    top_p: float = 0.95,
    batch_size: int = 4,
    seed: int = 0,
    caption_end: str = "\n\n",
) -> dict[str, dict]:
    """-> {mode: {accuracy, maj@n, pass@n, mean@n, extraction_failed, generated_tokens_per_question,
    caption_tokens_per_question, seconds, n}} for mode in (plain, shared_caption, prompted_caption)."""
    from harness import registry
    from harness.kinds.reasoning import build_prompt
    from harness.metrics.reasoning import score_completions
    from harness.runner import sample_seed
    from harness_baselines.hf.vlm import HFVLM

    entry = registry.resolve(task, registry.discover_tasks())[0]
    samples = registry.build_task(entry).units(limit)
    suffix = entry.spec.options.prompt_suffix
    common = dict(
        pretrained=pretrained, do_sample=True, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens
    )
    modes = {
        "plain": HFVLM(**common),
        "shared_caption": HFVLM(**common, shared_caption=True, caption_end=caption_end),
        "prompted_caption": HFVLM(
            **common, shared_caption=True, caption_source="prompted", caption_max_new_tokens=caption_max_new_tokens
        ),
    }
    report = {}
    for mode, adapter in modes.items():
        scores, tokens, caption_tokens = [], [], []
        start = time.perf_counter()
        for i in range(0, len(samples), batch_size):
            batch = samples[i : i + batch_size]
            prompts = [{"text": build_prompt(s, suffix), "images": list(s.images)} for s in batch]
            outputs = adapter.generate(prompts, [sample_seed(seed, s.id) for s in batch], n=k)
            scores += [score_completions(out, s.answer, s.choices) for s, out in zip(batch, outputs)]
            tokens += [info["generated_tokens"] for info in adapter.last_info]
            caption_tokens += [info["caption_tokens"] for info in adapter.last_info]
        report[mode] = {m: float(np.mean([s[m] for s in scores])) for m in scores[0]}
        report[mode].update(
            generated_tokens_per_question=float(np.mean(tokens)),
            caption_tokens_per_question=float(np.mean(caption_tokens)),
            seconds=round(time.perf_counter() - start, 2),
            n=len(samples),
            k=k,
        )
    plain = report["plain"]["generated_tokens_per_question"]
    for mode in ("shared_caption", "prompted_caption"):
        tokens = report[mode]["generated_tokens_per_question"]
        report[mode]["token_saving_vs_plain"] = 1 - tokens / plain if plain else 0.0
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pretrained", default="", help="checkpoint folder (default: build a tiny random LLaVA)")
    parser.add_argument("--task", default="reasoning/embedded")
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--max_new_tokens", type=int, default=64)
    parser.add_argument("--caption_max_new_tokens", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--caption_end", default="\n\n", help="where the caption of an answer ends")
    args = parser.parse_args()
    pretrained = args.pretrained
    if not pretrained:
        from harness_baselines.hf import tiny

        pretrained = str(tiny.build_llava(tempfile.mkdtemp(prefix="tiny-llava-")))
    report = compare(
        pretrained,
        args.task,
        args.limit,
        args.k,
        args.max_new_tokens,
        args.caption_max_new_tokens,
        args.temperature,
        caption_end=args.caption_end,
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
