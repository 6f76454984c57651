"""Suites with power: the 1,000-question reasoning suites (twins, no repeated text question), their 100-question
-quick variants equal to the suites as first generated, and the minimum detectable difference: the formula checked
by simulating the paired permutation test the leaderboards use, and `harness power` through the CLI."""

import numpy as np
import pytest

from conftest import one_line_error, run_cli
from harness import registry
from harness.data.reasoning_embedded import generate
from harness.metrics.power import independent_discordance, minimum_detectable_difference
from harness.metrics.stats import sign_flip_p


@pytest.fixture(scope="module")
def tasks():
    found = registry.discover_tasks()
    return {
        name: registry.build_task(found[name])
        for name in ("reasoning/embedded", "reasoning/text", "reasoning/embedded-quick", "reasoning/text-quick")
    }


def test_full_suites_hold_1000_twin_questions_without_repeated_text(tasks):
    full, text = tasks["reasoning/embedded"].samples, tasks["reasoning/text"].samples
    assert len(full) == len(text) == 1000 and len({s.id for s in full}) == 1000
    assert [(s.id, s.answer, s.choices) for s in full] == [(s.id, s.answer, s.choices) for s in text]
    # Some cells have fewer distinct texts than questions (a 2..4 x 2..4 rectangle has 9 sizes): 953 distinct.
    assert len({(s.question, s.answer) for s in text}) >= 950
    assert len({(s.question, s.answer) for s in generate(n_per_type=200, with_images=False)}) < 900  # without: 825


def test_quick_suites_are_the_original_100_questions(tasks):
    old = generate(n_per_type=20, with_images=False)
    quick = tasks["reasoning/text-quick"].samples
    assert [(s.id, s.question, s.answer) for s in quick] == [(s.id, s.question, s.answer) for s in old]
    assert len(tasks["reasoning/embedded-quick"].samples) == 100


@pytest.mark.parametrize(("n", "accuracy"), [(200, 0.5), (1000, 0.3)])
def test_mde_gives_80_percent_power_to_the_permutation_test(n, accuracy):
    psi = independent_discordance(accuracy)
    delta = minimum_detectable_difference(n, psi)
    rng = np.random.default_rng(0)
    # Per-question differences: +1 (only B right) with prob (psi + delta) / 2, -1 with (psi - delta) / 2, else 0.
    hits = 0
    for r in range(300):
        u = rng.random(n)
        d = np.where(u < (psi + delta) / 2, 1.0, np.where(u < psi, -1.0, 0.0))
        hits += sign_flip_p(d, r, n_perm=400) < 0.05
    assert 0.73 <= hits / 300 <= 0.87  # 80 % nominal; the simulation's SE is 2.3 points


def test_mde_shrinks_with_questions_and_grows_with_seed_noise():
    assert minimum_detectable_difference(1000, 0.5) < minimum_detectable_difference(100, 0.5) / 3
    quiet = minimum_detectable_difference(1000, 0.4, seeds=3, seed_sd=0.0)
    noisy = minimum_detectable_difference(1000, 0.4, seeds=3, seed_sd=0.03)
    assert noisy > quiet and minimum_detectable_difference(1000, 0.4, seeds=10, seed_sd=0.03) < noisy


def test_power_command_prints_the_mde_and_refuses_bad_input(tmp_path):
    out = run_cli("power", "--n", "1000", "--accuracy", "0.5", "-o", tmp_path, check_rc=0).stdout
    assert "alpha=0.05, power=0.8" in out and "6.3" in out.splitlines()[-1]
    one_line_error(run_cli("power", "-o", tmp_path), "--task", "--n")
    run_cli(
        "eval", "--task", "reasoning/text-quick", "--model", "constant", "-o", tmp_path, "--no-progress", check_rc=0
    )
    one_line_error(run_cli("power", "--n", "100", "--from-runs", "abc,def", "-o", tmp_path), "abc")
