"""``harness recipe train``: fit the proxy VLM on a built recipe dataset and save a safetensors checkpoint.

By default every recipe gets the same budget (``train.steps`` x ``train.batch_size`` examples, default
300 x 16): recipes are compared at equal compute, so a bigger dataset means more unique examples, not more
steps; ``train.budget: epochs`` trains ``train.epochs`` passes instead (the paper's protocol: more data, more
compute). Rows stream from the shards through a shuffle buffer (memory bounded); decoded images are kept in a
bounded cache. Deterministic from the recipe seed on one thread.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import numpy as np

from harness.adapters import hash_path
from harness_baselines.honeybee.dataset import dataset_dir, iter_rows, load_image, manifest
from harness_baselines.honeybee.pretrain import BASE_CHECKPOINT, Rehearsal
from harness_baselines.honeybee.recipe import Recipe
from harness_baselines.honeybee.vocab import Vocab, build_vocab

SHUFFLE_BUFFER = 4096
IMAGE_CACHE = 8192


def checkpoint_path(cache: Path, name: str, train_seed: int = 0) -> Path:
    """Training seed 0 keeps the plain name (the checkpoints trained before seeds were an axis)."""
    stem = name if train_seed == 0 else f"{name}-seed{train_seed}"
    return cache / "checkpoints" / f"{stem}.safetensors"


def _shuffled_rows(path: Path, rng: random.Random):
    """Endless stream of rows, shuffled through a buffer of SHUFFLE_BUFFER rows (a full shuffle when smaller)."""
    buf: list[dict] = []
    while True:
        n = 0
        for row in iter_rows(path):
            n += 1
            buf.append(row)
            if len(buf) >= SHUFFLE_BUFFER:
                yield buf.pop(rng.randrange(len(buf)))
        if n == 0:
            raise ValueError(f"{path}: dataset has no rows")
        rng.shuffle(buf)
        while len(buf) > SHUFFLE_BUFFER // 2:
            yield buf.pop()


def encode_example(vocab: Vocab, prompt: str, cot: str, room: int) -> tuple[list[int], int]:
    """-> (token ids: prompt <sep> cot <eos>, index where the CoT starts); the prompt is cut from the front."""
    target = vocab.encode(cot)[: room // 2] + [vocab.eos]
    p = vocab.encode(prompt)[-(room - len(target) - 1) :] + [vocab.sep]
    return p + target, len(p)


def train(
    recipe: Recipe,
    cache: Path,
    steps: int | None = None,
    log=print,
    force: bool = False,
    train_seed: int = 0,
    base: Path | None = None,
) -> dict:
    """Train on the newest build of ``recipe``; returns a summary (losses, seconds, checkpoint path and hash).
    A checkpoint trained from the same recipe, dataset hash, steps and training seed is reused unless ``force``.

    ``train_seed`` (the training-seed axis, harness/seeds.py): another initialisation and data order on the same
    dataset; 0 is the recipe's own seed, as before seeds were an axis. ``base``: the pretrained base to fine-tune
    (default: the committed one); the proxy takes its architecture, and rehearsal its pretraining mix."""
    import torch
    from safetensors.torch import save_file

    from harness_baselines.honeybee.model import (
        ProxyConfig,
        ProxyVLM,
        image_tensor,
        teacher_forcing,
        train_step,
    )

    t0 = time.time()
    base = Path(base) if base else BASE_CHECKPOINT
    base_meta = base_metadata(base) if recipe.train.init == "base" else {}
    data = dataset_dir(cache, recipe.name)
    steps = steps or recipe.train.steps_for(manifest(data)["rows"])  # the recipe's budget: steps or epochs
    path = checkpoint_path(cache, recipe.name, train_seed)
    plan = {
        "recipe": recipe.model_dump(mode="json"),
        "dataset_hash": manifest(data)["content_hash"],
        "steps": steps,
        **({"train_seed": train_seed} if train_seed else {}),
        **({"base": file_hash(base)[:16]} if recipe.train.init == "base" else {}),
    }
    seed = recipe.seed if train_seed == 0 else recipe.seed + 1_000_003 * train_seed  # distinct per training seed
    if not force and path.is_file() and _metadata(path).get("plan") == plan:  # same data, same budget: done
        return {
            "checkpoint": str(path),
            "sha256": file_hash(path),
            "steps": steps,
            "first_loss": float("nan"),
            "final_loss": float("nan"),
            "seconds": round(time.time() - t0, 1),
            "cached": True,
        }
    torch.set_num_threads(1)  # the machine is shared; one thread also makes runs bit-reproducible
    torch.manual_seed(seed)
    vocab = Vocab(build_vocab())
    # the base's architecture (pretrain --layers/--d), the default one from scratch
    cfg = ProxyConfig(**{**base_meta.get("config", {}), "vocab_size": len(vocab)})
    model = ProxyVLM(cfg)
    if recipe.train.init == "base":  # fine-tune the pretrained base (pretrain.py), as HoneyBee fine-tunes PLM
        init_from_base(model, vocab, base)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.train.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.train.lr, total_steps=steps, pct_start=0.1)
    rows = _shuffled_rows(data, random.Random(seed))
    n_rehearsal = round(recipe.train.rehearsal * recipe.train.batch_size)
    base_plan = base_meta.get("plan", {})
    restyle = base_plan.get("images") == "restyle"  # rehearsal replays the base's own pretraining images
    mix = base_plan.get("mix", "describe")
    rehearsal = Rehearsal(cache, mix=mix, px=cfg.image_px, restyle=restyle) if n_rehearsal else None
    rehearsal_rng = random.Random(seed + 7)
    images: dict[str, np.ndarray] = {}
    room = cfg.max_len - cfg.image_tokens
    losses = []
    for step in range(steps):
        batch = [next(rows) for _ in range(recipe.train.batch_size)]
        examples = [encode_example(vocab, r["prompt"], r["cot"], room) for r in batch]
        pictures = [_image(data, r["image"], images) for r in batch]
        if rehearsal is not None:
            for ids, start, picture in rehearsal.rows(rehearsal_rng, n_rehearsal):
                examples.append((ids, start))
                pictures.append(picture)
        tokens, labels = teacher_forcing(examples, vocab.pad)
        imgs, has = image_tensor(pictures, cfg.image_px)
        losses.append(train_step(model, opt, sched, imgs, has, tokens, labels))
        if log and (step % 50 == 0 or step == steps - 1):
            log(f"step {step + 1}/{steps} loss {np.mean(losses[-50:]):.3f}")
    # One metadata key: safetensors writes a multi-key metadata map in hash order, which would make the file's
    # bytes (and so the adapter fingerprint) differ between identical trainings.
    meta = {"honeybee": json.dumps({"config": cfg.to_dict(), "vocab": vocab.tokens, "plan": plan})}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp), metadata=meta)
    os.replace(tmp, path)
    return {
        "checkpoint": str(path),
        "sha256": file_hash(path),
        "steps": steps,
        "first_loss": losses[0],
        "final_loss": float(np.mean(losses[-20:])),
        "seconds": round(time.time() - t0, 1),
    }


def init_from_base(model, vocab: Vocab, path: Path = BASE_CHECKPOINT) -> None:
    """Copy the base's weights into ``model``. Token rows are matched by token text, so a vocabulary that grew
    after the base was trained (a new marker token) keeps the base's rows for every old token."""
    import torch
    from safetensors.torch import load_file

    from harness.errors import HarnessError

    meta = base_metadata(path)
    if {k: v for k, v in meta["config"].items() if k != "vocab_size"} != {
        k: v for k, v in model.cfg.to_dict().items() if k != "vocab_size"
    }:
        raise HarnessError(f"{path}: base model config {meta['config']} differs from the proxy's {model.cfg}")
    base = {k: v.float() for k, v in load_file(str(path)).items()}
    own = model.state_dict()
    rows = [(vocab.index[t], j) for j, t in enumerate(meta["vocab"]) if t in vocab.index]
    new, old = torch.tensor([r for r, _ in rows]), torch.tensor([j for _, j in rows])
    for key in ("tok.weight", "head.weight", "head.bias"):
        own[key][new] = base.pop(key)[old]
    own.update(base)
    model.load_state_dict(own)


