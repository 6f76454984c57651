"""Dynamic hard-negative mining (SAIL, arXiv 2510.12709 §3.1.2): a similarity threshold per dataset, then negatives
just below it.

For each source (the paper's "dataset"), λ* is the threshold maximising F1 of "similarity > λ ⇒ positive" under the
initial model, fitted as the paper does over *all* query × target pairs of the source: every anchor against every
target, the labelled pairs positive, every pair across groups negative. (The first version sampled 8 negatives per
positive; the negative-to-positive ratio moves the F1-optimal threshold, so ``n_neg`` keeps that estimate only to
measure the shift, see README.) A negative above λ* looks like a positive to that model and is likely an unlabelled
true match, so it is never used; the hardest negatives *below* λ* are. One global threshold would be wrong for
sources whose similarity scales differ (a noisy source's positives score lower), hence one λ* per source.
"""

from __future__ import annotations

import numpy as np


def best_f1_threshold(pos: np.ndarray, neg: np.ndarray) -> tuple[float, float]:
    """pos [p], neg [m] similarities -> (λ*, F1 at λ*); λ* is the midpoint between the score at which the best F1
    is reached and the next lower score, so "> λ*" reproduces that decision exactly."""
    scores = np.concatenate([pos, neg])
    labels = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    tp = np.cumsum(y)
    fp = np.cumsum(1 - y)
    f1 = 2 * tp / (tp + fp + len(pos))  # predicting the first i+1 as positive: 2TP / (2TP + FP + FN)
    last = np.r_[s[1:] != s[:-1], True]  # thresholds only between distinct scores
    f1 = np.where(last, f1, -1)
    i = int(f1.argmax())
    lam = float((s[i] + s[i + 1]) / 2) if i + 1 < len(s) else float(s[i] - 1e-6)
    return lam, float(f1[i])


def all_pair_similarities(emb: np.ndarray, label: np.ndarray, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every anchor × every target of one source -> (positive sims [p], negative sims [m]): positives are the
    labelled pairs (a noisy source's wrong pairs included: the model only knows the labels), negatives every other
    anchor-target pair across groups. Pairs within a group that are not labelled (the anchor itself) are neither."""
    anchors, targets = np.unique(pairs[:, 0]), np.unique(pairs[:, 1])
    sims = emb[anchors] @ emb[targets].T
    labelled = np.zeros(sims.shape, bool)
    labelled[np.searchsorted(anchors, pairs[:, 0]), np.searchsorted(targets, pairs[:, 1])] = True
    negative = (label[anchors][:, None] != label[targets][None]) & ~labelled
    return sims[labelled], sims[negative]


def sampled_similarities(
    emb: np.ndarray, label: np.ndarray, pairs: np.ndarray, rng: np.random.Generator, n_neg: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """The first version's estimate: each positive pair with ``n_neg`` random targets of other groups."""
    cand = np.unique(pairs[:, 1])
    a = pairs[:, 0]
    draws = rng.choice(cand, size=(len(pairs), n_neg))
    valid = label[draws] != label[a][:, None]
    return (emb[a] * emb[pairs[:, 1]]).sum(1), (emb[a][:, None] * emb[draws]).sum(-1)[valid]


def threshold(emb: np.ndarray, label: np.ndarray, pairs: np.ndarray) -> tuple[float, float]:
    """(λ*, F1) of one source over all its query × target pairs (the paper's rule)."""
    return best_f1_threshold(*all_pair_similarities(emb, label, pairs))


def hard_negatives(
    emb: np.ndarray, label: np.ndarray, pairs: np.ndarray, lam: float, per_anchor: int = 3
) -> np.ndarray:
    """-> [p, per_anchor] pool indices (-1 where none): for each pair, the source's targets of other groups with the
    highest similarity to the anchor that is still <= λ*."""
    cand = np.unique(pairs[:, 1])
    a = pairs[:, 0]
    sims = emb[a] @ emb[cand].T  # [p, c]
    sims[label[a][:, None] == label[cand][None]] = -np.inf  # same group: not a negative
    sims[sims > lam] = -np.inf  # above λ*: probably a false negative
    k = min(per_anchor, len(cand))
    top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.where(np.isfinite(np.take_along_axis(sims, top, 1)), cand[top], -1)


def mine(emb: np.ndarray, label: np.ndarray, pairs: np.ndarray, per_anchor: int = 3) -> tuple[np.ndarray, float, float]:
    """emb [n, d] unit vectors of the pool (initial model), label [n], pairs [p, 2] of one source ->
    (hard negatives [p, per_anchor], λ*, F1)."""
    lam, f1 = threshold(emb, label, pairs)
    return hard_negatives(emb, label, pairs, lam, per_anchor), lam, f1
