"""Adaptive multi-source balancing (SAIL): sample training sources in proportion to how close each is to a trusted
validation distribution.

Per source and for the validation set: k-means on the initial model's embeddings -> centroids and cluster masses.
The cosine similarity between validation and source centroids is aggregated with an entropic optimal-transport plan
(Sinkhorn, marginals = cluster masses): a source scores high when *all* of the validation mass can be moved onto
nearby source clusters, not just when one cluster happens to match. Scores go through a softmax (temperature) into
sampling weights.
"""

from __future__ import annotations

import numpy as np


def clusters(x: np.ndarray, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x [n, d] -> (unit centroids [k', d], masses [k'] summing to 1), k' = min(k, n)."""
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=min(k, len(x)), n_init=4, random_state=seed).fit(x)
    c = km.cluster_centers_ / np.maximum(np.linalg.norm(km.cluster_centers_, axis=1, keepdims=True), 1e-12)
    return c, np.bincount(km.labels_, minlength=len(c)) / len(x)


def sinkhorn(cost: np.ndarray, a: np.ndarray, b: np.ndarray, eps: float = 0.05, iters: int = 200) -> np.ndarray:
    """Entropic OT plan [len(a), len(b)] between masses a and b for the given cost (log-domain, stable)."""
    f, g = np.zeros(len(a)), np.zeros(len(b))
    la, lb = np.log(a + 1e-300), np.log(b + 1e-300)

    def lse(m, axis):
        mx = m.max(axis=axis, keepdims=True)
        return (mx + np.log(np.exp(m - mx).sum(axis=axis, keepdims=True))).squeeze(axis)

    for _ in range(iters):
        f = eps * (la - lse((g[None] - cost) / eps, 1))
        g = eps * (lb - lse((f[:, None] - cost) / eps, 0))
    return np.exp((f[:, None] + g[None] - cost) / eps)


def source_weights(
    val: np.ndarray, sources: dict[str, np.ndarray], k: int = 6, temperature: float = 0.05, seed: int = 0
) -> tuple[dict[str, float], dict[str, float]]:
    """val [n, d], sources {name: [m, d]} embeddings -> ({name: sampling weight}, {name: OT similarity})."""
    vc, vm = clusters(val, k, seed)
    score = {}
    for name, x in sources.items():
        sc, sm = clusters(x, k, seed)
        sim = vc @ sc.T
        plan = sinkhorn(1 - sim, vm, sm)
        score[name] = float((plan * sim).sum() / plan.sum())
    s = np.array(list(score.values())) / temperature
    w = np.exp(s - s.max())
    return dict(zip(score, (w / w.sum()).tolist())), score
