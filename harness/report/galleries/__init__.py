"""Per-sample gallery content, one module per task kind; each exposes ``views(task, runs, store, media, metrics)
-> (list[SampleView], gallery options)``. A new task kind adds a module here and a line to ``KIND_MODULES``."""

from __future__ import annotations

import importlib

KIND_MODULES = {
    "edit": "harness.report.galleries.edit",
    "retrieval": "harness.report.galleries.retrieval",
    "reasoning": "harness.report.galleries.reasoning",
}


def gallery_module(kind: str):
    """The module rendering samples of ``kind``, or None when that kind has no gallery yet."""
    name = KIND_MODULES.get(kind)
    return importlib.import_module(name) if name else None
