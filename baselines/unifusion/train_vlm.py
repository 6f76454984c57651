"""Stage (a): train the tiny LLaVA on rendered scenes, then freeze it for good.

One command, deterministic from ``seed`` and resumable (``python -m harness_baselines.unifusion.train vlm``):

- language-model loss on the answer tokens only (each example's mean, so one-word probe answers weigh as much as
  captions) over a mix of: scene questions and captions (``tiny_vlm.scene_question``), VERIFI rewrites
  ((source, instruction) -> canonical caption of the target, from ``edit_scenes.generate(seed)``), text-to-image
  rewrites ((uniform gray, caption) -> canonical caption, the ``edit/t2i-scenes`` input form) and two-reference
  rewrites (the `edit/compose` family, ``harness.data.edit_compose.generate(seed)``); see ``SCHEDULE``;
- an auxiliary pixel loss (``pixel_weight``): a linear head (thrown away after training) must read each image
  token's 8x8x3 patch back from hidden state 0, so the states the generator reads hold the source's pixels
  (a 2-layer CLIP tower trained on question answering alone is free to drop them).

Batch draws come from ``default_rng([seed, step])``: a resumed run draws exactly what an uninterrupted run draws.
Training state (model, optimiser, heads, losses) is saved every ``save_every`` steps under ``out/resume/`` and
removed at the end. Training data use seed ``seed`` (default 1); the held-out report uses seed 1001 (scenes,
edits and two-reference pairs), a range the generators' training must not use (see README).
"""

from __future__ import annotations

import json
import math
import resource
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from harness_baselines.unifusion import tiny_vlm
from harness_baselines.unifusion.vlm_data import (
    FOCUS_LAYER,
    HELDOUT_SEED,
    LABEL_CLASSES,
    SCHEDULE,
    SIZE,
    Pools,
    collate,
    draw,
    model_inputs,
    patches,
)
from harness_baselines.unifusion.vlm_report import heldout_report


