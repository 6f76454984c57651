"""Retrieval gallery: each query (image, text, a player for its speech) and, per model, the top 10 retrieved
items with thumbnails (relevant ones framed green, with their grade), and the rank of the first relevant item.

Rankings are recomputed from the stored embeddings by ``RetrievalTask.rank`` (harness/kinds/retrieval.py), the
same call ``score_all`` scores, so the gallery shows exactly the ranking behind each query's metrics."""

from __future__ import annotations

from html import escape

import numpy as np

from harness.report.gallery import SampleView, model_cells, run_records, scores_text
from harness.report.media import Media

SHOW = "ab"  # ten thumbnails per model: two models at a time
VERDICT_METRIC = None
TOP = 10


def rankings(task, embeddings: dict[str, np.ndarray], depth: int) -> dict[str, list[str]]:
    """{query unit id: its top ``depth`` gallery ids}, ranked by ``task.rank`` (what ``score_all`` scores)."""
    units = [u for u in task.units() if u.id in embeddings]
    if not units:
        return {}
    queries, gallery, index, _ = task.rank(units, embeddings, depth)
    return {q.id: [gallery[k].gallery_id for k in row if k >= 0] for q, row in zip(queries, index)}


def picture(sample):
    """What a thumbnail shows: the item's image, else the middle frame of its video, else None."""
    if sample.image is not None:
        return sample.image
    frames = getattr(sample, "frames", None)
    return frames[len(frames) // 2] if frames else None


def _media_block(sample, media: Media, prefix: str, caption: str, audio_used: bool) -> str:
    parts = []
    if picture(sample) is not None:
        if getattr(sample, "frames", None) and sample.image is None:
            caption += " (video, middle frame)"
        url = prefix + media.image(picture(sample))
        parts.append(
            f'<figure class="tile input"><img loading="lazy" src="{escape(url)}" alt="{escape(caption)}">'
            f'<div class="cap">{escape(caption)}</div></figure>'
        )
    text = []
    if sample.text:
        text.append(f'<div class="text">{escape(sample.text)}</div>')
    if sample.audio is not None and sample.sample_rate:
        url = prefix + media.audio(sample.audio, sample.sample_rate)
        note = "" if audio_used else ' <span class="muted">(this task switches audio off)</span>'
        text.append(f'<div>speech{note}<br><audio controls preload="none" src="{escape(url)}"></audio></div>')
    if text:
        parts.append(f'<div style="flex:1 1 20em">{"".join(text)}</div>')
    return f'<div class="tiles">{"".join(parts)}</div>'


def views(task, runs: list[dict | None], store, media: Media, metrics: list[str], prefix: str):
    items = {it.id: it for it in task.data.items}
    records = [run_records(store, run) for run in runs]
    ranked = []
    for recs in records:
        emb = {sid: task.decode(r.output) for sid, r in recs.items() if r.output is not None and r.error is None}
        ranked.append(rankings(task, emb, TOP) if emb else {})
    audio_used = "audio" in task.spec.options.modalities
    thumbs: dict[str, str] = {}

    def item_tile(doc: str, grade: int | None, rank: int) -> str:
        it = items[doc]
        if doc not in thumbs:
            thumbs[doc] = "" if picture(it) is None else prefix + media.image(picture(it))
        img = f'<img loading="lazy" src="{escape(thumbs[doc])}" alt="{escape(doc)}">' if thumbs[doc] else ""
        # only relevant items say so (and have a green frame): unjudged counts as non-relevant (trec_eval)
        rel = f'<div class="scores">relevance {grade}</div>' if grade else ""
        text = f'<div class="muted">{escape(it.text[:60])}</div>' if it.text else ""
        return (
            f'<figure class="tile{" relevant" if grade else ""}">{img}<div class="cap">#{rank} {escape(doc)}</div>'
            f"{rel}{text}</figure>"
        )

    out = []
    for unit in task.units():
        if unit.relevant is None or not any(unit.id in r for r in records):
            continue
        relevant = unit.relevant
        inputs = _media_block(unit.sample, media, prefix, "query", audio_used)
        n_rel = sum(1 for g in relevant.values() if g > 0)
        view = SampleView(unit.id, task.subsets(unit), inputs, tags=[f"{n_rel} relevant"])
        for i, _rec, scores in model_cells(view, records, unit.id, needs_output=False):
            top = ranked[i].get(unit.id, [])
            first = next((k + 1 for k, d in enumerate(top) if relevant.get(d, 0) > 0), None)
            first_text = f"first relevant at rank {first}" if first else f"no relevant item in the top {TOP}"
            tiles = "".join(item_tile(d, relevant.get(d), k + 1) for k, d in enumerate(top))
            view.cells[i] = (
                f'<div class="scores">{escape(first_text)} · {scores_text(scores, metrics)}</div>'
                f'<div class="tiles">{tiles}</div>'
            )
        out.append(view)
    return out
