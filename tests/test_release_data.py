"""Released data located through a task's dataset pin (a --data_dir folder, the config file, the offline HF cache
in the hub's own layout) and rows a loader cannot score (skipped, counted, listed; --strict-data refuses them)."""

import json
import os
import textwrap

import pytest

from conftest import one_line_error, run_cli

REV = "0123456789abcdef0123456789abcdef01234567"
ROWS = [
    {
        "problem": "What is 1+1?",
        "solution": "2",
        "answer": "2",
        "subject": "Prealgebra",
        "level": 1,
        "unique_id": "test/prealgebra/1.json",
    },
    {
        "problem": "  ",
        "solution": "",
        "answer": "3",
        "subject": "Algebra",
        "level": 2,
        "unique_id": "test/algebra/2.json",
    },  # an empty problem: cannot be scored
    {
        "problem": "What is 2+2?",
        "solution": "4",
        "answer": "4",
        "subject": "Algebra",
        "level": 1,
        "unique_id": "test/algebra/3.json",
    },
]


def _write_rows(folder, rows=ROWS):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def env(tmp_path):
    """A task folder pinning HuggingFaceH4/MATH-500 at REV, an empty HF cache and an empty config home."""
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "m500.yaml").write_text(
        textwrap.dedent(f"""
        name: pinned/math500
        kind: reasoning
        source: {{loader: reasoning_math500}}
        dataset: {{hf_id: HuggingFaceH4/MATH-500, revision: {REV}, files: [test.jsonl]}}
        metrics: [accuracy]
        primary_metric: accuracy
    """)
    )
    e = dict(
        os.environ,
        HF_HUB_CACHE=str(tmp_path / "hub"),
        HF_HUB_OFFLINE="1",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        HOME=str(tmp_path / "home"),
    )
    e.pop("HF_HOME", None)
    return tmp_path, tasks, e


def _cli(env_vars, *args, **kw):
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env_vars)
    try:
        return run_cli(*args, **kw)
    finally:
        os.environ.clear()
        os.environ.update(old)


def _hub_snapshot(hub, repo="HuggingFaceH4/MATH-500", rev=REV, ref="main"):
    """The real hub cache layout: datasets--ORG--NAME/{refs/REF, snapshots/REV/...} (blobs are where snapshot
    files link to; a plain file in snapshots/ reads the same)."""
    root = hub / f"datasets--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True)
    (root / "refs" / ref).write_text(rev)
    blob = root / "blobs" / "deadbeef"
    blob.parent.mkdir()
    blob.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    snap = root / "snapshots" / rev
    snap.mkdir(parents=True)
    (snap / "test.jsonl").symlink_to(os.path.relpath(blob, snap))
    return snap


def test_missing_data_is_one_line_naming_id_revision_files_and_where(env):
    tmp, tasks, e = env
    proc = _cli(
        e,
        "eval",
        "--task",
        "pinned/math500",
        "--model",
        "constant",
        "--include",
        tasks,
        "--data_dir",
        tmp / "data",
        "--output",
        tmp / "out",
    )
    one_line_error(
        proc,
        "pinned/math500",
        "HuggingFaceH4/MATH-500",
        REV,
        "test.jsonl",
        str(tmp / "data" / "HuggingFaceH4" / "MATH-500"),
        "hf download",
    )
    assert not (tmp / "out" / "harness.sqlite").exists()


def test_list_tasks_shows_whether_data_is_present(env):
    tmp, tasks, e = env
    proc = _cli(e, "list", "tasks", "--include", tasks, "--data_dir", tmp / "data", check_rc=0)
    line = next(row for row in proc.stdout.splitlines() if row.startswith("pinned/math500"))
    assert "missing" in line
    assert "built in" in next(row for row in proc.stdout.splitlines() if row.startswith("edit/scenes"))
    _write_rows(tmp / "data" / "HuggingFaceH4" / "MATH-500")
    proc = _cli(e, "list", "tasks", "--include", tasks, "--data_dir", tmp / "data", check_rc=0)
    line = next(row for row in proc.stdout.splitlines() if row.startswith("pinned/math500"))
    assert str(tmp / "data" / "HuggingFaceH4" / "MATH-500") in line


