"""Editing gallery: source (and a multi-reference sample's further images), instruction(s), target and the edit
mask over the source (when the benchmark has them), then every model's output with its scores, its side
information (what the adapter returned with the image, e.g. a generated rewrite) and a judge's raw replies when the
run was judged, side by side."""

from __future__ import annotations

from html import escape

from harness.report.gallery import SampleView, model_cells, run_records, scores_text
from harness.report.media import Media, mask_overlay

SHOW = "all"  # every model's output next to each other: editing is judged by eye
VERDICT_METRIC = None
COMPACT = True  # a model's cell is one tile wide
INFO_OPEN = True  # side information (e.g. the prompt rewrite the edit was conditioned on) open under the output


def tile(url: str, caption: str, detail: str = "", cls: str = "") -> str:
    """An image tile; ``caption`` is plain text, ``detail`` markup already escaped."""
    return (
        f'<figure class="tile {cls}"><img loading="lazy" src="{escape(url)}" alt="{escape(caption)}">'
        f'<div class="cap">{escape(caption)}</div><div class="scores">{detail}</div></figure>'
    )


def views(task, runs: list[dict | None], store, media: Media, metrics: list[str], prefix: str):
    """runs: one run (or None) per gallery model; prefix: the page's path back to the site root."""
    records = [run_records(store, run) for run in runs]
    out = []
    for s in task.samples:
        if not any(s.id in r for r in records):
            continue
        tiles = [tile(prefix + media.image(s.source), "source" if not s.references else "image 1", cls="input")]
        tiles += [tile(prefix + media.image(ref), f"image {j}", cls="input") for j, ref in enumerate(s.references, 2)]
        if s.target is not None:
            tiles.append(tile(prefix + media.image(s.target), "target", cls="input"))
        if s.mask is not None and s.mask.shape == s.source.shape[:2]:
            tiles.append(tile(prefix + media.image(mask_overlay(s.source, s.mask)), "edit mask", cls="input"))
        turns = "".join(f"<li>{escape(t)}</li>" for t in s.instructions)
        text = (
            f'<ol class="text">{turns}</ol>'
            if len(s.instructions) > 1
            else f'<div class="text">{escape(s.instruction)}</div>'
        )
        inputs = f'<div class="tiles">{"".join(tiles)}<div style="flex:1 1 20em">{text}</div></div>'
        view = SampleView(s.id, task.subsets(s), inputs)
        for i, rec, scores in model_cells(view, records, s.id):
            view.cells[i] = tile(prefix + media.image(task.decode(rec.output)), "output", scores_text(scores, metrics))
            view.info[i] = rec.info
        out.append(view)
    return out