def base_metadata(path: Path) -> dict:
    """The base checkpoint's metadata (config, vocabulary, plan); a missing base is a one-line error."""
    from harness.errors import HarnessError

    if not path.is_file():
        raise HarnessError(f"{path}: no base checkpoint (run `harness recipe pretrain`, or set train.init: scratch)")
    return _metadata(path)


def _image(data: Path, rel: str | None, cache: dict) -> np.ndarray | None:
    if rel is None:
        return None
    if rel not in cache:
        if len(cache) >= IMAGE_CACHE:
            cache.pop(next(iter(cache)))  # drop the oldest entry
        cache[rel] = load_image(data, rel)
    return cache[rel]


def file_hash(path: Path) -> str:
    return hash_path(path)


def load_model(path: Path):
    """-> (ProxyVLM in eval mode, Vocab) from a checkpoint written by ``train``."""
    from safetensors.torch import load_file

    from harness_baselines.honeybee.model import ProxyConfig, ProxyVLM

    meta = _metadata(path)
    model = ProxyVLM(ProxyConfig(**meta["config"]))
    model.load_state_dict(load_file(str(path)))
    model.eval()
    return model, Vocab(meta["vocab"])


def _metadata(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return json.loads((f.metadata() or {}).get("honeybee", "{}"))
