"""Train the SAIL reference ablations on 1 CPU thread, deterministically:

    python -m harness_baselines.sail.train --ablation all   # -> baselines/sail/checkpoints/sail-<ablation>.safetensors

Two phases. Warm-up: InfoNCE with in-batch negatives, sources sampled uniformly; its result is the *initial model*
both training ideas need. Main phase, per ablation (ABLATIONS):
  hnm      λ* per source from the initial model (mining.py); each pair brings its hardest negative below λ*
  balance  source sampling weights from clusters of the initial model's embeddings (balance.py); else uniform
  audio    the model sees speech (no_audio: audio is masked everywhere, train and test)
The frozen MiniLM text tower is not trained and not saved; the checkpoint holds only the trainable parts.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from harness.resources import package_dir
from harness_baselines.sail import balance, data, mining
from harness_baselines.sail.features import batch_inputs
from harness_baselines.sail.model import SailModel

CHECKPOINTS = package_dir("harness_baselines.sail", "checkpoints")  # package data of the wheel
ABLATIONS = {"full": dict(audio=True, hnm=True, balance=True), "no_audio": dict(audio=False, hnm=True, balance=True),
             "no_hnm": dict(audio=True, hnm=False, balance=True),
             "no_balance": dict(audio=True, hnm=True, balance=False)}
ALL = frozenset({"text", "image", "audio"})


def _select(feats: dict, idx: np.ndarray, audio: bool, gen: torch.Generator | None = None) -> dict:
    """Rows ``idx`` of the pool features; with ``gen``, modality dropout (image or speech hidden with p = 0.2 when
    another modality remains) so the model learns to embed items with missing modalities."""
    x = {k: v[torch.as_tensor(idx)] for k, v in feats.items()}
    if not audio:
        x["has_audio"] = torch.zeros_like(x["has_audio"])
    if gen is not None:
        drop_i, drop_a = (torch.rand(len(idx), generator=gen) < 0.2 for _ in range(2))
        x["has_image"] = x["has_image"] & ~(drop_i & (x["has_audio"] | x["has_text"]))
        x["has_audio"] = x["has_audio"] & ~(drop_a & (x["has_image"] | x["has_text"]))
    return x


@torch.no_grad()
def embed_pool(model: SailModel, feats: dict, audio: bool) -> np.ndarray:
    """[n, dim] unit embeddings of the whole pool (eval mode)."""
    model.eval()
    n = feats["image"].shape[0]
    out = np.concatenate([model(_select(feats, np.arange(i, min(i + 256, n)), audio)).numpy()
                          for i in range(0, n, 256)])
    model.train()
    return out


def info_nce(model, feats, label, a, p, h, audio, gen) -> torch.Tensor:
    """Symmetric InfoNCE over anchors a [B], positives p [B] and hard negatives h [B] (-1 = none): each anchor
    against every positive and hard negative of the batch; entries sharing the anchor's label (false negatives) and
    missing hard negatives are masked out."""
    ids = np.concatenate([a, p, h[h >= 0]])
    emb = model(_select(feats, ids, audio, gen))
    B = len(a)
    ea, ep, eh = emb[:B], emb[B:2 * B], emb[2 * B:]
    lab = torch.as_tensor(label)
    la, lp, lh = lab[a], lab[p], lab[h[h >= 0]]
    scale = model.logit_scale()
    same = (la[:, None] == torch.cat([lp, lh])[None])
    same[torch.arange(B), torch.arange(B)] = False  # the positive itself stays
    logits = (scale * ea @ torch.cat([ep, eh]).T).masked_fill(same, -1e4)
    back = (scale * ep @ ea.T).masked_fill((lp[:, None] == la[None]) & ~torch.eye(B, dtype=torch.bool), -1e4)
    target = torch.arange(B)
    return (torch.nn.functional.cross_entropy(logits, target) + torch.nn.functional.cross_entropy(back, target)) / 2


def run(model, feats, label, pairs, weights, hard, steps, lr, batch, audio, seed, per_source=True) -> list[float]:
    """``steps`` AdamW steps. per_source: each batch comes from one source drawn by ``weights`` (its pairs drawn
    uniformly), so in-batch negatives are of the anchor's own kind, e.g. an i2i item against the group that differs
    only in speech; else each example's source is drawn separately. Returns losses."""
    rng, gen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    names = list(pairs)
    losses = []
    for step in range(steps):
        for g in opt.param_groups:  # linear warm-up, cosine decay
            g["lr"] = lr * min(1.0, (step + 1) / 30) * 0.5 * (1 + np.cos(np.pi * step / steps))
        src = rng.choice(len(names), size=1 if per_source else batch, p=[weights[n] for n in names])
        src = np.broadcast_to(src, batch)
        rows = [(names[s], int(rng.integers(len(pairs[names[s]])))) for s in src]
        a = np.array([pairs[n][r, 0] for n, r in rows])
        p = np.array([pairs[n][r, 1] for n, r in rows])
        h = np.array([hard[n][r, int(rng.integers(hard[n].shape[1]))] if n in hard else -1 for n, r in rows])
        loss = info_nce(model, feats, label, a, p, h, audio, gen)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    return losses


