"""``harness`` command line. Heavy modules (torch, runner, models) are imported inside the commands that need
them, so ``harness --help`` and ``harness list`` stay fast.

Exit codes (README "Exit codes"): 0 ok; 1 a regression found (``harness regress`` only); 2 a usage or input error
(one stderr line ``error: ...`` naming the culprit); 3 an internal error (a bug: traceback shown); 130 interrupted
(Ctrl-C, SIGTERM, SIGHUP: the run is marked interrupted and resumes with the same command)."""

from __future__ import annotations

import json
import signal
import sqlite3
import sys
import traceback
from pathlib import Path

import click
import typer
from rich.console import Console

from harness.errors import HarnessError

try:  # typer >= 0.16 raises the exceptions of the click copy it bundles, not those of the click package
    from typer._click import exceptions as _typer_click
except ImportError:  # pragma: no cover - older typer uses click itself
    _typer_click = click.exceptions

EXIT_OK, EXIT_REGRESSION, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Benchmark and evaluation harness for multimodal models.",
)
err_console = Console(stderr=True)
DEFAULT_OUTPUT = Path("results")

IncludeOpt = typer.Option([], "--include", help="Extra folder of task YAML files (repeatable).")
DataDirOpt = typer.Option(
    None,
    "--data_dir",
    "--data-dir",
    help="Folder of downloaded benchmark releases (default: data_dir in "
    "~/.config/harness/config.yaml, else ~/.local/share/harness/data); the local "
    "Hugging Face cache is searched too.",
)
OutputOpt = typer.Option(DEFAULT_OUTPUT, "--output", "-o", help="Results folder (JSON files + SQLite store).")


def _tasks(include: list[Path]):
    from harness import registry

    return registry.discover_tasks(tuple(include))


@app.command("list")
def list_(
    what: str = typer.Argument(..., help="tasks | models | metrics"),
    include: list[Path] = IncludeOpt,
    data_dir: Path | None = DataDirOpt,
) -> None:
    """List registered tasks (with groups and whether their data is present), models or metrics."""
    from tabulate import tabulate

    if what == "tasks":
        from harness.registry import data_status

        rows = [
            (
                n,
                e.spec.kind,
                ",".join(e.spec.groups),
                e.spec.source.loader,
                data_status(e, data_dir),
                e.spec.description,
            )
            for n, e in _tasks(include).items()
        ]
        print(tabulate(rows, headers=["task", "kind", "groups", "source", "data", "description"]))
    elif what == "models":
        from harness.adapters import registered_adapters

        def images(c) -> str:  # editors: how many images per sample they read (Editor.max_images)
            n = getattr(c, "max_images", 1) if c.kind == "edit" else None
            if c.kind != "edit":
                return ""
            return "any" if n is None else str(n) if isinstance(n, int) else "by args"  # e.g. a property

        rows = [
            (n, c.kind, images(c), (c.__doc__ or "").strip().splitlines()[0] if c.__doc__ else "")
            for n, c in registered_adapters().items()
        ]
        print(tabulate(rows, headers=["model", "kind", "images", "description"]))
    elif what == "metrics":
        from harness.metrics import METRICS

        rows = [
            (kind, m.name, "higher" if m.higher_is_better else "lower", m.description)
            for kind, ms in METRICS.items()
            for m in ms.values()
        ]
        print(tabulate(rows, headers=["kind", "metric", "better", "description"]))
    else:
        raise HarnessError(f"harness list: unknown listing {what!r}; choose tasks, models or metrics")


