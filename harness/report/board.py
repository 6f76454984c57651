"""A leaderboard as one self-contained HTML page: one sortable table per task (or metric group), each scrolling
inside its own container with the model column sticky, so the page never scrolls sideways at 1400 px; readable
bar plots (harness.report.plots); failed samples per run. With a site, every cell links to the gallery of its
task, opened on that row (against the reference) and subset. Every string from the store is escaped."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html import escape

from harness.leaderboard import (
    Table,
    column_groups,
    display_label,
    estimate_parts,
    legend,
    short_header,
    short_label,
    shortened_models,
)
from harness.metrics import METRICS
from harness.report import plots
from harness.report.assets import page

# (row index, column index) -> the cell's gallery URL relative to the board page, or None
LinkFn = Callable[[int, int], "str | None"]


def _tables(table: Table, link: LinkFn | None) -> str:
    out = []
    reference = table.board.reference
    shortened = shortened_models(table.rows)  # their rows are named by their arguments; the tooltip has it all
    for g, (title, cols) in enumerate(column_groups(table)):
        tid = f"board-{g}"
        heads = [f'<th class="model" onclick="sortTable(\'{tid}\', 0)">model</th>']
        heads += [
            f"<th onclick=\"sortTable('{tid}', {k + 1})\">{escape(short_header(table.columns[j]))}</th>"
            for k, j in enumerate(cols)
        ]
        body = []
        for i, row in enumerate(table.rows):
            cls = ' class="reference"' if row.label == reference else ""
            cells = [
                (
                    f'<td class="model" data-value="{escape(row.label)}" title="{escape(row.label)}">'
                    f"{escape(display_label(row, shortened))}</td>"
                )
            ]
            for j in cols:
                cell = row.cells[j]
                value = "NaN" if cell is None else repr(float(cell["value"]))
                text = _cell_html(cell)
                url = link(i, j) if link and cell is not None else None
                if url:
                    text = f'<a href="{escape(url)}" title="samples behind this cell">{text}</a>'
                cells.append(f'<td class="num" data-value="{value}">{text}</td>')
            body.append(f"<tr{cls}>{''.join(cells)}</tr>")
        out.append(
            f'<h3>{escape(title)}</h3><div class="scroll"><table id="{tid}"><thead><tr>{"".join(heads)}'
            f"</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        )
    return "".join(out)


def _cell_html(cell) -> str:
    """Like ``cell_text`` (mean ± CI half-width, n, mark), with n set small so a column stays narrow."""
    if cell is None:
        return "–"
    value, half, spread = estimate_parts(cell)
    mark = f' <span class="mark">{escape(cell["mark"])}</span>' if cell["mark"] else ""
    return f'{value} ± {half} <span class="n">n={cell["n"]}{escape(spread)}</span>{mark}'


def _plots(table: Table, tasks) -> str:
    figures = []
    shortened = shortened_models(table.rows)
    name = {r.label: short_label(r, shortened) for r in table.rows}  # the rows as the tables name them
    reference = name.get(table.board.reference, table.board.reference)
    for j, column in enumerate(table.columns):
        task, metric, subset = column
        rows = [(name[r.label], r.cells[j]) for r in table.rows if r.cells[j] is not None]
        if not rows:
            continue
        spec = METRICS[tasks[task].spec.kind][metric]
        title = f"{task} {short_header(column)}"
        figure = plots.bar_figure(title, rows, reference, spec.higher_is_better, spec.cap)
        figures.append(f"<figure>{figure}</figure>")
    if table.board.plot_x:
        for j, (task, metric, subset) in enumerate(table.columns):
            if subset:
                continue
            points = [
                (_model_fact(r.runs[task], table.board.plot_x), r.cells[j], name[r.label])
                for r in table.rows
                if task in r.runs and r.cells[j] is not None
            ]
            points = [p for p in points if p[0] is not None]
            if points:
                figures.append(
                    f"<figure>{plots.scatter_figure(f'{task} {metric}', table.board.plot_x, points)}</figure>"
                )
    return f'<div class="plots">{"".join(figures)}</div>'


def _model_fact(run: dict, name: str):
    """A numeric field of what the adapter said about itself (Adapter.describe) for this run, or None."""
    value = json.loads(run["provenance"]).get("model", {}).get(name)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _failures(table: Table, store) -> str:
    drill = []
    for row in table.rows:
        for task, run in row.runs.items():
            failures = store.failures(run["run_id"])
            items = "".join(f"<li><code>{escape(sid)}</code>: {escape(err)}</li>" for sid, err in failures)
            drill.append(
                f"<details><summary>{escape(row.label)} · {escape(task)} · run <code>{escape(run['run_id'])}"
                f"</code> · {len(failures)} failed of {run['n_samples']}</summary><ul>{items}</ul></details>"
            )
    return "".join(drill)


def _code_spans(text: str) -> str:
    """`x` spans of an (already escaped) legend as <code>: the legend is shared with the markdown board."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def render_board(
    table: Table,
    store,
    tasks,
    link: LinkFn | None = None,
    nav: str = "",
    galleries: str = "",
    head: str = "",
    made_by: str = "harness leaderboard",
) -> str:
    """The board page. ``link`` turns cells into gallery links; ``galleries`` is markup listing them; ``head``:
    extra head elements (a site's record of the board, harness.report.siteindex); ``made_by``: the command the
    legend names (``harness report`` for a site's pages)."""
    board = table.board
    notes = "".join(f"<li>{escape(n)}</li>" for n in table.notes)
    hint = " Click a header to sort; click a cell to see the samples behind it." if link else " Click a header to sort."
    body = (
        f"<p>{_code_spans(escape(legend(table, made_by)))}{hint}</p>{galleries}{_tables(table, link)}"
        f'<ul class="notes">{notes}</ul>'
        f"<h2>Plots</h2>{_plots(table, tasks) if table.rows else '<p>No rows.</p>'}"
        f"<h2>Failed samples per run</h2>{_failures(table, store)}"
    )
    return page(board.title or board.name, body, nav, head)
