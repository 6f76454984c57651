"""Compare two runs of one task sample by sample: per-metric difference B - A with a bootstrap CI and a paired
permutation p-value, then the same per subset. Runs on different task versions (content hash) are refused,
naming what differs: their samples are not the same samples."""

from __future__ import annotations

import json

from harness.errors import HarnessError
from harness.leaderboard import row_label
from harness.metrics.stats import paired_test


def _one(store, prefix: str) -> dict:
    runs = [r for r in store.find_run(prefix) if r["status"] == "finished"]
    if len(runs) != 1:
        raise HarnessError(f"run {prefix!r}: " + ("no finished run with that id" if not runs
                                                 else f"ambiguous ({len(runs)} runs match)"))
    return runs[0]


def check_comparable(run_a: dict, run_b: dict) -> None:
    if run_a["task"] != run_b["task"]:
        raise HarnessError(f"runs {run_a['run_id']} and {run_b['run_id']} are on different tasks "
                           f"({run_a['task']} vs {run_b['task']})")
    if run_a["task_hash"] != run_b["task_hash"]:
        raise HarnessError(f"runs {run_a['run_id']} and {run_b['run_id']} are on different versions of task "
                           f"{run_a['task']} (content hash {run_a['task_hash']} vs {run_b['task_hash']})")


def pair_by_run_ids(store, a: str, b: str) -> tuple[dict, dict]:
    run_a, run_b = _one(store, a), _one(store, b)
    check_comparable(run_a, run_b)
    return run_a, run_b


def _newest(store, task: str, label: str) -> dict:
    runs = [r for r in store.runs("task=? AND status='finished' AND sample_limit IS NULL", (task,))
            if row_label(r["model"], r["model_args"]) == label]
    if not runs:
        raise HarnessError(f"no finished full run of {label!r} on task {task!r}")
    return runs[-1]


def pairs_by_model(store, a: str, b: str, tasks: list[str]) -> list[tuple[dict, dict]]:
    """Model labels as on leaderboards ("model" or "model [k=v]") -> the newest full run of each, per task."""
    pairs = []
    for task in tasks:
        run_a, run_b = _newest(store, task, a), _newest(store, task, b)
        check_comparable(run_a, run_b)
        pairs.append((run_a, run_b))
    return pairs


def _value(scores: dict, metric: str) -> float | None:
    """A per-sample score, or None where the sample has none (absent, or NaN: e.g. no keep region)."""
    v = scores.get(metric)
    return None if v is None or v != v else v


def report(store, run_a: dict, run_b: dict, seed: int = 0, subset_metrics: list[str] | None = None) -> str:
    """A table per metric, then per subset for ``subset_metrics`` (default: every metric)."""
    from tabulate import tabulate

    scores_a, scores_b = store.run_scores(run_a), store.run_scores(run_b)
    common = [sid for sid in scores_a if sid in scores_b]
    metrics = sorted({m for sid in common for m in scores_a[sid]} & {m for sid in common for m in scores_b[sid]})
    rows = []
    for metric in metrics:
        ids = [s for s in common if _value(scores_a[s], metric) is not None and _value(scores_b[s], metric) is not None]
        test = paired_test([scores_a[s][metric] for s in ids], [scores_b[s][metric] for s in ids], seed)
        mean_a = sum(scores_a[s][metric] for s in ids) / max(len(ids), 1)
        rows.append((metric, f"{mean_a:.4f}", f"{mean_a + test.diff:.4f}", f"{test.diff:+.4f}",
                     f"[{test.ci_low:+.4f}, {test.ci_high:+.4f}]", f"{test.p_value:.4f}", test.n))
    primary = json.loads(run_a["spec"])
    head = (f"{run_a['task']}: A = {row_label(run_a['model'], run_a['model_args'])} (run {run_a['run_id']}), "
            f"B = {row_label(run_b['model'], run_b['model_args'])} (run {run_b['run_id']}), "
            f"{len(common)} paired samples, seed {primary['seed']} vs {json.loads(run_b['spec'])['seed']}")
    table = tabulate(rows, headers=["metric", "A", "B", "B - A", "95% CI", "p", "N"], disable_numparse=True)
    return f"{head}\n{table}\n{_subsets(store, run_a, run_b, subset_metrics)}"


def _subsets(store, run_a: dict, run_b: dict, metrics: list[str] | None) -> str:
    """Per-subset means of both runs (from stored aggregates), for every metric both have."""
    from tabulate import tabulate

    agg_a = {(x["subset"], x["metric"]): x for x in store.aggregates(run_a["run_id"]) if x["subset"]}
    agg_b = {(x["subset"], x["metric"]): x for x in store.aggregates(run_b["run_id"]) if x["subset"]}
    keys = sorted(k for k in agg_a if k in agg_b and agg_a[k]["value"] is not None and agg_b[k]["value"] is not None
                  and (metrics is None or k[1] in metrics))
    if not keys:
        return ""
    rows = [(s, m, f"{agg_a[(s, m)]['value']:.4f}", f"{agg_b[(s, m)]['value']:.4f}",
             f"{agg_b[(s, m)]['value'] - agg_a[(s, m)]['value']:+.4f}") for s, m in keys]
    return tabulate(rows, headers=["subset", "metric", "A", "B", "B - A"]) + "\n"
