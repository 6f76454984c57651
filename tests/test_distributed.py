"""Distributed evaluation with real torchrun processes (gloo on CPU): sharded, gathered to rank 0, one run,
identical to a single-process run, resumable with any number of processes."""

import json
import os
import subprocess
import sys

from conftest import run_cli


def torchrun(*args, nproc=2, pythonpath=None):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if pythonpath:
        env["PYTHONPATH"] = f"{pythonpath}{os.pathsep}{env.get('PYTHONPATH', '')}"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={nproc}",
            "-m",
            "harness",
            *map(str, args),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def _aggregates(folder):
    (path,) = folder.glob("edit/scenes/*.json")
    return json.loads(path.read_text())["aggregates"]


def test_two_processes_give_the_single_process_result(tmp_path):
    args = ["eval", "--task", "edit/scenes", "--model", "noise", "--limit", "30", "--batch_size", "4", "--no-progress"]
    proc = torchrun(*args, "-o", tmp_path / "dist")
    assert proc.returncode == 0, proc.stderr
    assert "30 computed, 0 cached · 2 processes" in proc.stdout
    assert proc.stdout.count("edit/scenes · noise") == 1  # only rank 0 reports
    run_cli(*args, "-o", tmp_path / "single", check_rc=0)
    assert _aggregates(tmp_path / "dist") == _aggregates(tmp_path / "single")


def test_resume_with_a_different_number_of_processes(tmp_path):
    out = tmp_path / "r"
    run_cli(
        "eval", "--task", "edit/scenes", "--model", "noise", "--limit", "13", "-o", out, "--no-progress", check_rc=0
    )
    proc = torchrun("eval", "--task", "edit/scenes", "--model", "noise", "--limit", "30", "-o", out, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "17 computed, 13 cached" in proc.stdout
    import sqlite3

    assert sqlite3.connect(out / "harness.sqlite").execute(
        "SELECT COUNT(*), COUNT(DISTINCT sample_id) FROM records"
    ).fetchone() == (30, 30)


def test_a_contract_error_on_one_rank_stops_every_rank(tmp_path, plugin_dir):
    proc = torchrun(
        "eval",
        "--task",
        "edit/scenes",
        "--model",
        "bad_adapters:WrongSize",
        "--limit",
        "8",
        "-o",
        tmp_path,
        "--no-progress",
        pythonpath=plugin_dir,
    )
    assert proc.returncode != 0
    assert "broke the Editor contract" in proc.stderr
    assert not list(tmp_path.glob("**/*.json"))
