"""Task kinds: how samples of a kind go through an adapter and get scored. One module per kind."""

from __future__ import annotations

import importlib

from harness.kinds.base import Task

KIND_MODULES = {
    "edit": "harness.kinds.edit",
    "retrieval": "harness.kinds.retrieval",
    "reasoning": "harness.kinds.reasoning",
}


def task_class(kind: str) -> type[Task]:
    if kind not in KIND_MODULES:
        raise KeyError(f"no task kind {kind!r} is implemented yet (have: {', '.join(KIND_MODULES)})")
    return importlib.import_module(KIND_MODULES[kind]).TASK_CLASS
