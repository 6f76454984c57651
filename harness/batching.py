"""How the runner computes a run's to-do units: cut into batches (never mixing ``task.batch_key``s), claimed
in the store so several processes running one spec split the work, or sharded across torchrun ranks; each batch
predicted on read-only samples under an optional deadline, a failing batch retried sample by sample, and
outputs shared across tasks reused or stored. The evaluation loop around it is ``harness.runner.evaluate``."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import signal
import threading
import time

import numpy as np

from harness.adapters import Adapter
from harness.distributed import World
from harness.kinds.base import AdapterContractError, Task
from harness.spec import RunSpec, stable_hash
from harness.store import Record, RunStore


def sample_seed(run_seed: int, sample_id: str) -> int:
    """Per-sample seed: the same for a sample whatever its batch, rank or position."""
    return int.from_bytes(hashlib.sha256(f"{run_seed}:{sample_id}".encode()).digest()[:8], "little") >> 1


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
