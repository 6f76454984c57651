"""Aggregates with 95% bootstrap (BCa) confidence intervals, and a paired test for comparing two runs.

numpy only (no torch): leaderboards and comparisons read stored per-sample scores without loading models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

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


def bootstrap_ci(values, seed: int, confidence: float = 0.95, n_boot: int = N_BOOT, method: str = "bca") -> Aggregate:
    """Mean of ``values`` (1-D, NaNs ignored) with a bootstrap CI; deterministic for a seed.

    ``method="bca"`` (default): bias-corrected and accelerated (Efron 1987), which covers close to nominal for
    skewed scores at small N where the plain percentile interval under-covers (lognormal, n = 50: see
    tests/test_stats_coverage.py); ``"percentile"``: the plain percentile interval, kept for comparison.
    Fewer than two values, or all values equal, give a degenerate interval at the mean (NaN when empty)."""
    if method not in ("bca", "percentile"):
        raise ValueError(f"method must be bca or percentile, not {method!r}")
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return Aggregate(float("nan"), float("nan"), float("nan"), 0)
    mean = float(x.mean())
    if x.size == 1 or np.all(x == x[0]):
        return Aggregate(mean, mean, mean, int(x.size))
    rng = np.random.default_rng(seed)
    # Resample in chunks so memory stays bounded for large N.
    means = np.concatenate(
        [x[rng.integers(0, x.size, size=(min(256, n_boot - i), x.size))].mean(axis=1) for i in range(0, n_boot, 256)]
    )
    alpha = (1 - confidence) / 2
    levels = (
        [alpha, 1 - alpha] if method == "percentile" else bca_levels(means, mean, _jackknife_acceleration(x), alpha)
    )
    low, high = np.quantile(means, levels)
    # Float noise in the resampled means must not put the interval beside its own point estimate.
    return Aggregate(mean, float(min(low, mean)), float(max(high, mean)), int(x.size))


def _jackknife_acceleration(x: np.ndarray) -> float:
    """BCa acceleration of the mean from its jackknife: the leave-one-out means are mean - d_i / (n - 1) with
    d = x - mean, and the (n - 1) factors cancel, so a = sum(d^3) / (6 sum(d^2)^1.5) in O(n), no n x n array."""
    return _acceleration(x - x.mean())


def _acceleration(influence: np.ndarray) -> float:
    """a = sum(u^3) / (6 sum(u^2)^1.5) for jackknife influence values u (scale-free)."""
    peak = np.max(np.abs(influence)) if influence.size else 0.0
    if not peak > 0:
        return 0.0
    u = influence / peak  # rescaling keeps tiny or huge scores from under/overflowing
    a = float(np.sum(u**3) / (6.0 * float(np.sum(u * u)) ** 1.5))
    return a if math.isfinite(a) else 0.0


def bca_levels(boot: np.ndarray, estimate: float, acceleration: float, alpha: float) -> list[float]:
    """Quantile levels of the bootstrap distribution ``boot`` that bound a BCa interval of tail mass ``alpha``.

    The bias correction z0 counts ties as half (bootstrap means of 0/1 scores equal the estimate often), and is
    clipped to the resolution of ``boot`` so an all-on-one-side distribution stays finite."""
    b = boot.size
    below = (np.count_nonzero(boot < estimate) + 0.5 * np.count_nonzero(boot == estimate)) / b
    z0 = _NORMAL.inv_cdf(min(max(below, 0.5 / b), 1 - 0.5 / b))
    levels = []
    for q in (alpha, 1 - alpha):
        z = z0 + _NORMAL.inv_cdf(q)
        levels.append(_NORMAL.cdf(z0 + z / (1 - acceleration * z)))
    # 1 - a z <= 0 only for absurd skew at tiny n; the percentile levels are then the sane fallback.
    return levels if all(0.0 <= lv <= 1.0 for lv in levels) and levels[0] <= levels[1] else [alpha, 1 - alpha]


_NORMAL = NormalDist()


def stratified_bootstrap_ci(
    groups: dict[str, list[float]], seed: int, confidence: float = 0.95, n_boot: int = N_BOOT
) -> Aggregate:
    """Macro mean: the unweighted mean over groups of each group's mean (NaNs ignored, empty groups left out),
    with a BCa bootstrap that resamples within each group (strata keep their sizes). N = all values."""
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
    if np.all(means == mean):
        return Aggregate(mean, mean, mean, n)
    alpha = (1 - confidence) / 2
    # Leaving value j of group g out moves the macro mean by -(x_j - mean_g) / ((n_g - 1) G): its influence.
    influence = np.concatenate([(a - a.mean()) / (a.size - 1) for a in arrays if a.size > 1] or [np.zeros(0)])
    low, high = np.quantile(means, bca_levels(means, mean, _acceleration(influence), alpha))
    return Aggregate(mean, float(min(low, mean)), float(max(high, mean)), n)


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


# --- Training seeds: a (seeds x questions) score matrix per system -------------------------------------------------
# Rows are training seeds (the same model trained again with another seed), columns the samples, all seeds scored on
# the same samples. Seeds and samples are crossed, not nested: a hard question is hard for every seed. So one
# bootstrap replicate resamples the seeds and, once, the samples, applying the same sample draw to every seed;
# drawing samples independently per seed would average question difficulty away and understate the interval.


@dataclass(frozen=True)
class SeedAggregate:
    mean: float  # mean over seeds of each seed's mean over samples
    ci_low: float
    ci_high: float
    n: int  # samples every seed scored
    n_seeds: int
    seed_means: tuple[float, ...]  # one per seed, in the order given: the seed spread
    seed_sd: float  # sample standard deviation of seed_means (0 with one seed)


def _complete_columns(matrix) -> np.ndarray:
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"expected a (seeds, samples) matrix, got shape {m.shape}")
    return m[:, ~np.isnan(m).any(axis=0)]


def _two_level_means(mats: list[np.ndarray], rng, n_boot: int) -> list[np.ndarray]:
    """Bootstrap means of each (seeds x samples) matrix of ``mats`` (same sample columns): seeds resampled per
    matrix, one sample draw per replicate shared by all matrices (pairing). Returns one (n_boot,) array each."""
    n = mats[0].shape[1]
    out = [[] for _ in mats]
    for i in range(0, n_boot, 256):
        b = min(256, n_boot - i)
        sample_w = rng.multinomial(n, np.full(n, 1.0 / n), size=b).astype(np.float64)  # (b, n) counts
        for k, m in enumerate(mats):
            s = m.shape[0]
            seed_w = rng.multinomial(s, np.full(s, 1.0 / s), size=b).astype(np.float64)  # (b, s) counts
            # mean over the resampled cells = sum_s sum_j w_s w_j X_sj / (S n)
            out[k].append(np.einsum("bs,sj,bj->b", seed_w, m, sample_w) / (s * n))
    return [np.concatenate(o) for o in out]


def _two_level_influence(m: np.ndarray) -> np.ndarray:
    """Jackknife influence of each sample column on the grand mean (for BCa's acceleration): with few seeds the
    skew of the estimate comes from the samples."""
    col = m.mean(axis=0)
    return col - col.mean()


def two_level_ci(matrix, seed: int, confidence: float = 0.95, n_boot: int = N_BOOT) -> SeedAggregate:
    """Mean over training seeds (rows) of per-seed means over samples (columns; a column with a NaN in any seed is
    left out), with a two-level BCa bootstrap CI (seeds resampled, samples resampled once per replicate for all
    seeds) and the seed spread. One seed reduces to ``bootstrap_ci`` over its samples."""
    m = _complete_columns(matrix)
    s, n = m.shape
    seed_means = tuple(float(v) for v in m.mean(axis=1)) if n else tuple(float("nan") for _ in range(s))
    sd = float(np.std(seed_means, ddof=1)) if s > 1 and n else 0.0
    if n == 0:
        return SeedAggregate(float("nan"), float("nan"), float("nan"), 0, s, seed_means, sd)
    if s == 1:
        agg = bootstrap_ci(m[0], seed, confidence, n_boot)
        return SeedAggregate(agg.mean, agg.ci_low, agg.ci_high, n, 1, seed_means, 0.0)
    mean = float(m.mean())
    means = _two_level_means([m], np.random.default_rng(seed), n_boot)[0]
    if np.all(means == mean):
        return SeedAggregate(mean, mean, mean, n, s, seed_means, sd)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, bca_levels(means, mean, _acceleration(_two_level_influence(m)), alpha))
    return SeedAggregate(mean, float(min(low, mean)), float(max(high, mean)), n, s, seed_means, sd)


def two_level_paired_test(a, b, seed: int, n_boot: int = 10000) -> PairedResult:
    """Compare two systems trained with several seeds each, on the same samples: ``a`` (seeds_a x samples) and
    ``b`` (seeds_b x samples), columns aligned (a column with a NaN anywhere is dropped). diff = mean(b) - mean(a)
    over seeds and samples; its CI and p-value come from the two-level bootstrap (each system's seeds resampled on
    their own, the samples resampled once per replicate for both: paired). p: two-sided, from the bootstrap
    distribution shifted to the null, (1 + #{|D* - D| >= |D|}) / (B + 1).

    Caveat, stated rather than hidden: with 3 seeds the seed level is resampled from 3 values, which understates the
    seed variance by the factor (S - 1) / S; more seeds make the test sharper and more honest."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"two_level_paired_test needs (seeds, samples) matrices on the same samples, got {a.shape} and {b.shape}"
        )
    keep = ~(np.isnan(a).any(axis=0) | np.isnan(b).any(axis=0))
    a, b = a[:, keep], b[:, keep]
    n = int(keep.sum())
    if n == 0:
        return PairedResult(float("nan"), float("nan"), float("nan"), 1.0, 0)
    diff = float(b.mean() - a.mean())
    ma, mb = _two_level_means([a, b], np.random.default_rng(seed), n_boot)
    d = mb - ma
    if np.all(d == diff):
        return PairedResult(diff, diff, diff, 1.0 if diff == 0 else 1 / (n_boot + 1), n)
    influence = _two_level_influence(b) - _two_level_influence(a)
    low, high = np.quantile(d, bca_levels(d, diff, _acceleration(influence), 0.025))
    p = (1 + int(np.count_nonzero(np.abs(d - diff) >= abs(diff) - 1e-12))) / (n_boot + 1)
    return PairedResult(diff, float(min(low, diff)), float(max(high, diff)), min(p, 1.0), n)