def test_folder_under_data_dir_runs_and_the_empty_row_is_skipped_counted_and_listed(env):
    tmp, tasks, e = env
    _write_rows(tmp / "data" / "HuggingFaceH4" / "MATH-500")
    proc = _cli(
        e,
        "eval",
        "--task",
        "pinned/math500",
        "--model",
        "constant",
        "--include",
        tasks,
        "--data_dir",
        tmp / "data",
        "--output",
        tmp / "out",
        "--no-progress",
        check_rc=0,
    )
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "skipped 1 row" in warnings[0]
    assert "test/algebra/2.json (empty problem)" in warnings[0]
    assert "skipped rows (unscorable in the data, not in N): 1" in proc.stdout
    result = json.loads(next((tmp / "out" / "pinned" / "math500").glob("*.json")).read_text())
    assert result["n_samples"] == 2 and result["n_skipped"] == 1
    assert result["skipped"] == {"test/algebra/2.json": "empty problem"}
    assert result["provenance"]["skipped_rows"] == result["skipped"]
    show = _cli(e, "show", result["run_id"], "--output", tmp / "out", check_rc=0)
    assert "skipped rows (unscorable in the data, not in N): 1" in show.stdout
    assert "  test/algebra/2.json: empty problem" in show.stdout


def test_strict_data_turns_a_skip_into_an_error(env):
    tmp, tasks, e = env
    _write_rows(tmp / "data" / "HuggingFaceH4" / "MATH-500")
    proc = _cli(
        e,
        "eval",
        "--task",
        "pinned/math500",
        "--model",
        "constant",
        "--include",
        tasks,
        "--data_dir",
        tmp / "data",
        "--output",
        tmp / "out",
        "--strict-data",
    )
    one_line_error(proc, "pinned/math500", "--strict-data", "test/algebra/2.json (empty problem)")


def test_config_file_sets_the_data_dir(env):
    tmp, tasks, e = env
    _write_rows(tmp / "elsewhere" / "HuggingFaceH4" / "MATH-500")
    cfg = tmp / "config" / "harness" / "config.yaml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(f"data_dir: {tmp / 'elsewhere'}\n")
    proc = _cli(e, "list", "tasks", "--include", tasks, check_rc=0)
    assert str(tmp / "elsewhere") in next(row for row in proc.stdout.splitlines() if row.startswith("pinned/math500"))
    cfg.write_text("data_dri: x\n")
    one_line_error(_cli(e, "list", "tasks", "--include", tasks), str(cfg), "data_dri")


@pytest.mark.parametrize("revision", [REV, "main"])
def test_offline_hf_cache_in_hub_layout_is_found(env, revision):
    """A snapshot in the hub cache (by commit sha, or by a branch through refs/) is read without network."""
    tmp, tasks, e = env
    snap = _hub_snapshot(tmp / "hub")
    yaml_file = tasks / "m500.yaml"
    yaml_file.write_text(yaml_file.read_text().replace(f"revision: {REV}", f"revision: {revision}"))
    proc = _cli(e, "list", "tasks", "--include", tasks, "--data_dir", tmp / "data", check_rc=0)
    assert str(snap) in next(row for row in proc.stdout.splitlines() if row.startswith("pinned/math500"))
    proc = _cli(
        e,
        "eval",
        "--task",
        "pinned/math500",
        "--model",
        "constant",
        "--include",
        tasks,
        "--data_dir",
        tmp / "data",
        "--output",
        tmp / "out",
        "--no-progress",
        check_rc=0,
    )
    assert "pinned/math500" in proc.stdout
    result = json.loads(next((tmp / "out" / "pinned" / "math500").glob("*.json")).read_text())
    assert result["provenance"]["dataset"]["commit"] == REV  # what the branch resolved to is recorded
    assert result["provenance"]["dataset"]["revision"] == revision


def test_a_cached_snapshot_at_another_revision_is_not_taken(env):
    tmp, tasks, e = env
    _hub_snapshot(tmp / "hub", rev="f" * 40)
    proc = _cli(
        e,
        "eval",
        "--task",
        "pinned/math500",
        "--model",
        "constant",
        "--include",
        tasks,
        "--data_dir",
        tmp / "data",
        "--output",
        tmp / "out",
    )
    one_line_error(proc, "HuggingFaceH4/MATH-500", REV)


