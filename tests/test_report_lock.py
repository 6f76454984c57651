"""One writer per report site (harness.report.lock): a second `harness report` on a site another live process is
writing stops with one line naming the holder and changes nothing; a lock left by a process that is gone is
taken over, and released when the report is done."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

from conftest import one_line_error, run_cli
from harness.api import evaluate

BOARD = """name: quick
tasks: [reasoning/embedded-quick]
metrics: [accuracy]
"""


def _lock(site, pid):
    lock = site.with_name(f".{site.name}.lock")
    lock.write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "started": time.time()}))
    return lock


def test_a_site_being_written_is_refused_and_a_stale_lock_taken_over(tmp_path):
    (tmp_path / "quick.yaml").write_text(BOARD)
    evaluate("reasoning/embedded-quick", "constant", output=tmp_path / "r", progress=False)
    site = tmp_path / "site"
    report = ("report", tmp_path / "quick.yaml", "-o", tmp_path / "r", "--to", site)
    lock = _lock(site, os.getpid())  # this test's process: alive
    one_line_error(run_cli(*report), str(site), "another harness report", f"pid {os.getpid()}", str(lock))
    assert not site.exists() and lock.is_file()  # nothing written, the holder's lock kept

    gone = subprocess.Popen(["true"])
    gone.wait()
    _lock(site, gone.pid)  # its process has exited: stale
    run_cli(*report, check_rc=0)
    assert (site / "index.html").is_file() and not lock.exists()  # taken over, then released

    lock.write_text("")  # a lock file of nobody (no pid): stale as well
    run_cli(*report, "--update", check_rc=0)
    assert not lock.exists()
