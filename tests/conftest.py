import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


def run_cli(*args, cwd=None, pythonpath=None, timeout=600, check_rc=None):
    """Run ``python -m harness ARGS`` in a real subprocess; returns the CompletedProcess."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-m", "harness", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check_rc is not None:
        assert proc.returncode == check_rc, f"rc={proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def one_line_error(proc, *needles):
    """Bad input: exit code 2 and exactly one stderr line, "error: ...", containing every needle."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def require_tool(name: str) -> str:
    """The path of system tool ``name``. Missing, it skips the test on a developer's machine but fails it under
    CI=true: CI must run every test (`make test` installs the tools, see the Makefile's system-tools)."""
    path = shutil.which(name)
    if path is None:
        message = f"system tool {name!r} not installed (`make test` installs it: apt-get install {name})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def plugin_dir():
    """The folder of the test-only adapters (``tests/fixtures/adapters``), for ``pythonpath=``: loadable as
    ``--model bad_adapters:Class``."""
    return FIXTURES / "adapters"


def pytest_addoption(parser):
    parser.addoption("--run-large", action="store_true", help="also run tests marked large (long simulations)")
    parser.addoption("--run-fuzz", action="store_true", help="also run tests marked fuzz (hypothesis, 13k examples)")
    parser.addoption(
        "--screenshots",
        default=None,
        metavar="DIR",
        help="also copy the report browser test's screenshots into DIR (e.g. leaderboards/screenshots)",
    )


def pytest_collection_modifyitems(config, items):
    skips = {
        name: pytest.mark.skip(reason=f"{why}: run with --run-{name}")
        for name, why in (("large", "large simulation"), ("fuzz", "fuzzing run"))
        if not config.getoption(f"--run-{name}")
    }
    for item in items:
        for name, skip in skips.items():
            if name in item.keywords:
                item.add_marker(skip)
