"""Regression gate: compare a model's current per-sample scores with a stored baseline file.

A metric regresses when it got worse by more than its tolerance AND the paired one-sided sign-flip permutation
test on per-sample differences says the drop is significant (p < alpha). Measured with
tests/test_regress.py::test_gate_false_alarm_rate_and_power: see README "Regression gate".

Baseline file (JSON): what was run (model, args, seed, limit, tasks) and, per task, its content hash and per
metric the value, tolerance, direction and per-sample scores (what the paired test needs).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from harness.errors import HarnessError
from harness.metrics import METRICS
from harness.metrics.stats import bootstrap_ci, sign_flip_p
from harness.rounding import bracket, p_text, rounded

FORMAT_VERSION = 1
DEFAULT_ALPHA = 0.01


@dataclass(frozen=True)
class Line:
    task: str
    metric: str
    baseline: float
    current: float
    delta: float  # current - baseline, in the metric's own direction (negative = worse)
    p_value: float
    tolerance: float
    n: int
    status: str  # ok | improved | REGRESSED
    ci_low: float = float("nan")  # 95% bootstrap CI of delta (what the printed numbers are rounded to)
    ci_high: float = float("nan")


def _clean(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def baseline_document(
    model: str,
    model_args: str,
    seed: int,
    limit: int | None,
    runs: list[tuple[dict, dict]],
    tolerances: dict[str, float],
    alpha: float,
) -> dict:
    """runs: [(run row from the store, {sample id: scores})] -> the JSON document of a baseline file."""
    tasks = {}
    for run, scores in runs:
        spec = json.loads(run["spec"])
        kind_metrics = METRICS[run["kind"]]
        metrics = {}
        for metric in sorted({m for row in scores.values() for m in row}):
            values = {sid: _clean(row.get(metric)) for sid, row in scores.items()}
            values = {sid: v for sid, v in values.items() if v is not None}
            if not values:
                continue
            metrics[metric] = {
                "value": sum(values.values()) / len(values),
                "tolerance": tolerances.get(metric, 0.0),
                "higher_is_better": kind_metrics[metric].higher_is_better if metric in kind_metrics else True,
                "scores": values,
            }
        tasks[spec["task"]] = {"task_hash": run["task_hash"], "n_failed": run["n_failed"], "metrics": metrics}
    return {
        "format": FORMAT_VERSION,
        "model": model,
        "model_args": model_args,
        "seed": seed,
        "limit": limit,
        "alpha": alpha,
        "tasks": tasks,
    }


def decide(old, new, tolerance: float, alpha: float, seed: int = 0) -> tuple[str, float, float]:
    """The gate's rule for one metric. old, new: aligned per-sample scores, oriented so higher is better.
    -> (status, mean(new - old), one-sided p-value that new is worse)."""
    old, new = np.asarray(old, dtype=np.float64), np.asarray(new, dtype=np.float64)
    if old.size == 0:
        return "ok", float("nan"), float("nan")
    d = new - old
    delta = float(d.mean())
    p_worse = sign_flip_p(d, seed, alternative="less")
    if -delta > tolerance and p_worse < alpha:
        return "REGRESSED", delta, p_worse
    if delta > tolerance and sign_flip_p(d, seed, alternative="greater") < alpha:
        return "improved", delta, p_worse
    return "ok", delta, p_worse


class _MetricBaseline(BaseModel):
    value: float
    tolerance: float = Field(ge=0)
    higher_is_better: bool
    scores: dict[str, float]


class _TaskBaseline(BaseModel):
    task_hash: str
    n_failed: int = Field(0, ge=0)
    metrics: dict[str, _MetricBaseline]


class _Baseline(BaseModel):
    """The baseline file's schema, validated before any evaluation (a partial file must not fail after the gate
    ran the whole evaluation)."""

    format: int
    model: str = Field(min_length=1)
    model_args: str = ""
    seed: int = 0
    limit: int | None = Field(None, ge=1)
    alpha: float = Field(DEFAULT_ALPHA, gt=0, lt=1)
    tasks: dict[str, _TaskBaseline] = Field(min_length=1)


def read_baseline(path: Path) -> dict:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except IsADirectoryError:
        raise HarnessError(f"--baseline {path}: is a directory, not a baseline file") from None
    except OSError as e:
        raise HarnessError(f"--baseline {path}: cannot read ({e.strerror}); create it with --update") from None
    except UnicodeDecodeError as e:
        raise HarnessError(f"--baseline {path}: not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise HarnessError(f"--baseline {path}: not JSON (line {e.lineno}: {e.msg})") from None
    if not isinstance(doc, dict):
        raise HarnessError(f"--baseline {path}: expected a JSON object, got {type(doc).__name__}")
    for field in ("format", "model", "tasks"):
        if field not in doc:
            raise HarnessError(f"--baseline {path}: missing field {field!r}")
    if doc["format"] != FORMAT_VERSION:
        raise HarnessError(f"--baseline {path}: format {doc['format']} is not {FORMAT_VERSION}")
    try:
        _Baseline.model_validate(doc)
    except ValidationError as e:
        err = e.errors()[0]
        raise HarnessError(f"--baseline {path}: field {'.'.join(map(str, err['loc']))!r}: {err['msg']}") from None
    return doc


def compare(baseline: dict, runs: list[tuple[dict, dict]], alpha: float | None = None, seed: int = 0) -> list[Line]:
    """Gate every baseline metric of every task against the current runs; refuses a changed task version."""
    alpha = baseline.get("alpha", DEFAULT_ALPHA) if alpha is None else alpha
    current = {json.loads(run["spec"])["task"]: (run, scores) for run, scores in runs}
    lines = []
    for task, base in baseline["tasks"].items():
        if task not in current:
            raise HarnessError(f"baseline task {task!r} was not evaluated")
        run, scores = current[task]
        if run["task_hash"] != base["task_hash"]:
            raise HarnessError(
                f"task {task!r} changed since the baseline (content hash {base['task_hash']} -> "
                f"{run['task_hash']}): review the change and re-create the baseline with --update"
            )
        for metric, ref in base["metrics"].items():
            sign = 1.0 if ref["higher_is_better"] else -1.0
            ids = [sid for sid in ref["scores"] if sid in scores and _clean(scores[sid].get(metric)) is not None]
            old = [ref["scores"][sid] * sign for sid in ids]
            new = [scores[sid][metric] * sign for sid in ids]
            status, delta, p = decide(old, new, ref["tolerance"], alpha, seed)
            current_value = sum(scores[sid][metric] for sid in ids) / len(ids) if ids else float("nan")
            ci = bootstrap_ci(np.subtract(new, old), seed) if ids else None
            low, high = (ci.ci_low, ci.ci_high) if ci else (float("nan"), float("nan"))
            lines.append(
                Line(task, metric, ref["value"], current_value, delta, p, ref["tolerance"], len(ids), status, low, high)
            )
        if run["n_failed"] > base.get("n_failed", 0):
            lines.append(
                Line(
                    task,
                    "failed samples",
                    base.get("n_failed", 0),
                    run["n_failed"],
                    -(run["n_failed"] - base.get("n_failed", 0)),
                    float("nan"),
                    0.0,
                    run["n_samples"],
                    "REGRESSED",
                )
            )
    return lines


def table(lines: list[Line]) -> str:
    from tabulate import tabulate

    rows = []
    for x in lines:  # rounded like a board cell, to the precision the CI of delta supports
        half = (x.ci_high - x.ci_low) / 2
        ci = "" if math.isnan(half) else bracket(x.ci_low, x.ci_high, half, sign=True)
        rows.append(
            (
                x.task,
                x.metric,
                rounded(x.baseline, half),
                rounded(x.current, half),
                rounded(x.delta, half, sign=True),
                ci,
                p_text(x.p_value),
                x.tolerance,
                x.n,
                x.status,
            )
        )
    return tabulate(
        rows,
        headers=[
            "task",
            "metric",
            "baseline",
            "current",
            "Δ (± = better/worse)",
            "Δ 95% CI",
            "p (worse)",
            "tolerance",
            "N",
            "status",
        ],
        disable_numparse=True,
    )


def gate(
    baseline_path: Path,
    *,
    task: str | None = None,
    model: str | None = None,
    model_args: str | None = None,
    limit: int | None = None,
    output: Path = Path("results"),
    update: bool = False,
    tolerances: dict[str, float] | None = None,
    alpha: float | None = None,
    include: tuple = (),
    progress=None,
) -> tuple[list[Line], dict]:
    """Evaluate (cached results are reused) and gate against ``baseline_path``; with ``update`` write a new
    baseline from this evaluation instead. What is not given is taken from the baseline file.
    Returns (lines, baseline document); lines is empty after an update."""
    from harness.api import evaluate_model, open_store
    from harness.results import atomic_write_text

    doc = None if update and not Path(baseline_path).exists() else read_baseline(baseline_path)
    model = model or (doc or {}).get("model")
    if model is None:
        raise HarnessError("--model is needed to create a baseline")
    model_args = model_args if model_args is not None else (doc or {}).get("model_args", "")
    task = task or ",".join((doc or {}).get("tasks", {}))
    if not task:
        raise HarnessError("--task is needed to create a baseline")
    seed = (doc or {}).get("seed", 0)
    limit = limit if limit is not None else (doc or {}).get("limit")
    results = evaluate_model(
        task, model, model_args, limit=limit, seed=seed, output=output, include=include, progress=progress
    )
    store = open_store(output)
    runs = [(store.find_run(r.spec.run_id())[0], None) for r in results]
    runs = [(run, store.run_scores(run)) for run, _ in runs]
    if update:
        alpha = alpha if alpha is not None else (doc or {}).get("alpha", DEFAULT_ALPHA)
        old_tol = {m: v["tolerance"] for t in (doc or {}).get("tasks", {}).values() for m, v in t["metrics"].items()}
        new = baseline_document(model, model_args, seed, limit, runs, {**old_tol, **(tolerances or {})}, alpha)
        atomic_write_text(Path(baseline_path), json.dumps(new, indent=1, sort_keys=True))
        return [], new
    if tolerances:
        for t in doc["tasks"].values():
            for m, v in t["metrics"].items():
                v["tolerance"] = tolerances.get(m, v["tolerance"])
    return compare(doc, runs, alpha), doc
