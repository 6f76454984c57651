"""The runner and store with real components: cache hits, SIGKILL resume of a real subprocess, batch-size
invariance, --limit reuse, concurrent writers to one SQLite file."""

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from harness import registry
from harness.adapters import adapter_class
from harness.runner import evaluate, sample_seed
from harness.spec import RunSpec
from harness.store import Record, RunStore, StoreError


@pytest.fixture(scope="module")
def scenes():
    return registry.build_task(registry.discover_tasks()["edit/scenes"])


def _spec(task, model, adapter, **kw):
    return RunSpec(
        task=task.name, task_hash=task.content_hash(), model=model, model_fingerprint=adapter.fingerprint(), **kw
    )


def _scores(store, spec):
    return {sid: r.scores for sid, r in store.get_records(spec.cache_key()).items()}


def test_scores_do_not_depend_on_batch_size(scenes, tmp_path):
    noise = adapter_class("noise")()
    spec = _spec(scenes, "noise", noise, seed=3, limit=40)
    by_bs = {}
    for bs in (1, 7, 40):
        store = RunStore(tmp_path / f"bs{bs}.sqlite")
        result = evaluate(scenes, noise, spec, store, batch_size=bs)
        by_bs[bs] = (_scores(store, spec), {m: a.mean for m, a in result.aggregates[""].items()})
    assert by_bs[1] == by_bs[7] == by_bs[40]


def test_per_sample_seed_is_stable_and_distinct():
    assert sample_seed(0, "a") == sample_seed(0, "a")
    assert len({sample_seed(s, i) for s in range(3) for i in "abcdef"}) == 18


def test_rerun_of_finished_run_computes_nothing(scenes, tmp_path):
    noise = adapter_class("noise")()
    store = RunStore(tmp_path / "s.sqlite")
    spec = _spec(scenes, "noise", noise, limit=20)
    first = evaluate(scenes, noise, spec, store, batch_size=6)
    again = evaluate(scenes, noise, spec, store, batch_size=6)
    assert (first.computed, again.computed) == (20, 0)
    assert {m: a.mean for m, a in first.aggregates[""].items()} == {m: a.mean for m, a in again.aggregates[""].items()}


def test_a_larger_limit_reuses_the_samples_of_a_smaller_one(scenes, tmp_path):
    noise = adapter_class("noise")()
    store = RunStore(tmp_path / "s.sqlite")
    evaluate(scenes, noise, _spec(scenes, "noise", noise, limit=10), store)
    bigger = evaluate(scenes, noise, _spec(scenes, "noise", noise, limit=25), store)
    assert bigger.computed == 15 and bigger.n_samples == 25


def test_changing_the_seed_or_model_args_is_a_different_run(scenes, tmp_path):
    cls = adapter_class("noise")
    a, b = cls(), cls(low="10")
    assert _spec(scenes, "noise", a).cache_key() != _spec(scenes, "noise", a, seed=1).cache_key()
    assert a.fingerprint() != b.fingerprint()


