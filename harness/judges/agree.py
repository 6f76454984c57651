"""``harness judge-agree RUN_A RUN_B``: how well two judges (or two runs of one judge) agree on the same edits.

Per task type (the runs' ``edit_type=`` subsets) and over all samples both judged: Spearman's rho, Kendall's tau-b
(scipy.stats) and the mean absolute difference of one judge metric, each with a 95% percentile bootstrap CI over
samples. Samples either judge failed on are left out (and counted). Use it to measure a judge's drift, or whether a
cheaper local judge can stand in for an expensive one.
"""

from __future__ import annotations

import json
import math

import numpy as np

from harness.errors import HarnessError
from harness.spec import RunSpec

N_BOOT = 1000


def _stats(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    from scipy.stats import kendalltau, spearmanr

    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:  # a constant column has no rank correlation
        rho = tau = math.nan
    else:
        rho, tau = float(spearmanr(a, b).statistic), float(kendalltau(a, b).statistic)
    return rho, tau, float(np.abs(a - b).mean()) if a.size else math.nan


def _ci(a: np.ndarray, b: np.ndarray, seed: int) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    draws = [_stats(a[idx], b[idx]) for idx in (rng.integers(0, a.size, a.size) for _ in range(N_BOOT))]
    out = []
    for k in range(3):
        vals = np.array([d[k] for d in draws], dtype=np.float64)
        vals = vals[~np.isnan(vals)]
        out.append(
            (float(np.quantile(vals, 0.025)), float(np.quantile(vals, 0.975))) if vals.size else (math.nan, math.nan)
        )
    return out


def agreement(store, run_a: dict, run_b: dict, metric: str, seed: int = 0) -> list[dict]:
    """Rows {group, n, excluded, spearman, kendall, mad, *_ci} for 'all' and each task type."""
    if run_a["task_hash"] != run_b["task_hash"]:
        raise HarnessError(
            f"runs {run_a['run_id']} and {run_b['run_id']} are on different task versions "
            f"({run_a['task_hash']} vs {run_b['task_hash']})"
        )
    gen_a = RunSpec.model_validate_json(run_a["spec"]).generation_key()
    gen_b = RunSpec.model_validate_json(run_b["spec"]).generation_key()
    if gen_a != gen_b:
        raise HarnessError(
            f"runs {run_a['run_id']} and {run_b['run_id']} judge different edits (model, args or "
            f"seed differ): judge agreement needs the same edits"
        )
    sa, sb = store.run_scores(run_a), store.run_scores(run_b)
    if not any(metric in s for s in sa.values()):
        raise HarnessError(f"run {run_a['run_id']} has no per-sample metric {metric!r}")
    groups = {"all": list(sa)}
    for key, ids in sorted((store.run_subsets(run_a) or {}).items()):
        if key.startswith("edit_type="):
            groups[key] = ids
    rows = []
    for group, ids in groups.items():
        pairs = [(sa[i].get(metric, math.nan), sb[i].get(metric, math.nan)) for i in ids if i in sa and i in sb]
        both = np.array([(x, y) for x, y in pairs if not (math.isnan(x) or math.isnan(y))], dtype=np.float64)
        both = both.reshape(-1, 2)
        a, b = both[:, 0], both[:, 1]
        rho, tau, mad = _stats(a, b)
        cis = _ci(a, b, seed) if a.size >= 2 else [(math.nan, math.nan)] * 3
        rows.append(
            {
                "group": group,
                "n": int(a.size),
                "excluded": len(ids) - int(a.size),
                "spearman": rho,
                "spearman_ci": cis[0],
                "kendall": tau,
                "kendall_ci": cis[1],
                "mad": mad,
                "mad_ci": cis[2],
            }
        )
    return rows


def table(rows: list[dict], metric: str) -> str:
    from tabulate import tabulate

    def f(x):
        return "nan" if x != x else f"{x:.3f}"

    def cell(r, k):
        return f"{f(r[k])} [{f(r[k + '_ci'][0])}, {f(r[k + '_ci'][1])}]"

    body = [(r["group"], r["n"], r["excluded"], cell(r, "spearman"), cell(r, "kendall"), cell(r, "mad")) for r in rows]
    return tabulate(body, headers=["group", "N", "excluded", f"Spearman ({metric})", "Kendall tau-b", "mean |A - B|"])


def as_json(rows: list[dict]) -> str:
    return json.dumps(rows, indent=2, default=lambda x: None)
