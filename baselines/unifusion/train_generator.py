"""Stage (b): train one generator (one conditioning variant, one regime, one seed) with flow matching on the frozen
VLM's precomputed features (features.py).

Regimes (training_data.py): ``zero-shot`` trains from scratch on text-to-image with a share of reconstructions and
never sees an edit pair; ``edit-ft`` starts from a zero-shot checkpoint and fine-tunes on single-reference edit
pairs (the paper's UniFusion-Edit), replaying a share of the zero-shot mixture.

Resumable: every ``save_every`` steps the model, optimiser, schedule, step and every random state go to
``state_path``; a killed run started again with the same arguments continues
from there and ends with the same weights as an uninterrupted one. Deterministic from ``seed`` at a fixed thread
count. Run through ``python -m harness_baselines.unifusion.train``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from harness_baselines.unifusion.generator import UniFusionTransformer
from harness_baselines.unifusion.pipeline import to_tensor
from harness_baselines.unifusion.training_data import POOLS, mixture

# The noise levels drawn in training. "uniform": t ~ U(0, 1) (what the shipped ladder used). "logit_normal":
# t = sigmoid(N(0.8, 0.8)), the time distribution of the x-prediction reference (Li & He 2025, JiT: P_mean -0.8,
# P_std 0.8 in its convention where t = 1 is clean, github.com/LTH14/JiT denoiser.py sample_t; here t = 1 is
# noise, so the sign flips). With x-prediction and the velocity loss, v = (x_t - x_0) / t weighs a clean-image
# error by 1 / t^2: uniform t spends the gradient on low noise, where x_t already shows the image and the
# conditioning hardly matters; the logit-normal draw moves it to the noisy levels where the layout is decided.
T_SAMPLING = {"uniform": None, "logit_normal": (0.8, 0.8)}


def draw_t(n: int, generator: torch.Generator, sampling: str = "uniform") -> torch.Tensor:
    """n noise levels in (0, 1) (T_SAMPLING)."""
    if sampling not in T_SAMPLING:
        raise ValueError(f"unknown t sampling {sampling!r} (known: {', '.join(T_SAMPLING)})")
    if T_SAMPLING[sampling] is None:
        return torch.rand(n, generator=generator)
    mean, std = T_SAMPLING[sampling]
    return torch.sigmoid(torch.randn(n, generator=generator) * std + mean)


def flow_matching_loss(
    transformer: UniFusionTransformer,
    states: torch.Tensor,
    mask: torch.Tensor,
    target: torch.Tensor,
    generator: torch.Generator,
    grid: torch.Tensor | None = None,
    t_sampling: str = "uniform",
) -> torch.Tensor:
    """Rectified-flow loss. states [B, K, T, D], mask [B, T], target [B, C, H, W] in [-1, 1], grid [B, T].

    x_t = (1 - t) x_0 + t * noise with t drawn by ``t_sampling`` (T_SAMPLING); the model predicts the velocity
    (noise - x_0) at timestep 1000 t, matching FlowMatchEulerDiscreteScheduler's sigma = t convention."""
    noise = torch.randn(target.shape, generator=generator)
    t = draw_t(target.shape[0], generator, t_sampling)
    x_t = (1 - t[:, None, None, None]) * target + t[:, None, None, None] * noise
    velocity = transformer(x_t, t * 1000, states, mask, grid)
    return torch.nn.functional.mse_loss(velocity, noise - target)


def draw_batch(rng, probs: dict[str, float], features: dict, targets: dict, layers: list[int], batch_size: int):
    """-> (states [B, K, T, D], mask [B, T], grid [B, T], target [B, 3, H, W]): each element's pool drawn with
    ``probs``."""
    names = [p for p in POOLS if probs.get(p, 0) > 0]
    p = np.array([probs[n] for n in names])
    which = rng.choice(len(names), size=batch_size, p=p / p.sum())
    parts = []
    for k, name in enumerate(names):
        n = int((which == k).sum())
        if n:
            idx = torch.from_numpy(rng.integers(0, len(features[name]), size=n))
            parts.append((*features[name].batch(idx, layers), targets[name][idx]))
    width = max(p[0].shape[2] for p in parts)
    pad = torch.nn.functional.pad
    states = torch.cat([pad(s, (0, 0, 0, width - s.shape[2])) for s, _, _, _ in parts])
    mask = torch.cat([pad(m, (0, width - m.shape[1])) for _, m, _, _ in parts])
    grid = torch.cat([pad(g, (0, width - g.shape[1]), value=-1) for _, _, g, _ in parts])
    return states, mask, grid, torch.cat([t for _, _, _, t in parts])


@dataclass(frozen=True)
class Recipe:
    """The optimisation settings of one generator run (``train.py`` fills them from its command line, where the
    ladder's defaults live)."""

    steps: int
    batch_size: int
    lr: float
    recon_share: float  # share of reconstructions in the zero-shot mixture (training_data.mixture)
    edit_share: float  # share of edit pairs in an edit-ft batch
    lap_stride: int = 3  # which VLM states LAP reads (a new generator's config; an init keeps its own)
    t_sampling: str = "uniform"  # the noise levels drawn in training (T_SAMPLING)


