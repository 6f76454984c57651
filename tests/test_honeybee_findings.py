"""`harness recipe findings`: each finding compares two leaderboard labels over their training seeds. Tested on
real runs of the two floor models (cheap) in a real store, through the CLI."""

import math

from conftest import run_cli
from harness.api import open_store
from harness_baselines.honeybee.findings import compare_groups


def test_findings_compare_two_stored_labels_and_flag_missing_recipes(tmp_path):
    for model in ("constant", "random-choice"):
        proc = run_cli("eval", "--model", model, "--task", "reasoning/embedded-quick", "-o", tmp_path, "--no-progress")
        assert proc.returncode == 0, proc.stderr
    r = compare_groups(open_store(tmp_path), "reasoning/embedded-quick", "constant", "random-choice")
    assert r["n"] == 100 and r["seeds"] == (1, 1)
    assert r["ci"][0] <= r["diff"] <= r["ci"][1] and 0 < r["p"] <= 1
    assert 0 < r["mdd"] <= 1 and math.isfinite(r["a"] + r["b"])
    proc = run_cli("recipe", "findings", "-o", tmp_path, "--task", "reasoning/embedded-quick")
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| caption and solve")]
    assert rows and rows[0].endswith("not run |")  # no proxy runs in this store
