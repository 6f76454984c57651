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


def stratified_bootstrap_ci(groups: dict[str, list[float]], seed: int, confidence: float = 0.95,
                            n_boot: int = N_BOOT) -> Aggregate:
    """Macro mean: the unweighted mean over groups of each group's mean (NaNs ignored, empty groups left out),
    with a percentile bootstrap that resamples within each group (strata keep their sizes). N = all values."""
    arrays = [a[~np.isnan(a)] for a in (np.asarray(v, dtype=np.float64) for v in groups.values())]
    arrays = [a for a in arrays if a.size]
    if not arrays:
        return Aggregate(float("nan"), float("nan"), float("nan"), 0)
    mean = float(np.mean([a.mean() for a in arrays]))
    n = int(sum(a.size for a in arrays))
    if n < 2:
        return Aggregate(mean, mean, mean, n)
    rng = np.random.default_rng(seed)
    means = np.mean([a[rng.integers(0, a.size, size=(n_boot, a.size))].mean(axis=1) for a in arrays], axis=0)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return Aggregate(mean, float(low), float(high), n)


@dataclass(frozen=True)
class PairedResult:
    diff: float  # mean(b - a)
    ci_low: float
    ci_high: float
    p_value: float
    n: int


def sign_flip_p(d, seed: int, n_perm: int = 10000, alternative: str = "two-sided") -> float:
    """Permutation p-value for mean(d) != 0 ("two-sided"), < 0 ("less") or > 0 ("greater"), flipping the sign of
    each difference. Exact zeros cannot change sign, so only the non-zero differences are permuted: the same
    statistic, far cheaper when few samples moved."""
    if alternative not in ("two-sided", "less", "greater"):
        raise ValueError(f"alternative must be two-sided, less or greater, not {alternative!r}")
    d = np.asarray(d, dtype=np.float64)
    moved = d[(d != 0) & ~np.isnan(d)]
    if moved.size == 0:
        return 1.0
    rng = np.random.default_rng(seed)
    observed = moved.sum()
    hits = 0
    for i in range(0, n_perm, 1024):
        sums = rng.choice((-1.0, 1.0), size=(min(1024, n_perm - i), moved.size)) @ moved
        if alternative == "two-sided":
            hits += int(np.sum(np.abs(sums) >= abs(observed) - 1e-9))
        elif alternative == "less":
            hits += int(np.sum(sums <= observed + 1e-9))
        else:
            hits += int(np.sum(sums >= observed - 1e-9))
    return (hits + 1) / (n_perm + 1)  # +1: a permutation p-value is never exactly 0


def paired_test(a, b, seed: int, n_perm: int = 10000, alternative: str = "two-sided") -> PairedResult:
    """Compare per-sample scores of two systems on the same samples (aligned arrays; pairs with a NaN dropped):
    mean(b - a) with a bootstrap CI, and the sign-flip permutation p-value (see ``sign_flip_p``)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired_test needs aligned scores, got {a.shape} and {b.shape}")
    d = (b - a)[~(np.isnan(a) | np.isnan(b))]
    ci = bootstrap_ci(d, seed)
    return PairedResult(ci.mean, ci.ci_low, ci.ci_high, sign_flip_p(d, seed, n_perm, alternative), int(d.size))


def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order as given): controls the family-wise error rate when a
    leaderboard tests many cells against its reference row."""
    order = np.argsort(p_values)
    m = len(p_values)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted.tolist()
