"""Where the files harness ships live: task YAML, leaderboard definitions (and the reference systems' checkpoints,
recipes and regress baselines, which are package data of ``harness_baselines``).

The top-level folders ``tasks/`` and ``leaderboards/`` install as the packages ``harness_tasks`` and
``harness_leaderboards`` (pyproject.toml maps them; no generic top-level name such as ``tasks`` lands in
site-packages), found with importlib.resources wherever harness is installed.
"""

from __future__ import annotations

import importlib.util
import site
import sysconfig
from importlib.resources import files
from pathlib import Path

from harness.errors import HarnessError

_CHECKOUT = Path(__file__).resolve().parents[1]  # the source tree's root, when harness runs from a checkout


def package_dir(package: str, *parts: str, checkout_folder: str | None = None) -> Path:
    """The folder of the data package ``package`` (joined with ``parts``) as a filesystem path.

    ``checkout_folder``: where the same files sit in a source tree (``tasks``), used only when ``package`` is not
    importable, i.e. harness runs from a checkout that was never installed (``python -m harness`` in the repo)."""
    if importlib.util.find_spec(package) is not None:
        root = files(package)
        if not isinstance(root, Path):  # a zip or other non-filesystem install: readers need real paths
            raise HarnessError(f"package {package!r} is not installed as files on disk ({root}); reinstall harness")
        return root.joinpath(*parts)
    if checkout_folder and (_CHECKOUT / checkout_folder).is_dir():
        return _CHECKOUT.joinpath(checkout_folder, *parts)
    raise HarnessError(f"package {package!r} with harness's data files is not installed (reinstall harness)")


def tasks_dir() -> Path:
    return package_dir("harness_tasks", checkout_folder="tasks")


def leaderboards_dir() -> Path:
    return package_dir("harness_leaderboards", checkout_folder="leaderboards")


def is_installed(path: Path) -> bool:
    """True when ``path`` lies in an installation's site-packages (not a source tree): never write there."""
    roots = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")} | set(site.getsitepackages())
    path = Path(path).resolve()
    return any(path.is_relative_to(Path(r).resolve()) for r in roots)


def user_cache_dir(*parts: str) -> Path:
    """``$XDG_CACHE_HOME/harness/...`` (default ``~/.cache/harness/...``): where trained or derived files go."""
    import os

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base.joinpath("harness", *parts)
