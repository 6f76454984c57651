"""The results store file: its SQLite schema, the migrations that keep older files readable, and the
connection (open with retries, schema checks, one ``StoreError`` per SQLite problem, one-transaction writes).

Tables:
  runs        one row per run (run id = hash of the full RunSpec), with its spec, provenance, status and owner
              (pid, host, heartbeat: whether a "running" run is alive or its process died)
  records     per-sample output and scores, keyed by (cache key, sample id): the cache that makes re-runs free
              and lets a killed run resume; each batch is one transaction, so a sample is stored whole or not at all
  aggregates  per run, per subset ('' = all samples, 'edit_type=move', ...) and metric: mean, 95% CI, N
  failures    per run, the samples that failed and why (judge failures too: "judge parse: ...")
  judge_calls every judge call of the judging stage: raw reply text, status (ok / refusal / transport), the model
              the server reported; keyed by a hash of the judge, the protocol, the sample, its edit, the role and
              the attempt, so re-judging reuses replies and a crash mid-judging resumes. A judged run's records
              hold scores only; their info names the ``generation_key`` whose records hold the edited images and
              the ``judge_calls`` (role -> call key) whose replies a report can show.
  shared_outputs  unit outputs valid across tasks, keyed by model + seed + unit content (``Task.share_key``):
              an encoded gallery item is embedded once per model however many tasks share the corpus; with the
              adapter's side information for it, so a task that reuses the output keeps that too.
  claims      samples a live process is computing right now, so two processes running one spec split the work

The queries over these tables are ``harness.store.RunStore``.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

from harness.errors import HarnessError

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, cache_key TEXT NOT NULL, task TEXT NOT NULL, task_hash TEXT NOT NULL,
    kind TEXT NOT NULL, model TEXT NOT NULL, model_args TEXT NOT NULL, variant TEXT NOT NULL,
    fingerprint TEXT NOT NULL, seed INTEGER NOT NULL, sample_limit INTEGER, spec TEXT NOT NULL,
    provenance TEXT NOT NULL, status TEXT NOT NULL, n_samples INTEGER, n_failed INTEGER,
    started REAL NOT NULL, finished REAL, sample_ids TEXT, subsets TEXT, samples_hash TEXT,
    owner_pid INTEGER, owner_host TEXT, heartbeat REAL, first_finished REAL
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
    share_key TEXT PRIMARY KEY, output BLOB NOT NULL, created REAL NOT NULL, info TEXT
);
CREATE TABLE IF NOT EXISTS claims (
    cache_key TEXT NOT NULL, sample_id TEXT NOT NULL, owner TEXT NOT NULL, claimed REAL NOT NULL,
    PRIMARY KEY (cache_key, sample_id)
);
CREATE INDEX IF NOT EXISTS runs_by_task ON runs (task, model, variant);
"""
REQUIRED_RUN_COLUMNS = {
    "run_id",
    "cache_key",
    "task",
    "task_hash",
    "kind",
    "model",
    "model_args",
    "variant",
    "fingerprint",
    "seed",
    "sample_limit",
    "spec",
    "provenance",
    "status",
    "started",
}
OPEN_RETRY_S = 60.0  # creating a store races with other processes creating it (WAL switch): retry this long


class StoreError(HarnessError):
    """The results store cannot be opened, read or written (the message names the file)."""


