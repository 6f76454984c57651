"""Compare two runs of one task sample by sample: per-metric difference B - A with a bootstrap CI and a paired
permutation p-value, then the same per subset. Runs on different task versions (content hash) are refused,
naming what differs: their samples are not the same samples.

Training seeds (harness/seeds.py): a side named by a label whose runs differ only in their training seed pools the
newest run of each seed; the difference then has a two-level CI and p-value (seeds, then samples).

``across_tasks`` compares runs of two tasks that hold the same samples (Task.samples_hash), e.g. one model on
retrieval/i2i-noaudio vs retrieval/i2i: the audio effect as one paired comparison. A run is named by its id
(prefix) or as ``LABEL@TASK``, the newest full run of a leaderboard row label on a task."""

from __future__ import annotations

import json

import numpy as np

from harness.errors import HarnessError
from harness.leaderboard import row_label
from harness.metrics.stats import paired_test, two_level_ci, two_level_paired_test
from harness.rounding import bracket, p_text, rounded
from harness.seeds import group_label, newest_per_seed, score_matrix, training_seed


def _one(store, prefix: str) -> dict:
    if "@" in prefix:  # LABEL@TASK
        label, task = prefix.rsplit("@", 1)
        return _newest(store, task, label)
    runs = [r for r in store.find_run(prefix) if r["status"] == "finished"]
    if len(runs) != 1:
        raise HarnessError(
            f"run {prefix!r}: "
            + ("no finished run with that id" if not runs else f"ambiguous ({len(runs)} runs match)")
        )
    return runs[0]


def check_comparable(run_a: dict, run_b: dict, across_tasks: bool = False) -> None:
    if run_a["task"] != run_b["task"]:
        names = f"runs {run_a['run_id']} and {run_b['run_id']}"
        if not across_tasks:
            raise HarnessError(
                f"{names} are on different tasks ({run_a['task']} vs {run_b['task']}); "
                "--across-tasks compares tasks that hold the same samples"
            )
        if not run_a.get("samples_hash") or run_a["samples_hash"] != run_b.get("samples_hash"):
            raise HarnessError(
                f"{names}: tasks {run_a['task']} and {run_b['task']} do not hold the same samples "
                f"(samples hash {run_a.get('samples_hash')} vs {run_b.get('samples_hash')})"
            )
        return
    if run_a["task_hash"] != run_b["task_hash"]:
        raise HarnessError(
            f"runs {run_a['run_id']} and {run_b['run_id']} are on different versions of task "
            f"{run_a['task']} (content hash {run_a['task_hash']} vs {run_b['task_hash']})"
        )


def pair_by_run_ids(store, a: str, b: str, across_tasks: bool = False) -> tuple[dict, dict]:
    run_a, run_b = _one(store, a), _one(store, b)
    check_comparable(run_a, run_b, across_tasks)
    return run_a, run_b


def _newest(store, task: str, label: str) -> dict:
    runs = [
        r
        for r in store.runs("task=? AND status='finished' AND sample_limit IS NULL", (task,))
        if row_label(r["model"], r["model_args"]) == label
    ]
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
    rows = [(metric, *_paired_row(scores_a, scores_b, common, metric, seed)) for metric in metrics]
    task = run_a["task"] if run_a["task"] == run_b["task"] else f"{run_a['task']} (A) vs {run_b['task']} (B)"
    head = (
        f"{task}: A = {row_label(run_a['model'], run_a['model_args'])} (run {run_a['run_id']}), "
        f"B = {row_label(run_b['model'], run_b['model_args'])} (run {run_b['run_id']}), "
        f"{len(common)} paired samples, seed {json.loads(run_a['spec'])['seed']} vs "
        f"{json.loads(run_b['spec'])['seed']}"
    )
    table = tabulate(rows, headers=["metric", "A", "B", "B - A", "95% CI", "p", "N"], disable_numparse=True)
    return f"{head}\n{table}\n{_subsets(store, run_a, run_b, scores_a, scores_b, subset_metrics, seed)}"


