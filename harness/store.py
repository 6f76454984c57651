"""Embedded SQLite results store (WAL mode: readers never block the writer; several processes may write).

Tables, schema, migrations and the connection: ``harness.store_schema``. This module holds the records and
the queries: runs, per-sample records, aggregates, failures, judge calls, shared outputs and claims.

Every SQLite problem (not a database, a foreign schema, a damaged page, a full disk, a read-only file) is a
``StoreError`` naming the file. ``RunStore(path, readonly=True)`` reads a store in a folder nobody may write.
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.store_schema import (  # noqa: F401  (re-exported: harness.store is where callers import them)
    OPEN_RETRY_S,
    REQUIRED_RUN_COLUMNS,
    SCHEMA,
    StoreError,
    StoreFile,
)

# A process on another host cannot be asked whether it lives: its run (or claim) is taken for dead once its
# heartbeat (refreshed with every committed batch) is this old.
STALE_AFTER_S = 600.0


@dataclass(frozen=True)
class Record:
    sample_id: str
    output: bytes | None
    scores: dict[str, float] | None
    info: dict
    error: str | None


# Keys of a record's info that say where things are stored (reused outputs, a judged run's edits and judge calls),
# not what a model said.
BOOKKEEPING_INFO_KEYS = frozenset({"shared", "generation_key", "judge_key", "judge_calls"})


def owner_id() -> tuple[int, str]:
    return os.getpid(), socket.gethostname()


def owner_alive(pid: int | None, host: str | None, heartbeat: float | None, now: float | None = None) -> bool:
    """Is the process that owns a run (or claim) still there? Asked directly on this host, by heartbeat elsewhere."""
    if pid is None:
        return False
    if host == socket.gethostname():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # exists, owned by another user
            return True
        return not _is_zombie(pid)
    return heartbeat is not None and (now or time.time()) - heartbeat < STALE_AFTER_S


def _is_zombie(pid: int) -> bool:
    """A killed process whose parent has not reaped it still answers ``kill(pid, 0)``; in a container without an
    init that reaps orphans it stays so, and its claims would block every later run on the store."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no procfs (macOS) or gone meanwhile
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def _dump_scores(scores: dict | None) -> str | None:
    """JSON of per-sample scores; NaN/inf (not valid JSON) are written as null."""
    if scores is None:
        return None
    return json.dumps(
        {k: (v if isinstance(v, (int, float)) and math.isfinite(v) else None) for k, v in scores.items()},
        allow_nan=False,
    )


def _load_scores(text: str | None) -> dict | None:
    return None if text is None else {k: (math.nan if v is None else v) for k, v in json.loads(text).items()}


