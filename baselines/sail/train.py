"""Train the SAIL reference rows on 1 CPU thread, deterministically:

    python -m harness_baselines.sail.train        # every shipped checkpoint (SHIPPED) into baselines/sail/checkpoints/
    python -m harness_baselines.sail.train --ablation no_hnm --seed 3 --out DIR     # one row, one seed
    # -> sail-<ablation>.safetensors (seed 0), sail-<ablation>-seed<K>.safetensors (seed K)

Two stages (the paper's progressive training at toy scale). Warm-up: the row's contrastive terms (losses.py) with
in-batch negatives, sources sampled uniformly; its result is the *initial model*. From an initial model come the three
data-selection decisions (``select``): λ* per source and the hard negatives below it (mining.py), and the source
sampling weights (balance.py). Main stage: the whole objective (CoSENT added) on batches drawn by those weights,
each pair with one of its hard negatives. Each row of ablations.ABLATIONS changes one thing against ``full``;
unless a row says otherwise (``select="own"``) its λ*, hard negatives and weights are the full model's, and its
batches the same draws.
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
from harness_baselines.sail import balance, data, losses, mining
from harness_baselines.sail.ablations import ABLATIONS, FULL, SHIPPED, checkpoint_name
from harness_baselines.sail.features import batch_inputs, unified_instruction
from harness_baselines.sail.model import SailModel

CHECKPOINTS = package_dir("harness_baselines.sail", "checkpoints")  # package data of the wheel
ALL = frozenset({"text", "image", "audio"})
WARM_STEPS, STEPS, BATCH = 250, 350, 32  # sized for the CPU budget (≤ 60 CPU-min for SHIPPED): README "Budget"
# Weights of the objective's terms: L = L_nce-mrl + λ·L_cosent + α·L_micl + β·L_lf (losses.py)
# (chosen here: at λ = 0.5 CoSENT's sum over every graded cell pair outweighed the NCE term on q2i batches).
LAMBDA_COSENT, ALPHA_MICL, BETA_LF = 0.1, 0.25, 0.25
# The switches the warm-up depends on: rows equal in these share one initial model. The warm-up (stage 1) is
# contrastive only; CoSENT joins in the main stage, on the graded q2i data, so no_cosent shares full's warm-up.
WARM_KEYS = ("audio", "instructions", "fusion", "mrl", "micl", "lf", "dataset_temperature")


class Temperatures(torch.nn.Module):
    """Learned NCE logit scales (1/τ, CLIP-style in log space, clamped to τ in [0.01, 1]): one per source,
    initialised from losses.TEMPERATURE_INIT, or one shared."""

    def __init__(self, sources: list[str], per_source: bool):
        super().__init__()
        self.index = {n: i if per_source else 0 for i, n in enumerate(sources)}
        init = [losses.TEMPERATURE_INIT[n] for n in sources] if per_source else [losses.SHARED_TEMPERATURE]
        self.log_scale = torch.nn.Parameter(torch.log(1 / torch.tensor(init)))

    def forward(self, names: list[str]) -> torch.Tensor:
        return self.log_scale[[self.index[n] for n in names]].clamp(0.0, 4.6052).exp()

    def values(self) -> dict[str, float]:
        tau = 1 / self.log_scale.detach().clamp(0.0, 4.6052).exp()
        return {n: round(float(tau[i]), 4) for n, i in self.index.items()}


def _select(feats: dict, idx: np.ndarray, cfg: dict, gen: torch.Generator | None = None) -> dict:
    """Rows ``idx`` of the pool features under the row's switches (audio, instructions); with ``gen``, modality
    dropout (image or speech hidden with p = 0.2 when another modality remains) so the model learns to embed items
    with missing modalities."""
    x = {k: v[torch.as_tensor(idx)] for k, v in feats.items()}
    if not cfg["audio"]:
        x["has_audio"] = torch.zeros_like(x["has_audio"])
    if not cfg["instructions"]:
        x["has_instruction"] = torch.zeros_like(x["has_instruction"])
    elif cfg["instructions"] == "unified":  # one instruction for every source, query and target
        x["instruction"] = unified_instruction().expand(len(idx), -1)
        x["has_instruction"] = torch.ones_like(x["has_instruction"])
    if gen is not None:
        drop_i, drop_a = (torch.rand(len(idx), generator=gen) < 0.2 for _ in range(2))
        x["has_image"] = x["has_image"] & ~(drop_i & (x["has_audio"] | x["has_text"]))
        x["has_audio"] = x["has_audio"] & ~(drop_a & (x["has_image"] | x["has_text"]))
    return x


@torch.no_grad()
def embed_pool(model: SailModel, feats: dict, cfg: dict) -> np.ndarray:
    """[n, dim] unit embeddings of the whole pool (eval mode)."""
    model.eval()
    n = feats["image"].shape[0]
    out = np.concatenate([model(_select(feats, np.arange(i, min(i + 256, n)), cfg)).numpy() for i in range(0, n, 256)])
    model.train()
    return out


def _rows(parts: dict, sl: slice) -> dict:
    return {
        "fused": parts["fused"][sl],
        "late": parts["late"][sl],
        "single": {m: e[sl] for m, e in parts["single"].items()},
        "present": {m: e[sl] for m, e in parts["present"].items()},
    }


def objective(model, temps, cfg, feats, label, concept, src, a, p, h, gen, hgen) -> torch.Tensor:
    """The row's loss on one batch: anchors a [B], positives p [B], hard negatives h [B] (-1 = none) of sources
    ``src`` [B] (names). Modality dropout of anchors and positives draws from ``gen``, of hard negatives from
    ``hgen``, so switching mining off leaves the other draws unchanged."""
    B, keep = len(a), h >= 0
    h = h[keep]
    x = _select(feats, np.concatenate([a, p]), cfg, gen)
    if len(h):  # the model embeds each row independently, so one forward over the concatenation is the same
        xh = _select(feats, h, cfg, hgen)
        x = {k: torch.cat([x[k], xh[k]]) for k in x}
    need_parts = cfg["micl"] or cfg["lf"]
    parts = model.parts(x) if need_parts else {"fused": model(x)}
    emb = parts["fused"]
    ea, ep, eh = emb[:B], emb[B : 2 * B], emb[2 * B :]
    lab = torch.as_tensor(label)
    la, lp, lh = lab[a], lab[p], lab[h]
    scale = temps(list(src))[:, None]  # [B, 1]: each anchor's source temperature
    loss = losses.nce_mrl(ea, ep, eh, la, lp, lh, scale, losses.MRL_DIMS if cfg["mrl"] else None)
    q = np.asarray(src) == "q2i"
    if cfg["cosent"] and q.sum() >= 2:  # graded q2i labels: own group 2, audio twin 1, else 0
        qa, qp = torch.as_tensor(a[q]), torch.as_tensor(p[q])
        cc = torch.as_tensor(concept)
        twin = (cc[qa][:, None] == cc[qp][None]) & (cc[qa][:, None] >= 0)
        grade = torch.where(lab[qa][:, None] == lab[qp][None], 2, twin.long())
        loss = loss + LAMBDA_COSENT * losses.cosent(ea[torch.as_tensor(q)] @ ep[torch.as_tensor(q)].T, grade)
    if need_parts:
        pa, pp = _rows(parts, slice(0, B)), _rows(parts, slice(B, 2 * B))
        if cfg["micl"]:
            loss = loss + ALPHA_MICL * losses.single_modality(pa, pp, la, lp, scale)
        if cfg["lf"]:
            loss = loss + BETA_LF * losses.late_fusion(pa, pp, la, lp, scale)
    return loss


def run(model, temps, cfg, feats, label, concept, pairs, weights, hard, steps, lr, batch, seed, per_source=True):
    """``steps`` AdamW steps. per_source: each batch comes from one source drawn by ``weights`` (its pairs drawn
    uniformly), so in-batch negatives are of the anchor's own kind, e.g. an i2i item against the group that differs
    only in speech (the paper's one-dataset-per-batch sampling, §3.3.3); else each example's source is drawn
    separately. Batch draws, hard-negative choices and their modality dropout use separate random streams, so rows
    that differ in one idea see the same batches wherever that idea does not change them. Returns losses."""
    rng, gen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    hrng, hgen = np.random.default_rng([seed, 1]), torch.Generator().manual_seed(seed + 7919)
    opt = torch.optim.AdamW([*model.parameters(), *temps.parameters()], lr=lr, weight_decay=0.01)
    names = list(pairs)
    out = []
    for step in range(steps):
        for g in opt.param_groups:  # linear warm-up, cosine decay
            g["lr"] = lr * min(1.0, (step + 1) / 30) * 0.5 * (1 + np.cos(np.pi * step / steps))
        src = rng.choice(len(names), size=1 if per_source else batch, p=[weights[n] for n in names])
        src = [names[s] for s in np.broadcast_to(src, batch)]
        rows = [(n, int(rng.integers(len(pairs[n])))) for n in src]
        a = np.array([pairs[n][r, 0] for n, r in rows])
        p = np.array([pairs[n][r, 1] for n, r in rows])
        h = np.array([hard[n][r, int(hrng.integers(hard[n].shape[1]))] if n in hard else -1 for n, r in rows])
        loss = objective(model, temps, cfg, feats, label, concept, src, a, p, h, gen, hgen)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([*model.parameters(), *temps.parameters()], 1.0)
        opt.step()
        out.append(loss.item())
    return out


def select(emb: np.ndarray, label: np.ndarray, pairs: dict, val: dict, temperature: float, seed: int) -> dict:
    """The data-selection decisions an initial model's pool embeddings fix: per source λ* (all query × target pairs)
    with its F1 and hard negatives, the sampling weights with their OT similarities, and, to measure how much the
    first version's sampled fit moved λ*, its estimate from 8 random negatives per positive."""
    out: dict = {"hard": {}, "lambda": {}, "f1": {}, "above_lambda": {}, "lambda_sampled8": {}}
    for n, p in pairs.items():
        out["hard"][n], out["lambda"][n], out["f1"][n] = mining.mine(emb, label, p)
        # λ*'s place in the negatives (scale-free): the share of cross-group pairs above it, never used as negatives
        out["above_lambda"][n] = round(
            float(np.mean(mining.all_pair_similarities(emb, label, p)[1] > out["lambda"][n])), 4
        )
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
    t0, c0 = time.time(), time.process_time()
    pool, pairs, val = data.build()
    feats = batch_inputs(pool.samples, ALL)
    label, concept = np.array(pool.label), np.array(pool.concept)
    print(f"pool: {len(label)} samples, pairs { ({k: len(v) for k, v in pairs.items()}) }, {time.time() - t0:.1f}s")
    warm: dict[tuple, dict] = {}  # warm-up switches -> the initial model's (model, temperatures) state
    chosen: dict[tuple, dict] = {}  # warm-up switches of the initial model -> its selection decisions
    uniform = {n: 1 / len(pairs) for n in pairs}

    def fresh(cfg: dict) -> tuple[SailModel, Temperatures]:
        torch.manual_seed(seed)
        return SailModel(fusion=cfg["fusion"]), Temperatures(list(pairs), cfg["dataset_temperature"])

    def initial(cfg: dict) -> tuple[SailModel, Temperatures]:
        key = tuple(cfg[k] for k in WARM_KEYS)
        if key not in warm:  # the initial model, shared by rows equal in WARM_KEYS
            model, temps = fresh(cfg)
            stage1 = {**cfg, "cosent": False}
            run(
                model,
                temps,
                stage1,
                feats,
                label,
                concept,
                pairs,
                uniform,
                {},
                warm_steps,
                2e-3,
                batch,
                seed,
                per_source,
            )
            warm[key] = {k: {n: v.clone() for n, v in m.state_dict().items()} for k, m in (("m", model), ("t", temps))}
        model, temps = fresh(cfg)
        model.load_state_dict(warm[key]["m"])
        temps.load_state_dict(warm[key]["t"])
        return model, temps

    def selection(cfg: dict) -> dict:
        key = tuple(cfg[k] for k in WARM_KEYS)
        if key not in chosen:
            emb = embed_pool(initial(cfg)[0], feats, cfg)
            chosen[key] = select(emb, label, pairs, val, temperature, seed)
        return chosen[key]

    report = {}
    for name in ablations:
        cfg, t1, c1 = ABLATIONS[name], time.time(), time.process_time()
        sel = selection(FULL if cfg["select"] == "full" else cfg)
        model, temps = initial(cfg) if cfg["progressive"] else fresh(cfg)
        main_steps = steps if cfg["progressive"] else warm_steps + steps
        info: dict = {
            "ablation": name,
            **cfg,
            "warm_steps": warm_steps if cfg["progressive"] else 0,
            "steps": main_steps,
            "batch": batch,
            "seed": seed,
            "per_source_batches": per_source,
            "balance_temperature": temperature,
            "loss_weights": {"cosent": LAMBDA_COSENT, "micl": ALPHA_MICL, "lf": BETA_LF},
        }
        weights = sel["weights"] if cfg["balance"] else uniform
        if cfg["balance"]:
            info["ot_similarity"] = sel["ot_similarity"]
        info["source_weights"] = weights
        hard = sel["hard"] if cfg["hnm"] else {}
        if cfg["hnm"]:
            info.update({k: sel[k] for k in ("lambda", "f1", "above_lambda", "lambda_sampled8")})
        args = (model, temps, cfg, feats, label, concept, pairs, weights, hard, main_steps, 1e-3, batch, seed + 1)
        losses_ = run(*args, per_source)
        info["final_loss"] = float(np.mean(losses_[-20:]))
        info["temperatures"] = temps.values()
        # includes a warm-up and selection when they ran for this row
        info["train_seconds"] = round(time.time() - t1, 1)
        info["cpu_seconds"] = round(time.process_time() - c1, 1)
        save(model, out / checkpoint_name(name, seed), info)
        report[name] = info
        print(json.dumps({k: info[k] for k in ("ablation", "seed", "final_loss", "train_seconds", "cpu_seconds")}))
    print(f"seed {seed}: {len(ablations)} rows, wall {time.time() - t0:.0f} s, cpu {time.process_time() - c0:.0f} s")
    return report


def save(model: SailModel, path: Path, info: dict) -> None:
    """Weights stored as float16 (half the bytes; the adapter computes in float32 from them), written atomically."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    weights = {k: v.detach().half().contiguous() for k, v in model.state_dict().items()}
    save_file(weights, str(tmp), metadata={"info": json.dumps(info)})
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--ablation",
        default="shipped",
        help="shipped (every shipped checkpoint, its seeds included), all, or a comma list of " + ", ".join(ABLATIONS),
    )
    ap.add_argument("--warm_steps", type=int, default=WARM_STEPS)
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--batch", type=int, default=BATCH)
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
    t0, c0 = time.time(), time.process_time()
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
    print(f"total: wall {time.time() - t0:.0f} s, cpu {time.process_time() - c0:.0f} s (user+sys, 1 thread)")


if __name__ == "__main__":
    main()
