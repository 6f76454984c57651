"""Sampling: (reference image(s), text) -> VLM states -> flow-matching Euler steps -> image.

Two starts:
- ``start="noise"`` (the default, the paper's method): pure noise (sigma = 1); the source reaches the output only
  through the VLM's tokens;
- ``start="source"``: SDEdit -- noise the (first) reference image to ``strength`` (sigma) and integrate from
  there, as diffusers' img2img pipelines do (``scale_noise`` + ``set_begin_index``). A pixel path around the VLM
  that UniFusion does not have: an option for comparison, not the paper's method.

Two conditioning sources (the generator's variant decides): ``prompt`` -- the states of all tokens of (images,
text); ``rewrite`` (VERIFI) -- the states of the tokens the VLM generates while rewriting (images, text) into a
description of the result; the rewrite texts of the last call are kept in ``last_rewrites``.

Each sample is generated alone with its own ``torch.Generator`` seeded from its seed, so an output never depends
on the batch it came in.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from harness_baselines.unifusion.encoder import VLMEncoder, as_references


def to_tensor(image: np.ndarray, size: int) -> torch.Tensor:
    """uint8 (H, W, 3) -> float [1, 3, size, size] in [-1, 1] (box filter: an area average when downscaling)."""
    if image.shape[:2] != (size, size):
        image = np.asarray(Image.fromarray(image).resize((size, size), Image.BOX))
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None]


def to_image(x: torch.Tensor, height: int, width: int) -> np.ndarray:
    """float [1, 3, h, w] in [-1, 1] -> uint8 (height, width, 3), bilinear resizing when the sizes differ."""
    arr = ((x[0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    if arr.shape[:2] == (height, width):
        return arr.copy()
    return np.asarray(Image.fromarray(arr).resize((width, height), Image.BILINEAR), dtype=np.uint8).copy()


def grid_ids(is_image: torch.Tensor, reference: torch.Tensor, cells: int) -> torch.Tensor:
    """[T] token types of one encoded sample -> [T] long: ``r * cells + c`` for the c-th image token of reference
    r, -1 for text tokens; all -1 when a reference does not have exactly ``cells`` image tokens (a VLM whose
    image grid is not the generator's: then no token is tied to a cell)."""
    out = torch.full(is_image.shape, -1, dtype=torch.long)
    for r in reference[is_image].unique().tolist():
        where = torch.nonzero(is_image & (reference == r)).flatten()
        if len(where) != cells:
            return torch.full(is_image.shape, -1, dtype=torch.long)
        out[where] = r * cells + torch.arange(cells)
    return out


class UniFusionPipeline:
    """encoder: frozen VLMEncoder (its ``layers`` = the transformer's ``layer_indices``); transformer:
    UniFusionTransformer; scheduler: FlowMatchEulerDiscreteScheduler; source: "prompt" or "rewrite"."""

    def __init__(self, encoder: VLMEncoder, transformer, scheduler, source: str = "prompt"):
        if source not in ("prompt", "rewrite"):
            raise ValueError(f"source must be 'prompt' or 'rewrite', got {source!r}")
        self.encoder = encoder
        self.transformer = transformer.eval()
        self.scheduler = scheduler
        self.source = source
        self.last_rewrites: list[str] | None = None

    def states(self, images: list, texts: list[str]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per sample (states [K, T_i, D], grid [T_i]): all prompt tokens, or (VERIFI) the generated rewrite
        tokens only (no image token among them: grid all -1)."""
        if self.source == "prompt":
            self.last_rewrites = None
            cells = self.transformer.patch_embed.pos_embed.shape[1]
            return [
                (e.states, grid_ids(e.is_image, e.reference, cells)) for e in self.encoder.encode_full(images, texts)
            ]
        rewrites = self.encoder.rewrite(images, texts)
        self.last_rewrites = [r.text for r in rewrites]
        return [(r.states, torch.full(r.states.shape[1:2], -1, dtype=torch.long)) for r in rewrites]

    @torch.no_grad()
    def __call__(
        self,
        images: list,
        texts: list[str],
        seeds: list[int],
        steps: int = 20,
        start: str = "noise",
        strength: float = 0.7,
    ) -> list[np.ndarray]:
        """images[i]: one uint8 (H, W, 3) array or a list of references (the first is the one edited); returns
        one uint8 array per sample, of the first reference's size."""
        if start not in ("source", "noise"):
            raise ValueError(f"start must be 'source' or 'noise', got {start!r}")
        size = self.transformer.config.sample_size
        states = self.states(images, texts)
        outputs = []
        for refs, (st, grid), seed in zip(images, states, seeds):
            first = as_references(refs)[0]
            source = to_tensor(first, size)
            noise = torch.randn(source.shape, generator=torch.Generator().manual_seed(int(seed) % 2**63))
            self.scheduler.set_timesteps(steps)
            timesteps = self.scheduler.timesteps
            if start == "source":
                # As diffusers' img2img: skip the first (1 - strength) of the schedule.
                t_start = min(int(max(steps - min(steps * strength, steps), 0)), steps - 1)
                timesteps = timesteps[t_start:]
                self.scheduler.set_begin_index(t_start)
                x = self.scheduler.scale_noise(source, timesteps[:1], noise)
            else:
                x = noise
            mask = torch.ones(1, st.shape[1], dtype=torch.bool)
            for t in timesteps:
                velocity = self.transformer(x, t.reshape(1), st[None], mask, grid[None])
                x = self.scheduler.step(velocity, t, x).prev_sample
            outputs.append(to_image(x, first.shape[0], first.shape[1]))
        return outputs