class RunStore(StoreFile):
    # --- runs -------------------------------------------------------------------------------------------------
    def start_run(self, spec, kind: str, provenance: dict) -> str | None:
        """Record that this process works on ``spec`` now; returns the run's earlier status (None: a new run).
        A finished run stays "finished" (its aggregates still hold) while it is re-run: a cached re-run that is
        interrupted must not take a finished run off the leaderboards."""
        pid, host = owner_id()
        now = time.time()
        before = self._rows("SELECT status FROM runs WHERE run_id=?", (spec.run_id(),))[1]
        self._tx(
            [
                (
                    "INSERT INTO runs (run_id, cache_key, task, task_hash, kind, model, model_args, variant,"
                    " fingerprint, seed, sample_limit, spec, provenance, status, started, owner_pid, owner_host,"
                    " heartbeat)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,'running',?,?,?,?)"
                    " ON CONFLICT(run_id) DO UPDATE SET"
                    " status=CASE WHEN status='finished' THEN 'finished' ELSE 'running' END,"
                    " provenance=excluded.provenance, started=excluded.started,"
                    " finished=CASE WHEN status='finished' THEN finished ELSE NULL END,"
                    " owner_pid=excluded.owner_pid, owner_host=excluded.owner_host, heartbeat=excluded.heartbeat",
                    (
                        spec.run_id(),
                        spec.cache_key(),
                        spec.task,
                        spec.task_hash,
                        kind,
                        spec.model,
                        spec.label_args_str(),
                        spec.variant,
                        spec.model_fingerprint,
                        spec.seed,
                        spec.limit,
                        spec.model_dump_json(),
                        json.dumps(provenance),
                        now,
                        pid,
                        host,
                        now,
                    ),
                )
            ]
        )
        return before[0][0] if before else None

    def finish_run(
        self,
        run_id: str,
        aggregates: dict[str, dict],
        failures: dict[str, str],
        sample_ids: list[str],
        subsets: dict[str, list[str]] | None = None,
        samples_hash: str | None = None,
        status: str = "finished",
    ) -> None:
        """aggregates: {subset: {metric: Aggregate}}; replaces any earlier aggregates of this run.
        sample_ids: the scored samples of this run, in task order (what paired comparisons align on).
        subsets: {subset: its sample ids}, so subsets can be compared pair by pair too.
        samples_hash: the task's Task.samples_hash() (which runs of other tasks hold the same samples).
        status: "failed" for a run that scored no sample (kept for ``harness show``, never on a board)."""
        stmts = [
            ("DELETE FROM aggregates WHERE run_id=?", (run_id,)),
            ("DELETE FROM failures WHERE run_id=?", (run_id,)),
        ]
        for subset, metrics in aggregates.items():
            for metric, agg in metrics.items():
                stmts.append(
                    (
                        "INSERT INTO aggregates VALUES (?,?,?,?,?,?,?)",
                        (run_id, subset, metric, _finite(agg.mean), _finite(agg.ci_low), _finite(agg.ci_high), agg.n),
                    )
                )
        stmts += [("INSERT INTO failures VALUES (?,?,?)", (run_id, sid, err)) for sid, err in failures.items()]
        now = time.time()
        # first_finished orders runs for leaderboards: a later cached re-run of an old run does not make it "newest"
        stmts.append(
            (
                "UPDATE runs SET status=?, finished=?, n_samples=?, n_failed=?, sample_ids=?, subsets=?,"
                " samples_hash=?, owner_pid=NULL, heartbeat=?,"
                " first_finished=CASE WHEN ?='finished' THEN COALESCE(first_finished, ?) END WHERE run_id=?",
                (
                    status,
                    now,
                    len(sample_ids),
                    len(failures),
                    json.dumps(sample_ids),
                    None if subsets is None else json.dumps(subsets),
                    samples_hash,
                    now,
                    status,
                    now,
                    run_id,
                ),
            )
        )
        self._tx(stmts)

    def end_run(self, run_id: str, status: str) -> None:
        """A run stopped before finishing ("failed" or "interrupted"); a run that had finished before stays
        finished (see ``start_run``)."""
        self._tx(
            [
                (
                    "UPDATE runs SET status=CASE WHEN status='finished' THEN 'finished' ELSE ? END,"
                    " finished=CASE WHEN status='finished' THEN finished ELSE ? END, owner_pid=NULL WHERE run_id=?",
                    (status, time.time(), run_id),
                )
            ]
        )

    def mark_failed(self, run_id: str) -> None:
        self.end_run(run_id, "failed")

    def runs(self, where: str = "1", params: tuple = ()) -> list[dict]:
        cols, rows = self._rows(f"SELECT * FROM runs WHERE {where} ORDER BY started", params)
        return [dict(zip(cols, row)) for row in rows]

    def find_run(self, prefix: str) -> list[dict]:
        return self.runs("run_id LIKE ?", (prefix.replace("%", "") + "%",))

    def aggregates(self, run_id: str) -> list[dict]:
        _, rows = self._rows(
            "SELECT subset, metric, value, ci_low, ci_high, n FROM aggregates WHERE run_id=? ORDER BY subset, metric",
            (run_id,),
        )
        return [dict(zip(("subset", "metric", "value", "ci_low", "ci_high", "n"), row)) for row in rows]

    def failures(self, run_id: str) -> list[tuple[str, str]]:
        return self._rows("SELECT sample_id, error FROM failures WHERE run_id=? ORDER BY sample_id", (run_id,))[1]

    def run_scores(self, run: dict) -> dict[str, dict[str, float]]:
        """Per-sample scores of a finished run (a row of ``runs()``), by sample id, in task order; failed samples
        are absent."""
        if run.get("sample_ids"):
            ids = json.loads(run["sample_ids"])
        elif run["sample_limit"] is None:  # a run stored before sample ids were recorded: all its records
            ids = sorted(self.get_records(run["cache_key"], with_output=False))
        else:
            raise HarnessError(f"run {run['run_id']} predates per-run sample lists and used --limit: re-run it")
        records = self.get_records(run["cache_key"], ids, with_output=False)
        return {sid: records[sid].scores for sid in ids if sid in records and records[sid].scores is not None}

    def run_info(self, run: dict) -> dict[str, dict]:
        """Per-sample side information of a finished run (what its adapter returned with each output, see
        ``Adapter.last_info``), by sample id in task order, samples without any left out. A judged run's records
        name the ``generation_key`` whose records hold the edits: the editor's info is read from there. The
        engine's bookkeeping keys (where outputs and judge calls are stored) are left out."""
        ids = json.loads(run["sample_ids"]) if run.get("sample_ids") else None
        records = self.get_records(run["cache_key"], ids, with_output=False)
        generation: dict[str, dict[str, Record]] = {}
        out = {}
        for sid in ids if ids is not None else sorted(records):
            rec = records.get(sid)
            if rec is None:
                continue
            info = dict(rec.info or {})
            if key := info.get("generation_key"):
                if key not in generation:
                    generation[key] = self.get_records(key, ids, with_output=False)
                info = {**(generation[key][sid].info if sid in generation[key] else {}), **info}
            info = {k: v for k, v in info.items() if k not in BOOKKEEPING_INFO_KEYS}
            if info:
                out[sid] = info
        return out

    @staticmethod
    def run_subsets(run: dict) -> dict[str, list[str]] | None:
        """{subset: sample ids} of a finished run; None for runs stored before subset membership was."""
        return json.loads(run["subsets"]) if run.get("subsets") else None

    # --- per-sample records ----------------------------------------------------------------------------------
    def put_records(self, cache_key: str, records: list[Record], run_id: str | None = None) -> None:
        """Store a batch in one transaction; it also releases this process's claims on the batch and refreshes
        the heartbeat of ``run_id``."""
        now = time.time()
        stmts = [
            (
                "INSERT OR REPLACE INTO records VALUES (?,?,?,?,?,?,?)",
                (cache_key, r.sample_id, r.output, _dump_scores(r.scores), json.dumps(r.info), r.error, now),
            )
            for r in records
        ]
        stmts += [("DELETE FROM claims WHERE cache_key=? AND sample_id=?", (cache_key, r.sample_id)) for r in records]
        if run_id is not None:
            pid, host = owner_id()
            stmts.append(("UPDATE runs SET heartbeat=? WHERE run_id=?", (now, run_id)))
            stmts.append(("UPDATE claims SET claimed=? WHERE owner=?", (now, f"{host}:{pid}")))
        self._tx(stmts)

    def get_records(
        self, cache_key: str, sample_ids: list[str] | None = None, with_output: bool = True
    ) -> dict[str, Record]:
        """Records by sample id; ``with_output=False`` leaves the (large) outputs unread."""
        _, rows = self._rows(
            f"SELECT sample_id, {'output' if with_output else 'NULL'}, scores, info, error"
            " FROM records WHERE cache_key=?",
            (cache_key,),
        )
        wanted = None if sample_ids is None else set(sample_ids)
        with self._guard():
            return {
                sid: Record(sid, out, _load_scores(scores), json.loads(info or "{}"), err)
                for sid, out, scores, info, err in rows
                if wanted is None or sid in wanted
            }

    def done_ids(self, cache_key: str, since: float | None = None) -> set[str]:
        """Ids of samples stored without error (by key only: no output is read). With ``since``, samples stored
        with an error at or after that time count as done too (another process of this session already tried)."""
        _, rows = self._rows(
            "SELECT sample_id FROM records WHERE cache_key=? AND (error IS NULL OR created >= ?)",
            (cache_key, math.inf if since is None else since),
        )
        return {r[0] for r in rows}

    # --- judge calls -------------------------------------------------------------------------------------------
    def put_judge_calls(self, calls: list[dict]) -> None:
        """calls: dicts with call_key, judge_key, sample_id, role, attempt, status, text, model, error, latency."""
        now = time.time()
        self._tx(
            [
                (
                    "INSERT OR REPLACE INTO judge_calls VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        c["call_key"],
                        c["judge_key"],
                        c["sample_id"],
                        c["role"],
                        c["attempt"],
                        c["status"],
                        c["text"],
                        c["model"],
                        c["error"],
                        c["latency"],
                        now,
                    ),
                )
                for c in calls
            ]
        )

    def judge_calls(self, call_keys: list[str], settled_only: bool = False) -> dict[str, dict]:
        """Stored calls by key; ``settled_only`` leaves out transport failures (they are retried on a re-run)."""
        out: dict[str, dict] = {}
        cols = (
            "call_key",
            "judge_key",
            "sample_id",
            "role",
            "attempt",
            "status",
            "text",
            "model",
            "error",
            "latency",
            "created",
        )
        for i in range(0, len(call_keys), 500):
            chunk = call_keys[i : i + 500]
            rows = self.conn.execute(
                f"SELECT {', '.join(cols)} FROM judge_calls WHERE call_key IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
            for row in rows:
                call = dict(zip(cols, row))
                if not settled_only or call["status"] != "transport":
                    out[call["call_key"]] = call
        return out

    def put_shared(self, outputs: list[tuple[str, bytes, dict]]) -> None:
        """Store (share key, encoded output, side information) triples; a key already stored is kept."""
        now = time.time()
        self._tx(
            [
                (
                    "INSERT OR IGNORE INTO shared_outputs (share_key, output, created, info) VALUES (?, ?, ?, ?)",
                    (key, blob, now, json.dumps(info or {})),
                )
                for key, blob, info in outputs
            ]
        )

    def get_shared(self, keys: list[str]) -> dict[str, tuple[bytes, dict]]:
        """{share key: (encoded output, side information)} of the keys stored (outputs shared before side
        information was kept have {})."""
        out: dict[str, tuple[bytes, dict]] = {}
        for i in range(0, len(keys), 500):  # SQLite's bound-parameter limit
            chunk = keys[i : i + 500]
            _, rows = self._rows(
                f"SELECT share_key, output, info FROM shared_outputs WHERE share_key IN ({','.join('?' * len(chunk))})",
                tuple(chunk),
            )
            out.update((key, (blob, json.loads(info or "{}"))) for key, blob, info in rows)
        return out

    def count_records(self, cache_key: str) -> int:
        return self._rows("SELECT COUNT(*) FROM records WHERE cache_key=?", (cache_key,))[1][0][0]

    def clear_records(self, cache_key: str) -> int:
        """Drop every stored sample of a cache key (``harness eval --recompute``); returns how many."""
        n = self.count_records(cache_key)
        self._tx(
            [
                ("DELETE FROM records WHERE cache_key=?", (cache_key,)),
                ("DELETE FROM claims WHERE cache_key=?", (cache_key,)),
            ]
        )
        return n

    # --- claims: two processes on one spec split its samples ---------------------------------------------------
    def claim(self, cache_key: str, candidates: list[str], n: int, since: float) -> list[str]:
        """Atomically claim up to ``n`` of ``candidates`` (in order) that are neither stored (see ``done_ids``)
        nor claimed by another live process. Returns the claimed ids ([] = nothing left to take right now)."""
        pid, host = owner_id()
        me, now = f"{host}:{pid}", time.time()
        with self._guard():
            cur = self.conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                done = {
                    r[0]
                    for r in cur.execute(
                        "SELECT sample_id FROM records WHERE cache_key=? AND (error IS NULL OR created >= ?)",
                        (cache_key, since),
                    )
                }
                taken = set()
                for sid, owner, claimed in cur.execute(
                    "SELECT sample_id, owner, claimed FROM claims WHERE cache_key=?", (cache_key,)
                ):
                    o_host, _, o_pid = owner.rpartition(":")
                    if owner != me and owner_alive(int(o_pid), o_host, claimed, now):
                        taken.add(sid)
                picked = [s for s in candidates if s not in done and s not in taken][:n]
                cur.executemany(
                    "INSERT OR REPLACE INTO claims VALUES (?,?,?,?)", [(cache_key, s, me, now) for s in picked]
                )
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
        return picked

    def release_claims(self) -> None:
        pid, host = owner_id()
        if not self.readonly:
            self._tx([("DELETE FROM claims WHERE owner=?", (f"{host}:{pid}",))])


def _finite(x):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x
