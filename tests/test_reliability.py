"""Reliability through the real CLI and real processes: signals, dead-run detection, leaderboard correctness
(cached re-runs, task versions, normalised model args, whole-task limits), zero-scored runs, --max-failures,
--batch-timeout, --recompute, store creation races, two processes on one spec, read-only result folders."""

import json
import multiprocessing
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import FIXTURES, one_line_error, run_cli

ADAPTERS = FIXTURES / "adapters"


def _cli(*args, **kw):
    return run_cli(*args, pythonpath=ADAPTERS, **kw)


def _runs(out):
    con = sqlite3.connect(out / "harness.sqlite")
    rows = con.execute("SELECT run_id, status, model_args, sample_limit FROM runs ORDER BY started").fetchall()
    con.close()
    return rows


def _popen(out, *extra, model="bad_adapters:LoggingNoise", model_args="delay=0.05", task="edit/scenes", limit=60):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ADAPTERS), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness",
            "eval",
            "--task",
            task,
            "--model",
            model,
            "--model_args",
            model_args,
            "--limit",
            str(limit),
            "--batch_size",
            "2",
            "-o",
            str(out),
            "--no-progress",
            *extra,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A run at a terminal gets Ctrl-C; pytest started as a shell's background job (`cmd &`) would hand its
        # children SIGINT ignored, and Python then never raises KeyboardInterrupt.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for_records(out, n, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            con = sqlite3.connect(out / "harness.sqlite", timeout=5)
            if con.execute("SELECT count(*) FROM records").fetchone()[0] >= n:
                return
        except sqlite3.OperationalError:
            pass
        time.sleep(0.05)
    raise AssertionError("no progress")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_sigterm_and_sighup_are_handled_like_ctrl_c(tmp_path, sig):
    proc = _popen(tmp_path)
    _wait_for_records(tmp_path, 4, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: interrupted") and sig.name in lines[0], err
    assert [r[1] for r in _runs(tmp_path)] == ["interrupted"]
    assert not list(tmp_path.rglob("*.json"))
    done = _cli(
        "eval",
        "--task",
        "edit/scenes",
        "--model",
        "bad_adapters:LoggingNoise",
        "--model_args",
        "delay=0.05",
        "--limit",
        "60",
        "-o",
        tmp_path,
        "--no-progress",
        check_rc=0,
    )
    assert " 0 cached" not in done.stdout and [r[1] for r in _runs(tmp_path)] == ["finished"]


def test_show_tells_a_dead_run_from_a_live_one(tmp_path):
    proc = _popen(tmp_path, model_args="delay=0.3")
    _wait_for_records(tmp_path, 2, proc)
    run_id = _runs(tmp_path)[0][0]
    live = _cli("show", run_id, "-o", tmp_path, check_rc=0).stdout.splitlines()[0]
    assert f"status=running (live: pid {proc.pid}" in live
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    dead = _cli("show", run_id, "-o", tmp_path, check_rc=0).stdout.splitlines()[0]
    assert f"status=dead (was running: pid {proc.pid} on" in dead and "resumes" in dead


def test_interrupting_a_cached_rerun_keeps_the_finished_run_on_the_board(tmp_path):
    _cli("eval", "--task", "edit/scenes", "--model", "noise", "-o", tmp_path, "--no-progress", check_rc=0)
    # A cached re-run (nothing to compute) that dies after start: SIGKILL right at the adapter's first call is
    # impossible here (nothing is computed), so kill it while it aggregates.
    for _ in range(3):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "harness",
                "eval",
                "--task",
                "edit/scenes",
                "--model",
                "noise",
                "-o",
                str(tmp_path),
                "--no-progress",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        time.sleep(0.8)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    assert [r[1] for r in _runs(tmp_path)] == ["finished"]
    board = _cli("leaderboard", "edit", "-o", tmp_path, "--to", tmp_path / "b.md", check_rc=0).stdout
    assert "| noise" in board


def _task_file(folder, n_per_type, name="tv/scenes"):
    folder.mkdir(exist_ok=True)
    (folder / "t.yaml").write_text(
        textwrap.dedent(f"""\
        name: {name}
        kind: edit
        groups: [tv]
        source: {{loader: edit_scenes, args: {{n_per_type: {n_per_type}, size: 32}}}}
        metrics: [success, l1_keep]
        primary_metric: success
        """)
    )


def test_current_task_version_is_not_whoever_started_last(tmp_path):
    tasks, out = tmp_path / "tasks", tmp_path / "out"
    _task_file(tasks, 1)
    _cli("eval", "--task", "tv", "--model", "noise", "--include", tasks, "-o", out, "--no-progress", check_rc=0)
    _task_file(tasks, 2)  # the task changes (v2): both models are measured on it
    for model in ("noise", "identity"):
        _cli("eval", "--task", "tv", "--model", model, "--include", tasks, "-o", out, "--no-progress", check_rc=0)
    _task_file(tasks, 1)  # a cached re-run on the old data (v1)
    rerun = _cli("eval", "--task", "tv", "--model", "noise", "--include", tasks, "-o", out, "--no-progress", check_rc=0)
    assert "0 computed" in rerun.stdout
    _task_file(tasks, 2)
    board = json.loads(
        _cli(
            "leaderboard", "tv", "--include", tasks, "-o", out, "-f", "json", "--to", tmp_path / "b.json", check_rc=0
        ).stdout
    )
    assert sorted(r["label"] for r in board["rows"]) == ["identity", "noise"]
    assert [r["cells"][0]["n"] for r in board["rows"]] == [10, 10]  # v2: 5 edit types at 32 px x 2
    assert any("older task version" in n for n in board["notes"])


def test_equivalent_model_args_are_one_run_and_one_row(tmp_path):
    outs = [
        _cli(
            "eval",
            "--task",
            "edit/scenes",
            "--model",
            "noise",
            *extra,
            "--limit",
            "8",
            "-o",
            tmp_path,
            "--no-progress",
            check_rc=0,
        ).stdout
        for extra in ([], ["--model_args", "low=0"], ["--model_args", "low=00,high=255"])
    ]
    assert "8 computed" in outs[0] and "0 computed" in outs[1] and "0 computed" in outs[2]
    assert [(r[2]) for r in _runs(tmp_path)] == [""]
    _cli(
        "eval",
        "--task",
        "edit/scenes",
        "--model",
        "noise",
        "--model_args",
        "high=200",
        "--limit",
        "8",
        "-o",
        tmp_path,
        "--no-progress",
        check_rc=0,
    )
    assert sorted(r[2] for r in _runs(tmp_path)) == ["", "high=200"]


def test_a_limit_covering_the_whole_task_is_a_full_run_on_the_board(tmp_path):
    tasks = tmp_path / "tasks"
    _task_file(tasks, 1)
    _cli(
        "eval",
        "--task",
        "tv",
        "--model",
        "identity",
        "--limit",
        "100",
        "--include",
        tasks,
        "-o",
        tmp_path,
        "--no-progress",
        check_rc=0,
    )
    assert [r[3] for r in _runs(tmp_path)] == [None]
    board = _cli("leaderboard", "tv", "--include", tasks, "-o", tmp_path, "--to", tmp_path / "b.md", check_rc=0)
    assert "| identity" in board.stdout


def test_a_run_that_scores_nothing_is_an_error_stored_as_failed(tmp_path):
    one_line_error(
        _cli(
            "eval",
            "--task",
            "edit/scenes",
            "--model",
            "noise",
            "--model_args",
            "high=300",
            "--limit",
            "6",
            "-o",
            tmp_path,
            "--no-progress",
        ),
        "no sample was scored",
        "6 of 6 failed",
    )
    assert [r[1] for r in _runs(tmp_path)] == ["failed"]
    assert not list(tmp_path.rglob("*.json"))
    shown = _cli("show", _runs(tmp_path)[0][0], "-o", tmp_path, check_rc=0).stdout
    assert "status=failed" in shown and "failures: 6" in shown


def test_an_empty_task_is_an_error_before_anything_is_stored(tmp_path):
    tasks = tmp_path / "tasks"
    _task_file(tasks, 0)
    one_line_error(
        _cli("eval", "--task", "tv", "--model", "identity", "--include", tasks, "-o", tmp_path / "o", "--no-progress"),
        "tv/scenes",
        "no samples",
    )
    assert not (tmp_path / "o" / "harness.sqlite").exists() or _runs(tmp_path / "o") == []


def test_an_adapter_calling_sys_exit_is_an_error(tmp_path):
    one_line_error(
        _cli(
            "eval",
            "--task",
            "edit/scenes",
            "--model",
            "bad_adapters:ExitsZero",
            "--limit",
            "4",
            "-o",
            tmp_path,
            "--no-progress",
        ),
        "sys.exit(0)",
        "scenes-",
    )
    assert [r[1] for r in _runs(tmp_path)] == ["failed"]


def test_max_failures_turns_failures_into_a_non_zero_exit(cli, plugin_dir, tmp_path):
    args = ("eval", "--task", "edit/scenes", "--model", "bad_adapters:FailsOnMove", "-o", tmp_path, "--no-progress")
    ok = cli(*args, pythonpath=plugin_dir, check_rc=0)
    assert ok.stdout.strip().splitlines()[-1].endswith("30 of 240 samples FAILED") or "FAILED" in ok.stdout
    cli(*args, "--max-failures", "0.2", pythonpath=plugin_dir, check_rc=0)
    one_line_error(cli(*args, "--max-failures", "10", pythonpath=plugin_dir), "edit/scenes", "--max-failures 10")
    one_line_error(cli(*args, "--max-failures", "5%", pythonpath=plugin_dir), "more than --max-failures 5%")
    one_line_error(cli(*args, "--max-failures", "lots", pythonpath=plugin_dir), "--max-failures 'lots'")
    assert {r[1] for r in _runs(tmp_path)} == {"finished"}  # the measurement itself stands


def test_a_hanging_adapter_hits_the_batch_timeout(tmp_path):
    start = time.time()
    one_line_error(
        _cli(
            "eval",
            "--task",
            "edit/scenes",
            "--model",
            "bad_adapters:Hangs",
            "--limit",
            "4",
            "--batch-timeout",
            "1",
            "-o",
            tmp_path,
            "--no-progress",
            timeout=60,
        ),
        "--batch-timeout 1s",
    )
    assert time.time() - start < 30
    assert [r[1] for r in _runs(tmp_path)] == ["failed"]


def test_in_place_editing_adapter_scores_like_one_that_copies(tmp_path):
    scores = {}
    for model in ("bad_adapters:InPlace", "bad_adapters:Black"):
        _cli(
            "eval",
            "--task",
            "edit/scenes",
            "--model",
            model,
            "--limit",
            "16",
            "-o",
            tmp_path,
            "--no-progress",
            check_rc=0,
        )
        (f,) = tmp_path.glob(f"edit/scenes/{model.replace(':', '_')}_*.json")
        scores[model] = json.loads(f.read_text())["aggregates"]
    assert scores["bad_adapters:InPlace"] == scores["bad_adapters:Black"]


def test_recompute_drops_the_cached_samples(tmp_path):
    args = ("eval", "--task", "edit/scenes", "--model", "noise", "--limit", "4", "-o", tmp_path, "--no-progress")
    _cli(*args, check_rc=0)
    assert "0 computed" in _cli(*args, check_rc=0).stdout
    assert "4 computed" in _cli(*args, "--recompute", check_rc=0).stdout


def test_a_free_text_model_arg_cannot_write_outside_output(tmp_path):
    out = tmp_path / "out"
    _cli(
        "eval",
        "--task",
        "edit/scenes",
        "--model",
        "oracle",
        "--model_args",
        "task=edit/scenes",
        "--limit",
        "2",
        "-o",
        out,
        "--no-progress",
        check_rc=0,
    )
    from harness.results import safe_name

    assert safe_name("x/../../escaped") == "x_.._.._escaped" and "/" not in safe_name("../../a")
    assert {p.parent for p in out.rglob("*.json")} == {out / "edit" / "scenes"}


def test_nan_scores_are_stored_as_valid_json_null(tmp_path):
    from harness.store import Record, RunStore

    store = RunStore(tmp_path / "s.sqlite")
    store.put_records("k", [Record("a", None, {"m": float("nan"), "n": 1.0}, {}, None)])
    raw = sqlite3.connect(tmp_path / "s.sqlite").execute("SELECT scores FROM records").fetchone()[0]
    assert json.loads(raw) == {"m": None, "n": 1.0}
    assert store.get_records("k")["a"].scores["m"] != store.get_records("k")["a"].scores["m"]  # NaN again


def _create_and_write(path, worker):
    from harness.store import Record, RunStore

    store = RunStore(path)
    for i in range(20):
        store.put_records("key", [Record(f"w{worker}-{i}", b"x", {"m": float(i)}, {}, None)])
    store.close()


def test_eight_processes_creating_one_new_store_lose_nothing(tmp_path):
    ctx = multiprocessing.get_context("fork")
    for trial in range(3):
        path = tmp_path / f"t{trial}" / "harness.sqlite"
        procs = [ctx.Process(target=_create_and_write, args=(path, w)) for w in range(8)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
        assert [p.exitcode for p in procs] == [0] * 8
        con = sqlite3.connect(path)
        assert con.execute("SELECT count(*) FROM records").fetchone()[0] == 160
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_same_spec_in_two_processes_computes_each_sample_once(tmp_path):
    log = tmp_path / "computed.log"
    procs = [_popen(tmp_path / "out", model_args=f"delay=0.02,log={log}", limit=80) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    seeds = log.read_text().split()
    assert len(seeds) == 80 and len(set(seeds)) == 80  # every sample once, none twice
    assert all("computed" in out for out, _ in outs)


def _readonly(folder, *args):
    """Run the CLI with ``folder`` mounted read-only (a private mount namespace), or as a non-root user."""
    cmd = [sys.executable, "-m", "harness", *map(str, args)]
    if os.geteuid() != 0:
        os.chmod(folder, 0o555)
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        finally:
            os.chmod(folder, 0o755)
    if not shutil.which("unshare"):
        pytest.skip("needs unshare to mount a read-only folder as root")
    script = f'mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && exec "$@"'
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", *cmd], capture_output=True, text=True, timeout=120
    )
    if "mount" in proc.stderr and proc.returncode != 0 and "error:" not in proc.stderr:
        pytest.skip(f"cannot mount read-only here: {proc.stderr.strip()}")
    return proc


def test_show_and_leaderboard_work_in_a_read_only_results_folder(tmp_path):
    out = tmp_path / "ro"
    run_cli("eval", "--task", "edit/scenes", "--model", "identity", "-o", out, "--no-progress", check_rc=0)
    run_id = _runs(out)[0][0]
    shown = _readonly(out, "show", run_id, "-o", out)
    assert shown.returncode == 0 and "status=finished" in shown.stdout, shown.stderr
    board = _readonly(out, "leaderboard", "edit", "-o", out, "--to", tmp_path / "b.md")
    assert board.returncode == 0 and "| identity" in board.stdout, board.stderr
    one_line_error(
        _readonly(out, "eval", "--task", "edit/scenes", "--model", "noise", "-o", out, "--no-progress"),
        "--output",
        str(out),
    )


def test_a_zombie_owner_is_dead():
    """A killed run that nobody reaped (a container without an init) must not keep its claims forever."""
    from harness.store import owner_alive, owner_id

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    host = owner_id()[1]
    for _ in range(200):  # exited but not waited for: a zombie
        if open(f"/proc/{child.pid}/stat").read().rpartition(")")[2].split()[0] == "Z":
            break
        time.sleep(0.05)
    assert not owner_alive(child.pid, host, None)
    assert owner_alive(os.getpid(), host, None)
    child.wait()
