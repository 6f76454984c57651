"""Results files: one JSON per run under the output folder, written atomically (temp file + rename)."""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path

from harness.errors import HarnessError
from harness.rounding import interval


def ensure_writable_dir(path: Path) -> Path:
    """Create ``path`` if needed and prove it takes files, before any work is done."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise HarnessError(f"--output {path}: not a writable directory ({e.strerror or e})") from None
    return path


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file + rename: a reader never sees half a file. An unwritable
    place or a full disk is a HarnessError naming ``path`` (nothing is left behind)."""
    try:
        _atomic_write(Path(path), text)
    except OSError as e:
        raise HarnessError(f"{path}: cannot write ({e.strerror or e})") from None


def _atomic_write(path: Path, text: str) -> None:
    if path.is_dir():
        raise IsADirectoryError(21, "is a directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; results are meant to be shared
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _finite(x: float) -> float | None:
    return None if x is None or math.isnan(x) else x


def result_dict(result) -> dict:
    """A RunResult as plain JSON data (NaN -> null)."""
    return {
        "run_id": result.spec.run_id(),
        "spec": result.spec.model_dump(mode="json"),
        "kind": result.kind,
        "provenance": result.provenance,
        "n_samples": result.n_samples,
        "n_failed": len(result.failures),
        "aggregates": {
            subset or "all": {
                m: {"value": _finite(a.mean), "ci_low": _finite(a.ci_low), "ci_high": _finite(a.ci_high), "n": a.n}
                for m, a in metrics.items()
            }
            for subset, metrics in result.aggregates.items()
        },
        "failures": result.failures,
        **_judge_counts(result),
        "n_skipped": len(result.skipped),
        "skipped": result.skipped,  # rows of the data that could not be scored (also in provenance)
    }


def _judge_counts(result) -> dict:
    """A judged run's judge failures by cause (transport, refusal, parse), next to N; nothing for other runs."""
    if not getattr(result.spec, "judge", None):
        return {}
    from harness.judges.stage import failure_counts

    return {"judge_failures": failure_counts(result.failures), "judge_failure_policy": result.spec.judge_failure_policy}


def safe_name(text: str, max_len: int = 80) -> str:
    """``text`` as one file-name component: only letters, digits, '.', '-', '_' (a free-text model arg such as
    ``variant=x/../../escaped`` cannot reach outside the results folder)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "_"
    return name[:max_len]


def write_result(output_dir: Path, result) -> Path:
    spec = result.spec
    name = safe_name(f"{spec.model}{'-' + spec.label_variant if spec.label_variant else ''}")
    path = output_dir.joinpath(*[safe_name(part) for part in spec.task.split("/")], f"{name}_{spec.run_id()}.json")
    atomic_write_text(path, json.dumps(result_dict(result), indent=2, sort_keys=True, allow_nan=False))
    return path


def result_table(result, primary: str | None = None, tablefmt: str = "simple") -> str:
    """A RunResult as text: a heading (task, model, args, seed), metric / value / 95% CI / N, then the primary
    metric (default: the first) per subset, then the failed-sample count."""
    from tabulate import tabulate

    overall = result.aggregates.get("", {})
    primary = primary or result.primary_metric or next(iter(overall), "")
    spec = result.spec
    lines = [
        f"{spec.task} · {spec.model}{' (' + spec.label_args_str() + ')' if spec.label_args_str() else ''}"
        f" · seed {spec.seed}"
    ]
    rows = [(m, *interval(a.mean, a.ci_low, a.ci_high), a.n) for m, a in overall.items()]
    lines.append(tabulate(rows, headers=["metric", "value", "95% CI", "N"], tablefmt=tablefmt, disable_numparse=True))
    subsets = [(s, ms[primary]) for s, ms in result.aggregates.items() if s and primary in ms]
    if subsets:
        lines.append(
            tabulate(
                [(s, *interval(a.mean, a.ci_low, a.ci_high), a.n) for s, a in subsets],
                headers=["subset", primary, "95% CI", "N"],
                tablefmt=tablefmt,
                disable_numparse=True,
            )
        )
    if spec.judge:
        from harness.judges.stage import failure_counts

        counts = failure_counts(result.failures)
        lines.append(
            f"judge {spec.judge}: failures by cause "
            + ", ".join(f"{c} {n}" for c, n in counts.items())
            + " (excluded from the means)"
            + (
                " · failure policy OFFICIAL: the official script's fallback scores are included"
                if spec.judge_failure_policy == "official"
                else ""
            )
        )
    lines.append(
        f"failed samples: {len(result.failures)} of {result.n_units}"
        + (f" (see `harness show {spec.run_id()}`)" if result.failures else "")
    )
    if result.skipped:
        lines.append(f"skipped rows (unscorable in the data, not in N): {len(result.skipped)}")
    return ("\n" if tablefmt in ("simple", "plain") else "\n\n").join(lines)  # markdown needs blank lines


def results_table(results, tablefmt: str = "simple") -> str:
    """Several RunResults, one row each: task, model (with args), primary metric, value, 95% CI, N, failed."""
    from tabulate import tabulate

    rows = []
    for r in results:
        metric = r.primary_metric or next(iter(r.aggregates.get("", {})), "")
        a = r.aggregates.get("", {}).get(metric)
        label = r.spec.model + (f" ({r.spec.label_args_str()})" if r.spec.label_args_str() else "")
        rows.append(
            (
                r.spec.task,
                label,
                metric,
                *(interval(a.mean, a.ci_low, a.ci_high) if a else ("nan", "")),
                a.n if a else 0,
                len(r.failures),
            )
        )
    headers = ["task", "model", "metric", "value", "95% CI", "N", "failed"]
    return tabulate(rows, headers=headers, tablefmt=tablefmt, disable_numparse=True)
