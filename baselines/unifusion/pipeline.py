"""Sampling: (image, text) -> VLM states -> flow-matching Euler steps -> image.

Two starts, both used for editing:
- ``start="source"``: SDEdit -- noise the source image to ``strength`` (sigma) and integrate from there, as
  diffusers' img2img pipelines do (``scale_noise`` + ``set_begin_index``);
- ``start="noise"``: pure noise (sigma = 1); the source reaches the output only through the VLM conditioning.

Each sample is generated alone with its own ``torch.Generator`` seeded from its seed, so an output never depends
on the batch it came in.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from harness_baselines.unifusion.encoder import VLMEncoder


def to_tensor(image: np.ndarray, size: int) -> torch.Tensor:
    """uint8 (H, W, 3) -> float [1, 3, size, size] in [-1, 1] (box filter: an area average when downscaling)."""
    small = Image.fromarray(image).resize((size, size), Image.BOX)
    return torch.from_numpy(np.asarray(small, dtype=np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None]


def to_image(x: torch.Tensor, height: int, width: int) -> np.ndarray:
    """float [1, 3, h, w] in [-1, 1] -> uint8 (height, width, 3), bilinear upsampling."""
    arr = ((x[0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return np.asarray(Image.fromarray(arr).resize((width, height), Image.BILINEAR), dtype=np.uint8).copy()


class UniFusionPipeline:
    """encoder: frozen VLMEncoder (its ``layers`` = the transformer's ``layer_indices``); transformer:
    UniFusionTransformer; scheduler: FlowMatchEulerDiscreteScheduler."""

    def __init__(self, encoder: VLMEncoder, transformer, scheduler):
        self.encoder = encoder
        self.transformer = transformer.eval()
        self.scheduler = scheduler

    @torch.no_grad()
    def __call__(
        self,
        images: list[np.ndarray],
        texts: list[str],
        seeds: list[int],
        steps: int = 20,
        start: str = "source",
        strength: float = 0.7,
    ) -> list[np.ndarray]:
        """images: uint8 (H, W, 3); returns one uint8 (H, W, 3) per input, same size as the input."""
        if start not in ("source", "noise"):
            raise ValueError(f"start must be 'source' or 'noise', got {start!r}")
        size = self.transformer.config.sample_size
        states = self.encoder.encode(images, texts)  # per sample [K, T_i, D]
        outputs = []
        for image, st, seed in zip(images, states, seeds):
            source = to_tensor(image, size)
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
                velocity = self.transformer(x, t.reshape(1), st[None], mask)
                x = self.scheduler.step(velocity, t, x).prev_sample
            outputs.append(to_image(x, image.shape[0], image.shape[1]))
        return outputs
