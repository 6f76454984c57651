"""The page every per-sample gallery shares: controls (filters by subset, models A and B, a metric, sort by the
per-sample difference B - A, all models or A and B only) over a list of samples, each with its shared inputs and
one cell per model. Kind-specific content comes from harness.report.galleries.<kind> as ``SampleView``s, rendered
there with every string escaped; the page script only filters, shows and reorders them.

A gallery of many samples and models is split into pages of at most ``PAGE_BYTES`` of HTML each (samples in task
order, a pager on every page), so no page grows with the board: 29 recipe rows x 1,000 questions made one 22 MB
page. What repeats is written once: the gold answer in the sample's inputs, side information every cell shares
in the page notes, each model's scores as one array per sample."""

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
    info: dict[int, dict] = field(default_factory=dict)  # model index -> side information (Record.info)


@dataclass
class GalleryModels:
    labels: list[str]  # the board's rows, in board order
    reference: int | None  # index of the board's reference row
    captions: list[str] | None = None  # what a cell is headed with (harness.leaderboard.short_labels); None: labels

    def caption(self, i: int) -> str:
        return (self.captions or self.labels)[i]


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


JUDGE_INFO_KEYS = ("judge_replies", "judge_failure")  # what run_records and the judge stage add; shown apart
INLINE_INFO_CHARS = 120  # side information this short is one line under the output; longer goes in a details block


def info_text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def adapter_info(info: dict | None) -> dict:
    """The adapter's own side information of a record: no bookkeeping, no judge replies."""
    return {k: v for k, v in (info or {}).items() if k not in BOOKKEEPING_INFO_KEYS and k not in JUDGE_INFO_KEYS}


def shared_info(views: list[SampleView]) -> dict:
    """Side information with one value in every cell that has any (e.g. a flag the adapter always sets): written
    once in the page notes instead of in each of the 29,000 cells of a big board. Needs two such cells at least."""
    cells = [c for v in views for c in map(adapter_info, v.info.values()) if c]
    if len(cells) < 2:
        return {}
    return {k: x for k, x in cells[0].items() if all(k in c and c[k] == x for c in cells[1:])}


def side_info(info: dict, open_: bool = False, shared: dict | None = None) -> str:
    """Per-sample side information (Record.info): a judge's raw replies in full and any judge failure, open;
    the adapter's own side information (``Adapter.last_info``) but the ``shared`` keys: one line when short, else
    in a details block, open when ``open_``. Strings are escaped."""
    info = {k: v for k, v in (info or {}).items() if k not in BOOKKEEPING_INFO_KEYS}
    out = []
    for role, text in (info.get("judge_replies") or {}).items():
        out.append(
            f"<details open><summary>judge reply · {escape(str(role))}</summary>"
            f'<div class="text">{escape(str(text))}</div></details>'
        )
    if info.get("judge_failure"):
        out.append(f'<div class="bad">{escape(str(info["judge_failure"]))}</div>')
    rest = {k: info_text(v) for k, v in adapter_info(info).items() if k not in (shared or {})}
    if rest:
        items = "".join(f"<li>{escape(k)}: {escape(v)}</li>" for k, v in rest.items())
        if sum(len(k) + len(v) + 3 for k, v in rest.items()) <= INLINE_INFO_CHARS:
            out.append(f'<ul class="side-info inline">{items}</ul>')
        else:
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


PAGE_BYTES = 2_000_000  # HTML per gallery page (media apart): loads in a moment, well under any size check


def page_file(base: str, k: int) -> str:
    """The file name of page ``k`` (0-based) of the gallery ``base``: page 1 keeps the gallery's own name."""
    return f"{base}.html" if k == 0 else f"{base}-page{k + 1}.html"


@dataclass
class GalleryPage:
    name: str  # file name (page_file)
    html: str
    subsets: set[str]  # the subsets its samples belong to: a board cell's link opens the first page holding one


def split_pages(sizes: list[int], budget: int) -> list[range]:
    """Consecutive runs of rows, each at most ``budget`` bytes (a row larger than that is a page of its own)."""
    pages, start, used = [], 0, 0
    for i, size in enumerate(sizes):
        if i > start and used + size > budget:
            pages.append(range(start, i))
            start, used = i, 0
        used += size
    pages.append(range(start, len(sizes)))
    return pages