def _paired_row(scores_a: dict, scores_b: dict, ids: list[str], metric: str, seed: int) -> tuple:
    """(A, B, B - A, CI, p, N) over the samples of ``ids`` that both runs scored on ``metric``."""
    ids = [s for s in ids if _value(scores_a[s], metric) is not None and _value(scores_b[s], metric) is not None]
    test = paired_test([scores_a[s][metric] for s in ids], [scores_b[s][metric] for s in ids], seed)
    mean_a = sum(scores_a[s][metric] for s in ids) / max(len(ids), 1)
    return _numbers(test, (mean_a, mean_a + test.diff))


def _numbers(test, means: tuple[float, ...]) -> tuple:
    """Means, B - A, its CI, p and N as text, every number rounded like a board cell: to the precision the CI
    of B - A supports (harness.rounding)."""
    half = (test.ci_high - test.ci_low) / 2
    return (
        *(rounded(m, half) for m in means),
        rounded(test.diff, half, sign=True),
        bracket(test.ci_low, test.ci_high, half, sign=True),
        p_text(test.p_value),
        test.n,
    )


def _subsets(
    store, run_a: dict, run_b: dict, scores_a: dict, scores_b: dict, metrics: list[str] | None, seed: int
) -> str:
    """Per subset: a paired comparison when both runs recorded subset membership; else (runs stored before it
    was) the two stored means only."""
    from tabulate import tabulate

    members_a, members_b = store.run_subsets(run_a), store.run_subsets(run_b)
    if members_a is not None and members_b is not None:
        keys = sorted(set(members_a) & set(members_b))
        names = metrics or sorted({m for s in scores_a.values() for m in s})
        rows = []
        for subset in keys:
            in_b = set(members_b[subset])
            ids = [s for s in members_a[subset] if s in in_b and s in scores_a and s in scores_b]
            rows += [(subset, m, *_paired_row(scores_a, scores_b, ids, m, seed)) for m in names]
        if not rows:
            return ""
        return (
            tabulate(rows, headers=["subset", "metric", "A", "B", "B - A", "95% CI", "p", "N"], disable_numparse=True)
            + "\n"
        )
    agg_a = {(x["subset"], x["metric"]): x for x in store.aggregates(run_a["run_id"]) if x["subset"]}
    agg_b = {(x["subset"], x["metric"]): x for x in store.aggregates(run_b["run_id"]) if x["subset"]}
    keys = sorted(
        k
        for k in agg_a
        if k in agg_b
        and agg_a[k]["value"] is not None
        and agg_b[k]["value"] is not None
        and (metrics is None or k[1] in metrics)
    )
    if not keys:
        return ""
    rows = [
        (
            s,
            m,
            rounded(agg_a[(s, m)]["value"], float("nan")),  # no per-sample scores, no CI: at most 3 decimals
            rounded(agg_b[(s, m)]["value"], float("nan")),
            rounded(agg_b[(s, m)]["value"] - agg_a[(s, m)]["value"], float("nan"), sign=True),
        )
        for s, m in keys
    ]
    return tabulate(rows, headers=["subset", "metric", "A", "B", "B - A"], disable_numparse=True) + "\n"


def seed_group(store, task: str, label: str) -> list[dict]:
    """The runs of leaderboard label ``label`` on ``task``: the newest full run of each training seed when the
    label names a seed group (runs on the task's newest version only), else the newest run with that exact label."""
    runs = store.runs("task=? AND status='finished' AND sample_limit IS NULL", (task,))
    current = runs[-1]["task_hash"] if runs else None
    group = [r for r in runs if r["task_hash"] == current and training_seed(r) and group_label(r) == label]
    return newest_per_seed(group) if group else [_newest(store, task, label)]


def _side(store, name: str) -> list[dict]:
    if "@" in name:
        label, task = name.rsplit("@", 1)
        return seed_group(store, task, label)
    return [_one(store, name)]


