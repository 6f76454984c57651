"""One writer per report site: ``harness report`` holds ``.<site>.lock`` beside the site while it builds and swaps
it in. Two ``--update`` runs on the same site (say, two engineers' boards) would otherwise each copy the old site
and the second swap would drop the first one's pages. A second writer stops with one line naming the holder; a
lock whose process is gone (killed, crashed) is stale and taken over, judged like a run's owner in the store
(harness.store.owner_alive: asked directly on this host, by the lock file's age from another one)."""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from harness.errors import HarnessError
from harness.store import owner_alive


def lock_path(site: Path) -> Path:
    return site.with_name(f".{site.name}.lock")


def _holder(path: Path) -> dict | None:
    """Who holds the lock at ``path`` ({"pid", "host", "started"}); None when there is no lock (any more)."""
    try:
        text, mtime = path.read_text(encoding="utf-8"), path.stat().st_mtime
    except FileNotFoundError:
        return None
    try:
        holder = json.loads(text)
    except ValueError:
        holder = {}
    return {**(holder if isinstance(holder, dict) else {}), "mtime": mtime}


def _create(path: Path, record: dict) -> bool:
    """Create the lock with its content in one step (a hard link of a written file): no reader ever sees it
    empty. False when it exists."""
    fd, tmp = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)


@contextmanager
def site_lock(site: Path):
    """Hold the site's lock for the block; raise HarnessError when a live process holds it."""
    path = lock_path(Path(site))
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    for _ in range(3):
        if _create(path, record):
            break
        holder = _holder(path)
        if holder is None:  # released meanwhile
            continue
        if owner_alive(holder.get("pid"), holder.get("host"), holder["mtime"]):
            since = time.strftime("%H:%M:%S", time.localtime(holder.get("started", holder["mtime"])))
            raise HarnessError(
                f"{site}: another harness report (pid {holder.get('pid')} on {holder.get('host')}, since {since}) "
                f"is writing this site; run again when it is done (lock {path})"
            )
        path.unlink(missing_ok=True)  # stale: its process is gone
    else:
        raise HarnessError(f"{site}: could not take the lock {path} (taken and released repeatedly); run again")
    try:
        yield
    finally:
        if (_holder(path) or {}).get("pid") == record["pid"]:
            path.unlink(missing_ok=True)
