"""Retrieval under torchrun (2 real gloo processes): the corpus and queries are embedded in shards across the
ranks — each batch one role — gathered to rank 0, searched once over the merged gallery; per-query scores equal a
single-process run's exactly."""

import json
import sqlite3

from test_distributed import torchrun

from conftest import FIXTURES, run_cli

TASKS = FIXTURES / "retrieval_tasks"


def _scores(out):
    rows = sqlite3.connect(out / "harness.sqlite").execute("SELECT sample_id, output, scores FROM records").fetchall()
    return {sid: (bytes(out), json.loads(s) if s else None) for sid, out, s in rows}


def test_two_processes_embed_shards_and_score_like_one(tmp_path):
    args = [
        "eval",
        "--task",
        "retrieval/local-fixture",
        "--include",
        TASKS,
        "--model",
        "random-embed",
        "--batch_size",
        "2",
        "--no-progress",
    ]
    proc = torchrun(*args, "-o", tmp_path / "dist")
    assert proc.returncode == 0, proc.stderr
    assert "9 computed, 0 cached · 2 processes" in proc.stdout
    run_cli(*args, "-o", tmp_path / "single", check_rc=0)
    dist, single = _scores(tmp_path / "dist"), _scores(tmp_path / "single")
    assert len(dist) == 9 and dist == single  # the same embeddings (bytes) and the same per-query scores
