"""Reasoning gallery: the image(s), the prompt the model saw, gold answer (once per sample); per model the verdict,
the answer extracted from the response (HoneyBee's rules, harness.metrics.reasoning), the scores and the full
response."""

from __future__ import annotations

from html import escape

from harness.metrics import reasoning
from harness.report.gallery import SampleView, model_cells, run_records, scores_text
from harness.report.media import Media

SHOW = "ab"  # full responses are long: two models side by side
VERDICT_METRIC = "accuracy"


def views(task, runs: list[dict | None], store, media: Media, metrics: list[str], prefix: str):
    records = [run_records(store, run) for run in runs]
    out = []
    for s in task.samples:
        if not any(s.id in r for r in records):
            continue
        imgs = "".join(
            f'<figure class="tile input"><img loading="lazy" src="{escape(prefix + media.image(im))}" '
            f'alt="image {k + 1}"><div class="cap">image {k + 1}</div></figure>'
            for k, im in enumerate(s.images)
        )
        prompt = task.prompt(s)["text"]
        inputs = (
            f'<div class="tiles">{imgs}<div style="flex:1 1 30em"><div class="text">{escape(prompt)}</div>'
            f"<div>gold: <b>{escape(s.answer)}</b></div></div></div>"
        )
        view = SampleView(s.id, task.subsets(s), inputs)
        for i, rec, scores in model_cells(view, records, s.id):
            completions = task.decode(rec.output)
            first = completions[0] if completions else ""
            extracted = reasoning.extract_answer(first)
            right = scores.get("accuracy", 0) > 0
            verdict = '<span class="ok">correct</span>' if right else '<span class="bad">wrong</span>'
            shown = "no answer extracted" if extracted is None else f"extracted: {extracted}"
            more = "".join(
                f'<details><summary>completion {k + 2}</summary><div class="text">{escape(c)}</div></details>'
                for k, c in enumerate(completions[1:])
            )
            others = [m for m in metrics if m != VERDICT_METRIC and m in scores]  # the verdict says the accuracy
            more_scores = f' · <span class="scores">{scores_text(scores, others)}</span>' if others else ""
            view.cells[i] = (
                f'<div>{verdict} · {escape(shown)}{more_scores}</div><div class="text">{escape(first)}</div>{more}'
            )
            view.info[i] = rec.info
        out.append(view)
    return out
