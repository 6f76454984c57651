"""Leaderboards rendered from the results store: one row per (model, model args), one column per task/metric,
each cell ``mean ± CI half-width (n=N)``, rows that differ significantly from the reference row marked.

Which runs count: finished runs over the whole task (no ``--limit``), the newest (first finished) per row and
task. Runs made on another version of a task (a different content hash than the newest run of that task) are left
out and counted
in the notes, so rows measured on different data are never mixed silently.

Significance: each cell of a non-reference row is compared with the reference row's cell by a paired sign-flip
permutation test on the samples both scored; p-values are Holm-adjusted over every comparison of the board.

Training seeds (harness/seeds.py): runs that differ only in the adapter's training-seed argument are one row (the
label leaves the seed out); its cells pool the newest run of each seed: mean over seeds, two-level CI, the seed
spread in ``cell["seeds"]``, and marks from the two-level paired test whenever either side has several seeds.
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
from harness.metrics.stats import holm, sign_flip_p, two_level_paired_test
from harness.registry import TaskEntry, groups, resolve
from harness.rounding import ci_decimals, rounded  # noqa: F401 (ci_decimals: re-exported)
from harness.seeds import group_label, newest_per_seed, score_matrix, seed_cell

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
    runs: dict[str, dict] = field(default_factory=dict)  # task -> run row (the newest, whatever its seed)
    cells: list[dict | None] = field(default_factory=list)  # per column: value, ci_low, ci_high, n, p, mark
    # task -> the newest run of each training seed, when the row pools several seeds (harness/seeds.py); cells of
    # those tasks carry "seeds": {"arg", "values", "means", "sd"} and a two-level CI.
    seed_runs: dict[str, list[dict]] = field(default_factory=dict)
    # Warnings about the row's runs, e.g. "not decontaminated": a run's model facts (Adapter.describe) said
    # {"decontaminated": false}, i.e. its training data was not checked against the evaluation data.
    flags: list[str] = field(default_factory=list)

    def seeds_of(self, task: str) -> list[dict]:
        return self.seed_runs.get(task) or ([self.runs[task]] if task in self.runs else [])


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
        # "newest" = first finished: a later cached re-run of an old run (e.g. on older data) changes nothing
        runs.sort(key=lambda r: r.get("first_finished") or r.get("finished") or r["started"])
        if not runs:
            continue
        current = runs[-1]["task_hash"]
        stale = [r for r in runs if r["task_hash"] != current]
        if stale:
            notes.append(f"{task}: {len(stale)} run(s) on an older task version (hash != {current}) left out")
        by_label: dict[str, list[dict]] = {}
        for run in runs:  # ordered by start time: the newest run of a row wins
            if run["task_hash"] == current:
                by_label.setdefault(group_label(run), []).append(run)
        for label, group in by_label.items():
            row = rows.setdefault(label, Row(label, group[-1]["model"], label_args(label, group[-1]["model"])))
            row.runs[task] = group[-1]
            if len(per_seed := newest_per_seed(group)) > 1:
                row.seed_runs[task] = per_seed
    chosen = [r for r in rows.values() if not board.rows or any(fnmatch.fnmatchcase(r.label, g) for g in board.rows)]
    for row in chosen:
        if any(
            json.loads(run["provenance"] or "{}").get("model", {}).get("decontaminated") is False
            for runs_ in (row.seeds_of(t) for t in row.runs)
            for run in runs_
        ):
            row.flags.append("not decontaminated")
    flagged = [r.label for r in chosen if "not decontaminated" in r.flags]
    if flagged:
        notes.append(
            f"† trained on data not checked against the evaluation data (no decontamination): {', '.join(flagged)}"
        )
    aggregates = {
        run["run_id"]: {(a["subset"], a["metric"]): a for a in store.aggregates(run["run_id"])}
        for row in chosen
        for run in row.runs.values()
    }
    scores = _ScoreCache(store)
    for row in chosen:
        for task, metric, subset in cols:
            if task in row.seed_runs:
                row.cells.append(_seed_cell(row.seed_runs[task], metric, subset, scores, seed))
                continue
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
    chosen.sort(
        key=lambda r: (
            r.cells[sort_col] is None,
            -(r.cells[sort_col] or {}).get("value", 0) * (1 if higher[sort_col] else -1),
        )
    )
    return Table(board, cols, chosen, notes)


def label_args(label: str, model: str) -> str:
    """The model-args part of a row label ("model [a=1]" -> "a=1"; a judged row's " · judge ..." left out)."""
    from harness.seeds import JUDGE_MARK

    label = label.split(JUDGE_MARK)[0]
    return label[len(model) + 2 : -1] if label.startswith(model + " [") else ""


class _ScoreCache:
    """Per-sample scores and subset membership of runs, read once per board."""

    def __init__(self, store):
        self.store, self.scores, self.subsets = store, {}, {}

    def of(self, run) -> dict:
        if run["run_id"] not in self.scores:
            self.scores[run["run_id"]] = self.store.run_scores(run)
        return self.scores[run["run_id"]]

    def members(self, run) -> dict | None:
        if run["run_id"] not in self.subsets:
            self.subsets[run["run_id"]] = self.store.run_subsets(run)
        return self.subsets[run["run_id"]]


def _subset_ids(runs: list[dict], subset: str, scores: _ScoreCache) -> list[str] | None | bool:
    """Sample ids of ``subset`` every run recorded (None: all samples); False when a run did not record it."""
    if not subset:
        return None
    members = [scores.members(r) for r in runs]
    if None in members:
        return False
    inside = set.intersection(*(set(m.get(subset, ())) for m in members))
    return sorted(inside)


def _seed_cell(runs: list[dict], metric: str, subset: str, scores: _ScoreCache, seed: int) -> dict | None:
    ids = _subset_ids(runs, subset, scores)
    if ids is False:
        return None
    cell = seed_cell(runs, [scores.of(r) for r in runs], metric, seed, ids)
    return None if cell is None else dict(cell, subset=subset)


def _column_index(board: Leaderboard, header: str, cols) -> int:
    names = [_header(c) for c in cols]
    if header not in names:
        raise HarnessError(f"leaderboard {board.name!r}: sort column {header!r} is not one of {names}")
    return names.index(header)


def _mark_significance(board, cols, higher, rows, reference, store, seed) -> None:
    scores = _ScoreCache(store)
    tests = []  # (row, column index, p)
    for row in rows:
        if row is reference:
            continue
        for j, (task, metric, subset) in enumerate(cols):
            if row.cells[j] is None or reference.cells[j] is None:
                continue
            ref_runs, my_runs = reference.seeds_of(task), row.seeds_of(task)
            ids = _subset_ids(ref_runs + my_runs, subset, scores)
            if ids is False:  # only runs that recorded subset membership (older runs did not) get subset marks
                continue
            if len(ref_runs) > 1 or len(my_runs) > 1:  # training seeds on either side: the two-level test
                both, _ = score_matrix([scores.of(r) for r in ref_runs + my_runs], metric, ids)
                test = two_level_paired_test(both[: len(ref_runs)], both[len(ref_runs) :], seed)
                tests.append((row, j, test.p_value if test.n else 1.0))
                continue
            ref, mine = scores.of(ref_runs[0]), scores.of(my_runs[0])
            common = [
                s
                for s in (ids if ids is not None else ref)
                if s in ref and s in mine and metric in ref[s] and metric in mine[s]
            ]
            d = np.array([mine[s][metric] - ref[s][metric] for s in common], dtype=np.float64)
            tests.append((row, j, sign_flip_p(d, seed) if common else 1.0))
    for (row, j, _), p_adj in zip(tests, holm([p for _, _, p in tests])):
        row.cells[j]["p"] = p_adj
        if p_adj < board.alpha:
            larger = row.cells[j]["value"] > reference.cells[j]["value"]
            row.cells[j]["mark"] = "▲" if larger == higher[j] else "▼"


def estimate_parts(cell) -> tuple[str, str, str]:
    """(mean, CI half-width, seed spread) of a board cell as text, rounded to the half-width's precision
    (``rounded``: a zero-width interval prints ``100 ± 0``)."""
    half = (cell["ci_high"] - cell["ci_low"]) / 2
    seeds = cell.get("seeds")
    spread = f", {len(seeds['means'])} seeds sd={rounded(seeds['sd'], half)}" if seeds else ""  # pooled seeds
    return rounded(cell["value"], half), rounded(half, half), spread


def cell_text(cell) -> str:
    if cell is None:
        return "–"
    value, half, spread = estimate_parts(cell)
    return f"{value} ± {half} (n={cell['n']}{spread}){' ' + cell['mark'] if cell['mark'] else ''}"


def legend(table: Table, made_by: str = "harness leaderboard") -> str:
    """The board's legend, shared by the Markdown board and the HTML page; ``made_by``: the command that wrote it."""
    text = (
        f"Each cell: mean ± 95% bootstrap CI half-width (n = scored samples), rounded to the half-width's "
        f"second significant figure. Generated by "
        f"`{made_by} {table.board.name}` from the results store; do not edit by hand."
    )
    for model in shortened_models(table.rows):
        text += f" A row named by its arguments alone, `ARGS`, is `{model} [ARGS]`."
    if any(row.seed_runs for row in table.rows):
        text += (
            ' Cells with "k seeds" pool k training seeds: mean over seeds, two-level CI (seeds, then '
            "samples), sd = spread of the per-seed means; their marks come from a two-level paired test."
        )
    if table.board.reference:
        text += (
            f" ▲/▼: significantly better/worse than `{table.board.reference}` (paired permutation test, "
            f"Holm-adjusted p < {table.board.alpha})."
        )
    return text


def shortened_models(rows: list[Row]) -> list[str]:
    """Models whose rows are named by their arguments alone: a model with several rows on the board, every one with
    arguments (a sweep, e.g. 29 ``honeybee-proxy [recipe=…]`` rows), is named once in the legend instead."""
    counts: dict[str, int] = {}
    with_args: dict[str, bool] = {}
    for r in rows:
        counts[r.model] = counts.get(r.model, 0) + 1
        with_args[r.model] = with_args.get(r.model, True) and bool(r.model_args)
    return [m for m in counts if counts[m] > 1 and with_args[m]]


def short_label(row: Row, shortened: list[str]) -> str:
    """The row's label without its model's name when the model is in ``shortened`` ("recipe=scale_all")."""
    head = f"{row.model} [{row.model_args}]"
    if row.model in shortened and row.label.startswith(head):
        return row.model_args + row.label[len(head) :]  # a judged row keeps its " · judge …"
    return row.label


def short_labels(rows: list[Row]) -> list[str]:
    shortened = shortened_models(rows)
    return [short_label(r, shortened) for r in rows]


def display_label(row: Row, shortened: list[str] = ()) -> str:
    """The row label as printed (``short_label``): "†" marks a row trained on data not checked against the
    evaluation data."""
    return short_label(row, shortened) + (" †" if "not decontaminated" in row.flags else "")


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
        return json.dumps(
            {
                "name": board.name,
                "headers": ["row", *table.headers],
                "notes": table.notes,
                "rows": [
                    {"label": r.label, "model": r.model, "model_args": r.model_args, "flags": r.flags, "cells": r.cells}
                    for r in table.rows
                ],
            },
            indent=2,
        )
    text_rows = [[display_label(r), *map(cell_text, r.cells)] for r in table.rows]
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
    shortened = shortened_models(table.rows)
    for title, cols in column_groups(table):
        sub_rows = [[display_label(r, shortened), *(cell_text(r.cells[j]) for j in cols)] for r in table.rows]
        sub_headers = ["model", *(short_header(table.columns[j]) for j in cols)]
        parts.append(f"\n## {title}\n\n" + tabulate(sub_rows, headers=sub_headers, tablefmt="github") + "\n")
    return "".join(parts) + "".join(f"\n- {n}" for n in table.notes) + ("\n" if table.notes else "")
