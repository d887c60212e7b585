"""SQLite history: runs, their records, and approved baselines.

Every record is committed the moment it is added, so a run killed halfway keeps
everything it measured. WAL mode plus a busy timeout lets concurrent runs (and a
report rendering while a run is going) share one file without corrupting it.
"""

from __future__ import annotations

import json
import secrets as _random
import sqlite3
import tempfile
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from siteward.errors import UsageError
from siteward.records import AnyRecord, Measurement, parse_record, utcnow


SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id            TEXT PRIMARY KEY,
    target        TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    config_json   TEXT NOT NULL,
    stages        TEXT NOT NULL,
    run_dir       TEXT NOT NULL,
    tool_versions TEXT NOT NULL DEFAULT '{}',
    started       TEXT NOT NULL,
    finished      TEXT,
    verdict       TEXT,          -- pass | fail | error; NULL while running or if killed
    exit_code     INTEGER,
    branch        TEXT NOT NULL DEFAULT '',   -- '' = unknown
    commit_id     TEXT NOT NULL DEFAULT '',
    stages_done   TEXT           -- JSON list of stages that ran to their end; NULL = not tracked
);
CREATE TABLE IF NOT EXISTS records (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id   TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    kind     TEXT NOT NULL,
    stage    TEXT NOT NULL,
    subject  TEXT NOT NULL,
    name     TEXT NOT NULL,      -- metric, check or artifact role
    status   TEXT,               -- findings only
    body     TEXT NOT NULL       -- the record as JSON
);
CREATE INDEX IF NOT EXISTS records_run ON records(run_id, kind);
CREATE INDEX IF NOT EXISTS runs_target ON runs(target, fingerprint, started);
CREATE TABLE IF NOT EXISTS baselines (
    key      TEXT PRIMARY KEY,   -- e.g. visual:home|chromium|pixel-7
    path     TEXT NOT NULL,      -- file under the results root
    sha256   TEXT NOT NULL,
    run_id   TEXT NOT NULL,
    approved TEXT NOT NULL
);
"""
SCHEMA_VERSION = 2
# Columns added after version 1, with their definitions: a history written by an older
# siteward is upgraded in place when it is opened (its runs: branch unknown, stages not tracked).
ADDED_RUN_COLUMNS = {
    "branch": "TEXT NOT NULL DEFAULT ''",
    "commit_id": "TEXT NOT NULL DEFAULT ''",
    "stages_done": "TEXT",
}


@dataclass(frozen=True)
class RunInfo:
    id: str
    target: str
    fingerprint: str
    config: dict[str, Any]
    stages: list[str]
    run_dir: Path
    tool_versions: dict[str, str]
    started: str
    finished: str | None
    verdict: str | None
    exit_code: int | None
    branch: str = ""  # "" = unknown
    commit: str = ""
    stages_done: list[str] | None = None  # None: a run from before stages were tracked

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "RunInfo":
        done = row["stages_done"]
        return cls(
            id=row["id"], target=row["target"], fingerprint=row["fingerprint"],
            config=json.loads(row["config_json"]), stages=json.loads(row["stages"]),
            run_dir=Path(row["run_dir"]), tool_versions=json.loads(row["tool_versions"]),
            started=row["started"], finished=row["finished"], verdict=row["verdict"],
            exit_code=row["exit_code"], branch=row["branch"], commit=row["commit_id"],
            stages_done=None if done is None else json.loads(done),
        )

    @property
    def unfinished_stages(self) -> list[str]:
        """Stages the run started and never finished (killed); [] when not tracked."""
        if self.stages_done is None:
            return []
        return [s for s in self.stages if s not in self.stages_done]


@dataclass(frozen=True)
class Baseline:
    key: str
    path: str
    sha256: str
    run_id: str
    approved: str


def new_run_id() -> str:
    """Sortable and unique across concurrent runs: UTC time plus random suffix."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + _random.token_hex(3)


