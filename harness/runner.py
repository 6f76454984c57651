"""The runner: batches a task's units through an adapter, stores every sample as soon as its batch is done, and
aggregates per-sample scores with bootstrap CIs.

Caching and resume come from one rule: a unit whose record (keyed by run-spec cache key + sample id) exists
without an error is never recomputed. A re-run of a finished run therefore computes nothing, and a run killed at
any point resumes with the batches it had committed.

Batching, claims and sharding: ``harness.batching``; provenance: ``harness.provenance``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from harness.adapters import Adapter
from harness.batching import (
    BatchTimeout,
    _reuse_shared,
    _run_claimed,
    _run_sharded,
    _share_keys,
    sample_seed,  # noqa: F401  (re-exported: callers import it from the runner)
)
from harness.distributed import World
from harness.errors import HarnessError
from harness.kinds.base import AdapterContractError, Task
from harness.metrics.stats import Aggregate, bootstrap_ci, stratified_bootstrap_ci
from harness.provenance import PROVENANCE_PACKAGES, git_sha, provenance  # noqa: F401  (re-exported)
from harness.spec import RunSpec
from harness.store import Record, RunStore


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
