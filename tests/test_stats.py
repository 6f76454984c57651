"""Bootstrap CIs and the paired test: deterministic, calibrated, and sensible on known cases."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.metrics.stats import bootstrap_ci, paired_test


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=60), st.integers(0, 2**31))
def test_ci_contains_the_mean_and_is_deterministic(values, seed):
    a, b = bootstrap_ci(values, seed), bootstrap_ci(values, seed)
    assert a == b
    assert a.ci_low - 1e-9 <= a.mean <= a.ci_high + 1e-9
    assert a.n == len(values) and math.isclose(a.mean, float(np.mean(values)), rel_tol=1e-9, abs_tol=1e-9)


def test_nans_are_not_counted_and_empty_is_nan():
    agg = bootstrap_ci([1.0, float("nan"), 3.0], 0)
    assert agg.n == 2 and agg.mean == 2.0
    assert bootstrap_ci([], 0).n == 0 and math.isnan(bootstrap_ci([float("nan")], 0).mean)


def test_ci_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    hits = sum(
        (lambda a: a.ci_low <= 0.3 <= a.ci_high)(bootstrap_ci(rng.binomial(1, 0.3, 200).astype(float), s, n_boot=500))
        for s in range(300)
    )
    assert 0.90 <= hits / 300 <= 0.99  # percentile bootstrap is slightly narrow at n=200


def test_paired_test_finds_a_real_difference_and_not_a_fake_one():
    rng = np.random.default_rng(1)
    base = rng.normal(0, 1, 300)
    better = base + 0.3 + rng.normal(0, 0.2, 300)
    same = base + rng.normal(0, 0.2, 300)
    assert paired_test(base, better, 0).p_value < 0.001
    assert paired_test(base, better, 0).diff > 0.25
    assert paired_test(base, same, 0).p_value > 0.01
    assert paired_test(base, base, 0).p_value == 1.0


def test_paired_test_false_alarm_rate_is_near_alpha():
    rng = np.random.default_rng(2)
    alarms = sum(
        paired_test(rng.normal(size=80), rng.normal(size=80), s, n_perm=500).p_value < 0.05 for s in range(200)
    )
    assert alarms / 200 <= 0.10


def test_stratified_ci_is_bca_and_degenerate_when_every_score_is_equal():
    from harness.metrics.stats import stratified_bootstrap_ci

    x = np.random.default_rng(3).lognormal(0, 1, 60)
    one_group, plain = stratified_bootstrap_ci({"g": x}, 0, n_boot=4000), bootstrap_ci(x, 0, n_boot=4000)
    assert math.isclose(one_group.mean, plain.mean)
    assert abs(one_group.ci_low - plain.ci_low) < 0.05 and abs(one_group.ci_high - plain.ci_high) < 0.05
    # Skewed to the right: BCa reaches further above the mean than below it.
    assert one_group.ci_high - one_group.mean > one_group.mean - one_group.ci_low
    flat = stratified_bootstrap_ci({"a": [1.0, 1.0], "b": [0.5, 0.5, 0.5]}, 0)
    assert (flat.ci_low, flat.mean, flat.ci_high, flat.n) == (0.75, 0.75, 0.75, 5)


def test_bca_interval_is_finite_for_tiny_and_huge_scales():
    for values in ([0.0, 4.6e-120], [1e150, 3e150, 2e150], [0.0, 0.0, 1.0]):
        agg = bootstrap_ci(values, 0)
        assert math.isfinite(agg.ci_low) and math.isfinite(agg.ci_high) and agg.ci_low <= agg.mean <= agg.ci_high
