"""Judges: registered adapters that answer a protocol's prompts about an edit (``--judge NAME --judge_args k=v``).

A **judge** (``base.Judge``) only turns requests (text and images) into replies (raw text, status, the model name
the server reports). A **protocol** (``protocols.py``: VIEScore for GEdit-Bench, ImgEdit's rubrics) owns the prompt
templates (read at run time from the official files, pinned by sha256), the message layout and a versioned parser.
The **judging stage** (``stage.py``) runs after generation, stores every call, and turns replies into per-sample
scores or counted failures (parse, refusal, transport) that are never averaged in.

Judges register with ``@register_judge("name")`` next to their code, or through the ``harness.judges`` entry-point
group of another package (the ``hf-vlm`` judge lives with the reference VLM adapter in harness_baselines.hf).
"""

from __future__ import annotations

import difflib
from importlib.metadata import entry_points

from harness.errors import HarnessError
from harness.judges.base import Judge

ENTRY_POINT_GROUP = "harness.judges"
BUILTIN_MODULES = ("harness.judges.openai_chat",)
_REGISTRY: dict[str, type[Judge]] = {}
_loaded = False


def register_judge(name: str):
    """Class decorator: make a Judge selectable as ``--judge name``."""

    def wrap(cls: type[Judge]) -> type[Judge]:
        if not issubclass(cls, Judge):
            raise TypeError(f"{cls.__qualname__} must subclass harness.judges.base.Judge")
        if _REGISTRY.get(name, cls) is not cls:
            raise TypeError(f"judge name {name!r} registered twice")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return wrap


def registered_judges() -> dict[str, type[Judge]]:
    global _loaded
    if not _loaded:
        _loaded = True
        import importlib

        for module in BUILTIN_MODULES:
            importlib.import_module(module)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            ep.load()
    return dict(sorted(_REGISTRY.items()))


def judge_class(name: str) -> type[Judge]:
    known = registered_judges()
    if name not in known:
        hint = difflib.get_close_matches(name, known, n=1)
        raise HarnessError(
            f"unknown judge {name!r}" + (f"; did you mean {hint[0]!r}?" if hint else f" (known: {', '.join(known)})")
        )
    return known[name]
