"""Stage (b): train one generator (one conditioning variant) with flow matching on the frozen VLM's states.

Two kinds of example, both from (image, caption) pairs of rendered training scenes -- never an edit pair:
- reconstruction: condition on VLM(scene image, caption), target the scene image;
- text-to-image:  condition on VLM(uniform gray image, caption), target the scene image (the same input form as
  the ``edit/t2i-scenes`` task).
The VLM is frozen, so its states are computed once per example (encoder cache) and training only touches the
generator. Deterministic from ``seed``. Run through ``python -m harness_baselines.unifusion.train generator ...``.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from harness.data import edit_scenes
from harness_baselines.unifusion import tiny_vlm
from harness_baselines.unifusion.encoder import VLMEncoder, pad_states
from harness_baselines.unifusion.generator import UniFusionTransformer
from harness_baselines.unifusion.pipeline import to_tensor

GRAY = (128, 128, 128)  # the t2i task's blank source (harness/data/edit_t2i.py)


def flow_matching_loss(
    transformer: UniFusionTransformer,
    states: torch.Tensor,
    mask: torch.Tensor,
    target: torch.Tensor,
    generator: torch.Generator,
) -> torch.Tensor:
    """Rectified-flow loss. states [B, K, T, D], mask [B, T], target [B, C, H, W] in [-1, 1].

    x_t = (1 - t) x_0 + t * noise with t ~ U(0, 1); the model predicts the velocity (noise - x_0) at timestep
    1000 t, matching FlowMatchEulerDiscreteScheduler's sigma = t convention."""
    noise = torch.randn(target.shape, generator=generator)
    t = torch.rand(target.shape[0], generator=generator)
    x_t = (1 - t[:, None, None, None]) * target + t[:, None, None, None] * noise
    velocity = transformer(x_t, t * 1000, states, mask)
    return torch.nn.functional.mse_loss(velocity, noise - target)


def training_pairs(seed: int, n_scenes: int, size: int = 64) -> tuple[list[np.ndarray], list[str], list[np.ndarray]]:
    """-> (VLM input images, texts, target images): per scene one reconstruction and one text-to-image pair."""
    inputs, texts, targets = [], [], []
    gray = np.full((size, size, 3), GRAY, dtype=np.uint8)
    for scene in tiny_vlm.random_scenes(seed, n_scenes, size):
        image, text = edit_scenes.render(scene, size), edit_scenes.caption(scene, size)
        inputs += [image, gray]
        texts += [text, text]
        targets += [image, image]
    return inputs, texts, targets


def folder_hash(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in Path(path).rglob("*") if p.is_file()):
        h.update(f.relative_to(path).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def train_generator(
    out: Path,
    variant: str,
    vlm: Path,
    seed: int = 1,
    steps: int = 2500,
    batch_size: int = 16,
    lr: float = 1e-3,
    n_scenes: int = 2000,
    lap_stride: int = 3,
    threads: int = 2,
    log_every: int = 100,
) -> dict:
    """Train and save ``variant``'s generator to ``out`` (config.json + safetensors + scheduler config)."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    if seed == 0:
        raise ValueError("seed 0 is the eval tasks' seed: train on another seed so eval scenes stay unseen")
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    start = time.time()
    # Build the transformer from the VLM's shape, then ask the encoder for exactly the layers it reads.
    encoder = VLMEncoder.from_pretrained(str(vlm))
    transformer = UniFusionTransformer(
        variant=variant,
        vlm_hidden_size=encoder.hidden_size,
        vlm_num_hidden_states=encoder.num_hidden_states,
        lap_stride=lap_stride,
    )
    encoder = VLMEncoder(encoder.model, encoder.processor, layers=transformer.layer_indices, name=str(vlm))
    inputs, texts, targets = training_pairs(seed, n_scenes)
    states = encoder.encode(inputs, texts, micro_batch=64)  # frozen: encode once
    target = torch.cat([to_tensor(t, transformer.config.sample_size) for t in targets])
    encode_seconds = time.time() - start
    opt = torch.optim.AdamW(transformer.parameters(), lr=lr, weight_decay=0.0)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps)))
    )
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    transformer.train()
    losses = []
    for step in range(steps):
        idx = rng.integers(0, len(states), size=batch_size)
        batch_states, batch_mask = pad_states([states[i] for i in idx])
        loss = flow_matching_loss(transformer, batch_states, batch_mask, target[torch.from_numpy(idx)], gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(transformer.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if (step + 1) % log_every == 0:
            print(
                f"{variant} step {step + 1}/{steps} loss {np.mean(losses[-log_every:]):.4f} "
                f"({time.time() - start:.0f}s)",
                flush=True,
            )
    transformer.eval()
    out.mkdir(parents=True, exist_ok=True)
    transformer.save_pretrained(out)
    FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0).save_pretrained(out)
    summary = {
        "variant": variant,
        "seed": seed,
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "n_scenes": n_scenes,
        "n_examples": len(states),
        "layers": transformer.layer_indices,
        "final_loss": float(np.mean(losses[-log_every:])),
        "vlm": str(vlm),
        "vlm_hash": folder_hash(vlm),
        "encode_seconds": round(encode_seconds, 1),
        "train_seconds": round(time.time() - start, 1),
        "threads": threads,
        "parameters": sum(p.numel() for p in transformer.parameters()),
    }
    (out / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