@app.command("eval")
def eval_(
    task: str = typer.Option(..., "--task", "-t", help="Task or group name(s), comma-separated."),
    model: str | None = typer.Option(
        None, "--model", "-m", help="Registered model name, or module:Class (default: the tasks' default_model)."
    ),
    model_args: str = typer.Option("", "--model_args", "--model-args", help="key=value,... for the adapter."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N samples of each task."),
    seed: int = typer.Option(0, "--seed", help="Run seed: stochastic models and bootstrap CIs."),
    batch_size: int = typer.Option(8, "--batch_size", "--batch-size", min=1),
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
        help="Judge for tasks with a judge protocol "
        "(openai-chat, hf-vlm, ...); without it such tasks are only generated.",
    ),
    judge_args: str = typer.Option("", "--judge_args", "--judge-args", help="key=value,... for the judge."),
    judge_failure_policy: str = typer.Option(
        "exclude",
        "--judge_failure_policy",
        "--judge-failure-policy",
        help="exclude (failures counted, never averaged) | official (the official script's fallback, labelled)",
    ),
    judge_protocol: str | None = typer.Option(
        None,
        "--judge_protocol",
        "--judge-protocol",
        help="Override the task's judge protocol (e.g. viescore_tie_qwen).",
    ),
    judge_templates: Path | None = typer.Option(
        None,
        "--judge_templates",
        "--judge-templates",
        help="A template file replacing the task's official one (with --judge_templates_sha256).",
    ),
    judge_templates_sha256: str | None = typer.Option(
        None,
        "--judge_templates_sha256",
        "--judge-templates-sha256",
        help="sha256 the --judge_templates file must have.",
    ),
    batch_timeout: float | None = typer.Option(
        None,
        "--batch-timeout",
        "--batch_timeout",
        min=0.001,
        help="Seconds one batch may take; longer fails the run (resumable).",
    ),
    max_failures: str | None = typer.Option(
        None,
        "--max-failures",
        "--max_failures",
        help="Failed samples allowed per task: a count (5) or a fraction "
        "(0.1 or 10%); more exits 2 after storing the run.",
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


@app.command()
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

    tasks = _tasks(include)
    board = lb.load_definition(name, tasks)
    text = lb.render(board, _open_store(output), fmt, tasks)
    path = to or lb.default_path(board.name, fmt, output)
    from harness.results import atomic_write_text

    atomic_write_text(path, text)
    if fmt != "html":
        print(text)
    err_console.print(f"wrote {path}")


@app.command()
def report(
    names: list[str] | None = typer.Argument(
        None, help="Leaderboard names or YAML files (default: every leaderboards/*.yaml)."
    ),
    output: Path = OutputOpt,
    to: Path | None = typer.Option(
        None,
        "--to",
        help="Folder of the static site, replaced (default "
        "leaderboards/site; OUTPUT/leaderboards/site for an installed harness).",
    ),
    include: list[Path] = IncludeOpt,
) -> None:
    """Write a static site: an index of the boards, each board page (tables, plots) and per-sample galleries
    (images, audio, responses) linked from every cell. Works offline from the file system."""
    from harness import leaderboard as lb
    from harness.report.site import shipped_boards, write_site

    site = to or lb.default_path("index", "html", output).parent
    summary = write_site(names or shipped_boards(), _open_store(output), _tasks(include), site)
    for note in summary.notes:
        err_console.print(f"note: {note}", markup=False, highlight=False)
    err_console.print(
        f"wrote {len(summary.pages)} pages ({summary.bytes / 1e6:.1f} MB) to {summary.root}; "
        f"open {summary.root / 'index.html'}",
        markup=False,
        highlight=False,
    )


@app.command()
def show(
    run_id: str = typer.Argument(..., help="Run id (or a unique prefix)."),
    output: Path = OutputOpt,
    info: bool = typer.Option(
        False, "--info", help="Also print each sample's side information (what the model returned with its output)."
    ),
) -> None:
    """Print a run's spec, provenance, aggregates and per-sample failures (and side information with --info)."""
    from tabulate import tabulate

    store = _open_store(output)
    runs = store.find_run(run_id)
    if len(runs) != 1:
        raise HarnessError(
            f"run {run_id!r}: "
            + ("not found in " + str(store.path) if not runs else f"ambiguous ({len(runs)} runs match)")
        )
    run = runs[0]
    print(f"run {run['run_id']}  status={_status(run)}  samples={run['n_samples']}  failed={run['n_failed']}")
    print("spec:", json.dumps(json.loads(run["spec"]), indent=2))
    print("provenance:", json.dumps(json.loads(run["provenance"]), indent=2))
    rows = [
        (a["subset"] or "all", a["metric"], _fmt(a["value"]), f"[{_fmt(a['ci_low'])}, {_fmt(a['ci_high'])}]", a["n"])
        for a in store.aggregates(run["run_id"])
    ]
    print(tabulate(rows, headers=["subset", "metric", "value", "95% CI", "N"]))
    failures = store.failures(run["run_id"])
    print(f"failures: {len(failures)}")
    for sid, error in failures:
        print(f"  {sid}: {error}")
    skipped = json.loads(run["provenance"]).get("skipped_rows", {})
    print(f"skipped rows (unscorable in the data, not in N): {len(skipped)}")
    for sid, reason in skipped.items():
        print(f"  {sid}: {reason}")
    if info:
        side = store.run_info(run)
        print(f"side information: {len(side)} samples")
        for sid, entry in side.items():
            print(f"  {sid}: {json.dumps(entry, ensure_ascii=False, sort_keys=True)}")


@app.command()
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

    store = _open_store(output)
    tasks = _tasks(include)
    # A label whose runs differ only in a training seed pools its seeds (two-level CI and test).
    pairs = (
        cmp.group_pairs_by_model(store, a, b, [e.spec.name for e in registry.resolve(task, tasks)])
        if task
        else [cmp.group_pair(store, a, b, across_tasks)]
    )
    for runs_a, runs_b in pairs:
        entry = tasks.get(runs_a[0]["task"])
        print(cmp.report_any(store, runs_a, runs_b, seed, [entry.spec.primary_metric] if entry else None))


def _templates_override(path: Path | None, sha256: str | None):
    if (path is None) != (sha256 is None):
        raise HarnessError("--judge_templates and --judge_templates_sha256 go together")
    if sha256 is not None and (len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256)):
        raise HarnessError(f"--judge_templates_sha256: {sha256!r} is not a sha256 hex digest")
    return None if path is None else (path, sha256)


@app.command("judge-agree")
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

    store = _open_store(output)
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
        entry = _tasks(include).get(runs[0]["task"])
        if entry is None:
            raise HarnessError(
                f"task {runs[0]['task']!r} of run {runs[0]['run_id']} is not defined here: pass --metric"
            )
        metric = entry.spec.primary_metric.removesuffix("_macro")
    print(agree.table(agree.agreement(store, runs[0], runs[1], metric, seed), metric))


@app.command()
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


@app.command()
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
        else [(e.spec.name, len(registry.build_task(e).samples)) for e in registry.resolve(task, _tasks(include))]
    )
    if runs:
        from harness.compare import pair_by_run_ids

        a, _, b = runs.partition(",")
        store = _open_store(output)
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


