"""The page every per-sample gallery shares: controls (filters by subset, models A and B, a metric, sort by the
per-sample difference B - A, all models or A and B only) over a list of samples, each with its shared inputs and
one cell per model. Kind-specific content comes from harness.report.galleries.<kind> as ``SampleView``s, rendered
there with every string escaped; the page script only filters, shows and reorders them."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from html import escape

from harness.report.assets import json_script, page
from harness.store import BOOKKEEPING_INFO_KEYS


@dataclass
class SampleView:
    id: str
    subsets: list[str]  # "edit_type=move", ...: what the filters select on
    inputs: str  # markup: what every model saw and the ground truth
    cells: dict[int, str] = field(default_factory=dict)  # model index -> markup of that model's output
    scores: dict[int, dict[str, float]] = field(default_factory=dict)  # model index -> metric -> value
    tags: list[str] = field(default_factory=list)  # plain text shown next to the id


@dataclass
class GalleryModels:
    labels: list[str]  # the board's rows, in board order
    reference: int | None  # index of the board's reference row


def clean_scores(scores: dict | None) -> dict[str, float]:
    """Finite values only (JSON has no NaN; a NaN metric is 'not measured', e.g. the keep region of a global edit)."""
    return {k: float(v) for k, v in (scores or {}).items() if isinstance(v, (int, float)) and math.isfinite(v)}


def scores_text(scores: dict[str, float], metrics: list[str]) -> str:
    parts = [f"{m} {scores[m]:.4g}" for m in metrics if m in scores]
    return escape(" · ".join(parts)) if parts else '<span class="muted">no scores</span>'


def model_cells(view: SampleView, records: list[dict], sample_id: str, needs_output: bool = True):
    """(model index, record, finite scores) of each model that has a usable record of this sample, its scores set
    on ``view``. A failed record (an error, or no output where ``needs_output``) gets its "failed" cell here and
    is not yielded; the galleries of every kind show failures alike."""
    for i, recs in enumerate(records):
        rec = recs.get(sample_id)
        if rec is None:
            continue
        if rec.error is not None or (needs_output and rec.output is None):
            view.cells[i] = f'<div class="bad">failed</div><div class="text">{escape(rec.error or "")}</div>'
            continue
        scores = clean_scores(rec.scores)
        view.scores[i] = scores
        yield i, rec, scores


def run_records(store, run: dict | None) -> dict:
    """{sample id: Record} of a run, as a gallery shows it. A judged run (harness/judges/stage.py) stores scores
    under its own key and the output under ``info["generation_key"]``: the output is taken from there, and each
    stored judge call's raw reply is added as ``info["judge_replies"]`` ({role: "status: text"})."""
    if run is None:
        return {}
    records = store.get_records(run["cache_key"])
    generation: dict[str, dict] = {}
    out = {}
    for sid, rec in records.items():
        info = dict(rec.info or {})
        key = info.get("generation_key")
        if rec.output is None and key:
            if key not in generation:
                generation[key] = store.get_records(key)
            gen = generation[key].get(sid)
            rec = replace(rec, output=gen.output if gen else None, error=rec.error or (gen.error if gen else None))
            # the editor's side information lives with the edit, under the generation key
            info = {**(gen.info if gen else {}), **info}
        calls = info.get("judge_calls")
        if isinstance(calls, dict) and calls:
            stored = store.judge_calls(list(calls.values()))
            info["judge_replies"] = {
                role: (
                    f"{stored[k]['status']}: {stored[k]['text'] or stored[k]['error'] or ''}"
                    if k in stored
                    else "not stored"
                )
                for role, k in calls.items()
            }
        out[sid] = replace(rec, info=info)
    return out


def side_info(info: dict, open_: bool = False) -> str:
    """Per-sample side information (Record.info): a judge's raw replies in full and any judge failure, open;
    the adapter's own side information (``Adapter.last_info``) in a details block, open when ``open_``.
    Strings are escaped."""
    info = {k: v for k, v in (info or {}).items() if k not in BOOKKEEPING_INFO_KEYS}
    if not info:
        return ""
    out = []
    for role, text in (info.get("judge_replies") or {}).items():
        out.append(
            f"<details open><summary>judge reply · {escape(str(role))}</summary>"
            f'<div class="text">{escape(str(text))}</div></details>'
        )
    if info.get("judge_failure"):
        out.append(f'<div class="bad">{escape(str(info["judge_failure"]))}</div>')
    rest = {k: v for k, v in info.items() if k not in ("judge_replies", "judge_failure")}
    if rest:
        items = "".join(
            f"<li><code>{escape(k)}</code>: {escape(v if isinstance(v, str) else json.dumps(v))}</li>"
            for k, v in rest.items()
        )
        out.append(
            f'<details class="side-info"{" open" if open_ else ""}><summary>side info</summary><ul>{items}</ul>'
            "</details>"
        )
    return "".join(out)


