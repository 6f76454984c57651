"""Regression gate: CLI exit codes, baseline files, the pytest plugin, and the measured false-alarm rate and
power of its decision rule."""

import json

import numpy as np
import pytest

from harness.regress import DEFAULT_ALPHA, decide

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def oracle_baseline(tmp_path_factory):
    d = tmp_path_factory.mktemp("gate")
    from conftest import run_cli

    run_cli(
        "regress",
        "--baseline",
        d / "b.json",
        "--update",
        "--model",
        "oracle",
        "--task",
        "edit/scenes",
        "--limit",
        "40",
        "--tolerance",
        "success=0.05",
        "-o",
        d / "r",
        check_rc=0,
    )
    return d


def test_update_writes_a_baseline_with_per_sample_scores(oracle_baseline):
    doc = json.loads((oracle_baseline / "b.json").read_text())
    task = doc["tasks"]["edit/scenes"]
    assert doc["model"] == "oracle" and doc["limit"] == 40 and doc["alpha"] == DEFAULT_ALPHA
    assert len(task["metrics"]["success"]["scores"]) == 40 and task["metrics"]["success"]["tolerance"] == 0.05
    assert task["metrics"]["l1"]["higher_is_better"] is False and task["task_hash"]


def test_unchanged_model_passes(cli, oracle_baseline):
    out = cli("regress", "--baseline", oracle_baseline / "b.json", "-o", oracle_baseline / "r", check_rc=0).stdout
    assert "0 regression(s)" in out


def test_worse_model_fails_with_exit_1_and_names_what_moved(cli, oracle_baseline, tmp_path):
    proc = cli("regress", "--baseline", oracle_baseline / "b.json", "--model", "identity", "-o", tmp_path)
    assert proc.returncode == 1, proc.stderr
    lines = {tuple(line.split()[:2]): line for line in proc.stdout.splitlines() if "edit/scenes" in line}
    assert "REGRESSED" in lines[("edit/scenes", "success")] and "REGRESSED" in lines[("edit/scenes", "psnr_edit")]
    assert "ok" in lines[("edit/scenes", "psnr_keep")].split()[-1]  # identity keeps the rest perfectly
    # oracle 1 vs identity 0 on every sample: a zero-width CI, the numbers as they are (not 1.0000 / -1.0000)
    assert lines[("edit/scenes", "success")].split()[2:7] == ["1", "0", "-1", "[-1,", "-1]"]


def test_a_changed_task_version_is_refused(cli, oracle_baseline, tmp_path):
    doc = json.loads((oracle_baseline / "b.json").read_text())
    doc["tasks"]["edit/scenes"]["task_hash"] = "0" * 16
    (tmp_path / "b.json").write_text(json.dumps(doc))
    proc = cli("regress", "--baseline", tmp_path / "b.json", "-o", oracle_baseline / "r")
    assert proc.returncode == 2 and "changed since the baseline" in proc.stderr
    proc = cli("regress", "--baseline", tmp_path / "missing.json", "-o", tmp_path)
    assert proc.returncode == 2 and "missing.json" in proc.stderr and "--update" in proc.stderr


def test_pytest_plugin_gates_in_three_lines(pytester, oracle_baseline):
    pytester.makepyfile(f"""
        def test_same(harness_regress):
            harness_regress({str(oracle_baseline / "b.json")!r})

        def test_worse(harness_regress):
            harness_regress({str(oracle_baseline / "b.json")!r}, model="identity")
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*regression(s) against*", "*success*REGRESSED*"])


def _simulate(n_comparisons, n_items, drop, flip, rng):
    """Binary per-item correctness. An unchanged model re-run flips each item with probability ``flip`` (both
    ways, accuracy unchanged in expectation); a changed model additionally loses ``drop`` accuracy."""
    alarms = 0
    for i in range(n_comparisons):
        p = 0.6
        base = (rng.random(n_items) < p).astype(float)
        u = rng.random(n_items)
        new = base.copy()
        new[(base == 1) & (u < flip)] = 0
        new[(base == 0) & (u < flip * p / (1 - p))] = 1
        if drop:
            new[(new == 1) & (rng.random(n_items) < drop / p)] = 0
        alarms += decide(base * 100, new * 100, tolerance=1.0, alpha=DEFAULT_ALPHA, seed=i)[0] == "REGRESSED"
    return alarms / n_comparisons


def test_gate_false_alarm_rate_and_power():
    """Measured figures for README: 1000 no-change comparisons and 1000 comparisons with a 3-point accuracy drop,
    1000 items each, 2% per-item flip noise between runs, tolerance 1 point, alpha 0.01."""
    rng = np.random.default_rng(7)
    false_alarms = _simulate(1000, 1000, drop=0.0, flip=0.02, rng=rng)
    power = _simulate(1000, 1000, drop=0.03, flip=0.02, rng=rng)
    print(f"false-alarm rate {false_alarms:.3f}, power {power:.3f}")
    assert false_alarms <= 0.01
    assert power >= 0.90