def test_resume_after_sigkill_loses_and_duplicates_no_sample(tmp_path, plugin_dir):
    out = tmp_path / "r"
    env = dict(os.environ, PYTHONPATH=f"{plugin_dir}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    cmd = [
        sys.executable,
        "-m",
        "harness",
        "eval",
        "--task",
        "edit/scenes",
        "--model",
        "bad_adapters:LoggingNoise",
        "--model_args",
        "delay=0.02",
        "--batch_size",
        "5",
        "-o",
        str(out),
        "--no-progress",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    db = out / "harness.sqlite"
    deadline = time.time() + 120
    stored = 0
    while time.time() < deadline and stored < 30:  # wait until several batches are committed, then kill
        time.sleep(0.1)
        if db.exists():
            try:
                stored = sqlite3.connect(db).execute("SELECT COUNT(*) FROM records").fetchone()[0]
            except sqlite3.OperationalError:
                pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    killed_at = sqlite3.connect(db).execute("SELECT COUNT(*) FROM records").fetchone()[0]
    assert 30 <= killed_at < 150, killed_at
    assert sqlite3.connect(db).execute("SELECT status FROM runs").fetchone()[0] == "running"

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{150 - killed_at} computed, {killed_at} cached" in done.stdout
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT sample_id) FROM records").fetchone() == (150, 150)

    # The resumed run scores exactly what an uninterrupted run scores.
    fresh = subprocess.run(
        [*cmd[:-3], "-o", str(tmp_path / "fresh"), "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert fresh.returncode == 0, fresh.stderr
    load = lambda d: json.loads(next(d.glob("edit/scenes/*.json")).read_text())["aggregates"]
    assert load(out) == load(tmp_path / "fresh")


def _writer(path, worker, n):
    store = RunStore(path)
    for i in range(0, n, 10):
        store.put_records("key", [Record(f"w{worker}-{j}", b"x", {"m": float(j)}, {}, None) for j in range(i, i + 10)])
    store.close()


def test_concurrent_writers_to_one_store_lose_nothing(tmp_path):
    path = tmp_path / "shared.sqlite"
    RunStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 200)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    records = RunStore(path).get_records("key")
    assert len(records) == 800 and records["w3-199"].scores == {"m": 199.0}


def test_killed_transaction_leaves_no_partial_batch(tmp_path):
    store = RunStore(tmp_path / "s.sqlite")
    bad = [Record("a", b"1", {}, {}, None), Record("b", object(), {}, {}, None)]  # second row cannot be bound
    with pytest.raises(StoreError):  # the store's one-line error for any SQLite failure; the batch rolled back
        store.put_records("k", bad)
    assert store.get_records("k") == {}


def test_adapter_side_information_is_stored_and_scored(tmp_path):
    """A Reasoner's per-sample last_info lands in the record; keys the kind names (generated_tokens) are metrics."""
    from harness.adapters import Reasoner

    class Counting(Reasoner):
        def generate(self, prompts, seeds, n=1, **kw):
            self.last_info = [{"generated_tokens": len(p["text"].split()), "note": "x"} for p in prompts]
            return [["\\boxed{A}"] * n for _ in prompts]

    entry = registry.discover_tasks()["reasoning/text"]
    spec = entry.spec.model_copy(update={"metrics": ["accuracy", "generated_tokens"]})
    task = registry.build_task(entry.__class__(spec, entry.file))
    adapter = Counting()
    spec = _spec(task, "counting", adapter, limit=6)
    store = RunStore(tmp_path / "s.sqlite")
    result = evaluate(task, adapter, spec, store, batch_size=4)
    records = store.get_records(spec.cache_key())
    expected = {s.id: len(task.prompt(s)["text"].split()) for s in task.samples[:6]}
    assert {sid: r.scores["generated_tokens"] for sid, r in records.items()} == expected
    assert all(r.info["note"] == "x" for r in records.values())
    assert result.aggregates[""]["generated_tokens"].mean == pytest.approx(sum(expected.values()) / 6)


def test_a_store_file_from_before_subset_membership_opens_and_gains_the_columns(tmp_path):
    from harness.store import RunStore

    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE runs (run_id TEXT PRIMARY KEY, cache_key TEXT NOT NULL, task TEXT NOT NULL, "
        "task_hash TEXT NOT NULL, kind TEXT NOT NULL, model TEXT NOT NULL, model_args TEXT NOT NULL, "
        "variant TEXT NOT NULL, fingerprint TEXT NOT NULL, seed INTEGER NOT NULL, sample_limit INTEGER, "
        "spec TEXT NOT NULL, provenance TEXT NOT NULL, status TEXT NOT NULL, n_samples INTEGER, "
        "n_failed INTEGER, started REAL NOT NULL, finished REAL)"
    )
    old.execute(
        "INSERT INTO runs VALUES ('r1','k','edit/scenes','h','edit','noise','','', 'f', 0, NULL, '{}', '{}',"
        " 'finished', 3, 0, 0, 1)"
    )
    old.commit()
    old.close()
    store = RunStore(path)
    columns = {row[1] for row in store.conn.execute("PRAGMA table_info(runs)")}
    assert {"sample_ids", "subsets", "samples_hash"} <= columns
    (run,) = store.runs()
    assert run["run_id"] == "r1" and store.run_subsets(run) is None and run["samples_hash"] is None
