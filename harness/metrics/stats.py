"""Aggregates with 95% bootstrap confidence intervals, and a paired test for comparing two runs.

numpy only (no torch): leaderboards and comparisons read stored per-sample scores without loading models.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_BOOT = 2000


@dataclass(frozen=True)
class Aggregate:
    mean: float
    ci_low: float
    ci_high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2


def bootstrap_ci(values, seed: int, confidence: float = 0.95, n_boot: int = N_BOOT) -> Aggregate:
    """Mean of ``values`` (1-D, NaNs ignored) with a percentile bootstrap CI; deterministic for a seed.
    Fewer than two values give a degenerate interval at the mean (NaN when empty)."""
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return Aggregate(float("nan"), float("nan"), float("nan"), 0)
    mean = float(x.mean())
    if x.size == 1:
        return Aggregate(mean, mean, mean, 1)
    rng = np.random.default_rng(seed)
    # Resample in chunks so memory stays bounded for large N.
    means = np.concatenate([
        x[rng.integers(0, x.size, size=(min(256, n_boot - i), x.size))].mean(axis=1)
        for i in range(0, n_boot, 256)
    ])
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return Aggregate(mean, float(low), float(high), int(x.size))


@dataclass(frozen=True)
class PairedResult:
    diff: float  # mean(b - a)
    ci_low: float
    ci_high: float
    p_value: float
    n: int


def paired_test(a, b, seed: int, n_perm: int = 10000) -> PairedResult:
    """Compare per-sample scores of two systems on the same samples (aligned arrays; pairs with a NaN dropped).
    Difference CI by bootstrap; two-sided p-value by a sign-flip permutation test on the differences."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired_test needs aligned scores, got {a.shape} and {b.shape}")
    d = (b - a)[~(np.isnan(a) | np.isnan(b))]
    ci = bootstrap_ci(d, seed)
    if d.size == 0 or not np.any(d):
        return PairedResult(ci.mean if d.size else float("nan"), ci.ci_low, ci.ci_high, 1.0, int(d.size))
    rng = np.random.default_rng(seed)
    observed = abs(d.mean())
    hits = 0
    for i in range(0, n_perm, 512):
        signs = rng.choice((-1.0, 1.0), size=(min(512, n_perm - i), d.size))
        hits += int(np.sum(np.abs((signs * d).mean(axis=1)) >= observed - 1e-12))
    # +1 correction: a permutation p-value is never exactly 0.
    return PairedResult(ci.mean, ci.ci_low, ci.ci_high, (hits + 1) / (n_perm + 1), int(d.size))
