"""Board plots a person can read: one figure per column (task × metric × subset), horizontal bars with the full
model names on the y axis, 95% CI whiskers, the reference row highlighted, significance marks at the bar ends,
and values at a metric's declared cap (PSNR of identical images, 100 dB) drawn as an annotated axis break
instead of stretching the axis. Figures are SVG (text stays text) embedded as data URIs in <img>, which the
browser renders without running anything inside."""

from __future__ import annotations

import base64
import io
from html import escape

BAR = "#4c72b0"
REFERENCE = "#dd8452"
ROW_INCHES = 0.26


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display: render to memory
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 8, "svg.hashsalt": "harness"})
    return plt


def _plain(text: str) -> str:
    """Text matplotlib must not read as mathtext (a model label with two "$")."""
    return text.replace("$", r"\$")


def _to_img(plt, fig, alt: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img alt="{escape(alt)}" loading="lazy" src="data:image/svg+xml;base64,{data}">'


def bar_figure(
    title: str, rows: list[tuple[str, dict]], reference: str | None, higher_is_better: bool, cap: float | None = None
) -> str:
    """rows: (label, cell) in board order, cell = {value, ci_low, ci_high, n, mark, p}. -> an <img> element."""
    plt = _pyplot()
    n = len(rows)
    fig, ax = plt.subplots(figsize=(6.2, 0.7 + ROW_INCHES * max(n, 1)))
    values = [c["value"] for _, c in rows]
    capped = [cap is not None and v >= cap for v in values]
    # The axis ends past the largest uncapped whisker; capped bars stop at the break (when some rows are not
    # capped: a board of only capped rows has nothing to compare and keeps its true scale).
    breaking = any(capped) and not all(capped)
    free_high = max([c["ci_high"] for (_, c), k in zip(rows, capped) if not k], default=0.0)
    limit = free_high * 1.22 if breaking and free_high > 0 else None
    shown = [min(v, limit) if limit is not None and k else v for v, k in zip(values, capped)]
    colors = [REFERENCE if label == reference else BAR for label, _ in rows]
    err = [
        [max(c["value"] - c["ci_low"], 0) if not k else 0 for (_, c), k in zip(rows, capped)],
        [max(c["ci_high"] - c["value"], 0) if not k else 0 for (_, c), k in zip(rows, capped)],
    ]
    y = list(range(n))
    ax.barh(y, shown, xerr=err, color=colors, height=0.65, capsize=2, error_kw={"elinewidth": 0.8})
    ax.set_yticks(y, [_plain(label) for label, _ in rows])
    for tick, (label, _) in zip(ax.get_yticklabels(), rows):
        if label == reference:
            tick.set_fontweight("bold")
    ax.invert_yaxis()  # board order, top to bottom
    if limit is not None:
        ax.set_xlim(min(0, *shown), limit * 1.12)
    right = ax.get_xlim()[1]
    for yi, ((_, c), k, s) in enumerate(zip(rows, capped, shown)):
        end = s if k else c["ci_high"]
        text = f"{c['value']:.4g}" + (f" {c['mark']}" if c.get("mark") else "")
        if k and limit is not None:  # the break: two slashes across the bar's end, the true value beside it
            ax.plot([s - right * 0.012, s + right * 0.004], [yi + 0.3, yi - 0.3], color="white", lw=2.5)
            ax.plot([s - right * 0.030, s - right * 0.014], [yi + 0.3, yi - 0.3], color="white", lw=2.5)
            text += " (cap)"
        ax.text(end + right * 0.01, yi, text, va="center", fontsize=7)
    better = "higher is better" if higher_is_better else "lower is better"
    ax.set_title(f"{_plain(title)}  ({better}; 95% CI)", fontsize=9, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#ddd", lw=0.5)
    ax.set_axisbelow(True)
    return _to_img(plt, fig, f"{title} plot")


def scatter_figure(title: str, x_name: str, points: list[tuple[float, dict, str]]) -> str:
    """Score against a model fact (e.g. training rows of a data recipe) with CI whiskers; points: (x, cell, label)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.2, 3.2))
    points = sorted(points, key=lambda p: p[0])
    xs, cells = [p[0] for p in points], [p[1] for p in points]
    ax.errorbar(
        xs,
        [c["value"] for c in cells],
        fmt="o",
        capsize=3,
        color=BAR,
        yerr=[[c["value"] - c["ci_low"] for c in cells], [c["ci_high"] - c["value"] for c in cells]],
    )
    ax.set_xlabel(_plain(x_name))
    ax.set_title(_plain(f"{title} against {x_name} (95% CI)"), fontsize=9, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    return _to_img(plt, fig, f"{title} against {x_name}")
