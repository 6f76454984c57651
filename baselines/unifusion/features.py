"""The frozen VLM's features of every training example, computed once and shared by every variant and seed.

The VLM never changes during generator training, so its hidden states of a training example are the same for
every conditioning variant, regime and training seed: they are computed once per pool (training_data.py) and
stored in the work folder (``<pool>-<source>-<key>.pt``, the key hashes the VLM's files, the pool's inputs and the
layers), so a re-run or a resumed ladder reads them back instead of running the VLM again.

Two sources: ``prompt`` -- the states of all tokens of (image, text), as every variant but VERIFI reads them;
``rewrite`` -- the states of the tokens the VLM generates when it rewrites (image, text) into a description of
the result (VERIFI). Only the layers some variant reads are kept (``shared_layers``), stored as float16.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import torch

from harness_baselines.unifusion.conditioning import VARIANTS, select_layers
from harness_baselines.unifusion.encoder import pad_states
from harness_baselines.unifusion.pipeline import grid_ids


def shared_layers(num_hidden_states: int, num_blocks: int, lap_stride: int) -> list[int]:
    """The union of the hidden states the variants read (a 10-state VLM, 4 blocks, stride 3: 0, 3, 6, 9)."""
    return sorted({j for v in VARIANTS for j in select_layers(v, num_hidden_states, num_blocks, lap_stride)})


class Features:
    """states [N, K, T, D] float16 (zero-padded), lengths [N], grid [N, T] long (pipeline.grid_ids, -1 padded);
    ``layers`` are the K hidden-state indices."""

    def __init__(self, states, lengths, grid, layers: list[int], texts: list[str] | None = None):
        self.states, self.lengths, self.grid, self.layers = states, lengths, grid, list(layers)
        self.texts = texts  # the generated rewrites (source "rewrite"), else None

    def __len__(self) -> int:
        return len(self.lengths)

    def batch(self, idx: torch.Tensor, layers: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> (states [B, len(layers), T, D] float32, mask [B, T] bool, grid [B, T]), cut to the longest example."""
        pick = torch.tensor([self.layers.index(j) for j in layers])
        width = int(self.lengths[idx].max())
        states = self.states[idx][:, pick, :width].float()
        mask = torch.arange(width)[None] < self.lengths[idx][:, None]
        return states, mask, self.grid[idx, :width]


def encode_pool(encoder, pool, source: str, work: Path, vlm_hash: str, cells: int, micro_batch: int = 64) -> Features:
    """The features of ``pool`` from ``encoder`` (its ``layers`` say which), cached in ``work``; ``cells``: the
    generator's patch grid size (pipeline.grid_ids)."""
    how = "forced" if source == "rewrite" and hasattr(encoder, "rewrite_states") else "generated"
    key = f"{vlm_hash}\0{pool.digest()}\0{encoder.layers}\0{source}\0{how}\0{cells}"
    key = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = Path(work) / f"{pool.name}-{source}-{key}.pt"
    if path.is_file():
        saved = torch.load(path)
        return Features(saved["states"], saved["lengths"], saved["grid"], saved["layers"], saved.get("texts"))
    start = time.time()
    per_example, grids, texts = [], [], None
    for s in range(0, len(pool), micro_batch):
        images, prompts = pool.images[s : s + micro_batch], pool.texts[s : s + micro_batch]
        if source == "prompt":
            for e in encoder.encode_full(images, prompts, micro_batch=micro_batch):
                per_example.append(e.states)
                grids.append(grid_ids(e.is_image, e.reference, cells))
        elif source == "rewrite" and hasattr(encoder, "rewrite_states"):
            # Teacher-forced: the states of the rewrite the VLM is trained to give (the target's canonical
            # caption) in the same context as rewrite() -- one batched forward instead of a generation.
            given = pool.rewrites[s : s + micro_batch]
            texts = (texts or []) + list(given)
            per_example += encoder.rewrite_states(images, prompts, given, micro_batch=micro_batch)
        elif source == "rewrite":
            rewrites = encoder.rewrite(images, prompts)
            texts = (texts or []) + [r.text for r in rewrites]
            per_example += [r.states for r in rewrites]
            grids += [torch.full(r.states.shape[1:2], -1, dtype=torch.long) for r in rewrites]
        else:
            raise ValueError(f"unknown feature source {source!r} (known: prompt, rewrite)")
        print(f"features {pool.name}/{source}: {min(s + micro_batch, len(pool))}/{len(pool)}", flush=True)
    states, mask = pad_states(per_example)
    grid = torch.full(mask.shape, -1, dtype=torch.long)
    for i, g in enumerate(grids or [torch.full((int(n),), -1) for n in mask.sum(1)]):
        grid[i, : len(g)] = g
    features = Features(states.half(), mask.sum(1), grid, encoder.layers, texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    saved = {"states": features.states, "lengths": features.lengths, "grid": grid, "layers": features.layers}
    torch.save(saved | {"texts": texts}, tmp)
    tmp.replace(path)  # a killed run never leaves a half-written feature file behind
    print(f"features {pool.name}/{source}: {len(pool)} examples in {time.time() - start:.0f}s", flush=True)
    return features
