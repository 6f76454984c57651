"""Dynamic hard-negative mining (SAIL): a similarity threshold per source, then negatives just below it.

For each source, labelled pairs are its positive pairs plus sampled negatives (an anchor with a partner of another
group). λ* is the threshold maximising F1 of "similarity > λ ⇒ positive" under the initial model. A negative above
λ* looks like a positive to that model and is likely an unlabelled true match, so it is never used; the hardest
negatives *below* λ* are. One global threshold would be wrong for sources whose similarity scales differ (a noisy
source's positives score lower), hence one λ* per source.
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


def mine(emb: np.ndarray, label: np.ndarray, pairs: np.ndarray, rng: np.random.Generator, per_anchor: int = 3,
         n_neg: int = 8) -> tuple[np.ndarray, float, float]:
    """emb [n, d] unit vectors of the pool (initial model), label [n], pairs [p, 2] of one source.

    Returns (hard [p, per_anchor] pool indices, -1 where none, λ*, F1): for each pair, the partners of other groups
    (candidates: the source's positives) with the highest similarity to the anchor that is still <= λ*."""
    cand = np.unique(pairs[:, 1])
    a, b = pairs[:, 0], pairs[:, 1]
    pos = (emb[a] * emb[b]).sum(1)
    draws = rng.choice(cand, size=(len(pairs), n_neg))
    valid = label[draws] != label[a][:, None]
    neg = (emb[a][:, None] * emb[draws]).sum(-1)[valid]
    lam, f1 = best_f1_threshold(pos, neg)
    sims = emb[a] @ emb[cand].T  # [p, c]
    sims[label[a][:, None] == label[cand][None]] = -np.inf  # same group: not a negative
    sims[sims > lam] = -np.inf  # above λ*: probably a false negative
    k = min(per_anchor, len(cand))
    top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    hard = np.where(np.isfinite(np.take_along_axis(sims, top, 1)), cand[top], -1)
    return hard, lam, f1
