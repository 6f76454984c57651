"""Training seeds as an axis: runs that differ only in a training seed are one system trained several times.

An adapter marks the field of its ``Args`` that is the training seed (``harness.adapters.TRAINING_SEED``); the
runner records ``{"arg": name, "value": v}`` under ``"training_seed"`` in each run's provenance. Here runs are
pooled by their *group label* (the row label without the seed argument): a leaderboard cell or a ``harness
compare`` side becomes a (seeds x samples) score matrix, aggregated by ``two_level_ci`` and tested by
``two_level_paired_test`` (harness/metrics/stats.py), so training noise is part of every interval and mark.

Only the store is read: no adapter is imported, so boards over trained models stay fast.
"""

from __future__ import annotations

import json
import math

import numpy as np

from harness.metrics.stats import two_level_ci


def training_seed(run: dict) -> tuple[str, object] | None:
    """(argument name, value) of a run's training seed, from its provenance; None for runs without one."""
    found = json.loads(run["provenance"] or "{}").get("training_seed")
    return (found["arg"], found["value"]) if found else None


def group_label(run: dict) -> str:
    """The leaderboard row label of ``run`` with its training-seed argument left out: every seed of a system
    shares it (a seed given at its default, hence absent from model_args, too)."""
    from harness.leaderboard import row_label

    seed = training_seed(run)
    args = run["model_args"]
    if seed is not None:
        args = ",".join(p for p in args.split(",") if p and p.partition("=")[0].strip() != seed[0])
    return row_label(run["model"], args) + judge_suffix(run)


JUDGE_MARK = " · judge "


def judge_suffix(run: dict) -> str:
    """`` · judge NAME:MODEL`` for a judged run (another judge's scores are another row), else ''."""
    import json

    spec = json.loads(run["spec"]) if run.get("spec") else {}
    if not spec.get("judge"):
        return ""
    jargs = dict(spec.get("judge_args") or [])
    who = jargs.get("model") or jargs.get("pretrained") or ""
    official = " (official failure policy)" if spec.get("judge_failure_policy") == "official" else ""
    return f"{JUDGE_MARK}{spec['judge']}{':' + who if who else ''}{official}"


def newest_per_seed(runs: list[dict]) -> list[dict]:
    """One run per training seed value (the newest: ``runs`` are in start order), ordered by seed value; a run
    without a training seed stands for itself."""
    by_seed: dict[object, dict] = {}
    if any(training_seed(r) for r in runs):  # runs stored before the adapter declared its seed do not pool
        runs = [r for r in runs if training_seed(r)]
    for run in runs:
        seed = training_seed(run)
        by_seed[seed[1] if seed else None] = run
    order = sorted(by_seed, key=lambda v: (v is None, v if isinstance(v, (int, float)) else 0, str(v)))
    return [by_seed[k] for k in order]


def score_matrix(
    score_maps: list[dict], metric: str, sample_ids: list[str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """(seeds x samples) matrix of ``metric`` from per-run ``{sample_id: {metric: score}}`` maps, over the samples
    every run scored (restricted to ``sample_ids`` when given), in a stable order."""
    common = set.intersection(*(set(s) for s in score_maps)) if score_maps else set()
    ids = [s for s in (sample_ids if sample_ids is not None else sorted(common)) if s in common]
    rows = [[_score(scores[s], metric) for s in ids] for scores in score_maps]
    return np.array(rows, dtype=np.float64).reshape(len(score_maps), len(ids)), ids


def _score(scores: dict, metric: str) -> float:
    v = scores.get(metric)
    return math.nan if v is None else float(v)


def seed_cell(
    runs: list[dict], score_maps: list[dict], metric: str, seed: int, sample_ids: list[str] | None = None
) -> dict | None:
    """A leaderboard cell over several training seeds: value (mean over seeds), 95% two-level CI, n (samples all
    seeds scored) and ``seeds``: the spread, {"arg", "values", "means", "sd"}, for a renderer to show."""
    matrix, _ = score_matrix(score_maps, metric, sample_ids)
    agg = two_level_ci(matrix, seed)
    if agg.n == 0:
        return None
    arg = next((s[0] for s in map(training_seed, runs) if s), None)
    return {
        "value": agg.mean,
        "ci_low": agg.ci_low,
        "ci_high": agg.ci_high,
        "n": agg.n,
        "metric": metric,
        "run_ids": [r["run_id"] for r in runs],
        "p": None,
        "mark": "",
        "seeds": {
            "arg": arg,
            "values": [s[1] if (s := training_seed(r)) else None for r in runs],
            "means": list(agg.seed_means),
            "sd": agg.seed_sd,
        },
    }
