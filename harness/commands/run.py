"""``harness eval``: evaluate a model on tasks."""

from __future__ import annotations

from pathlib import Path

import typer

from harness.commands.common import DataDirOpt, IncludeOpt, OutputOpt
from harness.errors import HarnessError


def both_spellings(name: str, default=None, **kwargs):
    """An option named ``--a_b`` (lm-evaluation-harness's spelling, which scripts copy) and ``--a-b``."""
    return typer.Option(default, f"--{name}", f"--{name.replace('_', '-')}", **kwargs)


def eval_(
    task: str = typer.Option(..., "--task", "-t", help="Task or group name(s), comma-separated."),
    model: str | None = typer.Option(
        None, "--model", "-m", help="Registered model name, or module:Class (default: the tasks' default_model)."
    ),
    model_args: str = both_spellings("model_args", "", help="key=value,... for the adapter."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N samples of each task."),
    seed: int = typer.Option(0, "--seed", help="Run seed: stochastic models and bootstrap CIs."),
    batch_size: int = both_spellings("batch_size", 8, min=1),
    output: Path = OutputOpt,
    include: list[Path] = IncludeOpt,
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    data_dir: Path | None = DataDirOpt,
    strict_data: bool = typer.Option(
        False, "--strict-data", help="Refuse data with rows that cannot be scored (default: skip, count, list)."
    ),
    download: bool = typer.Option(
        False, "--download", help="Fetch a task's pinned dataset into the Hugging Face cache when absent."
    ),
    judge: str | None = typer.Option(
        None,
        "--judge",
        help="Judge for tasks with a judge protocol (openai-chat, hf-vlm, ...); without it such tasks are only "
        "generated.",
    ),
    judge_args: str = both_spellings("judge_args", "", help="key=value,... for the judge."),
    judge_failure_policy: str = both_spellings(
        "judge_failure_policy",
        "exclude",
        help="exclude (failures counted, never averaged) | official (the official script's fallback, labelled)",
    ),
    judge_protocol: str | None = both_spellings(
        "judge_protocol", help="Override the task's judge protocol (e.g. viescore_tie_qwen)."
    ),
    judge_templates: Path | None = both_spellings(
        "judge_templates", help="A template file replacing the task's official one (with --judge_templates_sha256)."
    ),
    judge_templates_sha256: str | None = both_spellings(
        "judge_templates_sha256", help="sha256 the --judge_templates file must have."
    ),
    batch_timeout: float | None = both_spellings(
        "batch_timeout", min=0.001, help="Seconds one batch may take; longer fails the run (resumable)."
    ),
    max_failures: str | None = both_spellings(
        "max_failures",
        help="Failed samples allowed per task: a count (5) or a fraction (0.1 or 10%); more exits 2 after storing "
        "the run.",
    ),
    recompute: bool = typer.Option(
        False,
        "--recompute",
        help="Drop the stored samples of these runs first (a bad cached record otherwise poisons every resume).",
    ),
) -> None:
    """Evaluate a model on tasks: prints metrics with 95% CIs, writes results JSON and the SQLite store."""
    from harness.api import evaluate

    allowed = _max_failures(max_failures)
    too_many = []

    def report(result, task_spec, path, n_processes):
        _print_result(result, task_spec.primary_metric)
        shared = f" ({result.shared} shared with other tasks)" if result.shared else ""
        n_failed = len(result.failures)
        print(
            f"run {result.spec.run_id()} · {result.computed} computed, {result.n_units - result.computed} cached"
            f"{shared}{f' · {n_processes} processes' if n_processes > 1 else ''} · {path}"
            + (f" · {n_failed} of {result.n_samples} samples FAILED" if n_failed else "")
        )
        if allowed is not None and n_failed > allowed(result.n_samples):
            too_many.append(
                f"{result.spec.task}: {n_failed} of {result.n_samples} samples failed, more than "
                f"--max-failures {max_failures} (see `harness show {result.spec.run_id()}`)"
            )

    evaluate(
        task,
        model,
        model_args,
        limit=limit,
        seed=seed,
        batch_size=batch_size,
        output=output,
        include=tuple(include),
        progress=progress,
        on_result=report,
        data_dir=data_dir,
        strict_data=strict_data,
        download=download,
        judge=judge,
        judge_args=judge_args,
        judge_failure_policy=judge_failure_policy,
        judge_protocol=judge_protocol,
        judge_templates=_templates_override(judge_templates, judge_templates_sha256),
        batch_timeout=batch_timeout,
        recompute=recompute,
    )
    if too_many:
        raise HarnessError("; ".join(too_many))


def _max_failures(text: str | None):
    """``--max-failures``: "5" (a count), "0.1" or "10%" (a fraction of the scored samples) -> callable(n) -> the
    largest allowed number of failures, or None when not given."""
    if text is None:
        return None
    t = text.strip()
    try:
        if t.endswith("%"):
            frac = float(t[:-1]) / 100
        elif t.isdigit():
            count = int(t)
            return lambda n: count
        else:
            frac = float(t)
    except ValueError:
        raise HarnessError(f"--max-failures {text!r}: not a count (5), fraction (0.1) or percentage (10%)") from None
    if not 0 <= frac <= 1:
        raise HarnessError(f"--max-failures {text!r}: a fraction must lie in [0, 1]")
    return lambda n: frac * n


def _templates_override(path: Path | None, sha256: str | None):
    if (path is None) != (sha256 is None):
        raise HarnessError("--judge_templates and --judge_templates_sha256 go together")
    if sha256 is not None and (len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256)):
        raise HarnessError(f"--judge_templates_sha256: {sha256!r} is not a sha256 hex digest")
    return None if path is None else (path, sha256)


def _print_result(result, primary: str) -> None:
    print()
    print(result.table(primary))
