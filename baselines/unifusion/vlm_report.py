"""Held-out report of the tiny VLM (``train_vlm`` writes it into ``training.json``): teacher-forced exact-answer
accuracy with Wilson 95 % intervals on the probes, captions and rewrites of the held-out seed."""

from __future__ import annotations

import math

import numpy as np
import torch

from harness.data import edit_compose, edit_scenes
from harness_baselines.unifusion import tiny_vlm
from harness_baselines.unifusion.vlm_data import HELDOUT_SEED, SIZE, Pools, collate, model_inputs


def heldout_examples(processor, seed: int = HELDOUT_SEED, n_scenes: int = 512, n_edits_per_type: int = 40):
    """-> (pools, {report name: list of examples}) on held-out seed ``seed``: the four probes (one question of each
    kind per scene where the answer is unique), captions, rewrites per edit type, t2i rewrites, two-reference
    rewrites."""
    pools = Pools(processor, seed, n_scenes, n_edits_per_type, n_edits_per_type)
    sets: dict[str, list] = {f"probe_{k}": [] for k in tiny_vlm.PROBES}
    for i, scene in enumerate(pools.scenes):
        for k in tiny_vlm.PROBES:
            qa = tiny_vlm.probe(scene, SIZE, k, np.random.default_rng([seed, i]))
            if qa is not None:
                sets[f"probe_{k}"].append(([i], *qa))
    sets["caption"] = [
        ([i], "describe the image .", tiny_vlm.canonical_caption(s, SIZE)) for i, s in enumerate(pools.scenes)
    ]
    for t in edit_scenes.EDIT_TYPES:
        sets[f"rewrite_{t}"] = [pools.rewrite(i) for i, e in enumerate(pools.edits) if e.edit_type == t]
    sets["rewrite_t2i"] = [pools.t2i(i) for i in range(min(200, n_scenes))]
    sets["rewrite_reconstruction"] = [pools.reconstruction(i) for i in range(min(200, n_scenes))]
    for t in edit_compose.EDIT_TYPES:
        sets[f"rewrite_compose_{t}"] = [pools.pair(i) for i, p in enumerate(pools.pairs) if p.edit_type == t]
    return pools, sets


@torch.no_grad()
def exact_match(model, processor, pools: Pools, examples, n_img: int, batch_size: int = 64) -> list[bool]:
    """Teacher-forced: every answer token and </s> is the argmax -- the same as greedy decoding giving exactly
    the answer, computed in one batched forward."""
    hits = []
    for s in range(0, len(examples), batch_size):
        batch = collate(processor, pools.pixels, examples[s : s + batch_size], n_img)
        logits = model(**model_inputs(batch)).logits[:, :-1]
        labels = batch["labels"][:, 1:]
        keep = labels != -100
        hits += ((logits.argmax(-1) == labels) | ~keep).all(1).tolist()
    return hits


def heldout_report(model, processor, seed: int = HELDOUT_SEED, **sizes) -> dict:
    """{name: {"n", "accuracy", "ci95"}} on the held-out seed (Wilson 95 % interval)."""
    n_img = (SIZE // processor.patch_size) ** 2
    pools, sets = heldout_examples(processor, seed, **sizes)
    report = {}
    for name, examples in sets.items():
        hits = exact_match(model, processor, pools, examples, n_img)
        report[name] = {
            "n": len(hits),
            "accuracy": round(float(np.mean(hits)), 4),
            "ci95": wilson(sum(hits), len(hits)),
        }
    return report


def wilson(k: int, n: int, z: float = 1.96) -> list[float]:
    if n == 0:
        return [0.0, 1.0]
    p = k / n
    centre, half = (
        (p + z * z / (2 * n)) / (1 + z * z / n),
        z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n),
    )
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]