def train(ablations: list[str], warm_steps: int, steps: int, batch: int, out: Path, seed: int = 0,
          per_source: bool = True, temperature: float = 0.05) -> dict:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    t0 = time.time()
    pool, pairs, val = data.build()
    feats = batch_inputs(pool.samples, ALL)
    label = np.array(pool.label)
    print(f"pool: {len(label)} samples, pairs {({k: len(v) for k, v in pairs.items()})}, {time.time() - t0:.1f}s")
    warm: dict[bool, dict] = {}
    report = {}
    for name in ablations:
        cfg, t1 = ABLATIONS[name], time.time()
        if cfg["audio"] not in warm:  # the initial model, shared by ablations that see the same modalities
            torch.manual_seed(seed)
            model = SailModel()
            uniform = {n: 1 / len(pairs) for n in pairs}
            run(model, feats, label, pairs, uniform, {}, warm_steps, 2e-3, batch, cfg["audio"], seed, per_source)
            warm[cfg["audio"]] = {k: v.clone() for k, v in model.state_dict().items()}
        model = SailModel()
        model.load_state_dict(warm[cfg["audio"]])
        emb = embed_pool(model, feats, cfg["audio"])
        info: dict = {"ablation": name, **cfg, "warm_steps": warm_steps, "steps": steps, "batch": batch,
                      "per_source_batches": per_source, "balance_temperature": temperature}
        weights = {n: 1 / len(pairs) for n in pairs}
        if cfg["balance"]:
            src = {n: emb[np.unique(p.ravel())] for n, p in pairs.items()}
            weights, info["ot_similarity"] = balance.source_weights(emb[val["items"] + val["queries"]], src,
                                                                    temperature=temperature)
        info["source_weights"] = weights
        hard = {}
        if cfg["hnm"]:
            info["lambda"], info["f1"] = {}, {}
            for n, p in pairs.items():
                hard[n], info["lambda"][n], info["f1"][n] = mining.mine(emb, label, p, np.random.default_rng(seed))
        losses = run(model, feats, label, pairs, weights, hard, steps, 1e-3, batch, cfg["audio"], seed + 1,
                     per_source)
        info["final_loss"] = float(np.mean(losses[-20:]))
        info["train_seconds"] = round(time.time() - t1, 1)  # includes the shared warm-up when it ran here
        save(model, out / f"sail-{name}.safetensors", info)
        report[name] = info
        print(json.dumps(info))
    return report


def save(model: SailModel, path: Path, info: dict) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp), metadata={"info": json.dumps(info)})
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ablation", default="all", help="all or a comma list of " + ", ".join(ABLATIONS))
    ap.add_argument("--warm_steps", type=int, default=300)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--out", type=Path, default=CHECKPOINTS)
    ap.add_argument("--temperature", type=float, default=0.05, help="softmax temperature of source balancing")
    ap.add_argument("--mixed_batches", action="store_true", help="draw each example's source separately")
    args = ap.parse_args()
    names = list(ABLATIONS) if args.ablation == "all" else args.ablation.split(",")
    train(names, args.warm_steps, args.steps, args.batch, args.out, per_source=not args.mixed_batches,
          temperature=args.temperature)


if __name__ == "__main__":
    main()
