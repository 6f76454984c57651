"""The SAIL training objective, each term switchable (arXiv 2510.12709 §3.3-§4; the composition as issue #19 reads the
paper):  L = L_nce-mrl + λ·L_cosent + α·L_micl + β·L_lf.

- L_nce-mrl: contrastive loss over the positive, one mined hard negative per pair and the in-batch negatives (the
  paper's L_contrast, §3.3.2), averaged over Matryoshka slices of the embedding (its first 16, 32, 64, 128
  dimensions, each renormalised; Kusupati et al. 2022), so a truncated embedding still retrieves (adapter ``dim=``).
  Symmetric here (anchor -> targets and positive -> anchors); entries sharing the anchor's label are masked
  (they are false negatives by construction).
- L_cosent: CoSENT (Su 2022) on graded pairs: log(1 + Σ_{g_ij > g_kl} exp(s·(cos_kl − cos_ij))), s = 20, over every
  query × target cell of a q2i batch with the suites' grades (own group 2, audio twin 1, else 0): a ranking loss
  that puts the twin above unrelated items but below the own group, which InfoNCE's binary labels cannot say.
- L_micl: each modality alone (its tokens before fusion, same readout) contrasted with the fused embeddings of
  the other side, so every encoder carries the item's identity on its own (our reading of the per-modality term).
- L_lf: the late fusion of those single-modality embeddings by a learned gate, contrasted with the fused
  embeddings of the other side (our reading of the late-fusion term).
The NCE temperature is learned per source, initialised per source (``TEMPERATURE_INIT``), or shared.
The exact equations of the paper were not reachable offline; the forms above are the standard ones.
"""

from __future__ import annotations

import torch
from torch.nn.functional import cross_entropy, normalize

MRL_DIMS = (16, 32, 64, 128)
COSENT_SCALE = 20.0
# Initial τ per source (chosen here by the kind of data: clean retrieval pairs sharp, classification-like and noisy
# sources softer); the paper initialises the temperature per task and dataset, values not given here.
TEMPERATURE_INIT = {"i2i": 0.05, "q2i": 0.05, "cls": 0.07, "speech": 0.07, "web": 0.1}
SHARED_TEMPERATURE = 0.07


def info_nce(
    ea: torch.Tensor, ep: torch.Tensor, eh: torch.Tensor, la, lp, lh, scale: torch.Tensor, both: bool = True
) -> torch.Tensor:
    """Anchors ea [B, d] against positives ep [B, d] and hard negatives eh [H, d] (labels la, lp, lh): cross-entropy
    of each anchor's positive among all positives and hard negatives; entries with the anchor's label other than its
    own positive are masked. ``both``: also each positive against all anchors."""
    B = len(ea)
    same = la[:, None] == torch.cat([lp, lh])[None]
    same[torch.arange(B), torch.arange(B)] = False  # the positive itself stays
    logits = (scale * ea @ torch.cat([ep, eh]).T).masked_fill(same, -1e4)
    target = torch.arange(B)
    loss = cross_entropy(logits, target)
    if not both:
        return loss
    back = (scale * ep @ ea.T).masked_fill((lp[:, None] == la[None]) & ~torch.eye(B, dtype=torch.bool), -1e4)
    return (loss + cross_entropy(back, target)) / 2


def nce_mrl(ea, ep, eh, la, lp, lh, scale, dims: tuple[int, ...] | None) -> torch.Tensor:
    """Mean of ``info_nce`` over the Matryoshka slices ``dims`` (None: the full embedding only)."""
    dims = dims or (ea.shape[1],)
    return torch.stack(
        [
            info_nce(
                normalize(ea[:, :d], dim=-1),
                normalize(ep[:, :d], dim=-1),
                normalize(eh[:, :d], dim=-1),
                la,
                lp,
                lh,
                scale,
            )
            for d in dims
        ]
    ).mean()


def cosent(sim: torch.Tensor, grade: torch.Tensor, scale: float = COSENT_SCALE) -> torch.Tensor:
    """sim [q, t] cosines, grade [q, t] integer relevance -> CoSENT loss over every pair of cells (i, j) with
    grade_i > grade_j; 0 when all grades are equal."""
    s, g = sim.flatten(), grade.flatten()
    higher = g[:, None] > g[None]  # [cells, cells]: row cell should score above column cell
    if not higher.any():
        return sim.sum() * 0
    diff = (scale * (s[None] - s[:, None]))[higher]  # cos of the lower minus cos of the higher
    return torch.logsumexp(torch.cat([diff.new_zeros(1), diff]), 0)


def single_modality(parts_a: dict, parts_p: dict, la, lp, scale) -> torch.Tensor:
    """L_micl: each present modality of the anchors against the fused positives, and of the positives against the
    fused anchors (rows where that modality is absent are dropped); mean over the (side, modality) terms."""
    terms = []
    for mine, other, lm, lo in ((parts_a, parts_p, la, lp), (parts_p, parts_a, lp, la)):
        for m, emb in mine["single"].items():
            keep = mine["present"][m]
            if keep.sum() >= 2:
                terms.append(_one_way(emb[keep], other["fused"], lm[keep], lo, keep, scale))
    return torch.stack(terms).mean() if terms else parts_a["fused"].sum() * 0


def late_fusion(parts_a: dict, parts_p: dict, la, lp, scale) -> torch.Tensor:
    """L_lf: the gated late fusion of each side against the fused embeddings of the other side."""
    keep = torch.ones(len(la), dtype=torch.bool)
    return (
        _one_way(parts_a["late"], parts_p["fused"], la, lp, keep, scale)
        + _one_way(parts_p["late"], parts_a["fused"], lp, la, keep, scale)
    ) / 2


def _one_way(e: torch.Tensor, targets: torch.Tensor, le, lt, rows: torch.Tensor, scale) -> torch.Tensor:
    """Rows ``rows`` of the batch (embeddings e, labels le) each against all targets; row i's positive is target i."""
    idx = torch.nonzero(rows).squeeze(1)
    same = le[:, None] == lt[None]
    same[torch.arange(len(idx)), idx] = False
    scale = scale[idx] if scale.ndim else scale  # [B, 1] per-row temperatures follow the kept rows
    logits = (scale * e @ targets.T).masked_fill(same, -1e4)
    return cross_entropy(logits, idx)
