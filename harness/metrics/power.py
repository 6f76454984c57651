"""Power of a paired accuracy comparison: the smallest difference a suite of N questions can detect.

Two systems answer the same N questions; a question is *discordant* when exactly one of them gets it right. With
discordance psi (the share of discordant questions) and true difference delta = p10 - p01 (right only for B minus
right only for A), the per-question difference has variance psi under the null (delta = 0) and psi - delta^2 under
the alternative, so a two-sided level-alpha test of the mean difference has power 1 - beta when

    delta * sqrt(N) = z_{1-alpha/2} * sqrt(psi) + z_{1-beta} * sqrt(psi - delta^2)

(Connor 1987's normal approximation for McNemar's test; the sign-flip permutation test the leaderboards use on
0/1 differences is that test, checked by simulation in tests/test_suite_power.py). Solved for delta by bisection.
psi is an assumption: measured from two runs when they exist, else 2 p (1 - p) for two systems of
accuracy p whose errors are independent (the usual planning value; correlated systems disagree less and can
detect smaller differences). Training seeds add their own variance: with S seeds per system and a seed-to-seed sd
of the accuracy sigma_s, 2 sigma_s^2 / S is added to the variance of the difference.
"""

from __future__ import annotations

import math
from statistics import NormalDist


def independent_discordance(accuracy: float) -> float:
    """psi for two systems of the same accuracy whose errors are independent: 2 p (1 - p)."""
    if not 0 < accuracy < 1:
        raise ValueError(f"accuracy must be in (0, 1), got {accuracy}")
    return 2 * accuracy * (1 - accuracy)


def minimum_detectable_difference(
    n: int, discordance: float, alpha: float = 0.05, power: float = 0.8, seeds: int = 1, seed_sd: float = 0.0
) -> float:
    """Smallest true accuracy difference (as a fraction, 0..1) that a paired two-sided test at level ``alpha``
    detects with probability ``power`` on ``n`` questions, for discordance ``discordance`` (see module doc) and
    ``seeds`` training seeds per system with seed-to-seed sd ``seed_sd`` (fraction) of each system's accuracy."""
    if n < 1 or not 0 < discordance <= 1 or seeds < 1 or seed_sd < 0:
        raise ValueError(
            f"need n >= 1, 0 < discordance <= 1, seeds >= 1, seed_sd >= 0; got {n}, {discordance}, {seeds}, {seed_sd}"
        )
    z_alpha, z_beta = NormalDist().inv_cdf(1 - alpha / 2), NormalDist().inv_cdf(power)
    seed_var = 2 * seed_sd**2 / seeds

    def shortfall(delta: float) -> float:  # > 0 while delta is still too small to be detected
        return (
            z_alpha * math.sqrt(discordance / n + seed_var)
            + z_beta * math.sqrt(max(discordance - delta * delta, 0.0) / n + seed_var)
            - delta
        )

    low, high = 0.0, 1.0
    if shortfall(high) > 0:
        return 1.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if shortfall(mid) > 0 else (low, mid)
    return high