def test_skipped_rows_change_the_task_hash(tmp_path):
    from harness import registry

    entry = registry.load_task_file(_pinned_yaml(tmp_path))
    _write_rows(tmp_path / "d" / "HuggingFaceH4" / "MATH-500")
    with_skip = registry.build_task(entry, data_dir=tmp_path / "d")
    assert with_skip.skipped == {"test/algebra/2.json": "empty problem"}
    _write_rows(tmp_path / "d" / "HuggingFaceH4" / "MATH-500", [ROWS[0], ROWS[2]])
    without = registry.build_task(entry, data_dir=tmp_path / "d")
    assert [s.id for s in without.samples] == [s.id for s in with_skip.samples]
    assert without.content_hash() != with_skip.content_hash()
    assert without.samples_hash() == with_skip.samples_hash()


def _pinned_yaml(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        f"name: pinned/x\nkind: reasoning\nsource: {{loader: reasoning_math500}}\n"
        f"dataset: {{hf_id: HuggingFaceH4/MATH-500, revision: {REV}, files: [test.jsonl]}}\n"
        "metrics: [accuracy]\nprimary_metric: accuracy\n"
    )
    return path


def test_download_failure_is_one_line(env):
    """--download against a hub that does not answer (a closed port on 127.0.0.1): one line, exit 2."""
    import socket

    tmp, tasks, e = env
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    e = {k: v for k, v in e.items() if k != "HF_HUB_OFFLINE"}
    e["HF_ENDPOINT"] = f"http://127.0.0.1:{port}"
    proc = _cli(
        e,
        "eval",
        "--task",
        "pinned/math500",
        "--model",
        "constant",
        "--include",
        tasks,
        "--data_dir",
        tmp / "data",
        "--output",
        tmp / "out",
        "--download",
    )
    one_line_error(proc, "HuggingFaceH4/MATH-500", "download failed")


def test_download_fetches_the_pinned_files_then_runs_offline_from_the_cache(env):
    """--download through snapshot_download against a local stand-in of the hub: only the pinned files are
    fetched into the HF cache; the next run, offline, reads them from there."""
    from fake_hub import serve

    tmp, tasks, e = env
    sha = "b" * 40
    rows = "".join(json.dumps(r) + "\n" for r in ROWS).encode()
    files = {"test.jsonl": rows, "big.bin": b"x" * 10}
    server, url = serve({("dataset", "HuggingFaceH4/MATH-500"): (sha, files)})
    try:
        yaml_file = tasks / "m500.yaml"
        yaml_file.write_text(yaml_file.read_text().replace(f"revision: {REV}", "revision: main"))
        online = {k: v for k, v in e.items() if k != "HF_HUB_OFFLINE"}
        online["HF_ENDPOINT"] = url
        proc = _cli(
            online,
            "eval",
            "--task",
            "pinned/math500",
            "--model",
            "constant",
            "--include",
            tasks,
            "--data_dir",
            tmp / "data",
            "--output",
            tmp / "out",
            "--no-progress",
            "--download",
            check_rc=0,
        )
    finally:
        server.shutdown()
    snap = tmp / "hub" / "datasets--HuggingFaceH4--MATH-500" / "snapshots" / sha
    assert sorted(p.name for p in snap.iterdir()) == ["test.jsonl"]  # allow_patterns: only the pinned file
    assert (tmp / "hub" / "datasets--HuggingFaceH4--MATH-500" / "refs" / "main").read_text() == sha
    assert "pinned/math500" in proc.stdout
    proc = _cli(
        e,
        "eval",
        "--task",
        "pinned/math500",
        "--model",
        "constant",
        "--include",
        tasks,
        "--data_dir",
        tmp / "data",
        "--output",
        tmp / "out2",
        "--no-progress",
        check_rc=0,
    )
    result = json.loads(next((tmp / "out2" / "pinned" / "math500").glob("*.json")).read_text())
    assert result["provenance"]["dataset"]["commit"] == sha and result["n_samples"] == 2
