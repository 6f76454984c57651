"""Simulated coverage of the bootstrap CIs: data with a known mean, several shapes and sizes.

Shared by tests/test_stats_coverage.py (fast and large runs) and ``python tests/stats_coverage_sim.py`` (prints the
table quoted in the README)."""

from __future__ import annotations

import math
import sys

import numpy as np

from harness.metrics.stats import bootstrap_ci

# name -> (sampler(rng, n), true mean)
SHAPES = {
    "bernoulli(0.3)": (lambda rng, n: rng.binomial(1, 0.3, n).astype(float), 0.3),
    "lognormal(0,1)": (lambda rng, n: rng.lognormal(0.0, 1.0, n), math.exp(0.5)),
    "uniform(0,1)": (lambda rng, n: rng.uniform(0.0, 1.0, n), 0.5),
}


def coverage(shape: str, n: int, reps: int, method: str, n_boot: int = 1000, seed: int = 0) -> float:
    """Fraction of ``reps`` simulated samples of size ``n`` whose 95% CI contains the true mean."""
    sample, truth = SHAPES[shape]
    rng = np.random.default_rng(seed)
    hits = 0
    for r in range(reps):
        agg = bootstrap_ci(sample(rng, n), seed=r, n_boot=n_boot, method=method)
        hits += agg.ci_low <= truth <= agg.ci_high
    return hits / reps


def main(argv: list[str]) -> None:
    reps = int(argv[0]) if argv else 2000
    print(f"| shape | n | percentile | BCa |  ({reps} simulated samples per cell, 1000 resamples, nominal 95 %)")
    print("|---|---:|---:|---:|")
    for shape in SHAPES:
        for n in (20, 50, 100, 200):
            p, b = coverage(shape, n, reps, "percentile"), coverage(shape, n, reps, "bca")
            print(f"| {shape} | {n} | {100 * p:.1f} % | {100 * b:.1f} % |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