def train_generator(
    out: Path,
    variant: str,
    regime: str,
    features: dict,
    pools: dict,
    vlm_shape: dict,
    recipe: Recipe,
    seed: int = 1,
    init: Path | None = None,
    state_path: Path | None = None,
    save_every: int = 100,
    log_every: int = 100,
    extra: dict | None = None,
) -> dict:
    """Train and save one generator to ``out`` (config.json + safetensors + scheduler config + training.json).

    features: pool name -> Features of this variant's source (prompt or rewrite); pools: pool name -> Pool (its
    targets); vlm_shape: {"hidden_size", "num_hidden_states"} of the frozen VLM; init: the zero-shot checkpoint an
    edit-ft run starts from."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    if seed == 0:
        raise ValueError("seed 0 is the eval tasks' seed: train on another seed so eval scenes stay unseen")
    if regime == "edit-ft" and init is None:
        raise ValueError("edit-ft fine-tunes a zero-shot checkpoint: give init")
    cpu0, wall0 = time.process_time(), time.time()
    torch.manual_seed(seed)
    if init is not None:
        transformer = UniFusionTransformer.from_pretrained(init, low_cpu_mem_usage=False)
        if transformer.config.variant != variant:
            raise ValueError(f"init {init} is a {transformer.config.variant!r} generator, not {variant!r}")
    else:
        transformer = UniFusionTransformer(
            variant=variant,
            vlm_hidden_size=vlm_shape["hidden_size"],
            vlm_num_hidden_states=vlm_shape["num_hidden_states"],
            lap_stride=recipe.lap_stride,
        )
    size = transformer.config.sample_size
    targets = {n: torch.cat([to_tensor(t, size) for t in pools[n].targets]) for n in features}
    probs = mixture(regime, recipe.recon_share, recipe.edit_share)
    steps = recipe.steps
    opt = torch.optim.AdamW(transformer.parameters(), lr=recipe.lr, weight_decay=0.0)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps)))
    )
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng([seed, 1 if regime == "zero-shot" else 2])
    losses: list[float] = []
    step0, cpu_before = 0, 0.0
    state_path = Path(state_path or out.with_name(out.name + ".state.pt"))
    if state_path.is_file():  # resume where a killed run stopped
        saved = torch.load(state_path, weights_only=False)
        transformer.load_state_dict(saved["model"])
        opt.load_state_dict(saved["opt"])
        sched.load_state_dict(saved["sched"])
        gen.set_state(saved["gen"])
        rng.bit_generator.state = saved["rng"]
        losses, step0, cpu_before = saved["losses"], saved["step"], saved["cpu"]
        print(f"{regime}/{variant} seed {seed}: resumed at step {step0}", flush=True)
    transformer.train()
    layers = transformer.layer_indices
    for step in range(step0, steps):
        states, mask, grid, target = draw_batch(rng, probs, features, targets, layers, recipe.batch_size)
        loss = flow_matching_loss(transformer, states, mask, target, gen, grid, recipe.t_sampling)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(transformer.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if (step + 1) % log_every == 0:
            print(
                f"{regime}/{variant} seed {seed} step {step + 1}/{steps} loss {np.mean(losses[-log_every:]):.4f} "
                f"({time.time() - wall0:.0f}s)",
                flush=True,
            )
        if (step + 1) % save_every == 0 and step + 1 < steps:
            saved = {"model": transformer.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()}
            saved |= {"gen": gen.get_state(), "rng": rng.bit_generator.state, "losses": losses, "step": step + 1}
            saved["cpu"] = cpu_before + time.process_time() - cpu0
            state_path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(saved, state_path.with_suffix(".tmp"))
            state_path.with_suffix(".tmp").replace(state_path)
    transformer.eval()
    out.mkdir(parents=True, exist_ok=True)
    transformer.save_pretrained(out)
    FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0).save_pretrained(out)
    summary = {
        "variant": variant,
        "regime": regime,
        "seed": seed,
        "init": str(init) if init else None,
        "steps": steps,
        "batch_size": recipe.batch_size,
        "lr": recipe.lr,
        "t_sampling": recipe.t_sampling,
        "mixture": probs,
        "pool_sizes": {n: len(f) for n, f in features.items()},
        "layers": layers,
        "final_loss": float(np.mean(losses[-log_every:])),
        # CPU time of this training (user + sys of this process, plus the CPU of the runs it resumed from).
        "cpu_seconds": round(cpu_before + time.process_time() - cpu0, 1),
        "wall_seconds_this_process": round(time.time() - wall0, 1),
        "resumed_at_step": step0,
        "threads": torch.get_num_threads(),
        "parameters": sum(p.numel() for p in transformer.parameters()),
        **(extra or {}),
    }
    (out / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    state_path.unlink(missing_ok=True)
    return summary
