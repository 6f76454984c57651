"""Task registry: every ``*.yaml`` under ``tasks/`` (and any extra folder given with ``--include``) is a task,
except those in ``lm_eval/`` folders (lm-eval's format), validated when loaded; a task's ``groups`` make it
selectable by group name (``--task edit``).

Adapters register in ``harness.adapters``; this module re-exports the lookups so the CLI has one place to ask.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import TypeAdapter

from harness import data, resources
from harness.adapters import adapter_class, registered_adapters  # noqa: F401  (re-exported lookups)
from harness.config import load_yaml_config
from harness.data import skips
from harness.errors import DataError, HarnessError
from harness.metrics import METRICS
from harness.spec import TaskSpec

TASKS_DIR = resources.tasks_dir()  # installed as the package data harness_tasks (harness/resources.py)
LM_EVAL_DIR = "lm_eval"  # folders of this name under tasks/ hold lm-eval task YAML, not ours


@dataclass(frozen=True)
class TaskEntry:
    spec: TaskSpec
    file: Path


@lru_cache(maxsize=1)
def _spec_adapter() -> TypeAdapter:
    return TypeAdapter(TaskSpec)


def load_task_file(path: Path) -> TaskEntry:
    """Parse and validate one task YAML; any problem is a HarnessError naming the file and the field."""
    spec = load_yaml_config(path, _spec_adapter(), "a task file", tag_field="kind")
    known = METRICS[spec.kind]
    for i, metric in enumerate([*spec.metrics, spec.primary_metric]):
        if metric not in known:
            field = f"metrics[{i}]" if i < len(spec.metrics) else "primary_metric"
            raise HarnessError(
                f"{path}: field {field!r}: unknown {spec.kind} metric {metric!r}"
                f"{_hint(metric, known.candidates(metric))}"
            )
    if spec.primary_metric not in spec.metrics:
        raise HarnessError(
            f"{path}: field 'primary_metric': {spec.primary_metric!r} is not one of the task's metrics "
            f"({', '.join(spec.metrics)})"
        )
    try:
        # a task pinning released data gets its ``path`` from where that data is found (harness/data/release.py)
        args = {"path": ".", **spec.source.args} if spec.dataset else spec.source.args
        data.check_args(spec.source.loader, spec.kind, args)
    except ValueError as e:
        raise HarnessError(f"{path}: field 'source': {e}") from None
    return TaskEntry(spec, path)


def discover_tasks(include: tuple[Path, ...] = ()) -> dict[str, TaskEntry]:
    """All tasks under tasks/ and the ``include`` folders, by name. Two files declaring one name is an error."""
    found: dict[str, TaskEntry] = {}
    for root in (TASKS_DIR, *include):
        if not Path(root).is_dir():
            raise HarnessError(f"{root}: task folder does not exist")
        for path in sorted(Path(root).rglob("*.yaml")):
            if LM_EVAL_DIR in path.relative_to(root).parts:  # lm-eval's own task files (run via the bridge)
                continue
            entry = load_task_file(path)
            if entry.spec.name in found:
                raise HarnessError(
                    f"{path}: task name {entry.spec.name!r} already defined in {found[entry.spec.name].file}"
                )
            found[entry.spec.name] = entry
    return found


def groups(tasks: dict[str, TaskEntry]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, entry in tasks.items():
        for g in entry.spec.groups:
            out.setdefault(g, []).append(name)
    return out


def resolve(selection: str, tasks: dict[str, TaskEntry]) -> list[TaskEntry]:
    """``"edit"`` (a group), ``"edit/scenes"`` (a task), or a comma-separated mix -> task entries, in order."""
    by_group = groups(tasks)
    picked: list[str] = []
    for name in filter(None, (p.strip() for p in selection.split(","))):
        if name in tasks:
            names = [name]
        elif name in by_group:
            names = by_group[name]
        else:
            raise HarnessError(f"unknown task {name!r}{_hint(name, [*tasks, *by_group])}")
        picked += [n for n in names if n not in picked]
    if not picked:
        raise HarnessError("--task: no task given")
    return [tasks[n] for n in picked]


def build_task(entry: TaskEntry, data_dir: str | Path | None = None, strict_data: bool = False, download: bool = False):
    """Load the samples of a task (runs its generator or reads its folder) and wrap them in the kind's class.

    A task that pins released data (``dataset:``) reads it from ``data_dir`` (default: harness.settings) or the
    local HF cache (``download``: fetch it when absent). Rows the loader skipped are warned about on stderr, or
    refused with ``strict_data``."""
    from harness.kinds import task_class

    spec = entry.spec
    cls = task_class(spec.kind)
    path = locate_data(entry, data_dir, download=download)
    samples = data.load(spec.source.loader, spec.source.args, entry.file.parent, path=path)
    skipped = skips.skipped_of(samples)
    if skipped and strict_data:
        raise DataError(
            f"task {spec.name}: {len(skipped)} row(s) cannot be scored (--strict-data): {skips.describe(skipped)}"
        )
    if skipped:
        print(
            f"warning: task {spec.name}: skipped {len(skipped)} row(s) that cannot be scored: "
            f"{skips.describe(skipped)}",
            file=sys.stderr,
        )
    try:
        task = cls(spec, samples)  # keeps the skipped rows (Task.skipped), hashed with the samples
    except ValueError as e:
        raise HarnessError(f"{entry.file}: {e}") from None
    task.data_path = data.data_folder(spec.source.args, entry.file.parent, path)  # judge templates live there too
    if path is not None:
        from harness.data import release

        task.data_source = release.describe_source(spec.dataset, path)
    return task


def locate_data(entry: TaskEntry, data_dir: str | Path | None = None, download: bool = False) -> Path | None:
    """The folder of a task's pinned release (None for a task without one); a DataError saying what to download
    when it is absent."""
    if entry.spec.dataset is None:
        return None
    from harness import settings
    from harness.data import release

    return release.require(entry.spec.dataset, settings.data_dir(data_dir), entry.spec.name, download=download)


def data_status(entry: TaskEntry, data_dir: str | Path | None = None) -> str:
    """Where a task's released data is on this machine, "missing", or "built in" (never loads the data)."""
    if entry.spec.dataset is None:
        return "built in"
    from harness import settings
    from harness.data import release

    return release.status(entry.spec.dataset, settings.data_dir(data_dir))


def _hint(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
