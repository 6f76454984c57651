"""Shared-caption vs independent sampling from two runs in a results store: tokens per question, maj@n and mean
single-sample accuracy (mean@n) with 95% BCa CIs, the paired difference (bootstrap CI, sign-flip p), and the token
saving stated both ways (HoneyBee's "73 %" is independent / shared - 1; the reduction is 1 - shared / independent).

    python -m harness_baselines.honeybee.test_time_scaling.summary --output DIR RUN_INDEPENDENT RUN_SHARED [--partial]

``--partial`` also reads a run that has not finished (its records so far; only samples both runs scored count).
"""

from __future__ import annotations

import argparse

from harness.metrics.stats import bootstrap_ci, paired_test

METRICS = ("generated_tokens", "maj@n", "mean@n", "accuracy", "pass@n")


def _records(store, run_id: str, partial: bool) -> dict:
    runs = [r for r in store.runs() if r["run_id"].startswith(run_id)]
    if len(runs) != 1:
        raise SystemExit(f"error: run {run_id!r}: {len(runs)} runs match")
    run = runs[0]
    if run["status"] != "finished" and not partial:
        raise SystemExit(f"error: run {run_id!r} is {run['status']} (pass --partial to read it anyway)")
    recs = store.get_records(run["cache_key"], with_output=False)
    return {sid: r for sid, r in recs.items() if r.scores is not None}


def summary(output: str, run_a: str, run_b: str, partial: bool = False, seed: int = 0) -> str:
    from harness.api import open_store

    store = open_store(output)
    a, b = _records(store, run_a, partial), _records(store, run_b, partial)
    ids = [sid for sid in a if sid in b]
    lines = [f"A = independent ({run_a}), B = shared caption ({run_b}), {len(ids)} paired questions"]
    lines.append(f"{'metric':<17}{'A [95% CI]':>28}{'B [95% CI]':>28}{'B - A [95% CI]':>30}{'p':>8}")
    for m in METRICS:
        va, vb = [a[s].scores[m] for s in ids], [b[s].scores[m] for s in ids]
        ca, cb, d = bootstrap_ci(va, seed), bootstrap_ci(vb, seed), paired_test(va, vb, seed)
        lines.append(
            f"{m:<17}{f'{ca.mean:.2f} [{ca.ci_low:.2f}, {ca.ci_high:.2f}]':>28}"
            f"{f'{cb.mean:.2f} [{cb.ci_low:.2f}, {cb.ci_high:.2f}]':>28}"
            f"{f'{d.diff:+.2f} [{d.ci_low:+.2f}, {d.ci_high:+.2f}]':>30}{d.p_value:>8.4f}"
        )
    tok_a = sum(a[s].scores["generated_tokens"] for s in ids) / len(ids)
    tok_b = sum(b[s].scores["generated_tokens"] for s in ids) / len(ids)
    shared = sum(bool(b[s].info.get("caption_shared")) for s in ids) / len(ids)
    caption = sum(b[s].info.get("caption_tokens", 0) for s in ids) / len(ids)
    lines.append(
        f"tokens per question: {tok_a:.1f} independent vs {tok_b:.1f} shared -> {100 * (1 - tok_b / tok_a):.1f} % "
        f"fewer (independent costs {100 * (tok_a / tok_b - 1):.1f} % more); first answers with a caption marker: "
        f"{100 * shared:.1f} %, mean caption {caption:.1f} tokens"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_a", help="run id (prefix) of independent sampling")
    parser.add_argument("run_b", help="run id (prefix) of shared-caption decoding")
    parser.add_argument("--output", default="results")
    parser.add_argument("--partial", action="store_true")
    args = parser.parse_args()
    print(summary(args.output, args.run_a, args.run_b, args.partial))


if __name__ == "__main__":
    main()
