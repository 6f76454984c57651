"""Hooks of the lm-eval task harness_reasoning_text: samples from the harness task registry, HoneyBee grading."""

from __future__ import annotations

import json


def load_samples(harness_task: str = "reasoning/text", **_):
    """The harness task's samples as a datasets.DatasetDict with one 'test' split; rows: id, prompt (exactly what
    `harness eval` sends), answer, choices (JSON, null for open questions), category, difficulty."""
    import datasets

    from harness import registry
    from harness.kinds.reasoning import build_prompt

    entry = registry.resolve(harness_task, registry.discover_tasks())[0]
    if entry.spec.kind != "reasoning":
        raise ValueError(f"{harness_task}: not a reasoning task")
    suffix = entry.spec.options.prompt_suffix
    rows = []
    for s in registry.build_task(entry).samples:
        if s.images:
            raise ValueError(f"{harness_task}: sample {s.id!r} has images; lm-eval tasks here are text-only")
        rows.append(
            {
                "id": s.id,
                "prompt": build_prompt(s, suffix),
                "answer": s.answer,
                "choices": json.dumps(s.choices),
                "category": s.category,
                "difficulty": s.difficulty,
            }
        )
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def process_results(doc: dict, results: list[str]) -> dict[str, float]:
    """results: [completion]; the harness metrics of that completion (0 or 100 each)."""
    from harness.metrics.reasoning import score_completions

    return score_completions(list(results), doc["answer"], json.loads(doc["choices"]))
