"""Registered sample loaders: embedded-suite generators and readers of local benchmark folders.

A task YAML names a loader and its arguments; arguments are checked against the loader's signature when the
task file is loaded (so a typo fails at once), and the module is imported only when samples are needed.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from pydantic import ValidationError, create_model

# name -> (module, function, task kind)
LOADERS: dict[str, tuple[str, str, str]] = {
    "edit_scenes": ("harness.data.edit_scenes", "generate", "edit"),
    "edit_photos": ("harness.data.edit_photos", "generate", "edit"),
    "edit_folder": ("harness.data.edit_local", "load_folder", "edit"),
    "edit_t2i": ("harness.data.edit_t2i", "generate", "edit"),
    "retrieval_folder": ("harness.data.retrieval_local", "load_folder", "retrieval"),
    "retrieval_embedded": ("harness.data.retrieval_embedded", "generate", "retrieval"),
    "reasoning_embedded": ("harness.data.reasoning_embedded", "generate", "reasoning"),
    "reasoning_mathvista": ("harness.data.reasoning_public", "mathvista", "reasoning"),
    "reasoning_mathverse": ("harness.data.reasoning_public", "mathverse", "reasoning"),
    "reasoning_mathvision": ("harness.data.reasoning_public", "mathvision", "reasoning"),
    "reasoning_mmmu_pro": ("harness.data.reasoning_public", "mmmu_pro", "reasoning"),
    "reasoning_wemath": ("harness.data.reasoning_public", "wemath", "reasoning"),
    "reasoning_dynamath": ("harness.data.reasoning_public", "dynamath", "reasoning"),
    "reasoning_logicvista": ("harness.data.reasoning_public", "logicvista", "reasoning"),
    "reasoning_hallusionbench": ("harness.data.reasoning_public", "hallusionbench", "reasoning"),
    "reasoning_math500": ("harness.data.reasoning_public", "math500", "reasoning"),
    "reasoning_gpqa": ("harness.data.reasoning_public", "gpqa", "reasoning"),
}


def _function(name: str):
    module, func, _ = LOADERS[name]
    return getattr(importlib.import_module(module), func)


def check_args(name: str, kind: str, args: dict) -> None:
    """Raise ValueError naming the offending loader or argument."""
    if name not in LOADERS:
        raise ValueError(f"unknown loader {name!r} (known: {', '.join(sorted(LOADERS))})")
    if LOADERS[name][2] != kind:
        raise ValueError(f"loader {name!r} makes {LOADERS[name][2]!r} samples, not {kind!r}")
    params = inspect.signature(_function(name), eval_str=True).parameters
    fields = {
        p: (param.annotation if param.annotation is not inspect.Parameter.empty else object,
            ... if param.default is inspect.Parameter.empty else param.default)
        for p, param in params.items()
    }
    unknown = sorted(set(args) - set(fields))
    if unknown:
        raise ValueError(f"args.{unknown[0]}: not an argument of loader {name!r} (takes: {', '.join(fields)})")
    try:
        create_model(f"{name}_args", **fields).model_validate(args)
    except ValidationError as e:
        err = e.errors()[0]
        raise ValueError(f"args.{'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def load(name: str, args: dict, base_dir: Path) -> list:
    """Run loader ``name``; a relative ``path`` argument is taken relative to the task file's folder."""
    args = dict(args)
    if isinstance(args.get("path"), str) and not Path(args["path"]).is_absolute():
        args["path"] = str(base_dir / args["path"])
    return _function(name)(**args)