class StoreFile:
    """A connection to one results store file; ``RunStore`` adds the queries."""

    def __init__(self, path: str | Path, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        if self.path.is_dir():
            raise StoreError(f"{self.path}: is a directory, not a results store file")
        if readonly and not self.path.is_file():
            raise StoreError(f"{self.path}: no results store")
        if not readonly:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"{self.path.parent}: cannot create the results folder ({e.strerror})") from None
            if self.path.exists() and not os.access(self.path, os.W_OK):
                raise StoreError(f"{self.path}: results store is read-only (no write permission)")
        deadline = time.monotonic() + OPEN_RETRY_S
        while True:
            try:
                self._open()
                break
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise self._error(e) from None
                self.conn.close()
                time.sleep(0.05)
            except sqlite3.Error as e:
                raise self._error(e) from None

    def _open(self) -> None:
        if self.readonly:
            # mode=ro reads a store others may be writing; a folder nobody may write (no -shm file can be made)
            # is read as an immutable snapshot.
            uri = f"file:{self.path.resolve()}?mode=ro"
            if not os.access(self.path.parent, os.W_OK):
                uri += "&immutable=1"
            self.conn = sqlite3.connect(uri, uri=True, timeout=120, isolation_level=None)
        else:
            # A long busy timeout: concurrent writers queue behind each other's short transactions.
            self.conn = sqlite3.connect(self.path, timeout=120, isolation_level=None)
        self.conn.execute("PRAGMA busy_timeout=120000")
        tables = {row[0] for row in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and "runs" not in tables:
            raise StoreError(
                f"{self.path}: a SQLite file of another schema (tables: {', '.join(sorted(tables))}), "
                "not a harness results store"
            )
        if "runs" in tables:
            self._check_columns()
        if self.readonly:
            if not tables:
                raise StoreError(f"{self.path}: empty file, not a harness results store")
        else:
            if self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.executescript(SCHEMA)
            self._migrate()
        self._check_columns()
        self.conn.execute("SELECT count(*) FROM runs").fetchone()  # a damaged file fails here, not mid-run

    def _check_columns(self) -> None:
        have = {row[1] for row in self.conn.execute("PRAGMA table_info(runs)")}
        if not REQUIRED_RUN_COLUMNS <= have:
            missing = sorted(REQUIRED_RUN_COLUMNS - have)
            raise StoreError(
                f"{self.path}: table 'runs' lacks column(s) {', '.join(missing)}: a foreign schema, "
                "not a harness results store"
            )

    def _error(self, e: sqlite3.Error) -> StoreError:
        msg = str(e)
        if "not a database" in msg:
            msg = "not a SQLite database (corrupt or another kind of file)"
        elif "malformed" in msg:
            msg = "the database file is damaged (truncated or corrupt): restore it or move it away"
        elif "readonly" in msg:
            msg = "results store is read-only"
        elif "full" in msg:
            msg = "disk full while writing the results store (nothing of the failed batch was stored)"
        return StoreError(f"{self.path}: {msg}")

    @contextmanager
    def _guard(self):
        try:
            yield
        except sqlite3.Error as e:
            raise self._error(e) from None

    def _rows(self, sql: str, params: tuple = ()) -> tuple[list[str], list[tuple]]:
        with self._guard():
            cur = self.conn.execute(sql, params)
            return [c[0] for c in cur.description or ()], cur.fetchall()

    def _migrate(self) -> None:
        """Add columns that newer versions introduced, so an older store file keeps working."""
        have = {row[1] for row in self.conn.execute("PRAGMA table_info(runs)")}
        for column, decl in (
            ("sample_ids", "TEXT"),
            ("subsets", "TEXT"),
            ("samples_hash", "TEXT"),
            ("owner_pid", "INTEGER"),
            ("owner_host", "TEXT"),
            ("heartbeat", "REAL"),
            ("first_finished", "REAL"),
        ):
            if column not in have:
                self._add_column("runs", column, decl)
        if "info" not in {row[1] for row in self.conn.execute("PRAGMA table_info(shared_outputs)")}:
            self._add_column("shared_outputs", "info", "TEXT")  # side information of shared outputs

    def _add_column(self, table: str, column: str, decl: str) -> None:
        try:
            self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
        except sqlite3.OperationalError as e:  # another process added it first
            if "duplicate column" not in str(e):
                raise

    def close(self) -> None:
        self.conn.close()

    def _tx(self, statements: Iterable[tuple[str, tuple]]) -> None:
        """Run statements in one IMMEDIATE transaction: all land or none."""
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only")
        with self._guard():
            cur = self.conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    cur.execute(sql, params)
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