def _row(v: SampleView, models: GalleryModels, compact: bool, info_open: bool, shared: dict) -> str:
    cells = []
    for i in range(len(models.labels)):
        body = v.cells.get(i, "<span class=muted>no run of this model</span>")
        cells.append(  # the caption alone: the full label is in the model menus (29,000 cells on a big board)
            f'<div class="model-cell" data-model="{i}"><div class="cap">{escape(models.caption(i))}</div>{body}'
            f"{side_info(v.info.get(i), info_open, shared)}</div>"
        )
    tags = "".join(f'<span class="tag">{escape(t)}</span>' for t in [*v.subsets, *v.tags])
    return (
        f'<section class="sample" data-id="{escape(v.id)}" data-subsets="{escape(json.dumps(v.subsets))}">'
        f'<header><span class="id">{escape(v.id)}</span>{tags}</header>{v.inputs}'
        f'<div class="models{" compact" if compact else ""}">{"".join(cells)}</div></section>'
    )


def _scores(views: list[SampleView], n: int, metrics: list[str]) -> dict:
    """The page script's data: per sample, per model, the value of each metric (null: none) in ``metrics`` order."""

    def value(x):
        return int(x) if x is not None and x.is_integer() else x  # 100, not 100.0: a third of the data is scores

    return {
        "metrics": metrics,
        "scores": {
            v.id: [[value(v.scores[i].get(m)) for m in metrics] if i in v.scores else None for i in range(n)]
            for v in views
        },
    }


def _pager(pages: list[range], views: list[SampleView], names: list[str], k: int) -> str:
    links = []
    for j, rows in enumerate(pages):
        title = f"samples {rows.start + 1}–{rows.stop}: {views[rows.start].id} … {views[rows.stop - 1].id}"
        links.append(
            f'<b title="{escape(title)}">{j + 1}</b>'
            if j == k
            else f'<a class="page-link" href="{escape(names[j])}" title="{escape(title)}">{j + 1}</a>'
        )
    here = pages[k]
    return (
        f'<nav class="pages">page {k + 1} of {len(pages)} (samples {here.start + 1}–{here.stop} of {len(views)}, '
        f"in task order): {' '.join(links)}</nav>"
    )


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
    info_open: bool = False,
    base: str = "gallery",
    page_bytes: int = PAGE_BYTES,
) -> list[GalleryPage]:
    """A gallery's pages (``base``: the file name of the first, without ``.html``). ``metrics``: what the sort
    and verdict controls can use (primary first); ``info_open``: long side information shown open."""
    n = len(models.labels)
    ref = models.reference if models.reference is not None else 0
    other = next((i for i in range(n) if i != ref), ref)
    model_opts = [(str(i), label) for i, label in enumerate(models.labels)]
    metrics = list(dict.fromkeys([primary, *metrics]))
    controls = [
        _select("a", "model A", model_opts, str(ref)),
        _select("b", "model B", model_opts, str(other)),
        _select("metric", "metric", [(m, m) for m in metrics], primary),
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
    shared = shared_info(views)
    notes = list(notes)
    if shared:
        notes.append(
            "side information every model gave with every sample (not repeated in the cells): "
            + ", ".join(f"{k} {info_text(x)}" for k, x in shared.items())
        )
    rows = [_row(v, models, compact, info_open, shared) for v in views]
    pages = split_pages([len(r.encode()) for r in rows], page_bytes)
    if len(pages) > 1:
        notes.append(
            f"{len(views)} samples on {len(pages)} pages of at most {page_bytes / 1e6:g} MB; filters and order "
            "apply to the samples of the page shown"
        )
    names = [page_file(base, k) for k in range(len(pages))]
    note_items = "".join(f"<li>{escape(x)}</li>" for x in notes)
    head = (
        f"<p>{escape(description)}</p>"
        + (f'<ul class="notes">{note_items}</ul>' if notes else "")
        + f'<div class="controls">{"".join(controls)}<span id="shown" class="muted"></span></div>'
    )
    out = []
    for k, here in enumerate(pages):
        pager = _pager(pages, views, names, k) if len(pages) > 1 else ""
        data = json_script("gallery-data", _scores([views[i] for i in here], n, metrics))
        body = f'{head}{pager}<div id="samples">{"".join(rows[i] for i in here)}</div>{pager}{data}'
        subsets = {s for i in here for s in views[i].subsets}
        out.append(GalleryPage(names[k], page(title if k == 0 else f"{title} (page {k + 1})", body, nav), subsets))
    return out
