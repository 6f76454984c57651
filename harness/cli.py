"""``harness`` command line. Heavy modules (torch, runner, models) are imported inside the commands that need
them, so ``harness --help`` and ``harness list`` stay fast."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import click
import typer
from rich.console import Console

from harness.errors import HarnessError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Benchmark and evaluation harness for multimodal models.")
err_console = Console(stderr=True)
DEFAULT_OUTPUT = Path("results")
STORE_NAME = "harness.sqlite"

IncludeOpt = typer.Option([], "--include", help="Extra folder of task YAML files (repeatable).")
OutputOpt = typer.Option(DEFAULT_OUTPUT, "--output", "-o", help="Results folder (JSON files + SQLite store).")


def _tasks(include: list[Path]):
    from harness import registry

    return registry.discover_tasks(tuple(include))


@app.command("list")
def list_(what: str = typer.Argument(..., help="tasks | models | metrics"),
          include: list[Path] = IncludeOpt) -> None:
    """List registered tasks (with groups), models or metrics."""
    from tabulate import tabulate

    if what == "tasks":
        rows = [(n, e.spec.kind, ",".join(e.spec.groups), e.spec.source.loader, e.spec.description)
                for n, e in _tasks(include).items()]
        print(tabulate(rows, headers=["task", "kind", "groups", "source", "description"]))
    elif what == "models":
        from harness.adapters import registered_adapters

        rows = [(n, c.kind, (c.__doc__ or "").strip().splitlines()[0] if c.__doc__ else "")
                for n, c in registered_adapters().items()]
        print(tabulate(rows, headers=["model", "kind", "description"]))
    elif what == "metrics":
        from harness.metrics import METRICS

        rows = [(kind, m.name, "higher" if m.higher_is_better else "lower", m.description)
                for kind, ms in METRICS.items() for m in ms.values()]
        print(tabulate(rows, headers=["kind", "metric", "better", "description"]))
    else:
        raise HarnessError(f"harness list: unknown listing {what!r}; choose tasks, models or metrics")


@app.command("eval")
def eval_(
    task: str = typer.Option(..., "--task", "-t", help="Task or group name(s), comma-separated."),
    model: Optional[str] = typer.Option(None, "--model", "-m",
                                        help="Registered model name, or module:Class (default: the tasks' default_model)."),
    model_args: str = typer.Option("", "--model_args", "--model-args", help="key=value,... for the adapter."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only the first N samples of each task."),
    seed: int = typer.Option(0, "--seed", help="Run seed: stochastic models and bootstrap CIs."),
    batch_size: int = typer.Option(8, "--batch_size", "--batch-size", min=1),
    output: Path = OutputOpt,
    include: list[Path] = IncludeOpt,
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Evaluate a model on tasks: prints metrics with 95% CIs, writes results JSON and the SQLite store."""
    from harness import registry, results
    from harness.adapters import adapter_class, parse_model_args
    from harness.spec import RunSpec

    entries = registry.resolve(task, _tasks(include))
    model = model or _default_model(entries)
    cls = adapter_class(model)
    for entry in entries:  # refuse a kind mismatch before loading anything heavy
        if entry.spec.kind != cls.kind:
            raise HarnessError(f"model {model!r} is a {cls.kind} adapter; task {entry.spec.name!r} is {entry.spec.kind}")
    args = parse_model_args(model_args)
    from harness.distributed import world_from_env

    world = world_from_env()  # torchrun / accelerate launch: shard samples, rank 0 writes
    out = results.ensure_writable_dir(output) if world.is_main else None
    adapter = cls(**args)
    from harness.runner import evaluate
    from harness.store import RunStore

    store = RunStore(out / STORE_NAME) if world.is_main else None
    for entry in entries:
        t = registry.build_task(entry)
        spec = RunSpec(task=t.name, task_hash=t.content_hash(), model=model, model_args=tuple(sorted(args.items())),
                       model_fingerprint=adapter.fingerprint(), seed=seed, limit=limit)
        with _progress_bar(progress and world.is_main, t.name) as bar:
            result = evaluate(t, adapter, spec, store, batch_size=batch_size, progress=bar, world=world)
        if result is None:
            continue
        path = results.write_result(out, result)
        _print_result(result, t.spec.primary_metric)
        print(f"run {spec.run_id()} · {result.computed} computed, {result.n_units - result.computed} cached"
              f"{f' · {world.size} processes' if world.size > 1 else ''} · {path}")


