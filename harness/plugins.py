"""One registry mechanism for every extension point (adapters, loaders): a decorator next to the code registers a
name, and a package entry-point group names modules whose import runs those decorators.

A third-party package therefore adds a model or a data format without editing the engine:

    [project.entry-points."harness.loaders"]
    mine = "my_pkg.loaders"          # importing my_pkg.loaders runs its @register_loader decorators

Lookups import the built-in modules and the entry-point modules once, on first use, so nothing heavy is imported
until a name is actually asked for.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from harness.errors import HarnessError

T = TypeVar("T")


class Registry(Generic[T]):
    """Names -> registered objects of one kind (``what``: "model", "loader"), filled by decorators in the
    ``builtin`` modules and in the modules of the ``group`` entry points."""

    def __init__(self, what: str, group: str, builtin: tuple[str, ...] = (), identity: Callable = None):
        self.what, self.group, self.builtin = what, group, builtin
        self.identity = identity or qualname  # what tells a module imported twice from a real name clash
        self._items: dict[str, T] = {}
        self._loaded = False

    def add(self, name: str, obj: T) -> None:
        """Register ``obj`` as ``name``; registering a different object under a taken name is a bug (TypeError)."""
        old = self._items.get(name, obj)
        if old is not obj and self.identity(old) != self.identity(obj):  # the same code imported twice is fine
            raise TypeError(f"{self.what} name {name!r} registered twice ({self.identity(old)}, {self.identity(obj)})")
        self._items[name] = obj

    def load_plugins(self) -> None:
        """Import the built-in modules, then every module named in the entry-point group (once)."""
        if self._loaded:
            return
        self._loaded = True
        for module in self.builtin:
            importlib.import_module(module)
        for ep in entry_points(group=self.group):
            try:
                ep.load()
            except Exception as e:  # a broken plugin names itself instead of a traceback from deep inside it
                raise HarnessError(
                    f"entry point {self.group}:{ep.name} = {ep.value}: cannot import ({type(e).__name__}: {e})"
                ) from None

    def all(self) -> dict[str, T]:
        self.load_plugins()
        return dict(sorted(self._items.items()))

    def get(self, name: str) -> T:
        """The object registered as ``name``; a HarnessError with a close match (or the known names) otherwise."""
        known = self.all()
        if name not in known:
            raise HarnessError(f"unknown {self.what} {name!r}{hint(name, known)}")
        return known[name]

    def __contains__(self, name: str) -> bool:
        return name in self.all()

    def __iter__(self) -> Iterator[str]:
        return iter(self.all())


def hint(name: str, known) -> str:
    """ "; did you mean 'x'?" for a close match, else the list of known names."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(sorted(known))})"


def qualname(obj) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
