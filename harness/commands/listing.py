"""``harness list`` (tasks, models, metrics) and ``harness show`` (one stored run)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from harness.commands.common import DataDirOpt, IncludeOpt, OutputOpt, find_tasks, open_results_store
from harness.errors import HarnessError
from harness.rounding import interval


def list_(
    what: str = typer.Argument(..., help="tasks | models | metrics"),
    include: list[Path] = IncludeOpt,
    data_dir: Path | None = DataDirOpt,
) -> None:
    """List registered tasks (with groups and whether their data is present), models or metrics."""
    from tabulate import tabulate

    if what == "tasks":
        from harness.registry import data_status

        rows = [
            (
                n,
                e.spec.kind,
                ",".join(e.spec.groups),
                e.spec.source.loader,
                data_status(e, data_dir),
                e.spec.description,
            )
            for n, e in find_tasks(include).items()
        ]
        print(tabulate(rows, headers=["task", "kind", "groups", "source", "data", "description"]))
    elif what == "models":
        from harness.adapters import registered_adapters

        def images(c) -> str:  # editors: how many images per sample they read (Editor.max_images)
            n = getattr(c, "max_images", 1) if c.kind == "edit" else None
            if c.kind != "edit":
                return ""
            return "any" if n is None else str(n) if isinstance(n, int) else "by args"  # e.g. a property

        rows = [
            (n, c.kind, images(c), (c.__doc__ or "").strip().splitlines()[0] if c.__doc__ else "")
            for n, c in registered_adapters().items()
        ]
        print(tabulate(rows, headers=["model", "kind", "images", "description"]))
    elif what == "metrics":
        from harness.metrics import METRICS

        rows = [
            (kind, m.name, "higher" if m.higher_is_better else "lower", m.description)
            for kind, ms in METRICS.items()
            for m in ms.values()
        ]
        print(tabulate(rows, headers=["kind", "metric", "better", "description"]))
    else:
        raise HarnessError(f"harness list: unknown listing {what!r}; choose tasks, models or metrics")


def show(
    run_id: str = typer.Argument(..., help="Run id (or a unique prefix)."),
    output: Path = OutputOpt,
    info: bool = typer.Option(
        False, "--info", help="Also print each sample's side information (what the model returned with its output)."
    ),
) -> None:
    """Print a run's spec, provenance, aggregates and per-sample failures (and side information with --info)."""
    from tabulate import tabulate

    store = open_results_store(output)
    runs = store.find_run(run_id)
    if len(runs) != 1:
        raise HarnessError(
            f"run {run_id!r}: "
            + ("not found in " + str(store.path) if not runs else f"ambiguous ({len(runs)} runs match)")
        )
    run = runs[0]
    print(f"run {run['run_id']}  status={_status(run)}  samples={run['n_samples']}  failed={run['n_failed']}")
    print("spec:", json.dumps(json.loads(run["spec"]), indent=2))
    print("provenance:", json.dumps(json.loads(run["provenance"]), indent=2))
    rows = [
        (a["subset"] or "all", a["metric"], *interval(a["value"], a["ci_low"], a["ci_high"]), a["n"])
        for a in store.aggregates(run["run_id"])
    ]
    print(tabulate(rows, headers=["subset", "metric", "value", "95% CI", "N"], disable_numparse=True))
    failures = store.failures(run["run_id"])
    print(f"failures: {len(failures)}")
    for sid, error in failures:
        print(f"  {sid}: {error}")
    skipped = json.loads(run["provenance"]).get("skipped_rows", {})
    print(f"skipped rows (unscorable in the data, not in N): {len(skipped)}")
    for sid, reason in skipped.items():
        print(f"  {sid}: {reason}")
    if info:
        side = store.run_info(run)
        print(f"side information: {len(side)} samples")
        for sid, entry in side.items():
            print(f"  {sid}: {json.dumps(entry, ensure_ascii=False, sort_keys=True)}")


def _status(run: dict) -> str:
    """A run's status, telling a live "running" run (its owner process exists) from a dead one."""
    import time

    from harness.store import owner_alive

    if run["status"] != "running":
        return run["status"]
    pid, host, beat = run.get("owner_pid"), run.get("owner_host"), run.get("heartbeat")
    since = f", last batch {time.time() - beat:.0f}s ago" if beat else ""
    if owner_alive(pid, host, beat):
        return f"running (live: pid {pid} on {host}{since})"
    who = f"pid {pid} on {host} is gone" if pid else "no owner recorded"
    return f"dead (was running: {who}{since}; the same `harness eval` resumes it)"
