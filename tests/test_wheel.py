"""The wheel works outside the checkout: built from the tracked files, installed into a fresh venv in a temporary
folder, it lists the shipped tasks, evaluates a baseline and the default reference model, and writes a
leaderboard under the results folder (never into site-packages). The fresh venv reuses this venv's installed
dependencies through a .pth file (no registry access), and the wheel itself is installed with --no-deps."""

import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

# Imports made impossible for the "light install" check (what a `pip install harness` without extras lacks).
HEAVY = ("torch", "transformers", "diffusers", "torchmetrics", "lm_eval", "faiss", "safetensors")
BLOCK_HEAVY = (
    "import sys, importlib.abc\n"
    "class _Block(importlib.abc.MetaPathFinder):\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    f"        if name.split('.')[0] in {HEAVY!r}: raise ModuleNotFoundError(f'No module named {{name!r}}')\n"
    "sys.meta_path.insert(0, _Block())\n"
    "from harness.cli import main\n"
    "main()\n"
)


def _run(cmd, cwd, **kw):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=600, **kw)
    assert proc.returncode == 0, f"{cmd}\nrc={proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"  # exactly the files git would ship (tracked or new, not ignored): no build/ in the checkout
    names = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, names):
        if (REPO / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes((REPO / name).read_bytes())
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", root / "dist", src],
        cwd=root,
    )
    (wheel,) = (root / "dist").glob("harness-*.whl")
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=root)
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_run([venv / "bin" / "python", "-c", purelib], cwd=root).stdout.strip())
    (site / "reuse_test_venv_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            venv / "bin" / "python",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            wheel,
        ],
        cwd=root,
    )
    work = root / "work"  # outside the checkout: nothing can be found relative to the current folder
    work.mkdir()
    return {"wheel": wheel, "venv": venv, "site": site, "work": work}


def test_wheel_ships_every_module_and_data_file_under_project_names(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"harness", "harness_baselines", "harness_tasks", "harness_leaderboards"}  # no `tasks`, `baselines`
    tracked = subprocess.run(
        [
            "git",
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "harness",
            "baselines",
            "tasks",
            "leaderboards",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    mapped = {"baselines": "harness_baselines", "tasks": "harness_tasks", "leaderboards": "harness_leaderboards"}
    missing = []
    for name in tracked.split():
        top, _, rest = name.partition("/")
        if name.startswith("leaderboards/site/"):  # the generated static site is not package data
            continue
        if name.endswith((".py", ".yaml", ".json", ".safetensors", ".md", ".html")) and (REPO / name).is_file():
            if f"{mapped.get(top, top)}/{rest}" not in names:
                missing.append(name)
    assert not missing, f"not in the wheel (add to pyproject.toml packages / package-data): {missing}"
    assert "harness/py.typed" in names


def test_installed_wheel_runs_the_four_commands_outside_the_checkout(installed):
    venv, work = installed["venv"], installed["work"]
    harness = venv / "bin" / "harness"
    where = _run(
        [
            venv / "bin" / "python",
            "-c",
            "import harness, harness_tasks, harness_baselines as b; "
            "print(harness.__file__, harness_tasks.__file__, b.__file__)",
        ],
        cwd=work,
    ).stdout.split()
    assert all(Path(p).is_relative_to(installed["site"]) for p in where), where  # the wheel runs, not the checkout

    listed = _run([harness, "list", "tasks"], cwd=work).stdout
    assert "edit/scenes" in listed and "retrieval/q2i" in listed and "reasoning/embedded" in listed
    baseline = _run(
        [harness, "eval", "--task", "edit/scenes", "--model", "identity", "--limit", "5", "--no-progress"], cwd=work
    ).stdout
    assert "5 computed" in baseline
    reference = _run([harness, "eval", "--task", "edit/scenes", "--limit", "5", "--no-progress"], cwd=work).stdout
    assert "unifusion-lap" in reference and "5 computed" in reference
    board = _run([harness, "leaderboard", "edit"], cwd=work)
    written = work / "results" / "leaderboards" / "edit.md"  # --limit runs are not whole-task rows: an empty board
    assert written.is_file() and written.read_text().startswith("# Image editing (embedded suites)")
    assert not any(installed["site"].rglob("edit.md.*.tmp")) and not (installed["site"] / "results").exists()
    assert f"wrote {Path('results') / 'leaderboards' / 'edit.md'}" in board.stderr.replace("\n", "")
    (result,) = (work / "results" / "edit" / "scenes").glob("unifusion-lap_*.json")
    assert json.loads(result.read_text())["n_samples"] == 5


def test_light_install_lists_evaluates_numpy_baselines_and_renders_boards_without_torch(installed):
    """What `pip install harness` without the [models] extra does: listing, numpy baselines on editing tasks,
    leaderboards and comparisons over stored results. Heavy stacks are made unimportable here."""
    venv, work = installed["venv"], installed["work"] / "light"
    work.mkdir()
    light = [venv / "bin" / "python", "-c", BLOCK_HEAVY]
    assert "edit/scenes" in _run([*light, "list", "tasks"], cwd=work).stdout
    assert "unifusion-lap" in _run([*light, "list", "models"], cwd=work).stdout
    for model in ("identity", "oracle"):  # whole task (150 samples, numpy only): rows of the board
        _run([*light, "eval", "--task", "edit/scenes", "--model", model, "--no-progress"], cwd=work)
    _run([*light, "leaderboard", "edit", "--format", "csv"], cwd=work)
    board = (work / "results" / "leaderboards" / "edit.csv").read_text()
    assert "identity" in board and "oracle" in board
    assert "success" in _run([*light, "compare", "identity", "oracle", "--task", "edit/scenes"], cwd=work).stdout