def losses(model, heads, batch: dict, patch: int, label_table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(language-model loss: mean over examples of the mean over answer tokens, auxiliary loss of hidden state 0:
    pixels (MSE) + per-patch scene labels (cross-entropy, ``LABEL_CLASSES``))."""
    labels = batch["labels"]
    out = model(**model_inputs(batch), output_hidden_states=True)
    logits, targets = out.logits[:, :-1], labels[:, 1:]
    ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, ignore_index=-100, reduction="none")
    keep = (targets != -100).float()
    lm = ((ce * keep).sum(1) / keep.sum(1)).mean()
    image = batch["input_ids"] == model.config.image_token_id
    tokens = out.hidden_states[0][image]  # [n_images * n_img, D] in order of appearance
    pixel = torch.nn.functional.mse_loss(heads["pixel"](tokens), patches(batch["pixel_values"], patch).flatten(0, 1))
    logits = heads["labels"](tokens).split(LABEL_CLASSES, dim=-1)
    want = label_table[batch["images"]].flatten(0, 1)  # [n_images * n_img, len(LABEL_CLASSES) + 1]
    semantic = sum(torch.nn.functional.cross_entropy(lg, want[:, j]) for j, lg in enumerate(logits)) / len(logits)
    rows = [b for b, f in enumerate(batch["focus"]) if f is not None]
    if rows:  # single-image questions only: row b's image tokens are its n_img tokens
        marked = out.hidden_states[FOCUS_LAYER][rows][image[rows]]
        wanted = torch.cat([batch["focus"][b] for b in rows])
        semantic = semantic + torch.nn.functional.binary_cross_entropy_with_logits(heads["focus"](marked)[:, 0], wanted)
    return lm, pixel + semantic


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def train_vlm(
    out: Path,
    seed: int = 1,
    steps: int = 1000,
    batch_size: int = 24,
    lr: float = 2e-3,
    n_scenes: int = 4000,
    n_edits_per_type: int = 400,
    n_pairs_per_type: int = 200,
    pixel_weight: float = 1.0,
    threads: int = 2,
    log_every: int = 50,
    save_every: int = 100,
    eval_every: int = 0,
    stop_after: int | None = None,
    heldout_scenes: int = 512,
    init: Path | None = None,
    schedule: tuple[str, ...] = SCHEDULE,
) -> dict | None:
    """Train and save the tiny VLM to ``out`` (safetensors + configs + processor + training.json).

    ``stop_after``: save the resume state after that many steps of this call and return None (time-slicing on
    a contended machine; the next call continues). ``heldout_scenes``: size of the held-out report.
    ``init``: start from the weights of a saved tiny VLM (a continuation stage: new optimiser, warm-up and cosine
    schedule, fresh auxiliary heads; the batch stream is ``default_rng([seed, step])`` of this stage's steps, so
    use another ``seed`` than the stage before). ``schedule``: the batch kinds cycled over steps (``SCHEDULE``;
    ``("short",)`` trains on the probes and other one-word questions only)."""
    from transformers import LlavaForConditionalGeneration

    if seed in (0, HELDOUT_SEED):
        raise ValueError(f"seed {seed} is reserved (0: the eval tasks, {HELDOUT_SEED}: the held-out report)")
    if not schedule or set(schedule) - set(SCHEDULE):
        raise ValueError(f"schedule {schedule!r}: batch kinds are {sorted(set(SCHEDULE))}")
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    start, cpu0 = time.time(), cpu_seconds()
    processor = tiny_vlm.build_processor(image_size=SIZE)
    if init is None:
        model = LlavaForConditionalGeneration(tiny_vlm.build_config(len(processor.tokenizer), image_size=SIZE))
    else:
        model = LlavaForConditionalGeneration.from_pretrained(init)
    patch = processor.patch_size
    width = model.config.text_config.hidden_size
    heads = torch.nn.ModuleDict(
        {
            "pixel": torch.nn.Linear(width, 3 * patch * patch),
            "labels": torch.nn.Linear(width, sum(LABEL_CLASSES)),
            "focus": torch.nn.Linear(width, 1),
        }
    )
    if init is None:
        init_positions(model, SIZE // patch)
    pools = Pools(processor, seed, n_scenes, n_edits_per_type, n_pairs_per_type)
    n_img = (SIZE // patch) ** 2
    params = list(model.parameters()) + list(heads.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps)))
    )
    resume = out / "resume"
    history: dict = {"lm": [], "pixel": [], "cpu_seconds": 0.0, "wall_seconds": 0.0}
    first = 0
    if (resume / "state.json").is_file():  # continue an interrupted run exactly where its last save left it
        history = json.loads((resume / "state.json").read_text())
        first = len(history["lm"])
        weights = torch.load(resume / "weights.pt", weights_only=True)
        model.load_state_dict(weights["model"])
        heads.load_state_dict(weights["heads"])
        opt.load_state_dict(weights["opt"])
        sched.load_state_dict(weights["sched"])
        print(f"vlm: resumed at step {first}", flush=True)
    prior_cpu, prior_wall = history["cpu_seconds"], history["wall_seconds"]
    model.train()
    last = steps if stop_after is None else min(steps, first + stop_after)
    for step in range(first, last):
        rng = np.random.default_rng([seed, step])
        batch = collate(processor, pools.pixels, draw(pools, rng, batch_size, schedule[step % len(schedule)]), n_img)
        lm, pixel = losses(model, heads, batch, patch, pools.labels)
        opt.zero_grad(set_to_none=True)
        (lm + pixel_weight * pixel).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        history["lm"].append(lm.item())
        history["pixel"].append(pixel.item())
        if (step + 1) % log_every == 0:
            print(
                f"vlm step {step + 1}/{steps} lm {np.mean(history['lm'][-log_every:]):.4f} "
                f"pixel {np.mean(history['pixel'][-log_every:]):.4f} ({time.time() - start:.0f}s wall, "
                f"{cpu_seconds() - cpu0:.0f}s cpu)",
                flush=True,
            )
        if eval_every and (step + 1) % eval_every == 0:  # a small held-out look (seed 1001) while training
            model.eval()
            small = heldout_report(model, processor, n_scenes=96, n_edits_per_type=8)
            model.train()
            print("vlm heldout " + " ".join(f"{k} {v['accuracy']:.2f}" for k, v in small.items()), flush=True)
        if (step + 1) % save_every == 0 and step + 1 < steps:
            history["cpu_seconds"] = prior_cpu + cpu_seconds() - cpu0
            history["wall_seconds"] = prior_wall + time.time() - start
            _save_resume(resume, model, processor, heads, opt, sched, history)
    if last < steps:
        history["cpu_seconds"] = prior_cpu + cpu_seconds() - cpu0
        history["wall_seconds"] = prior_wall + time.time() - start
        _save_resume(resume, model, processor, heads, opt, sched, history)
        return None
    model.eval()
    train_cpu = prior_cpu + cpu_seconds() - cpu0
    train_wall = prior_wall + time.time() - start
    n_edits = max(1, heldout_scenes * 40 // 512)  # 512 scenes -> 40 edits of each single- and two-reference type
    report = heldout_report(model, processor, n_scenes=heldout_scenes, n_edits_per_type=n_edits)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    summary = {
        "seed": seed,
        "heldout_seed": HELDOUT_SEED,
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "n_scenes": n_scenes,
        "n_edits": len(pools.edits),
        "n_pairs": len(pools.pairs),
        "pixel_weight": pixel_weight,
        "init": str(init) if init else None,
        "schedule": list(schedule),
        "final_lm_loss": float(np.mean(history["lm"][-log_every:])),
        "final_pixel_loss": float(np.mean(history["pixel"][-log_every:])),
        "heldout": report,
        "train_cpu_seconds": round(train_cpu, 1),
        "train_wall_seconds": round(train_wall, 1),
        "threads": threads,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    (out / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    shutil.rmtree(resume, ignore_errors=True)
    return summary


def init_positions(model, grid: int, scale: float = 0.3) -> None:
    """2-D sine-cosine values into the CLIP tower's (trainable) patch position embeddings (row 0 is CLS): the
    tower starts out knowing where each patch is, which "where" questions need and a from-scratch tower learns
    slowly."""
    table = model.model.vision_tower.embeddings.position_embedding.weight
    d = table.shape[1] // 4
    freq = 1.0 / (10000 ** (torch.arange(d) / d))
    ys, xs = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    ang_y, ang_x = ys.flatten()[:, None] * freq, xs.flatten()[:, None] * freq
    with torch.no_grad():
        table[1:] = scale * torch.cat([ang_y.sin(), ang_y.cos(), ang_x.sin(), ang_x.cos()], dim=1)


def _save_resume(resume: Path, model, processor, heads, opt, sched, history: dict) -> None:
    """Atomic: weights first, then the state file that marks the save as complete. ``resume/preview`` is the
    model so far as a loadable checkpoint (for developing against an unfinished run)."""
    resume.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(resume / "preview")
    processor.save_pretrained(resume / "preview")
    weights = {
        "model": model.state_dict(),
        "heads": heads.state_dict(),
        "opt": opt.state_dict(),
        "sched": sched.state_dict(),
    }
    torch.save(weights, resume / "weights.pt.tmp")
    (resume / "weights.pt.tmp").replace(resume / "weights.pt")
    (resume / "state.json.tmp").write_text(json.dumps(history))
    (resume / "state.json.tmp").replace(resume / "state.json")
