"""Leaderboards rendered from the results store: one row per (model, model args), one column per task/metric,
each cell ``mean ± CI half-width (n=N)``.

Which runs count: finished runs over the whole task (no ``--limit``), the newest per row and task. Runs made on
another version of a task (a different content hash than the newest run of that task) are left out and the
number left out is reported, so rows measured on different data are never mixed silently.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import HarnessError
from harness.registry import TaskEntry, groups, resolve

LEADERBOARDS_DIR = Path(__file__).resolve().parents[1] / "leaderboards"


class Leaderboard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    title: str = ""
    tasks: list[str] = Field(min_length=1)  # task or group names
    metrics: list[str] = Field(default_factory=list)  # empty: each task's primary metric


def load_definition(name: str, tasks: dict[str, TaskEntry]) -> Leaderboard:
    """leaderboards/NAME.yaml, or a default over the task group NAME (primary metrics)."""
    path = LEADERBOARDS_DIR / f"{name}.yaml"
    if path.is_file():
        try:
            board = Leaderboard.model_validate(yaml.safe_load(path.read_text()))
        except yaml.YAMLError as e:
            raise HarnessError(f"{path}: malformed YAML ({e})".replace("\n", " ")) from None
        except ValidationError as e:
            err = e.errors()[0]
            raise HarnessError(f"{path}: field {'.'.join(map(str, err['loc']))!r}: {err['msg']}") from None
    elif name in groups(tasks) or name in tasks:
        board = Leaderboard(name=name, tasks=[name])
    else:
        raise HarnessError(f"unknown leaderboard {name!r}: no {path} and no task group of that name")
    resolve(",".join(board.tasks), tasks)  # fail now on an unknown task
    return board


def _columns(board: Leaderboard, tasks: dict[str, TaskEntry]) -> list[tuple[str, str]]:
    cols = []
    for entry in resolve(",".join(board.tasks), tasks):
        metrics = board.metrics or [entry.spec.primary_metric]
        unknown = [m for m in metrics if m not in entry.spec.metrics]
        if unknown:
            raise HarnessError(f"leaderboard {board.name!r}: task {entry.spec.name!r} has no metric {unknown[0]!r}")
        cols += [(entry.spec.name, m) for m in metrics]
    return cols


def table(board: Leaderboard, store, tasks: dict[str, TaskEntry]) -> tuple[list[str], list[list], list[str]]:
    """-> (headers, rows of cell dicts, notes). A cell is {value, ci_low, ci_high, n} or None."""
    cols = _columns(board, tasks)
    notes: list[str] = []
    rows: dict[tuple[str, str], dict] = {}
    for task in dict.fromkeys(t for t, _ in cols):
        runs = store.runs("task=? AND status='finished' AND sample_limit IS NULL", (task,))
        if not runs:
            continue
        current = runs[-1]["task_hash"]
        stale = [r for r in runs if r["task_hash"] != current]
        if stale:
            notes.append(f"{task}: {len(stale)} run(s) on an older task version (hash != {current}) left out")
        for run in runs:  # ordered by start time: the newest run of a row wins
            if run["task_hash"] == current:
                rows.setdefault((run["model"], run["model_args"]), {})[task] = run
    table_rows = []
    for (model, args), by_task in rows.items():
        cells = []
        for task, metric in cols:
            run = by_task.get(task)
            agg = next((a for a in store.aggregates(run["run_id"]) if a["subset"] == "" and a["metric"] == metric),
                       None) if run else None
            cells.append(agg)
        table_rows.append([model, args, *cells])
    first = 2
    table_rows.sort(key=lambda r: -(r[first]["value"] if r[first] and r[first]["value"] is not None else float("-inf")))
    headers = ["model", "model_args", *[f"{t} {m}" for t, m in cols]]
    return headers, table_rows, notes


def _cell(agg) -> str:
    if agg is None or agg["value"] is None:
        return "–"
    half = (agg["ci_high"] - agg["ci_low"]) / 2
    return f"{agg['value']:.4f} ± {half:.4f} (n={agg['n']})"


def render(board: Leaderboard, store, fmt: str, tasks: dict[str, TaskEntry] | None = None) -> str:
    from tabulate import tabulate

    if tasks is None:
        from harness.registry import discover_tasks

        tasks = discover_tasks()
    headers, rows, notes = table(board, store, tasks)
    if fmt == "json":
        return json.dumps({"name": board.name, "headers": headers, "rows": rows, "notes": notes}, indent=2)
    text_rows = [[r[0], r[1] or "", *map(_cell, r[2:])] for r in rows]
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf).writerows([headers, *text_rows])
        return buf.getvalue()
    if fmt != "md":
        raise HarnessError(f"--format {fmt!r}: choose md, csv or json")
    title = f"# {board.title or board.name}\n\n"
    legend = ("Each cell: mean ± 95% bootstrap CI half-width (n = scored samples). "
              "Generated by `harness leaderboard " + board.name + "` from the results store; do not edit by hand.\n\n")
    body = tabulate(text_rows, headers=headers, tablefmt="github")
    return title + legend + body + "\n" + "".join(f"\n- {n}" for n in notes) + ("\n" if notes else "")