def _unwritable(directory: Path) -> str | None:
    """Why files cannot be created in `directory` (e.g. "Read-only file system"), or None."""
    try:
        with tempfile.TemporaryFile(dir=directory):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._local = threading.local()
            self._conn().executescript(SCHEMA)  # executescript manages its own transaction
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            why = _unwritable(self.path.parent)  # sqlite only says "unable to open database file"
            raise UsageError(f"{self.path}: cannot open the history database: {exc}"
                             + (f" ({self.path.parent}: {why})" if why else "")) from None

    def _migrate(self) -> None:
        """Add the columns a history from an older siteward lacks (idempotent, safe when racing)."""
        conn = self._conn()
        if conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return
        with self._tx() as db:
            present = {row["name"] for row in db.execute("PRAGMA table_info(runs)")}
            for column, definition in ADDED_RUN_COLUMNS.items():
                if column not in present:
                    db.execute(f"ALTER TABLE runs ADD COLUMN {column} {definition}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # One connection per thread: sqlite3 connections must not cross threads.
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    class _Tx:
        def __init__(self, conn: sqlite3.Connection):
            self.conn = conn

        def __enter__(self) -> sqlite3.Connection:
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, exc_type, *_):
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")

    def _tx(self) -> "_Tx":
        return Store._Tx(self._conn())

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # ------------------------------------------------------------------ runs
    def create_run(
        self, *, target: str, fingerprint: str, config: dict[str, Any], stages: list[str],
        run_dir: Path, tool_versions: dict[str, str] | None = None, run_id: str | None = None,
        branch: str = "", commit: str = "", track_stages: bool = False,
    ) -> str:
        """`track_stages`: the runner marks each stage done as it ends, so a killed run is known incomplete."""
        run_id = run_id or new_run_id()
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (id, target, fingerprint, config_json, stages, run_dir, tool_versions, started,"
                " branch, commit_id, stages_done) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, target, fingerprint, json.dumps(config), json.dumps(stages),
                 str(run_dir), json.dumps(tool_versions or {}), utcnow(), branch, commit,
                 "[]" if track_stages else None),
            )
        return run_id

    def mark_stage_done(self, run_id: str, stage: str) -> None:
        with self._tx() as db:
            row = db.execute("SELECT stages_done FROM runs WHERE id = ?", (run_id,)).fetchone()
            done = json.loads(row["stages_done"] or "[]")
            if stage not in done:
                db.execute("UPDATE runs SET stages_done = ? WHERE id = ?", (json.dumps([*done, stage]), run_id))

    def set_tool_versions(self, run_id: str, versions: dict[str, str]) -> None:
        with self._tx() as db:
            db.execute("UPDATE runs SET tool_versions = ? WHERE id = ?", (json.dumps(versions), run_id))

    def finish_run(self, run_id: str, *, verdict: str, exit_code: int) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET finished = ?, verdict = ?, exit_code = ? WHERE id = ?",
                (utcnow(), verdict, exit_code, run_id),
            )

    def run(self, run_id: str) -> RunInfo:
        row = self._conn().execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            # Allow unique prefixes, as git does for commits.
            rows = self._conn().execute("SELECT * FROM runs WHERE id LIKE ?", (run_id + "%",)).fetchall()
            if len(rows) != 1:
                known = ", ".join(r.id for r in self.runs(limit=5)) or "none yet"
                raise UsageError(f"no run {run_id!r} in {self.path} (latest: {known})")
            row = rows[0]
        return self._located(RunInfo.from_row(row))

    def runs(self, *, target: str | None = None, fingerprint: str | None = None,
             verdict: str | None = None, before: str | None = None, limit: int | None = None) -> list[RunInfo]:
        """Runs newest first, filtered."""
        where, args = [], []
        for column, value in (("target", target), ("fingerprint", fingerprint), ("verdict", verdict)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if before is not None:
            where.append("rowid < (SELECT rowid FROM runs WHERE id = ?)")  # insertion order
            args.append(before)
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY rowid DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self._located(RunInfo.from_row(r)) for r in self._conn().execute(sql, args)]

    def _located(self, info: RunInfo) -> RunInfo:
        """A results root that was moved or copied keeps its run folders next to its history:
        there they are, not at the absolute path stored when the run was made (the original)."""
        beside = self.path.parent / info.run_dir.name
        if beside != info.run_dir and beside.is_dir():
            return replace(info, run_dir=beside)
        return info

    def latest_passing(self, run: RunInfo) -> RunInfo | None:
        """The latest passing run of the same target and config (any branch, complete or not)."""
        found = self.runs(target=run.target, fingerprint=run.fingerprint, verdict="pass", before=run.id, limit=1)
        return found[0] if found else None

    # --------------------------------------------------------------- records
    def add(self, run_id: str, record: AnyRecord) -> int:
        name = getattr(record, "metric", None) or getattr(record, "check", None) or getattr(record, "role")
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO records (run_id, kind, stage, subject, name, status, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, record.kind, record.stage, record.subject, name,
                 getattr(record, "status", None), record.model_dump_json()),
            )
            return int(cur.lastrowid)

    def records(self, run_id: str, *, kind: str | None = None, stage: str | None = None) -> list[AnyRecord]:
        sql, args = "SELECT body FROM records WHERE run_id = ?", [run_id]
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
        if stage:
            sql += " AND stage = ?"
            args.append(stage)
        return [parse_record(row["body"]) for row in self._conn().execute(sql + " ORDER BY id", args)]

    def iter_samples(self, run_id: str, metric: str) -> Iterator[Measurement]:
        for rec in self.records(run_id, kind="measurement"):
            if rec.metric == metric:
                yield rec

    # ------------------------------------------------------------- baselines
    def set_baseline(self, key: str, path: str, sha256: str, run_id: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO baselines (key, path, sha256, run_id, approved) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET path = excluded.path, sha256 = excluded.sha256,"
                " run_id = excluded.run_id, approved = excluded.approved",
                (key, path, sha256, run_id, utcnow()),
            )

    def baseline(self, key: str) -> Baseline | None:
        row = self._conn().execute("SELECT * FROM baselines WHERE key = ?", (key,)).fetchone()
        return Baseline(**dict(row)) if row else None

    def baselines(self, prefix: str = "") -> list[Baseline]:
        rows = self._conn().execute("SELECT * FROM baselines WHERE key LIKE ? ORDER BY key", (prefix + "%",))
        return [Baseline(**dict(r)) for r in rows]

