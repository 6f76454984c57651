"""``harness judge-agree``: agreement of two judges on the same edits."""

from __future__ import annotations

from pathlib import Path

import typer

from harness.commands.common import IncludeOpt, OutputOpt, find_tasks, open_results_store
from harness.errors import HarnessError


def judge_agree(
    a: str = typer.Argument(..., help="Judged run id (or prefix)."),
    b: str = typer.Argument(..., help="Another judged run of the same edits (another judge, or a re-run)."),
    metric: str | None = typer.Option(
        None, "--metric", help="Per-sample judge metric (default: the task's primary metric without _macro)."
    ),
    output: Path = OutputOpt,
    include: list[Path] = IncludeOpt,
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap CIs."),
) -> None:
    """Agreement of two judges on the same edits, per task type: Spearman, Kendall tau-b, mean |A - B|, 95% CIs."""
    from harness.judges import agree

    store = open_results_store(output)
    runs = []
    for ref in (a, b):
        found = store.find_run(ref)
        if len(found) != 1:
            raise HarnessError(
                f"run {ref!r}: "
                + ("not found in " + str(store.path) if not found else f"ambiguous ({len(found)} runs match)")
            )
        runs.append(found[0])
    if metric is None:
        entry = find_tasks(include).get(runs[0]["task"])
        if entry is None:
            raise HarnessError(
                f"task {runs[0]['task']!r} of run {runs[0]['run_id']} is not defined here: pass --metric"
            )
        metric = entry.spec.primary_metric.removesuffix("_macro")
    print(agree.table(agree.agreement(store, runs[0], runs[1], metric, seed), metric))
