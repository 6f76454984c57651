"""Crash tests in CI: an evaluation SIGKILLed 10 times mid-computation (edit) and 10 times (retrieval), then
resumed, stores exactly what an uninterrupted run stores — every record byte for byte, the same aggregates — and
the SQLite file passes ``PRAGMA integrity_check``."""

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import FIXTURES

ADAPTERS = FIXTURES / "adapters"
# Each batch (4 samples) must take longer than the kill's random wait (<= 0.15 s), so every round ends inside the
# run however fast the machine is: edit batches sleep 4 x 0.05 s, and 80 samples outlast 10 rounds of 1-2 batches.
CASES = {
    "edit": [
        "--task",
        "edit/scenes",
        "--limit",
        "80",
        "--model",
        "bad_adapters:LoggingNoise",
        "--model_args",
        "delay=0.05",
    ],
    "retrieval": [
        "--task",
        "retrieval/q2i",
        "--limit",
        "8",
        "--model",
        "bad_adapters:SlowEmbed",
        "--model_args",
        "delay=0.01",
    ],
}


def _cmd(case, out):
    return [
        sys.executable,
        "-m",
        "harness",
        "eval",
        *CASES[case],
        "--batch_size",
        "4",
        "-o",
        str(out),
        "--no-progress",
    ]


def _env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ADAPTERS), os.environ.get("PYTHONPATH", "")]))


def _count(out) -> int:
    try:
        con = sqlite3.connect(out / "harness.sqlite", timeout=5)
        return con.execute("SELECT count(*) FROM records").fetchone()[0]
    except sqlite3.Error:
        return 0


def _snapshot(out):
    con = sqlite3.connect(out / "harness.sqlite")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    records = con.execute(
        "SELECT cache_key, sample_id, output, scores, info, error FROM records ORDER BY cache_key, sample_id"
    ).fetchall()
    aggregates = con.execute(
        "SELECT run_id, subset, metric, value, ci_low, ci_high, n FROM aggregates ORDER BY run_id, subset, metric"
    ).fetchall()
    runs = con.execute("SELECT run_id, status, n_samples, n_failed, sample_ids FROM runs").fetchall()
    return records, aggregates, runs


@pytest.mark.parametrize("case", list(CASES))
def test_ten_random_sigkills_mid_run_then_resume_equal_an_uninterrupted_run(tmp_path, case):
    rng = random.Random(case)
    killed_mid_run = 0
    out = tmp_path / "killed"
    for _ in range(10):
        before = _count(out)
        proc = subprocess.Popen(_cmd(case, out), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while proc.poll() is None and _count(out) <= before and time.time() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.15))  # somewhere inside the next batches
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_mid_run += 1
        proc.wait(60)
    assert killed_mid_run >= 8, "the run finished before most kills: make it slower"
    subprocess.run(_cmd(case, out), env=_env(), check=True, capture_output=True, timeout=300)
    subprocess.run(_cmd(case, tmp_path / "clean"), env=_env(), check=True, capture_output=True, timeout=300)
    killed, clean = _snapshot(out), _snapshot(tmp_path / "clean")
    assert killed[0] == clean[0]  # every record, byte for byte: nothing lost, nothing duplicated
    assert killed[1] == clean[1] and killed[1]  # identical aggregates
    assert [r[1:] for r in killed[2]] == [r[1:] for r in clean[2]] and killed[2][0][1] == "finished"