@app.command()
def leaderboard(
    name: str = typer.Argument(..., help="Leaderboard name (leaderboards/NAME.yaml) or task group."),
    output: Path = OutputOpt,
    fmt: str = typer.Option("md", "--format", "-f", help="md | csv | json"),
    to: Optional[Path] = typer.Option(None, "--to", help="File to write (default leaderboards/NAME.FORMAT)."),
    include: list[Path] = IncludeOpt,
) -> None:
    """Regenerate a leaderboard table from the results store."""
    from harness import leaderboard as lb

    board = lb.load_definition(name, _tasks(include))
    text = lb.render(board, _open_store(output), fmt)
    path = to or lb.LEADERBOARDS_DIR / f"{board.name}.{fmt}"
    from harness.results import atomic_write_text

    atomic_write_text(path, text)
    print(text)
    err_console.print(f"wrote {path}")


@app.command()
def show(run_id: str = typer.Argument(..., help="Run id (or a unique prefix)."), output: Path = OutputOpt) -> None:
    """Print a run's spec, provenance, aggregates and per-sample failures."""
    from tabulate import tabulate

    store = _open_store(output)
    runs = store.find_run(run_id)
    if len(runs) != 1:
        raise HarnessError(f"run {run_id!r}: " + ("not found in " + str(store.path) if not runs
                                                   else f"ambiguous ({len(runs)} runs match)"))
    run = runs[0]
    print(f"run {run['run_id']}  status={run['status']}  samples={run['n_samples']}  failed={run['n_failed']}")
    print("spec:", json.dumps(json.loads(run["spec"]), indent=2))
    print("provenance:", json.dumps(json.loads(run["provenance"]), indent=2))
    rows = [(a["subset"] or "all", a["metric"], _fmt(a["value"]), f"[{_fmt(a['ci_low'])}, {_fmt(a['ci_high'])}]", a["n"])
            for a in store.aggregates(run["run_id"])]
    print(tabulate(rows, headers=["subset", "metric", "value", "95% CI", "N"]))
    failures = store.failures(run["run_id"])
    print(f"failures: {len(failures)}")
    for sid, error in failures:
        print(f"  {sid}: {error}")


def _default_model(entries) -> str:
    defaults = {e.spec.default_model for e in entries}
    if None in defaults:
        name = next(e.spec.name for e in entries if e.spec.default_model is None)
        raise HarnessError(f"--model not given and task {name!r} has no default_model")
    if len(defaults) > 1:
        raise HarnessError(f"--model not given and the tasks' default models differ ({', '.join(sorted(defaults))})")
    return defaults.pop()


def _open_store(output: Path):
    from harness.store import RunStore

    path = output / STORE_NAME
    if not path.is_file():
        raise HarnessError(f"{path}: no results store (run `harness eval` first, or pass --output)")
    return RunStore(path)


def _fmt(x) -> str:
    return "nan" if x is None or x != x else f"{x:.4f}"


def _print_result(result, primary: str) -> None:
    from tabulate import tabulate

    rows = [(m, _fmt(a.mean), f"[{_fmt(a.ci_low)}, {_fmt(a.ci_high)}]", a.n) for m, a in result.aggregates[""].items()]
    print(f"\n{result.spec.task} · {result.spec.model}"
          f"{' (' + result.spec.model_args_str() + ')' if result.spec.model_args else ''} · seed {result.spec.seed}")
    print(tabulate(rows, headers=["metric", "value", "95% CI", "N"]))
    subsets = [(s, ms[primary]) for s, ms in result.aggregates.items() if s]
    if subsets:
        print(tabulate([(s, _fmt(a.mean), f"[{_fmt(a.ci_low)}, {_fmt(a.ci_high)}]", a.n) for s, a in subsets],
                       headers=["subset", primary, "95% CI", "N"]))
    print(f"failed samples: {len(result.failures)} of {result.n_units}"
          + (f" (see `harness show {result.spec.run_id()}`)" if result.failures else ""))


class _progress_bar:
    """Context manager yielding a callable(advance, total) that drives a rich progress bar on stderr."""

    def __init__(self, enabled: bool, label: str):
        self.enabled, self.label, self.bar, self.task_id = enabled, label, None, None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=err_console)
        self.bar.start()
        return self._advance

    def _advance(self, advance: int, total: int) -> None:
        if self.task_id is None:
            self.task_id = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task_id, advance=advance)

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()


def _add_plugin_commands() -> None:
    """Sub-command groups from the ``harness.commands`` entry-point group (a typer.Typer each, named by the entry
    point), so a reference system can add verbs (``harness recipe ...``) without the engine importing it."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="harness.commands"):
        app.add_typer(ep.load(), name=ep.name)


def main() -> None:
    _add_plugin_commands()
    try:
        rc = app(standalone_mode=False)
    except HarnessError as e:
        err_console.print(f"error: {e}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    sys.exit(rc if isinstance(rc, int) else 0)
