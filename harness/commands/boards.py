"""Verbs over stored runs: ``harness leaderboard``, ``compare``, ``regress`` (the gate) and ``power``."""

from __future__ import annotations

from pathlib import Path

import typer

from harness.commands.common import IncludeOpt, OutputOpt, err_console, find_tasks, open_results_store
from harness.errors import HarnessError


def leaderboard(
    name: str = typer.Argument(..., help="Leaderboard name (leaderboards/NAME.yaml) or task group."),
    output: Path = OutputOpt,
    fmt: str = typer.Option("md", "--format", "-f", help="md | csv | latex | html | json"),
    to: Path | None = typer.Option(
        None,
        "--to",
        help="File to write (default leaderboards/NAME.FORMAT; OUTPUT/leaderboards/ for an installed harness).",
    ),
    include: list[Path] = IncludeOpt,
) -> None:
    """Regenerate a leaderboard table from the results store."""
    from harness import leaderboard as lb

    tasks = find_tasks(include)
    board = lb.load_definition(name, tasks)
    text = lb.render(board, open_results_store(output), fmt, tasks)
    path = to or lb.default_path(board.name, fmt, output)
    from harness.results import atomic_write_text

    atomic_write_text(path, text)
    if fmt != "html":
        print(text)
    err_console.print(f"wrote {path}")


def compare(
    a: str = typer.Argument(..., help="Run id (prefix), LABEL@TASK, or a model label with --task."),
    b: str = typer.Argument(..., help="Run id (prefix), LABEL@TASK, or a model label with --task."),
    task: str | None = typer.Option(
        None, "--task", "-t", help="Compare the newest full runs of two models on these tasks."
    ),
    output: Path = OutputOpt,
    include: list[Path] = IncludeOpt,
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap and permutation test."),
    across_tasks: bool = typer.Option(
        False,
        "--across-tasks",
        help="Allow runs of two tasks that hold the same samples (e.g. retrieval/i2i-noaudio vs retrieval/i2i).",
    ),
) -> None:
    """Per-metric difference B - A with 95% CI and paired p-value, per task and per subset (primary metric).
    Runs on different task versions are refused."""
    from harness import compare as cmp
    from harness import registry

    store = open_results_store(output)
    tasks = find_tasks(include)
    # A label whose runs differ only in a training seed pools its seeds (two-level CI and test).
    pairs = (
        cmp.group_pairs_by_model(store, a, b, [e.spec.name for e in registry.resolve(task, tasks)])
        if task
        else [cmp.group_pair(store, a, b, across_tasks)]
    )
    for runs_a, runs_b in pairs:
        entry = tasks.get(runs_a[0]["task"])
        print(cmp.report_any(store, runs_a, runs_b, seed, [entry.spec.primary_metric] if entry else None))


def regress(
    baseline: Path = typer.Option(..., "--baseline", "-b", help="Baseline results file (JSON)."),
    task: str | None = typer.Option(None, "--task", "-t", help="Default: the baseline's tasks."),
    model: str | None = typer.Option(None, "--model", "-m", help="Default: the baseline's model."),
    model_args: str | None = typer.Option(None, "--model_args", "--model-args"),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Default: the baseline's limit."),
    tolerance: str = typer.Option("", "--tolerance", help="metric=allowed drop,... (stored with --update)."),
    alpha: float | None = typer.Option(None, "--alpha", help="Significance level (default 0.01)."),
    update: bool = typer.Option(False, "--update", help="Write a new baseline from this evaluation."),
    output: Path = OutputOpt,
    include: list[Path] = IncludeOpt,
) -> None:
    """Regression gate: re-run (or read cached) results and compare with a baseline. Exit 1 when a metric got
    significantly worse by more than its tolerance, 0 otherwise."""
    from harness import regress as gate_mod
    from harness.adapters import parse_model_args

    tolerances = {k: _float(k, v) for k, v in parse_model_args(tolerance).items()}
    lines, doc = gate_mod.gate(
        baseline,
        task=task,
        model=model,
        model_args=model_args,
        limit=limit,
        output=output,
        update=update,
        tolerances=tolerances,
        alpha=alpha,
        include=tuple(include),
    )
    if update:
        print(f"wrote baseline {baseline}: {doc['model']} on {', '.join(doc['tasks'])}")
        return
    print(gate_mod.table(lines))
    bad = [line for line in lines if line.status == "REGRESSED"]
    print(f"{len(bad)} regression(s) at alpha={doc.get('alpha', gate_mod.DEFAULT_ALPHA) if alpha is None else alpha}")
    if bad:
        raise typer.Exit(1)


