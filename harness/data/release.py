"""Where a task's released data lives on this machine (any task kind).

A task YAML pins its dataset (``dataset:`` — hub id, repo type, revision, the files it reads; see
``harness.spec.DatasetPin``). It is found, in this order:

1. a folder under the data directory: ``DATA_DIR/<folder>`` where ``folder`` defaults to the hub id
   (``DATA_DIR/AI4Math/MathVista``), e.g. made by ``hf download ... --local-dir``, or the unpacked
   GitHub/original release;
2. the local Hugging Face cache (``~/.cache/huggingface/hub``, or ``HF_HUB_CACHE``), through
   ``huggingface_hub.snapshot_download(repo_id, repo_type=..., revision=..., allow_patterns=...)`` with
   ``local_files_only=True`` — no network, so it works on an offline machine (as with ``HF_HUB_OFFLINE=1``);
3. only when asked (``harness eval --download``): the same ``snapshot_download`` with network access.

The data directory is ``--data_dir`` if given, else ``data_dir:`` in the user config file (``harness.settings``),
else ``~/.local/share/harness/data``. A cached snapshot counts as present only when each pinned pattern matches a
file; a folder under the data directory when it is not empty (it may hold the original release's files instead).
Absent data is one error line saying what to download (id, revision, files) and where to put it.
"""

from __future__ import annotations

import fnmatch
import logging
import shlex
from pathlib import Path

from harness.errors import DataError


def _matches(root: Path, patterns: list[str]) -> bool:
    """Every pattern (a glob as in ``allow_patterns``, relative to the snapshot root) matches at least one file."""
    if not root.is_dir():
        return False
    if not patterns:
        return any(root.iterdir())
    files = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
    return all(any(fnmatch.fnmatch(f, pat) for f in files) for pat in patterns)


def folder_candidates(pin, data_dir: Path) -> list[Path]:
    """Folders under ``data_dir`` that may hold the release: the pin's ``folder`` (default: the hub id)."""
    return [Path(data_dir) / (pin.folder or pin.hf_id)]


def _from_cache(pin, download: bool) -> Path | None:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover - huggingface_hub is a dependency
        return None
    # the hub client logs each retry as warnings on stderr; a failure is reported once, as one error line
    hub_logger = logging.getLogger("huggingface_hub")
    level = hub_logger.level
    hub_logger.setLevel(logging.ERROR)
    try:
        path = snapshot_download(
            pin.hf_id,
            repo_type=pin.repo_type,
            revision=pin.revision,
            allow_patterns=list(pin.files) or None,
            local_files_only=not download,
        )
    except Exception as e:  # noqa: BLE001 — network/hub failures when downloading are one line, not a traceback
        if not download:  # not in the cache (LocalEntryNotFoundError) or an incomplete snapshot
            return None
        raise DataError(
            f"dataset {pin.hf_id} (revision {pin.revision}): download failed ({' '.join(str(e).split())[:300]})"
        ) from None
    finally:
        hub_logger.setLevel(level)
    return Path(path)


def locate(pin, data_dir: Path, download: bool = False) -> Path | None:
    """The root folder of the pinned release (a data_dir folder, else the HF cache snapshot), or None."""
    for folder in folder_candidates(pin, data_dir):
        # a folder the user laid out may hold the GitHub/original release instead of the hub files: any content
        # counts, and the reader names what it misses
        if folder.is_dir() and any(folder.iterdir()):
            return folder
    snap = _from_cache(pin, download=False)
    if snap is not None and _matches(snap, list(pin.files)):
        return snap
    if download:
        snap = _from_cache(pin, download=True)
        if snap is not None and _matches(snap, list(pin.files)):
            return snap
    return None


def describe_source(pin, root: Path) -> dict:
    """What was read, for the run's provenance: the pin, the folder, and the snapshot commit when it came from the
    HF cache (``.../snapshots/<commit>``), which is what a branch or tag resolved to."""
    out = {"hf_id": pin.hf_id, "repo_type": pin.repo_type, "revision": pin.revision, "path": str(root)}
    if root.parent.name == "snapshots":
        out["commit"] = root.name
    return out


def download_hint(pin, data_dir: Path) -> str:
    """What to download and where, as one sentence (with a command that does it)."""
    target = folder_candidates(pin, data_dir)[0]
    include = " ".join(shlex.quote(p) for p in pin.files)
    files = f" files {', '.join(pin.files)}" if pin.files else ""
    return (
        f"dataset {pin.hf_id} ({pin.repo_type}, revision {pin.revision}){files} not found in {target} nor in "
        f"the local Hugging Face cache; download it with `hf download {pin.hf_id} --repo-type "
        f"{pin.repo_type} --revision {pin.revision}{' --include ' + include if include else ''} --local-dir "
        f"{shlex.quote(str(target))}`, or rerun with --download to fetch it into the cache"
    )


def require(pin, data_dir: Path, task: str, download: bool = False) -> Path:
    """``locate`` or a DataError naming the task and exactly what to download."""
    root = locate(pin, data_dir, download=download)
    if root is None:
        raise DataError(f"task {task}: {download_hint(pin, data_dir)}")
    return root


def status(pin, data_dir: Path) -> str:
    """For ``harness list tasks``: where the data is, or "missing" (never downloads, never reads the data)."""
    if pin is None:
        return "built in"
    root = locate(pin, data_dir)
    return str(root) if root is not None else "missing"
