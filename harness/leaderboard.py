"""Leaderboards rendered from the results store: one row per (model, model args), one column per task/metric,
each cell ``mean ± CI half-width (n=N)``, rows that differ significantly from the reference row marked.

Which runs count: finished runs over the whole task (no ``--limit``), the newest per row and task. Runs made on
another version of a task (a different content hash than the newest run of that task) are left out and counted
in the notes, so rows measured on different data are never mixed silently.

Significance: each cell of a non-reference row is compared with the reference row's cell by a paired sign-flip
permutation test on the samples both scored; p-values are Holm-adjusted over every comparison of the board.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from harness import resources
from harness.config import load_yaml_config
from harness.errors import HarnessError
from harness.metrics import METRICS
from harness.metrics.stats import holm, sign_flip_p
from harness.registry import TaskEntry, groups, resolve

LEADERBOARDS_DIR = resources.leaderboards_dir()  # installed as harness_leaderboards (harness/resources.py)
FORMATS = ("md", "csv", "latex", "html", "json")
MAX_TABLE_COLUMNS = 8  # value columns per Markdown/HTML table: wider ones no viewer renders legibly


class Leaderboard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    title: str = ""
    tasks: list[str] = Field(min_length=1)  # task or group names
    metrics: list[str] = Field(default_factory=list)  # empty: each task's primary metric
    subsets: list[str] = Field(default_factory=list)  # extra columns per metric for these subsets ("subset=audio")
    rows: list[str] = Field(default_factory=list)  # row label globs ("unifusion-*"); empty: every row
    reference: str | None = None  # the row label others are tested against
    sort: str | None = None  # a column header ("edit/scenes success"); default: the first column
    alpha: float = Field(0.05, gt=0, lt=1)
    plot_x: str | None = None  # HTML report: also plot each column against this field of the runs' model facts


@dataclass
class Row:
    label: str
    model: str
    model_args: str
    runs: dict[str, dict] = field(default_factory=dict)  # task -> run row
    cells: list[dict | None] = field(default_factory=list)  # per column: value, ci_low, ci_high, n, p, mark


@dataclass
class Table:
    board: Leaderboard
    columns: list[tuple[str, str, str]]  # (task, metric, subset); subset "" = all samples
    rows: list[Row]
    notes: list[str]

    @property
    def headers(self) -> list[str]:
        return [_header(c) for c in self.columns]


def _header(column: tuple[str, str, str]) -> str:
    task, metric, subset = column
    return f"{task} {metric}" + (f" [{subset}]" if subset else "")


def default_path(name: str, fmt: str, output: Path) -> Path:
    """Where ``harness leaderboard NAME`` writes: leaderboards/ of the source tree (the committed tables), or
    ``output``/leaderboards/ when harness is installed, since the definitions then sit in site-packages."""
    base = Path(output) / "leaderboards" if resources.is_installed(LEADERBOARDS_DIR) else LEADERBOARDS_DIR
    suffix = {"md": "md", "csv": "csv", "latex": "tex", "html": "html", "json": "json"}[fmt]
    return base / "site" / f"{name}.html" if fmt == "html" else base / f"{name}.{suffix}"


def column_groups(table: Table, max_columns: int = MAX_TABLE_COLUMNS) -> list[tuple[str, list[int]]]:
    """The board's columns split for display: one group per task, a task with more than ``max_columns`` columns
    cut between metrics (a metric keeps its subset columns together unless it alone is wider).
    Returns (title, column indices) pairs, in column order."""
    groups_: list[tuple[str, list[int]]] = []
    for task in dict.fromkeys(t for t, _, _ in table.columns):
        by_metric: dict[str, list[int]] = {}
        for j, (t, metric, _) in enumerate(table.columns):
            if t == task:
                by_metric.setdefault(metric, []).append(j)
        chunks: list[list[int]] = [[]]
        for cols in by_metric.values():
            if chunks[-1] and len(chunks[-1]) + len(cols) > max_columns:
                chunks.append([])
            for j in cols:
                if len(chunks[-1]) == max_columns:
                    chunks.append([])
                chunks[-1].append(j)
        for k, chunk in enumerate(chunks):
            groups_.append((task if len(chunks) == 1 else f"{task} ({k + 1}/{len(chunks)})", chunk))
    return groups_


def short_header(column: tuple[str, str, str]) -> str:
    """A column's header inside its task's table: the metric and subset (the task is the table's title)."""
    _, metric, subset = column
    return metric + (f" [{subset}]" if subset else "")


def row_label(model: str, model_args: str) -> str:
    return f"{model} [{model_args}]" if model_args else model


def load_definition(name: str, tasks: dict[str, TaskEntry]) -> Leaderboard:
    """A YAML file path, leaderboards/NAME.yaml, or a default over the task group NAME (primary metrics)."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else LEADERBOARDS_DIR / f"{name}.yaml"
    if path.is_file():
        board = load_yaml_config(path, Leaderboard, "a leaderboard file")
    elif name in groups(tasks) or name in tasks:
        board = Leaderboard(name=name, tasks=[name])
    else:
        raise HarnessError(f"unknown leaderboard {name!r}: no {path} and no task group of that name")
    resolve(",".join(board.tasks), tasks)  # fail now on an unknown task
    return board


def _columns(board: Leaderboard, tasks: dict[str, TaskEntry]) -> list[tuple[str, str, str]]:
    cols = []
    for entry in resolve(",".join(board.tasks), tasks):
        metrics = board.metrics or [entry.spec.primary_metric]
        unknown = [m for m in metrics if m not in entry.spec.metrics]
        if unknown:
            raise HarnessError(f"leaderboard {board.name!r}: task {entry.spec.name!r} has no metric {unknown[0]!r}")
        cols += [(entry.spec.name, m, subset) for m in metrics for subset in ["", *board.subsets]]
    return cols


def build(board: Leaderboard, store, tasks: dict[str, TaskEntry], seed: int = 0) -> Table:
    cols = _columns(board, tasks)
    notes: list[str] = []
    rows: dict[str, Row] = {}
    for task in dict.fromkeys(t for t, _, _ in cols):
        runs = store.runs("task=? AND status='finished' AND sample_limit IS NULL", (task,))
        if not runs:
            continue
        current = runs[-1]["task_hash"]
        stale = [r for r in runs if r["task_hash"] != current]
        if stale:
            notes.append(f"{task}: {len(stale)} run(s) on an older task version (hash != {current}) left out")
        for run in runs:  # ordered by start time: the newest run of a row wins
            if run["task_hash"] == current:
                label = row_label(run["model"], run["model_args"])
                rows.setdefault(label, Row(label, run["model"], run["model_args"])).runs[task] = run
    chosen = [r for r in rows.values() if not board.rows or any(fnmatch.fnmatchcase(r.label, g) for g in board.rows)]
    aggregates = {run["run_id"]: {(a["subset"], a["metric"]): a for a in store.aggregates(run["run_id"])}
                  for row in chosen for run in row.runs.values()}
    for row in chosen:
        for task, metric, subset in cols:
            run = row.runs.get(task)
            agg = aggregates[run["run_id"]].get((subset, metric)) if run else None
            row.cells.append(None if agg is None or agg["value"] is None else dict(agg, p=None, mark=""))
    higher = [METRICS[tasks[t].spec.kind][m].higher_is_better for t, m, _ in cols]
    if board.reference:
        reference = next((r for r in chosen if r.label == board.reference), None)
        if reference is None:
            notes.append(f"reference row {board.reference!r} has no results: no significance marks")
        else:
            _mark_significance(board, cols, higher, chosen, reference, store, seed)
    sort_col = _column_index(board, board.sort, cols) if board.sort else 0
    chosen.sort(key=lambda r: (r.cells[sort_col] is None,
                               -(r.cells[sort_col] or {}).get("value", 0) * (1 if higher[sort_col] else -1)))
    return Table(board, cols, chosen, notes)


def _column_index(board: Leaderboard, header: str, cols) -> int:
    names = [_header(c) for c in cols]
    if header not in names:
        raise HarnessError(f"leaderboard {board.name!r}: sort column {header!r} is not one of {names}")
    return names.index(header)


def _mark_significance(board, cols, higher, rows, reference, store, seed) -> None:
    scores: dict[str, dict] = {}

    def per_sample(run):
        if run["run_id"] not in scores:
            scores[run["run_id"]] = store.run_scores(run)
        return scores[run["run_id"]]

    tests = []  # (row, column index, p)
    for row in rows:
        if row is reference:
            continue
        for j, (task, metric, subset) in enumerate(cols):
            if row.cells[j] is None or reference.cells[j] is None:
                continue
            ref, mine = per_sample(reference.runs[task]), per_sample(row.runs[task])
            common = [s for s in ref if s in mine and metric in ref[s] and metric in mine[s]]
            if subset:  # only runs that recorded subset membership (older runs did not) get subset marks
                members = [store.run_subsets(r) for r in (reference.runs[task], row.runs[task])]
                if None in members:
                    continue
                inside = set(members[0].get(subset, ())) & set(members[1].get(subset, ()))
                common = [s for s in common if s in inside]
            d = np.array([mine[s][metric] - ref[s][metric] for s in common], dtype=np.float64)
            tests.append((row, j, sign_flip_p(d, seed) if common else 1.0))
    for (row, j, _), p_adj in zip(tests, holm([p for _, _, p in tests])):
        row.cells[j]["p"] = p_adj
        if p_adj < board.alpha:
            larger = row.cells[j]["value"] > reference.cells[j]["value"]
            row.cells[j]["mark"] = "▲" if larger == higher[j] else "▼"


def cell_text(cell) -> str:
    if cell is None:
        return "–"
    half = (cell["ci_high"] - cell["ci_low"]) / 2
    return f"{cell['value']:.4f} ± {half:.4f} (n={cell['n']}){' ' + cell['mark'] if cell['mark'] else ''}"


def legend(table: Table) -> str:
    text = (f"Each cell: mean ± 95% bootstrap CI half-width (n = scored samples). Generated by "
            f"`harness leaderboard {table.board.name}` from the results store; do not edit by hand.")
    if table.board.reference:
        text += (f" ▲/▼: significantly better/worse than `{table.board.reference}` (paired permutation test, "
                 f"Holm-adjusted p < {table.board.alpha}).")
    return text


def render(board: Leaderboard, store, fmt: str, tasks: dict[str, TaskEntry] | None = None) -> str:
    from tabulate import tabulate

    if fmt not in FORMATS:
        raise HarnessError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if tasks is None:
        from harness.registry import discover_tasks

        tasks = discover_tasks()
    table = build(board, store, tasks)
    if fmt == "html":
        from harness.report.board import render_board

        return render_board(table, store, tasks)
    if fmt == "json":
        return json.dumps({"name": board.name, "headers": ["row", *table.headers], "notes": table.notes,
                           "rows": [{"label": r.label, "model": r.model, "model_args": r.model_args,
                                     "cells": r.cells} for r in table.rows]}, indent=2)
    text_rows = [[r.label, *map(cell_text, r.cells)] for r in table.rows]
    headers = ["model", *table.headers]
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        csv.writer(buf).writerows([headers, *text_rows])
        return buf.getvalue()
    if fmt == "latex":
        return tabulate(text_rows, headers=headers, tablefmt="latex_booktabs") + "\n"
    # Markdown: one table per task (or metric group) under a shared legend, so no table is wider than
    # MAX_TABLE_COLUMNS value columns.
    parts = [f"# {board.title or board.name}\n\n{legend(table)}\n"]
    for title, cols in column_groups(table):
        sub_rows = [[r.label, *(cell_text(r.cells[j]) for j in cols)] for r in table.rows]
        sub_headers = ["model", *(short_header(table.columns[j]) for j in cols)]
        parts.append(f"\n## {title}\n\n" + tabulate(sub_rows, headers=sub_headers, tablefmt="github") + "\n")
    return "".join(parts) + "".join(f"\n- {n}" for n in table.notes) + ("\n" if table.notes else "")
