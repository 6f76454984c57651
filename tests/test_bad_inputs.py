"""Runs the bad-input catalogue (tests/bad_inputs.py) through the real CLI, one subprocess per row: exit code 2
(130 for signals), exactly one stderr line "error: ..." naming the culprit, no traceback, nothing half-written.
``test_catalogue_clean_rate`` prints the measured clean rate (README "Reliability")."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bad_inputs import CATALOGUE, FIXTURES, Row

ADAPTERS = FIXTURES / "adapters"


def _env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ADAPTERS), os.environ.get("PYTHONPATH", "")]))


def _prepare(row: Row, d: Path) -> None:
    for rel, content in row.files.items():
        path = d / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    if row.setup:
        row.setup(d)


def _store_state(out: Path) -> dict[str, str]:
    store = out / "harness.sqlite"
    if not store.is_file():
        return {}
    try:
        con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
        return dict(con.execute("SELECT run_id, status FROM runs").fetchall())
    except sqlite3.Error:
        return {}  # the row's own corrupt store


def _results_files(out: Path) -> list[Path]:
    return sorted(out.rglob("*.json")) if out.is_dir() else []


def run_row(row: Row, d: Path) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run one row; returns (process, problems found) — an empty list is a clean row."""
    d.mkdir(parents=True, exist_ok=True)
    _prepare(row, d)
    out = d / "out"
    before, results_before = _store_state(out), _results_files(out)
    fmt = {"d": str(d), "o": str(out), "fx": str(FIXTURES)}
    cmd = [sys.executable, "-m", "harness", *row.cmd.format(**fmt).split()]
    if row.signal:
        proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=d)
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            try:
                if (
                    sqlite3.connect(out / "harness.sqlite", timeout=5)
                    .execute("SELECT count(*) FROM records")
                    .fetchone()[0]
                    >= 4
                ):
                    break
            except sqlite3.Error:
                pass
            time.sleep(0.05)
        proc.send_signal(getattr(signal, row.signal))
        stdout, stderr = proc.communicate(timeout=60)
        done = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    else:
        done = subprocess.run(cmd, env=_env(), capture_output=True, text=True, cwd=d, timeout=120)
    problems = []
    lines = done.stderr.strip().splitlines()
    if done.returncode != row.rc:
        problems.append(f"exit code {done.returncode}, expected {row.rc}")
    if "Traceback" in done.stderr or "Traceback" in done.stdout:
        problems.append("traceback")
    if len(lines) != 1 or not lines[0].startswith("error: "):
        problems.append(f"{len(lines)} stderr lines")
    else:
        missing = [n.format(**fmt) for n in row.needles if n.format(**fmt) not in lines[0]]
        if missing:
            problems.append(f"culprit text {missing} not in {lines[0]!r}")
    after = _store_state(out)
    if any(status == "running" for status in after.values()):
        problems.append("a run left 'running'")
    new_finished = {r for r, s in after.items() if s == "finished" and before.get(r) != "finished"}
    if new_finished and not row.keeps_finished:
        problems.append(f"run(s) {sorted(new_finished)} stored as finished")
    if _results_files(out) != results_before and not row.keeps_finished:
        problems.append("results JSON written")
    return done, problems


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every row run once, a few at a time (each row is a subprocess mostly waiting on its own start-up)."""
    from concurrent.futures import ThreadPoolExecutor

    root = tmp_path_factory.mktemp("catalogue")
    for row in CATALOGUE:  # cached stores are built once, before rows run in parallel
        if row.setup:
            (root / "warm-up" / row.id.replace("/", "-")).mkdir(parents=True)
            row.setup(root / "warm-up" / row.id.replace("/", "-"))
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {row.id: pool.submit(run_row, row, root / row.id.replace("/", "-")) for row in CATALOGUE}
        return {rid: f.result() for rid, f in futures.items()}


def test_catalogue_has_at_least_80_distinct_rows():
    ids = [r.id for r in CATALOGUE]
    assert len(ids) >= 80 and len(set(ids)) == len(ids)


@pytest.mark.parametrize("row", CATALOGUE, ids=[r.id for r in CATALOGUE])
def test_bad_input_is_one_clean_line(row, outcomes):
    done, problems = outcomes[row.id]
    assert not problems, f"{problems}\nstdout:\n{done.stdout[-2000:]}\nstderr:\n{done.stderr[-3000:]}"


def test_catalogue_clean_rate(outcomes, capsys):
    """The figure quoted in the README: rows that are clean (exit code, one line naming the culprit, no
    traceback, nothing half-written) over all rows."""
    clean = sum(1 for _, problems in outcomes.values() if not problems)
    with capsys.disabled():
        print(f"\nbad-input catalogue: {clean} of {len(outcomes)} rows clean ({100 * clean / len(outcomes):.1f} %)")
    assert clean / len(outcomes) >= 0.97
