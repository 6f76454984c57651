"""A leaderboard as one self-contained HTML page: a sortable table, per-task bar plots with 95% CIs (matplotlib,
embedded as PNG), and per-run drill-down of failed samples. Every string from the store is escaped: model names
and error messages are data, never markup."""

from __future__ import annotations

import base64
import io
from html import escape

from harness.leaderboard import Table, cell_text, legend

SORT_SCRIPT = """
function sortTable(col) {
  const table = document.getElementById('board'), body = table.tBodies[0];
  const asc = table.dataset.sortCol == col && table.dataset.sortDir == 'desc';
  const key = tr => { const v = tr.cells[col].dataset.value; return v === undefined ? tr.cells[col].textContent : parseFloat(v); };
  const rows = Array.from(body.rows).sort((a, b) => {
    const x = key(a), y = key(b);
    if (typeof x === 'number' && isNaN(x)) return 1;
    if (typeof y === 'number' && isNaN(y)) return -1;
    return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
  });
  rows.forEach(r => body.appendChild(r));
  table.dataset.sortCol = col; table.dataset.sortDir = asc ? 'asc' : 'desc';
}
"""

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; } th, td { border: 1px solid #ccc; padding: .3em .6em; }
th { background: #f3f3f3; cursor: pointer; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.mark { font-weight: bold; } details { margin: .3em 0; } code { background: #f6f6f6; }
"""


def _figure(n_panels: int):
    import matplotlib

    matplotlib.use("Agg")  # no display: render to memory
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, n_panels, figsize=(4 * n_panels, 3), squeeze=False)
    return plt, fig, axes[0]


def _img(plt, fig, alt: str) -> str:
    """The figure as an <img> with an embedded base64 PNG."""
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _plot(table: Table, task: str) -> str:
    """Bars of every row for the task's columns, with CI error bars -> <img> with a base64 PNG."""
    cols = [(j, m + (f" [{sub}]" if sub else "")) for j, (t, m, sub) in enumerate(table.columns) if t == task]
    plt, fig, axes = _figure(len(cols))
    for ax, (j, metric) in zip(axes, cols):
        rows = [r for r in table.rows if r.cells[j] is not None]
        values = [r.cells[j]["value"] for r in rows]
        errors = [[r.cells[j]["value"] - r.cells[j]["ci_low"] for r in rows],
                  [r.cells[j]["ci_high"] - r.cells[j]["value"] for r in rows]]
        ax.bar(range(len(rows)), values, yerr=errors, capsize=3, color="#4c72b0")
        ax.set_xticks(range(len(rows)), [r.label for r in rows], rotation=45, ha="right", fontsize=7)
        ax.set_title(metric, fontsize=9)
    fig.suptitle(task, fontsize=10)
    return _img(plt, fig, f"{task} plot")


def _model_fact(run: dict, name: str):
    """A numeric field of what the adapter said about itself (Adapter.describe) for this run, or None."""
    import json

    value = json.loads(run["provenance"]).get("model", {}).get(name)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _plot_against(table: Table, task: str, x_name: str) -> str:
    """Score against a model fact (e.g. training rows of a data recipe), one panel per column, CI error bars."""
    cols = [(j, m) for j, (t, m, sub) in enumerate(table.columns) if t == task and not sub]
    plt, fig, axes = _figure(len(cols))
    plotted = False
    for ax, (j, metric) in zip(axes, cols):
        points = [(_model_fact(r.runs[task], x_name), r.cells[j]) for r in table.rows
                  if task in r.runs and r.cells[j] is not None]
        points = sorted(((x, c) for x, c in points if x is not None), key=lambda p: p[0])
        if not points:
            continue
        plotted = True
        xs, cells = [x for x, _ in points], [c for _, c in points]
        ax.errorbar(xs, [c["value"] for c in cells], fmt="o", capsize=3,
                    yerr=[[c["value"] - c["ci_low"] for c in cells], [c["ci_high"] - c["value"] for c in cells]])
        ax.set_xlabel(x_name, fontsize=8)
        ax.set_title(metric, fontsize=9)
    fig.suptitle(f"{task}: score against {x_name}", fontsize=10)
    html = _img(plt, fig, f"{task} against {x_name}")
    return html if plotted else ""


def render_html(table: Table, store) -> str:
    board = table.board
    head = "".join(f'<th onclick="sortTable({i})">{escape(h)}</th>' for i, h in enumerate(["model", *table.headers]))
    body = []
    for row in table.rows:
        cells = [f'<td data-value="{escape(row.label)}">{escape(row.label)}</td>']
        for cell in row.cells:
            value = "NaN" if cell is None else repr(float(cell["value"]))
            cells.append(f'<td class="num" data-value="{value}">{escape(cell_text(cell))}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    tasks = list(dict.fromkeys(t for t, _, _ in table.columns))
    plots = "".join(_plot(table, t) for t in tasks if table.rows)
    if board.plot_x and table.rows:
        plots += "".join(_plot_against(table, t, board.plot_x) for t in tasks)
    drill = []
    for row in table.rows:
        for task, run in row.runs.items():
            failures = store.failures(run["run_id"])
            items = "".join(f"<li><code>{escape(sid)}</code>: {escape(err)}</li>" for sid, err in failures)
            drill.append(f"<details><summary>{escape(row.label)} · {escape(task)} · run <code>{escape(run['run_id'])}"
                         f"</code> · {len(failures)} failed of {run['n_samples']}</summary><ul>{items}</ul></details>")
    notes = "".join(f"<li>{escape(n)}</li>" for n in table.notes)
    title = escape(board.title or board.name)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{STYLE}</style></head>
<body>
<h1>{title}</h1>
<p>{escape(legend(table))} Click a column header to sort.</p>
<table id="board"><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>
<ul class="notes">{notes}</ul>
<h2>Plots</h2>
{plots}
<h2>Failed samples per run</h2>
{''.join(drill)}
<script>{SORT_SCRIPT}</script>
</body></html>
"""