def power(
    task: str = typer.Option(None, "--task", "-t", help="Task(s) or group: N = each task's number of samples."),
    n: int = typer.Option(None, "--n", min=1, help="Number of questions (instead of --task)."),
    accuracy: list[float] = typer.Option(
        [0.25, 0.5, 0.75], "--accuracy", help="Baseline accuracy (0..1) for the independent-errors discordance."
    ),
    discordance: float = typer.Option(
        None,
        "--discordance",
        min=0.0,
        max=1.0,
        help="Share of questions exactly one system gets right (overrides --accuracy).",
    ),
    runs: str = typer.Option(None, "--from-runs", help="A,B: measure the discordance from two stored runs."),
    alpha: float = typer.Option(0.05, "--alpha"),
    target: float = typer.Option(0.8, "--power", help="Power the difference must be detected with."),
    seeds: int = typer.Option(1, "--seeds", min=1, help="Training seeds per system."),
    seed_sd: float = typer.Option(0.0, "--seed-sd", min=0.0, help="Seed-to-seed sd of a system's accuracy (0..1)."),
    output: Path = OutputOpt,
    include: list[Path] = IncludeOpt,
) -> None:
    """Smallest accuracy difference (points) a paired test detects at --alpha with --power, per suite size and
    discordance assumption (harness/metrics/power.py)."""
    from tabulate import tabulate

    from harness import registry
    from harness.metrics import power as pw

    if (task is None) == (n is None):
        raise HarnessError("power: give exactly one of --task and --n")
    sizes = (
        [(str(n), n)]
        if n
        else [(e.spec.name, len(registry.build_task(e).samples)) for e in registry.resolve(task, find_tasks(include))]
    )
    if runs:
        from harness.compare import pair_by_run_ids

        a, _, b = runs.partition(",")
        store = open_results_store(output)
        run_a, run_b = pair_by_run_ids(store, a, b)
        sa, sb = store.run_scores(run_a), store.run_scores(run_b)
        common = [s for s in sa if s in sb and "accuracy" in sa[s] and "accuracy" in sb[s]]
        if not common:
            raise HarnessError(f"--from-runs {runs}: the runs share no scored question")
        discordance = sum((sa[s]["accuracy"] > 0) != (sb[s]["accuracy"] > 0) for s in common) / len(common)
    assumptions = (
        [(f"measured psi={discordance:.3f}" if runs else f"psi={discordance:.3f}", discordance)]
        if discordance is not None
        else [
            (f"p={p:g}, independent errors (psi={pw.independent_discordance(p):.3f})", pw.independent_discordance(p))
            for p in accuracy
        ]
    )
    rows = [
        (name, size, label, f"{100 * pw.minimum_detectable_difference(size, psi, alpha, target, seeds, seed_sd):.1f}")
        for name, size in sizes
        for label, psi in assumptions
    ]
    print(
        f"minimum detectable accuracy difference, paired two-sided test, alpha={alpha:g}, power={target:g}, "
        f"{seeds} seed(s) per system" + (f", seed sd {seed_sd:g}" if seed_sd else "")
    )
    print(tabulate(rows, headers=["task", "N", "assumption", "MDE (points)"], disable_numparse=True))


def _float(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise HarnessError(f"--tolerance {name}={text}: not a number") from None
