"""Train the SAIL reference rows on 1 CPU thread, deterministically:

    python -m harness_baselines.sail.train        # every shipped checkpoint (SHIPPED) into baselines/sail/checkpoints/
    python -m harness_baselines.sail.train --ablation no_hnm --seed 3 --out DIR     # one row, one seed
    # -> sail-<ablation>.safetensors (seed 0), sail-<ablation>-seed<K>.safetensors (seed K)

Two phases. Warm-up: InfoNCE with in-batch negatives, sources sampled uniformly; its result is the *initial model*.
From an initial model come the three data-selection decisions (``select``): λ* per source and the hard negatives
below it (mining.py), and the source sampling weights (balance.py). Main phase: InfoNCE on batches drawn by those
weights, each pair with one of its hard negatives. Each row of ABLATIONS changes one thing against ``full``:
  no_audio    audio masked in warm-up, main phase and evaluation; λ*, hard negatives and weights are the full
              model's (selected on the audio-on initial model), batches the same draws
  no_hnm      no hard negatives; same initial model, weights and batch draws as full
  no_balance  uniform source weights; same initial model, λ* and hard negatives as full
  no_audio_pipeline  the whole pipeline without audio: no_audio's initial model, selection re-derived from it
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
# audio: the model sees speech (train and test); hnm / balance: the idea is on; select: whose initial model fixes
# λ*, the hard negatives and the source weights ("full": the audio-on warm-up, shared; "own": this row's warm-up).
ABLATIONS = {
    "full": dict(audio=True, hnm=True, balance=True, select="full"),
    "no_audio": dict(audio=False, hnm=True, balance=True, select="full"),
    "no_hnm": dict(audio=True, hnm=False, balance=True, select="full"),
    "no_balance": dict(audio=True, hnm=True, balance=False, select="full"),
    "no_audio_pipeline": dict(audio=False, hnm=True, balance=True, select="own"),
}
# The shipped checkpoints: every row with training seed 0, the single-change rows also with seeds 1 and 2, so the
# board's marks for them include seed variance.
SHIPPED = {
    0: list(ABLATIONS),
    1: ["full", "no_audio", "no_hnm", "no_balance"],
    2: ["full", "no_audio", "no_hnm", "no_balance"],
}
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
    out = np.concatenate(
        [model(_select(feats, np.arange(i, min(i + 256, n)), audio)).numpy() for i in range(0, n, 256)]
    )
    model.train()
    return out


def info_nce(model, feats, label, a, p, h, audio, gen, hgen) -> torch.Tensor:
    """Symmetric InfoNCE over anchors a [B], positives p [B] and hard negatives h [B] (-1 = none): each anchor
    against every positive and hard negative of the batch; entries sharing the anchor's label (false negatives) and
    missing hard negatives are masked out. Modality dropout of anchors and positives draws from ``gen``, of hard
    negatives from ``hgen``, so switching mining off leaves the other draws unchanged."""
    B, h = len(a), h[h >= 0]
    x = _select(feats, np.concatenate([a, p]), audio, gen)
    if len(h):  # the model embeds each row independently, so one forward over the concatenation is the same
        xh = _select(feats, h, audio, hgen)
        x = {k: torch.cat([x[k], xh[k]]) for k in x}
    emb = model(x)
    ea, ep, eh = emb[:B], emb[B : 2 * B], emb[2 * B :]
    lab = torch.as_tensor(label)
    la, lp, lh = lab[a], lab[p], lab[h]
    scale = model.logit_scale()
    same = la[:, None] == torch.cat([lp, lh])[None]
    same[torch.arange(B), torch.arange(B)] = False  # the positive itself stays
    logits = (scale * ea @ torch.cat([ep, eh]).T).masked_fill(same, -1e4)
    back = (scale * ep @ ea.T).masked_fill((lp[:, None] == la[None]) & ~torch.eye(B, dtype=torch.bool), -1e4)
    target = torch.arange(B)
    return (torch.nn.functional.cross_entropy(logits, target) + torch.nn.functional.cross_entropy(back, target)) / 2


def run(model, feats, label, pairs, weights, hard, steps, lr, batch, audio, seed, per_source=True) -> list[float]:
    """``steps`` AdamW steps. per_source: each batch comes from one source drawn by ``weights`` (its pairs drawn
    uniformly), so in-batch negatives are of the anchor's own kind, e.g. an i2i item against the group that differs
    only in speech (the paper's one-dataset-per-batch sampling, §3.3.3); else each example's source is drawn
    separately. Batch draws, hard-negative choices and their modality dropout use separate random streams, so rows
    that differ in one idea see the same batches wherever that idea does not change them. Returns losses."""
    rng, gen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    hrng, hgen = np.random.default_rng([seed, 1]), torch.Generator().manual_seed(seed + 7919)
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
        h = np.array([hard[n][r, int(hrng.integers(hard[n].shape[1]))] if n in hard else -1 for n, r in rows])
        loss = info_nce(model, feats, label, a, p, h, audio, gen, hgen)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    return losses


def select(emb: np.ndarray, label: np.ndarray, pairs: dict, val: dict, temperature: float, seed: int) -> dict:
    """The data-selection decisions an initial model's pool embeddings fix: per source λ* (all query × target pairs)
    with its F1 and hard negatives, the sampling weights with their OT similarities, and, to measure how much the
    first version's sampled fit moved λ*, its estimate from 8 random negatives per positive."""
    out: dict = {"hard": {}, "lambda": {}, "f1": {}, "lambda_sampled8": {}}
    for n, p in pairs.items():
        out["hard"][n], out["lambda"][n], out["f1"][n] = mining.mine(emb, label, p)
        sampled = mining.sampled_similarities(emb, label, p, np.random.default_rng(seed))
        out["lambda_sampled8"][n] = mining.best_f1_threshold(*sampled)[0]
    src = {n: emb[np.unique(p.ravel())] for n, p in pairs.items()}
    out["weights"], out["ot_similarity"] = balance.source_weights(
        emb[val["items"] + val["queries"]], src, temperature=temperature
    )
    return out


def train(
    ablations: list[str],
    warm_steps: int,
    steps: int,
    batch: int,
    out: Path,
    seed: int = 0,
    per_source: bool = True,
    temperature: float = 0.05,
) -> dict:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    t0 = time.time()
    pool, pairs, val = data.build()
    feats = batch_inputs(pool.samples, ALL)
    label = np.array(pool.label)
    print(f"pool: {len(label)} samples, pairs { ({k: len(v) for k, v in pairs.items()}) }, {time.time() - t0:.1f}s")
    warm: dict[bool, dict] = {}  # audio on/off -> initial model's state
    chosen: dict[bool, dict] = {}  # audio on/off of the initial model -> its selection decisions

    def initial(audio: bool) -> dict:
        if audio not in warm:  # the initial model, shared by rows that see the same modalities
            torch.manual_seed(seed)
            model = SailModel()
            uniform = {n: 1 / len(pairs) for n in pairs}
            run(model, feats, label, pairs, uniform, {}, warm_steps, 2e-3, batch, audio, seed, per_source)
            warm[audio] = {k: v.clone() for k, v in model.state_dict().items()}
        return warm[audio]

    def selection(audio: bool) -> dict:
        if audio not in chosen:
            model = SailModel()
            model.load_state_dict(initial(audio))
            chosen[audio] = select(embed_pool(model, feats, audio), label, pairs, val, temperature, seed)
        return chosen[audio]

    report = {}
    for name in ablations:
        cfg, t1 = ABLATIONS[name], time.time()
        model = SailModel()
        model.load_state_dict(initial(cfg["audio"]))
        sel = selection(True if cfg["select"] == "full" else cfg["audio"])
        info: dict = {
            "ablation": name,
            **cfg,
            "warm_steps": warm_steps,
            "steps": steps,
            "batch": batch,
            "seed": seed,
            "per_source_batches": per_source,
            "balance_temperature": temperature,
        }
        weights = sel["weights"] if cfg["balance"] else {n: 1 / len(pairs) for n in pairs}
        if cfg["balance"]:
            info["ot_similarity"] = sel["ot_similarity"]
        info["source_weights"] = weights
        hard = sel["hard"] if cfg["hnm"] else {}
        if cfg["hnm"]:
            info.update({k: sel[k] for k in ("lambda", "f1", "lambda_sampled8")})
        losses = run(model, feats, label, pairs, weights, hard, steps, 1e-3, batch, cfg["audio"], seed + 1, per_source)
        info["final_loss"] = float(np.mean(losses[-20:]))
        info["train_seconds"] = round(time.time() - t1, 1)  # includes a warm-up and selection when they ran here
        save(model, out / checkpoint_name(name, seed), info)
        report[name] = info
        print(json.dumps(info))
    return report


def checkpoint_name(ablation: str, seed: int = 0) -> str:
    """sail-<ablation>.safetensors for training seed 0 (the board's single-seed rows), else sail-<ablation>-seed<k>."""
    return f"sail-{ablation}.safetensors" if seed == 0 else f"sail-{ablation}-seed{seed}.safetensors"


def save(model: SailModel, path: Path, info: dict) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp), metadata={"info": json.dumps(info)})
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--ablation",
        default="shipped",
        help="shipped (every shipped checkpoint, its seeds included), all, or a comma list of " + ", ".join(ABLATIONS),
    )
    ap.add_argument("--warm_steps", type=int, default=300)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--out", type=Path, default=CHECKPOINTS)
    ap.add_argument("--temperature", type=float, default=0.05, help="softmax temperature of source balancing")
    ap.add_argument(
        "--seed",
        type=int,
        nargs="+",
        default=[0],
        help="training seeds (initialisation, batch draws, dropout); one checkpoint per seed; "
        "ignored by --ablation shipped",
    )
    ap.add_argument("--mixed_batches", action="store_true", help="draw each example's source separately")
    args = ap.parse_args()
    if args.ablation == "shipped":
        plan = SHIPPED
    else:
        names = list(ABLATIONS) if args.ablation == "all" else args.ablation.split(",")
        unknown = sorted(set(names) - set(ABLATIONS))
        if unknown:
            ap.error(f"unknown ablation {unknown[0]!r} (choose from {', '.join(ABLATIONS)})")
        plan = {seed: names for seed in args.seed}
    for seed, names in plan.items():
        train(
            names,
            args.warm_steps,
            args.steps,
            args.batch,
            args.out,
            seed=seed,
            per_source=not args.mixed_batches,
            temperature=args.temperature,
        )


if __name__ == "__main__":
    main()
