"""Sample loaders: embedded-suite generators and readers of local benchmark folders.

A loader is a function registered next to its code with ``@register_loader("name", kind="edit")``; a task YAML
names it (``source: {loader: name, args: {...}}``). Arguments are checked against the function's signature when
the task file is loaded, so a typo fails at once. Loaders of other packages register the same way, through the
``harness.loaders`` entry-point group (see harness.plugins), so a new data format needs no engine edit.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError, create_model

from harness.errors import DataError, HarnessError
from harness.plugins import Registry, qualname

ENTRY_POINT_GROUP = "harness.loaders"

# The engine's own loader modules: imported on the first lookup, like the entry-point modules. A new built-in
# loader module goes here (or anywhere imported from here).
BUILTIN_MODULES = (
    "harness.data.edit_scenes",
    "harness.data.edit_photos",
    "harness.data.edit_local",
    "harness.data.edit_t2i",
    "harness.data.edit_compose",
    "harness.data.edit_benchmarks",
    "harness.data.retrieval_local",
    "harness.data.retrieval_embedded",
    "harness.data.retrieval_av",
    "harness.data.retrieval_mteb",
    "harness.data.reasoning_embedded",
    "harness.data.reasoning_public",
)


@dataclass(frozen=True)
class Loader:
    name: str
    kind: str  # the task kind whose samples it makes: edit | retrieval | reasoning
    function: Callable


LOADERS: Registry[Loader] = Registry(
    "loader", ENTRY_POINT_GROUP, BUILTIN_MODULES, identity=lambda loader: qualname(loader.function)
)


def register_loader(name: str, kind: str):
    """Function decorator: make ``fn(**args) -> samples`` usable as ``source: {loader: name}`` in ``kind`` tasks."""

    def wrap(fn: Callable) -> Callable:
        LOADERS.add(name, Loader(name, kind, fn))
        return fn

    return wrap


def registered_loaders() -> dict[str, Loader]:
    return LOADERS.all()


def _loader(name: str) -> Loader:
    try:
        return LOADERS.get(name)
    except HarnessError as e:
        raise ValueError(str(e)) from None


@functools.cache
def _args_model(function: Callable):
    """A pydantic model of a loader's signature, built once per loader (tasks sharing a loader reuse it)."""
    params = inspect.signature(function, eval_str=True).parameters
    fields = {
        p: (
            param.annotation if param.annotation is not inspect.Parameter.empty else object,
            ... if param.default is inspect.Parameter.empty else param.default,
        )
        for p, param in params.items()
    }
    return create_model(f"{function.__name__}_args", **fields)


def check_args(name: str, kind: str, args: dict) -> None:
    """Raise ValueError naming the offending loader or argument."""
    loader = _loader(name)
    if loader.kind != kind:
        raise ValueError(f"loader {name!r} makes {loader.kind!r} samples, not {kind!r}")
    model = _args_model(loader.function)
    unknown = sorted(set(args) - set(model.model_fields))
    if unknown:
        raise ValueError(
            f"args.{unknown[0]}: not an argument of loader {name!r} (takes: {', '.join(model.model_fields)})"
        )
    try:
        model.model_validate(args)
    except ValidationError as e:
        err = e.errors()[0]
        raise ValueError(f"args.{'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def load(name: str, args: dict, base_dir: Path, path: Path | None = None) -> list:
    """Run loader ``name``; a relative ``path`` argument is taken relative to the task file's folder. ``path``:
    where the task's pinned release was found (replaces any ``path`` argument)."""
    args = dict(args)
    folder = data_folder(args, base_dir, path)
    if folder is not None:
        args["path"] = str(folder)
    try:
        return _loader(name).function(**args)
    except UnicodeDecodeError as e:  # a reader that did not name the file itself: name at least the folder
        raise DataError(
            f"{args.get('path', base_dir)}: loader {name!r} met a file that is not UTF-8 text "
            f"({e.reason} at byte {e.start})"
        ) from None


def data_folder(args: dict, base_dir: Path, path: Path | None = None) -> Path | None:
    """The folder a loader reads (see ``load``), or None for generators without a ``path``."""
    if path is not None:  # a ``path`` argument is then a sub-folder of the release
        return Path(path) / args["path"] if isinstance(args.get("path"), str) else Path(path)
    if isinstance(args.get("path"), str):
        return Path(args["path"]) if Path(args["path"]).is_absolute() else base_dir / args["path"]
    return None