def _select(name: str, label: str, options: list[tuple[str, str]], value: str, cls: str = "", extra: str = "") -> str:
    opts = "".join(
        f'<option value="{escape(v)}"{" selected" if v == value else ""}>{escape(t)}</option>' for v, t in options
    )
    klass = f' class="{cls}"' if cls else ""
    return f'<label>{escape(label)} <select id="ctl-{escape(name)}"{klass}{extra}>{opts}</select></label>'


def filter_keys(views: list[SampleView]) -> dict[str, list[str]]:
    """{subset key: its values}, from "key=value" subset names, in first-seen order."""
    keys: dict[str, list[str]] = {}
    for v in views:
        for s in v.subsets:
            key = s.split("=", 1)[0]
            if s not in keys.setdefault(key, []):
                keys[key].append(s)
    return keys


def render_gallery(
    title: str,
    description: str,
    models: GalleryModels,
    metrics: list[str],
    primary: str,
    views: list[SampleView],
    show_default: str = "all",
    verdict_metric: str | None = None,
    nav: str = "",
    notes: list[str] = (),
    compact: bool = False,
) -> str:
    """A gallery page. ``metrics``: what the sort and verdict controls can use (primary first)."""
    n = len(models.labels)
    ref = models.reference if models.reference is not None else 0
    other = next((i for i in range(n) if i != ref), ref)
    model_opts = [(str(i), label) for i, label in enumerate(models.labels)]
    controls = [
        _select("a", "model A", model_opts, str(ref)),
        _select("b", "model B", model_opts, str(other)),
        _select("metric", "metric", [(m, m) for m in dict.fromkeys([primary, *metrics])], primary),
        _select(
            "sort",
            "order",
            [("order", "task order"), ("b-a", "B − A, largest first"), ("a-b", "A − B, largest first")],
            "order",
        ),
        _select("show", "show", [("all", "all models"), ("ab", "A and B only")], show_default),
    ]
    if verdict_metric:
        controls.append(
            _select(
                "verdict",
                "verdict",
                [("", "any"), ("a-right", "A right"), ("a-wrong", "A wrong"), ("differ", "A and B differ")],
                "",
                extra=f' data-metric="{escape(verdict_metric)}"',
            )
        )
    for key, values in filter_keys(views).items():
        controls.append(
            _select(f"f-{key}", key, [("", "all"), *((v, v.split("=", 1)[1]) for v in values)], "", cls="filter")
        )
    rows = []
    for v in views:
        cells = "".join(
            f'<div class="model-cell" data-model="{i}"><div class="cap">{escape(models.labels[i])}</div>'
            f"{v.cells.get(i, '<span class=muted>no run of this model</span>')}</div>"
            for i in range(n)
        )
        tags = "".join(f'<span class="tag">{escape(t)}</span>' for t in [*v.subsets, *v.tags])
        rows.append(
            f'<section class="sample" data-id="{escape(v.id)}" data-subsets="{escape(json.dumps(v.subsets))}">'
            f'<header><span class="id">{escape(v.id)}</span>{tags}</header>{v.inputs}'
            f'<div class="models{" compact" if compact else ""}">{cells}</div></section>'
        )
    scores = {v.id: {str(i): s for i, s in v.scores.items()} for v in views}
    note_items = "".join(f"<li>{escape(x)}</li>" for x in notes)
    body = (
        f"<p>{escape(description)}</p>"
        + (f'<ul class="notes">{note_items}</ul>' if notes else "")
        + f'<div class="controls">{"".join(controls)}<span id="shown" class="muted"></span></div>'
        f'<div id="samples">{"".join(rows)}</div>{json_script("gallery-data", scores)}'
    )
    return page(title, body, nav)
