"""The Python API, which the CLI, the regression gate, the pytest plugin and reference systems call too::

    import harness
    results = harness.evaluate(task="edit/scenes", model="identity", limit=20)
    print(results.table())                 # one row per task; results[0].table() for one run's metrics
    results[0].to_dict()                   # what the results JSON file holds

``model`` is a registered name, ``module:Class``, an adapter class or an adapter instance; ``model_args`` a dict
or lm-eval's ``"a=1,b=2"`` string. Everything is imported lazily: ``import harness`` never imports torch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

STORE_NAME = "harness.sqlite"


class Results(list):
    """The RunResults of one ``evaluate`` call (a list, one per task, in task order) that render and serialize."""

    def table(self, tablefmt: str = "simple") -> str:
        """One row per run: task, model, primary metric, value, 95% CI, N, failed samples."""
        from harness.results import results_table

        return results_table(self, tablefmt)

    def to_dict(self) -> list[dict]:
        return [r.to_dict() for r in self]

    def __str__(self) -> str:
        return self.table()

    def _repr_markdown_(self) -> str:
        return self.table("github")


def evaluate(
    task: str,
    model=None,
    model_args: dict[str, Any] | str | None = None,
    *,
    limit: int | None = None,
    seed: int = 0,
    batch_size: int = 8,
    output: str | Path = "results",
    include: tuple = (),
    progress: bool | Callable = True,
    on_result: Callable | None = None,
    data_dir: str | Path | None = None,
    strict_data: bool = False,
    download: bool = False,
    judge: str | None = None,
    judge_args: dict[str, Any] | str | None = None,
    judge_failure_policy: str = "exclude",
    judge_protocol: str | None = None,
    judge_templates: tuple[str | Path, str] | None = None,
    batch_timeout: float | None = None,
    recompute: bool = False,
) -> Results:
    """Evaluate ``model`` (default: the tasks' default_model) on a task, a group or a comma list of them.

    Writes per-sample records and aggregates to ``output/harness.sqlite`` and one results JSON per task; a
    re-run computes only what is not stored yet. ``progress``: True for a progress bar on stderr, False for
    none, or callable(label) -> context manager yielding callable(advance, total). ``on_result``: called with
    (RunResult, TaskSpec, results JSON path, number of processes) as each task finishes.
    ``data_dir``/``download``: where tasks pinning released data find it (harness/data/release.py);
    ``strict_data``: rows a loader cannot score are an error instead of a counted skip.
    ``judge``: a registered judge (harness.judges) with its ``judge_args``; tasks with a judge protocol are then
    judged after generation (``judge_failure_policy``: exclude | official). Without it they are only generated
    and scored by their reference metrics. ``judge_templates``: (file, sha256) replacing the task's official
    template file (stand-in templates; the protocol identity records the hash, so such runs never mix).
    ``batch_timeout``: seconds one batch may take; ``recompute``: drop the stored samples of each run first.
    Model args are normalised through the adapter's Args (defaults included) before they are hashed, so one
    configuration is one run id, one cache and one leaderboard row (labelled by its non-default args).
    Returns the RunResults (empty on non-zero ranks of a torchrun launch)."""
    from harness import registry, results
    from harness.adapters import canonical_model_args, validate_args
    from harness.distributed import world_from_env
    from harness.runner import effective_limit
    from harness.runner import evaluate as run
    from harness.spec import RunSpec
    from harness.store import RunStore

    entries = registry.resolve(task, registry.discover_tasks(tuple(Path(p) for p in include)))
    name, cls, args, adapter = resolve_model(model, model_args, entries)
    for entry in entries:  # refuse a kind mismatch before loading anything heavy
        if entry.spec.kind != cls.kind:
            raise HarnessError(f"model {name!r} is a {cls.kind} adapter; task {entry.spec.name!r} is {entry.spec.kind}")
    # one configuration = one run id, cache and row, however its args were spelled (validated before any work)
    canonical_args, label = canonical_model_args(cls, adapter.args if adapter is not None else validate_args(cls, args))
    for entry in entries:  # absent released data fails before any output is written
        registry.locate_data(entry, data_dir, download=download)
    world = world_from_env()  # torchrun / accelerate launch: shard samples, rank 0 writes
    out = results.ensure_writable_dir(Path(output)) if world.is_main else None
    judge_obj, jargs = make_judge(judge, judge_args, judge_failure_policy, judge_protocol, entries)
    adapter = adapter if adapter is not None else cls(**args)
    store = RunStore(out / STORE_NAME) if world.is_main else None
    bar = _progress_factory(progress)
    done = Results()
    for entry in entries:
        t = registry.build_task(entry, data_dir=data_dir, strict_data=strict_data, download=download)
        session = (
            judge_session(entry, judge_obj, judge_failure_policy, judge_protocol, t, data_dir, judge_templates)
            if judge_obj
            else None
        )
        spec = RunSpec(
            task=t.name,
            task_hash=t.content_hash(),
            model=name,
            model_args=canonical_args,
            model_args_label=label,
            model_fingerprint=adapter.fingerprint(),
            seed=seed,
            limit=effective_limit(t, limit),
            **(
                {}
                if session is None
                else {
                    "judge": judge,
                    "judge_args": tuple(sorted(jargs.items())),
                    "judge_fingerprint": session.key(),
                    "judge_failure_policy": judge_failure_policy,
                }
            ),
        )
        with bar(t.name) if bar and world.is_main else contextlib.nullcontext() as advance:
            result = run(
                t,
                adapter,
                spec,
                store,
                batch_size=batch_size,
                progress=advance,
                world=world,
                judge=session,
                batch_timeout=batch_timeout,
                recompute=recompute,
            )
        if result is None:
            continue
        path = results.write_result(out, result)
        done.append(result)
        if on_result:
            on_result(result, t.spec, path, world.size)
    return done


# The CLI's and the gate's name for it (string model and args, as on the command line).
evaluate_model = evaluate


def make_judge(judge, judge_args, policy: str, protocol: str | None, entries):
    """(judge instance or None, its args as strings); every task must have a judge protocol when one is given."""
    from harness.adapters import parse_model_args

    if policy not in ("exclude", "official"):
        raise HarnessError(f"--judge_failure_policy: {policy!r} is not one of exclude, official")
    if judge is None:
        return None, {}
    from harness.judges import judge_class

    jargs = (
        parse_model_args(judge_args, "--judge_args")
        if judge_args is None or isinstance(judge_args, str)
        else {str(k): _arg_text(v) for k, v in judge_args.items()}
    )
    instance = judge_class(judge)(**jargs)
    for entry in entries:
        if not (protocol or getattr(entry.spec.options, "judge_protocol", None)):
            raise HarnessError(f"--judge {judge}: task {entry.spec.name!r} has no judge protocol")
    return instance, jargs


def judge_session(entry, judge, policy: str, protocol_name: str | None, task, data_dir=None, override=None):
    """The judge + the task's protocol, its templates read from the task's data folder (or, failing that, the
    data directory: e.g. a clone of the benchmark's GitHub repository there) and verified."""
    from harness.judges.protocols import PROTOCOLS
    from harness.judges.stage import JudgeSession

    opts = entry.spec.options
    name = protocol_name or opts.judge_protocol
    if name not in PROTOCOLS:
        raise HarnessError(f"judge protocol {name!r} is unknown (known: {', '.join(PROTOCOLS)})")
    if opts.judge_templates is None:
        raise HarnessError(
            f"{entry.file}: field 'options.judge_templates': protocol {name!r} needs its official "
            f"template file (file + sha256)"
        )
    if override is not None:
        return JudgeSession(judge, PROTOCOLS[name](Path(override[0]), override[1]), policy)
    from harness import settings

    rel = opts.judge_templates.file
    candidates = [Path(getattr(task, "data_path", None) or entry.file.parent) / rel, settings.data_dir(data_dir) / rel]
    path = next((p for p in candidates if p.is_file()), candidates[0])
    return JudgeSession(judge, PROTOCOLS[name](path, opts.judge_templates.sha256, opts.judge_templates.source), policy)


def resolve_model(model, model_args, entries) -> tuple[str, type, dict[str, str], Any]:
    """(row name, adapter class, model args as strings, the instance if one was given) for ``evaluate``.

    Args are kept as strings, as the command line gives them, so ``model_args={"low": 0}`` and
    ``--model_args low=0`` are one run spec (one cache entry). An instance contributes the args it was built
    with explicitly (its ``Args`` fields that were set), and its own ``fingerprint()``."""
    from harness.adapters import CONTRACTS, Adapter, adapter_class, parse_model_args

    if isinstance(model, Adapter):
        if model_args:
            raise HarnessError("model_args: not used with an adapter instance (build the instance with them)")
        cls = type(model)
        args = {k: str(v) for k, v in model.args.model_dump(mode="json", exclude_unset=True).items()}
        return _class_name(cls), cls, args, model
    if isinstance(model, type):
        if not issubclass(model, tuple(CONTRACTS.values())):
            raise HarnessError(f"model {model.__qualname__}: not an Editor, Embedder or Reasoner subclass")
        cls, name = model, _class_name(model)
    elif model is None or isinstance(model, str):
        name = model or default_model(entries)
        cls = adapter_class(name)
    else:
        raise HarnessError(f"model: expected a name, an adapter class or instance, not {type(model).__name__}")
    if model_args is None or isinstance(model_args, str):
        args = parse_model_args(model_args or "")
    elif isinstance(model_args, dict):
        args = {str(k): _arg_text(v) for k, v in model_args.items()}
    else:
        raise HarnessError(f"model_args: expected a dict or 'key=value,...', not {type(model_args).__name__}")
    return name, cls, args, None


def _arg_text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)  # True -> "true", as typed on a CLI


def _class_name(cls) -> str:
    """A registered adapter's name, else ``module:Class`` (what ``--model`` would take for it)."""
    return cls.name or f"{cls.__module__}:{cls.__qualname__}"


def _progress_factory(progress):
    if progress is True:
        from harness.progress import progress_bar

        return progress_bar
    return progress or None


def default_model(entries) -> str:
    defaults = {e.spec.default_model for e in entries}
    if None in defaults:
        name = next(e.spec.name for e in entries if e.spec.default_model is None)
        raise HarnessError(f"--model not given and task {name!r} has no default_model")
    if len(defaults) > 1:
        raise HarnessError(f"--model not given and the tasks' default models differ ({', '.join(sorted(defaults))})")
    return defaults.pop()


def list_tasks(include: tuple = ()) -> list[str]:
    """Names of every registered task (tasks shipped with harness, plus the ``include`` folders), sorted."""
    from harness import registry

    return sorted(registry.discover_tasks(tuple(Path(p) for p in include)))


def get_task(name: str, include: tuple = (), data_dir: str | Path | None = None):
    """The task ``name`` with its samples loaded (a ``harness.kinds`` Task: ``.spec``, ``.samples``,
    ``.units()``, ``.content_hash()``); ``data_dir`` as for ``evaluate``."""
    from harness import registry

    tasks = registry.discover_tasks(tuple(Path(p) for p in include))
    if name not in tasks:
        members = registry.resolve(name, tasks)  # an unknown name raises, with a close match
        raise HarnessError(f"{name!r} is a group of {len(members)} tasks; get_task takes one (list_tasks() names them)")
    return registry.build_task(tasks[name], data_dir=data_dir)


def open_store(output: str | Path = "results"):
    """The results store of a results folder (or the ``.sqlite`` file itself), opened read-only (a folder nobody
    may write still reads); a HarnessError if there is none (never creates an empty one)."""
    from harness.store import RunStore

    path = Path(output)
    path = path if path.suffix == ".sqlite" else path / STORE_NAME
    if path.is_dir():
        raise HarnessError(f"{path}: is a directory, not a results store file")
    if not path.is_file():
        raise HarnessError(f"{path}: no results store (run `harness eval` first, or pass --output)")
    return RunStore(path, readonly=True)