def _status(run: dict) -> str:
    """A run's status, telling a live "running" run (its owner process exists) from a dead one."""
    import time

    from harness.store import owner_alive

    if run["status"] != "running":
        return run["status"]
    pid, host, beat = run.get("owner_pid"), run.get("owner_host"), run.get("heartbeat")
    since = f", last batch {time.time() - beat:.0f}s ago" if beat else ""
    if owner_alive(pid, host, beat):
        return f"running (live: pid {pid} on {host}{since})"
    who = f"pid {pid} on {host} is gone" if pid else "no owner recorded"
    return f"dead (was running: {who}{since}; the same `harness eval` resumes it)"


def _float(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise HarnessError(f"--tolerance {name}={text}: not a number") from None


def _open_store(output: Path):
    from harness.api import open_store

    return open_store(output)


def _fmt(x) -> str:
    return "nan" if x is None or x != x else f"{x:.4f}"


def _print_result(result, primary: str) -> None:
    print()
    print(result.table(primary))


def _add_plugin_commands() -> None:
    """Sub-command groups from the ``harness.commands`` entry-point group (a typer.Typer each, named by the entry
    point), so a reference system can add verbs (``harness recipe ...``) without the engine importing it."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="harness.commands"):
        sub = ep.load()
        if not isinstance(sub, typer.Typer):
            raise HarnessError(f"entry point harness.commands:{ep.name} = {ep.value} is not a typer.Typer")
        app.add_typer(sub, name=ep.name)


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled like Ctrl-C: the run is marked interrupted and resumes later."""


_signal_name = {"name": "SIGINT"}


def _on_signal(signum, frame):
    _signal_name["name"] = signal.Signals(signum).name
    raise Interrupted(_signal_name["name"])


def _error(message: str, code: int) -> None:
    err_console.print(
        f"error: {' '.join(str(message).split())}", markup=False, highlight=False, emoji=False, soft_wrap=True
    )
    sys.exit(code)


def _usage_message(e) -> str:
    """A click usage error as one line naming the command and the culprit option."""
    ctx = getattr(e, "ctx", None)
    where = ctx.command_path if ctx is not None else "harness"
    return f"{where}: {e.format_message()} (see `{where} --help`)"


def main() -> None:
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, _on_signal)
    try:
        _add_plugin_commands()
        rc = app(standalone_mode=False, prog_name="harness")
    except HarnessError as e:
        _error(str(e), EXIT_USAGE)
    except (_typer_click.NoArgsIsHelpError, click.exceptions.NoArgsIsHelpError) as e:
        print(e.ctx.get_help() if e.ctx is not None else "")
        _error(
            f"{e.ctx.command_path if e.ctx is not None else 'harness'}: no command given (see the list above)",
            EXIT_USAGE,
        )
    except (_typer_click.ClickException, click.ClickException) as e:
        _error(
            _usage_message(e) if isinstance(e, (_typer_click.UsageError, click.UsageError)) else e.format_message(),
            EXIT_USAGE,
        )
    except (typer.Abort, click.exceptions.Abort, KeyboardInterrupt):
        rc = EXIT_INTERRUPTED
    except sqlite3.Error as e:  # the store wraps its own errors; this is a last line of defence
        _error(f"results store: {e}", EXIT_USAGE)
    except OSError as e:
        _error(f"{e.filename or 'I/O'}: {e.strerror or e}", EXIT_USAGE)
    except Exception:  # noqa: BLE001 — a bug: show where, with a distinct exit code
        traceback.print_exc()
        sys.exit(EXIT_INTERNAL)
    if rc == EXIT_INTERRUPTED:  # typer turns KeyboardInterrupt into Exit(130)
        _error(
            f"interrupted ({_signal_name['name']}): stopped; the same command resumes where it stopped",
            EXIT_INTERRUPTED,
        )
    sys.exit(rc if isinstance(rc, int) else 0)