def group_pair(store, a: str, b: str, across_tasks: bool = False) -> tuple[list[dict], list[dict]]:
    """Two sides named by run id or LABEL@TASK; a label of a seed group gives all its seeds."""
    runs_a, runs_b = _side(store, a), _side(store, b)
    check_comparable(runs_a[0], runs_b[0], across_tasks)
    return runs_a, runs_b


def group_pairs_by_model(store, a: str, b: str, tasks: list[str]) -> list[tuple[list[dict], list[dict]]]:
    pairs = []
    for task in tasks:
        runs_a, runs_b = seed_group(store, task, a), seed_group(store, task, b)
        check_comparable(runs_a[0], runs_b[0])
        pairs.append((runs_a, runs_b))
    return pairs


def report_any(
    store, runs_a: list[dict], runs_b: list[dict], seed: int = 0, subset_metrics: list[str] | None = None
) -> str:
    """``report`` for one run per side, ``report_seeds`` when a side pools training seeds."""
    if len(runs_a) == 1 and len(runs_b) == 1:
        return report(store, runs_a[0], runs_b[0], seed, subset_metrics)
    return report_seeds(store, runs_a, runs_b, seed, subset_metrics)


def _seed_values(runs: list[dict]) -> str:
    seeds = [training_seed(r) for r in runs]
    return ",".join(str(s[1]) if s else "?" for s in seeds)


def report_seeds(
    store, runs_a: list[dict], runs_b: list[dict], seed: int = 0, subset_metrics: list[str] | None = None
) -> str:
    """Per metric (then per subset for ``subset_metrics``): each side's mean over its training seeds with the seed
    sd, B - A with the two-level CI and p-value, N = samples every run of both sides scored."""
    from tabulate import tabulate

    maps_a, maps_b = [store.run_scores(r) for r in runs_a], [store.run_scores(r) for r in runs_b]
    metrics = sorted(set.intersection(*({m for s in mp.values() for m in s} for mp in maps_a + maps_b)))
    head = (
        f"{runs_a[0]['task']}: A = {group_label(runs_a[0])} ({len(runs_a)} seed(s): {_seed_values(runs_a)}), "
        f"B = {group_label(runs_b[0])} ({len(runs_b)} seed(s): {_seed_values(runs_b)}); two-level bootstrap "
        f"(seeds, then samples), seed {seed}"
    )
    rows = [(m, *_seed_row(maps_a, maps_b, m, seed, None)) for m in metrics]
    headers = ["A", "A seed sd", "B", "B seed sd", "B - A", "95% CI", "p", "N"]
    text = f"{head}\n{tabulate(rows, headers=['metric', *headers], disable_numparse=True)}\n"
    members = [store.run_subsets(r) for r in runs_a + runs_b]
    if None in members:
        return text
    keys = sorted(set.intersection(*(set(m) for m in members)))
    rows = [
        (k, m, *_seed_row(maps_a, maps_b, m, seed, sorted(set.intersection(*(set(x[k]) for x in members)))))
        for k in keys
        for m in (subset_metrics or metrics)
    ]
    if rows:
        text += tabulate(rows, headers=["subset", "metric", *headers], disable_numparse=True) + "\n"
    return text


def _seed_row(maps_a: list[dict], maps_b: list[dict], metric: str, seed: int, ids: list[str] | None) -> tuple:
    both, _ = score_matrix(maps_a + maps_b, metric, ids)
    a, b = both[: len(maps_a)], both[len(maps_a) :]
    test = two_level_paired_test(a, b, seed)
    keep = ~np.isnan(both).any(axis=0)  # the samples the test used
    agg_a, agg_b = two_level_ci(a[:, keep], seed), two_level_ci(b[:, keep], seed)
    return _numbers(test, (agg_a.mean, agg_a.seed_sd, agg_b.mean, agg_b.seed_sd))
