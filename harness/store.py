"""Embedded SQLite results store (WAL mode: readers never block the writer; several processes may write).

Tables:
  runs        one row per run (run id = hash of the full RunSpec), with its spec, provenance and status
  records     per-sample output and scores, keyed by (cache key, sample id): the cache that makes re-runs free
              and lets a killed run resume; each batch is one transaction, so a sample is stored whole or not at all
  aggregates  per run, per subset ('' = all samples, 'edit_type=move', ...) and metric: mean, 95% CI, N
  failures   per run, the samples that failed and why (judge failures too: "judge parse: ...")
  judge_calls every judge call of the judging stage: raw reply text, status (ok / refusal / transport), the model
              the server reported; keyed by a hash of the judge, the protocol, the sample, its edit, the role and
              the attempt, so re-judging reuses replies and a crash mid-judging resumes. A judged run's records
              hold scores only; their info names the ``generation_key`` whose records hold the edited images and
              the ``judge_calls`` (role -> call key) whose replies a report can show.
  shared_outputs  unit outputs valid across tasks, keyed by model + seed + unit content (``Task.share_key``):
              an encoded gallery item is embedded once per model however many tasks share the corpus.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, cache_key TEXT NOT NULL, task TEXT NOT NULL, task_hash TEXT NOT NULL,
    kind TEXT NOT NULL, model TEXT NOT NULL, model_args TEXT NOT NULL, variant TEXT NOT NULL,
    fingerprint TEXT NOT NULL, seed INTEGER NOT NULL, sample_limit INTEGER, spec TEXT NOT NULL,
    provenance TEXT NOT NULL, status TEXT NOT NULL, n_samples INTEGER, n_failed INTEGER,
    started REAL NOT NULL, finished REAL, sample_ids TEXT, subsets TEXT, samples_hash TEXT
);
CREATE TABLE IF NOT EXISTS records (
    cache_key TEXT NOT NULL, sample_id TEXT NOT NULL, output BLOB, scores TEXT, info TEXT, error TEXT,
    created REAL NOT NULL, PRIMARY KEY (cache_key, sample_id)
);
CREATE TABLE IF NOT EXISTS aggregates (
    run_id TEXT NOT NULL, subset TEXT NOT NULL, metric TEXT NOT NULL, value REAL, ci_low REAL, ci_high REAL,
    n INTEGER NOT NULL, PRIMARY KEY (run_id, subset, metric)
);
CREATE TABLE IF NOT EXISTS failures (
    run_id TEXT NOT NULL, sample_id TEXT NOT NULL, error TEXT NOT NULL, PRIMARY KEY (run_id, sample_id)
);
CREATE TABLE IF NOT EXISTS judge_calls (
    call_key TEXT PRIMARY KEY, judge_key TEXT NOT NULL, sample_id TEXT NOT NULL, role TEXT NOT NULL,
    attempt INTEGER NOT NULL, status TEXT NOT NULL, text TEXT, model TEXT, error TEXT, latency REAL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS shared_outputs (
    share_key TEXT PRIMARY KEY, output BLOB NOT NULL, created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_task ON runs (task, model, variant);
"""


@dataclass(frozen=True)
class Record:
    sample_id: str
    output: bytes | None
    scores: dict[str, float] | None
    info: dict
    error: str | None


class RunStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A long busy timeout: concurrent writers queue behind each other's short transactions.
        self.conn = sqlite3.connect(self.path, timeout=120, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=120000")
        self.conn.executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Add columns that newer versions introduced, so an older store file keeps working."""
        have = {row[1] for row in self.conn.execute("PRAGMA table_info(runs)")}
        for column, decl in (("sample_ids", "TEXT"), ("subsets", "TEXT"), ("samples_hash", "TEXT")):
            if column not in have:
                self.conn.execute(f"ALTER TABLE runs ADD COLUMN {column} {decl}")

    def close(self) -> None:
        self.conn.close()

    def _tx(self, statements: Iterable[tuple[str, tuple]]) -> None:
        """Run statements in one IMMEDIATE transaction: all land or none."""
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in statements:
                cur.execute(sql, params)
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")

    # --- runs -------------------------------------------------------------------------------------------------
    def start_run(self, spec, kind: str, provenance: dict) -> None:
        self._tx([(
            "INSERT INTO runs (run_id, cache_key, task, task_hash, kind, model, model_args, variant, fingerprint,"
            " seed, sample_limit, spec, provenance, status, started) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,'running',?)"
            " ON CONFLICT(run_id) DO UPDATE SET status='running', provenance=excluded.provenance,"
            " started=excluded.started, finished=NULL",
            (spec.run_id(), spec.cache_key(), spec.task, spec.task_hash, kind, spec.model, spec.model_args_str(),
             spec.variant, spec.model_fingerprint, spec.seed, spec.limit, spec.model_dump_json(),
             json.dumps(provenance), time.time()),
        )])

    def finish_run(self, run_id: str, aggregates: dict[str, dict], failures: dict[str, str],
                   sample_ids: list[str], subsets: dict[str, list[str]] | None = None,
                   samples_hash: str | None = None) -> None:
        """aggregates: {subset: {metric: Aggregate}}; replaces any earlier aggregates of this run.
        sample_ids: the scored samples of this run, in task order (what paired comparisons align on).
        subsets: {subset: its sample ids}, so subsets can be compared pair by pair too.
        samples_hash: the task's Task.samples_hash() (which runs of other tasks hold the same samples)."""
        stmts = [("DELETE FROM aggregates WHERE run_id=?", (run_id,)),
                 ("DELETE FROM failures WHERE run_id=?", (run_id,))]
        for subset, metrics in aggregates.items():
            for metric, agg in metrics.items():
                stmts.append(("INSERT INTO aggregates VALUES (?,?,?,?,?,?,?)",
                              (run_id, subset, metric, agg.mean, agg.ci_low, agg.ci_high, agg.n)))
        stmts += [("INSERT INTO failures VALUES (?,?,?)", (run_id, sid, err)) for sid, err in failures.items()]
        stmts.append(("UPDATE runs SET status='finished', finished=?, n_samples=?, n_failed=?, sample_ids=?,"
                      " subsets=?, samples_hash=? WHERE run_id=?",
                      (time.time(), len(sample_ids), len(failures), json.dumps(sample_ids),
                       None if subsets is None else json.dumps(subsets), samples_hash, run_id)))
        self._tx(stmts)

    def mark_failed(self, run_id: str) -> None:
        self._tx([("UPDATE runs SET status='failed', finished=? WHERE run_id=?", (time.time(), run_id))])

    def runs(self, where: str = "1", params: tuple = ()) -> list[dict]:
        cur = self.conn.execute(f"SELECT * FROM runs WHERE {where} ORDER BY started", params)
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row)) for row in cur.fetchall()]

    def find_run(self, prefix: str) -> list[dict]:
        return self.runs("run_id LIKE ?", (prefix.replace("%", "") + "%",))

    def aggregates(self, run_id: str) -> list[dict]:
        cur = self.conn.execute(
            "SELECT subset, metric, value, ci_low, ci_high, n FROM aggregates WHERE run_id=? ORDER BY subset, metric",
            (run_id,))
        return [dict(zip(("subset", "metric", "value", "ci_low", "ci_high", "n"), row)) for row in cur.fetchall()]

    def failures(self, run_id: str) -> list[tuple[str, str]]:
        return self.conn.execute("SELECT sample_id, error FROM failures WHERE run_id=? ORDER BY sample_id",
                                 (run_id,)).fetchall()

    def run_scores(self, run: dict) -> dict[str, dict[str, float]]:
        """Per-sample scores of a finished run (a row of ``runs()``), by sample id, in task order; failed samples
        are absent."""
        if run.get("sample_ids"):
            ids = json.loads(run["sample_ids"])
        elif run["sample_limit"] is None:  # a run stored before sample ids were recorded: all its records
            ids = sorted(self.get_records(run["cache_key"]))
        else:
            raise ValueError(f"run {run['run_id']} predates per-run sample lists and used --limit: re-run it")
        records = self.get_records(run["cache_key"], ids)
        return {sid: records[sid].scores for sid in ids if sid in records and records[sid].scores is not None}

    @staticmethod
    def run_subsets(run: dict) -> dict[str, list[str]] | None:
        """{subset: sample ids} of a finished run; None for runs stored before subset membership was."""
        return json.loads(run["subsets"]) if run.get("subsets") else None

    # --- per-sample records ----------------------------------------------------------------------------------
    def put_records(self, cache_key: str, records: list[Record]) -> None:
        now = time.time()
        self._tx([(
            "INSERT OR REPLACE INTO records VALUES (?,?,?,?,?,?,?)",
            (cache_key, r.sample_id, r.output, None if r.scores is None else json.dumps(r.scores),
             json.dumps(r.info), r.error, now),
        ) for r in records])

    def get_records(self, cache_key: str, sample_ids: list[str] | None = None) -> dict[str, Record]:
        rows = self.conn.execute(
            "SELECT sample_id, output, scores, info, error FROM records WHERE cache_key=?", (cache_key,)).fetchall()
        wanted = None if sample_ids is None else set(sample_ids)
        return {
            sid: Record(sid, out, None if scores is None else json.loads(scores), json.loads(info or "{}"), err)
            for sid, out, scores, info, err in rows if wanted is None or sid in wanted
        }

    # --- judge calls -------------------------------------------------------------------------------------------
    def put_judge_calls(self, calls: list[dict]) -> None:
        """calls: dicts with call_key, judge_key, sample_id, role, attempt, status, text, model, error, latency."""
        now = time.time()
        self._tx([("INSERT OR REPLACE INTO judge_calls VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                   (c["call_key"], c["judge_key"], c["sample_id"], c["role"], c["attempt"], c["status"], c["text"],
                    c["model"], c["error"], c["latency"], now)) for c in calls])

    def judge_calls(self, call_keys: list[str], settled_only: bool = False) -> dict[str, dict]:
        """Stored calls by key; ``settled_only`` leaves out transport failures (they are retried on a re-run)."""
        out: dict[str, dict] = {}
        cols = ("call_key", "judge_key", "sample_id", "role", "attempt", "status", "text", "model", "error",
                "latency", "created")
        for i in range(0, len(call_keys), 500):
            chunk = call_keys[i:i + 500]
            rows = self.conn.execute(f"SELECT {', '.join(cols)} FROM judge_calls WHERE call_key IN "
                                     f"({','.join('?' * len(chunk))})", chunk).fetchall()
            for row in rows:
                call = dict(zip(cols, row))
                if not settled_only or call["status"] != "transport":
                    out[call["call_key"]] = call
        return out

    def put_shared(self, outputs: list[tuple[str, bytes]]) -> None:
        now = time.time()
        self._tx([("INSERT OR IGNORE INTO shared_outputs VALUES (?, ?, ?)", (key, blob, now))
                  for key, blob in outputs])

    def get_shared(self, keys: list[str]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for i in range(0, len(keys), 500):  # SQLite's bound-parameter limit
            chunk = keys[i:i + 500]
            out.update(self.conn.execute(f"SELECT share_key, output FROM shared_outputs WHERE share_key IN "
                                         f"({','.join('?' * len(chunk))})", chunk).fetchall())
        return out

    def count_records(self, cache_key: str) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM records WHERE cache_key=?", (cache_key,)).fetchone()[0]
