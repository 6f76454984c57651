"""The few verbs other code calls (the CLI, the regression gate, the pytest plugin, reference systems):
``evaluate_model`` runs a model on tasks into a results folder; ``open_store`` reads one."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable

from harness.errors import HarnessError

STORE_NAME = "harness.sqlite"


def evaluate_model(task: str, model: str | None = None, model_args: str = "", *, limit: int | None = None,
                   seed: int = 0, batch_size: int = 8, output: Path = Path("results"), include: tuple = (),
                   progress: Callable | None = None, on_result: Callable | None = None,
                   data_dir: Path | None = None, strict_data: bool = False, download: bool = False) -> list:
    """Evaluate ``model`` (default: the tasks' default_model) on a task/group selection.

    Writes per-sample records and aggregates to ``output/harness.sqlite`` and one results JSON per task.
    ``progress``: callable(label) -> context manager yielding a callable(advance, total), or None.
    ``on_result``: called with (RunResult, TaskSpec, results JSON path) as each task finishes.
    ``data_dir``/``download``: where tasks pinning released data find it (harness/data/release.py);
    ``strict_data``: rows a loader cannot score are an error instead of a counted skip.
    Returns the RunResults (empty on non-zero ranks of a torchrun launch)."""
    from harness import registry, results
    from harness.adapters import adapter_class, parse_model_args
    from harness.distributed import world_from_env
    from harness.runner import evaluate
    from harness.spec import RunSpec
    from harness.store import RunStore

    entries = registry.resolve(task, registry.discover_tasks(tuple(include)))
    model = model or default_model(entries)
    cls = adapter_class(model)
    for entry in entries:  # refuse a kind mismatch before loading anything heavy
        if entry.spec.kind != cls.kind:
            raise HarnessError(f"model {model!r} is a {cls.kind} adapter; task {entry.spec.name!r} is {entry.spec.kind}")
    for entry in entries:  # absent released data fails before any output is written
        registry.locate_data(entry, data_dir, download=download)
    args = parse_model_args(model_args)
    world = world_from_env()  # torchrun / accelerate launch: shard samples, rank 0 writes
    out = results.ensure_writable_dir(Path(output)) if world.is_main else None
    adapter = cls(**args)
    store = RunStore(out / STORE_NAME) if world.is_main else None
    done = []
    for entry in entries:
        t = registry.build_task(entry, data_dir=data_dir, strict_data=strict_data, download=download)
        spec = RunSpec(task=t.name, task_hash=t.content_hash(), model=model, model_args=tuple(sorted(args.items())),
                       model_fingerprint=adapter.fingerprint(), seed=seed, limit=limit)
        bar = progress(t.name) if progress and world.is_main else contextlib.nullcontext()
        with bar as advance:
            result = evaluate(t, adapter, spec, store, batch_size=batch_size, progress=advance, world=world)
        if result is None:
            continue
        path = results.write_result(out, result)
        done.append(result)
        if on_result:
            on_result(result, t.spec, path, world.size)
    return done


def default_model(entries) -> str:
    defaults = {e.spec.default_model for e in entries}
    if None in defaults:
        name = next(e.spec.name for e in entries if e.spec.default_model is None)
        raise HarnessError(f"--model not given and task {name!r} has no default_model")
    if len(defaults) > 1:
        raise HarnessError(f"--model not given and the tasks' default models differ ({', '.join(sorted(defaults))})")
    return defaults.pop()


def open_store(output: Path):
    """The results store in ``output``; a HarnessError if there is none (never creates an empty one)."""
    from harness.store import RunStore

    path = Path(output) / STORE_NAME
    if not path.is_file():
        raise HarnessError(f"{path}: no results store (run `harness eval` first, or pass --output)")
    return RunStore(path)
