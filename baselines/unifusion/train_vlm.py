"""Stage (a): pretrain the tiny LLaVA on rendered scenes (captions + question answering), then freeze it.

The language-model loss covers only the answer tokens. Scenes come from ``tiny_vlm.random_scenes`` with the
training seed (never 0, the seed of the eval tasks), so every eval scene is unseen. Run through
``python -m harness_baselines.unifusion.train vlm ...``.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from harness.data import edit_scenes
from harness_baselines.unifusion import tiny_vlm


def _batch(
    processor,
    pixel_pool: torch.Tensor,
    scenes: list[dict],
    idx: np.ndarray,
    rng,
    size: int,
    n_img: int,
    rngs: list | None = None,
):
    """-> dict(input_ids [B, S], attention_mask [B, S], labels [B, S], pixel_values [B, 3, h, w]).

    Ids are laid out as the processor lays out "<image> question answer : ...": ``n_img`` image tokens, the
    prompt, the answer and </s>; labels are -100 except on the answer and </s>."""
    tok = processor.tokenizer
    image_id = tok.convert_tokens_to_ids(tiny_vlm.IMAGE_TOKEN)
    rows, labels = [], []
    for j, i in enumerate(idx):
        question, answer = tiny_vlm.scene_question(scenes[i], size, rngs[j] if rngs else rng)
        prompt = [image_id] * n_img + tok(f"{question} answer :", add_special_tokens=False)["input_ids"]
        target = tok(answer, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        rows.append(prompt + target)
        labels.append([-100] * len(prompt) + target)
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), tok.pad_token_id)
    lab = torch.full((len(rows), width), -100)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, (row, lr) in enumerate(zip(rows, labels)):
        ids[r, : len(row)], lab[r, : len(lr)], mask[r, : len(row)] = torch.tensor(row), torch.tensor(lr), 1
    return {"input_ids": ids, "attention_mask": mask, "labels": lab, "pixel_values": pixel_pool[torch.from_numpy(idx)]}


def train_vlm(
    out: Path,
    seed: int = 1,
    steps: int = 1500,
    batch_size: int = 32,
    lr: float = 3e-3,
    n_scenes: int = 4000,
    size: int = 64,
    threads: int = 2,
    log_every: int = 100,
) -> dict:
    """Train and save the tiny VLM to ``out`` (safetensors + configs + processor). Returns a summary dict."""
    from transformers import LlavaForConditionalGeneration

    if seed == 0:
        raise ValueError("seed 0 is the eval tasks' seed: pretrain on another seed so eval scenes stay unseen")
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    start = time.time()
    processor = tiny_vlm.build_processor()
    model = LlavaForConditionalGeneration(tiny_vlm.build_config(len(processor.tokenizer)))
    scenes = tiny_vlm.random_scenes(seed, n_scenes, size)
    images = [edit_scenes.render(s, size) for s in scenes]
    pixel_pool = processor.image_processor(images=images, return_tensors="pt")["pixel_values"]
    n_img = (processor.image_processor.size["height"] // processor.patch_size) ** 2
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps)))
    )
    model.train()
    losses = []
    for step in range(steps):
        idx = rng.integers(0, n_scenes, size=batch_size)
        loss = model(**_batch(processor, pixel_pool, scenes, idx, rng, size, n_img)).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if (step + 1) % log_every == 0:
            print(
                f"vlm step {step + 1}/{steps} loss {np.mean(losses[-log_every:]):.4f} ({time.time() - start:.0f}s)",
                flush=True,
            )
    model.eval()
    accuracy = answer_accuracy(model, processor, seed + 1000, size, n_img)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    summary = {
        "seed": seed,
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "n_scenes": n_scenes,
        "final_loss": float(np.mean(losses[-log_every:])),
        "heldout_exact_answer_accuracy": accuracy,
        "train_seconds": round(time.time() - start, 1),
        "threads": threads,
    }
    (out / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


@torch.no_grad()
def answer_accuracy(model, processor, seed: int, size: int, n_img: int, n: int = 512) -> dict[str, float]:
    """Teacher-forced next-token accuracy on answer tokens of ``n`` held-out scenes, per question kind (its
    first two words) -- a check that the frozen encoder looks at the image: a language prior alone scores about
    chance on colours (1/8), shapes (1/3) and positions."""
    scenes = tiny_vlm.random_scenes(seed, n, size)
    pixels = processor.image_processor(images=[edit_scenes.render(s, size) for s in scenes], return_tensors="pt")[
        "pixel_values"
    ]
    kinds = [
        " ".join(tiny_vlm.scene_question(s, size, np.random.default_rng([seed, i]))[0].split()[:2])
        for i, s in enumerate(scenes)
    ]
    hits: dict[str, list[float]] = {}
    for start in range(0, n, 64):
        idx = np.arange(start, min(n, start + 64))
        rngs = [np.random.default_rng([seed, i]) for i in idx]
        batch = _batch(processor, pixels, scenes, idx, None, size, n_img, rngs)
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits[:, :-1]
        labels = batch["labels"][:, 1:]
        for row, i in enumerate(idx):
            keep = labels[row] != -100
            hits.setdefault(kinds[i], []).append(float((logits[row].argmax(-1)[keep] == labels[row][keep]).all()))
    return {k: round(float(np.mean(v)), 3) for k, v in sorted(hits.items())}
