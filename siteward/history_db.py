"""The history's two databases: SQLite (embedded, the default) and PostgreSQL (one history
shared by many CI jobs).

`Store` speaks one SQL with `?` placeholders. A `Database` gives it a connection per thread,
transactions that serialize concurrent writers, and the versioned schema migrations of its
backend: `schema_migrations` lists what was applied, and every opening applies what is
missing under a lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory transaction lock),
so many jobs opening a fresh history at once create it exactly once.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

from siteward.records import utcnow
from siteward.secrets import mask_url_passwords

POSTGRES_SCHEMES = ("postgresql", "postgres")
CONNECT_TIMEOUT_S = 10
BUSY_TIMEOUT_S = 30
MIGRATION_LOCK = 0x5173_7761  # the advisory lock every siteward migrating a PostgreSQL history takes


def is_postgres_url(location: str | Path) -> bool:
    return isinstance(location, str) and urlsplit(location).scheme in POSTGRES_SCHEMES


@dataclass(frozen=True)
class Migration:
    version: int
    title: str
    sqlite: Callable[[Any], None]
    postgresql: Callable[[Any], None]


def _script(*statements: str) -> Callable[[Any], None]:
    def apply(db) -> None:
        for statement in statements:
            db.execute(statement)
    return apply


def _add_missing_run_columns(columns: dict[str, str]) -> Callable[[Any], None]:
    """SQLite has no ADD COLUMN IF NOT EXISTS; a history from before versioned migrations may
    already have some of the columns."""
    def apply(db) -> None:
        present = {row["name"] for row in db.execute("PRAGMA table_info(runs)")}
        for column, definition in columns.items():
            if column not in present:
                db.execute(f"ALTER TABLE runs ADD COLUMN {column} {definition}")
    return apply


RUNS_V1 = """CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, target TEXT NOT NULL, fingerprint TEXT NOT NULL, config_json TEXT NOT NULL,
    stages TEXT NOT NULL, run_dir TEXT NOT NULL, tool_versions TEXT NOT NULL DEFAULT '{{}}', started TEXT NOT NULL,
    finished TEXT, verdict TEXT, exit_code INTEGER{extra})"""
RECORDS_V1 = """CREATE TABLE IF NOT EXISTS records (
    id {id_type} PRIMARY KEY{autoincrement}, run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    kind TEXT NOT NULL, stage TEXT NOT NULL, subject TEXT NOT NULL,
    name TEXT NOT NULL, status TEXT, body TEXT NOT NULL)"""
BASELINES_V1 = """CREATE TABLE IF NOT EXISTS baselines (
    key TEXT PRIMARY KEY, path TEXT NOT NULL, sha256 TEXT NOT NULL, run_id TEXT NOT NULL, approved TEXT NOT NULL)"""
INDEXES_V1 = ("CREATE INDEX IF NOT EXISTS records_run ON records(run_id, kind)",
              "CREATE INDEX IF NOT EXISTS runs_target ON runs(target, fingerprint, started)")
RUN_COLUMNS_V2 = {"branch": "TEXT NOT NULL DEFAULT ''", "commit_id": "TEXT NOT NULL DEFAULT ''", "stages_done": "TEXT"}
RUN_COLUMNS_V3 = {"shard": "TEXT NOT NULL DEFAULT ''", "shard_group": "TEXT NOT NULL DEFAULT ''", "merged_from": "TEXT"}

MIGRATIONS = (
    # PostgreSQL has no rowid: `seq` keeps the runs' insertion order.
    Migration(1, "runs, records and baselines",
              _script(RUNS_V1.format(extra=""), RECORDS_V1.format(id_type="INTEGER", autoincrement=" AUTOINCREMENT"),
                      BASELINES_V1, *INDEXES_V1),
              _script(RUNS_V1.format(extra=", seq BIGSERIAL UNIQUE"),
                      RECORDS_V1.format(id_type="BIGSERIAL", autoincrement=""), BASELINES_V1, *INDEXES_V1)),
    Migration(2, "runs record their branch, commit and finished stages",
              _add_missing_run_columns(RUN_COLUMNS_V2),
              _script(*(f"ALTER TABLE runs ADD COLUMN IF NOT EXISTS {c} {d}" for c, d in RUN_COLUMNS_V2.items()))),
    Migration(3, "runs record their shard and the shards a merged run came from",
              _add_missing_run_columns(RUN_COLUMNS_V3),
              _script(*(f"ALTER TABLE runs ADD COLUMN IF NOT EXISTS {c} {d}" for c, d in RUN_COLUMNS_V3.items()))),
)
LATEST_VERSION = MIGRATIONS[-1].version
MIGRATIONS_TABLE = ("CREATE TABLE IF NOT EXISTS schema_migrations ("
                    "version INTEGER PRIMARY KEY, title TEXT NOT NULL, applied TEXT NOT NULL)")


class Database:
    """One history database: connections per thread, write transactions, migrations."""

    backend: str
    order_column: str  # the runs' insertion order
    row_lock = ""  # appended to a SELECT that is read, changed and written back in one transaction
    errors: tuple[type[BaseException], ...]
    display: str  # where the history is, for messages (no password)

    def __init__(self) -> None:
        self._local = threading.local()

    def _connect(self):
        raise NotImplementedError

    def connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def execute(self, sql: str, args: tuple | list = ()):
        return self.connection().execute(sql, args)

    @contextmanager
    def transaction(self) -> Iterator["Database"]:
        raise NotImplementedError
        yield self

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def display_error(self, text: str) -> str:
        return mask_url_passwords(text)

    def applied_versions(self) -> set[int]:
        return {row["version"] for row in self.execute("SELECT version FROM schema_migrations")}

    def _lock_migrations(self) -> None:
        """Inside the migrating transaction: no other siteward migrates this history at the same time."""

    def _legacy_versions(self) -> set[int]:
        """Migrations a history made before `schema_migrations` existed already has."""
        return set()

    def migrate(self) -> list[int]:
        """Apply the migrations this history lacks, in order; the versions applied now."""
        try:
            if max(self.applied_versions(), default=0) >= LATEST_VERSION:
                return []
        except self.errors:
            pass  # no schema_migrations yet
        applied_now = []
        with self.transaction():
            self._lock_migrations()
            self.execute(MIGRATIONS_TABLE)
            done = self.applied_versions()
            for version in sorted(self._legacy_versions() - done):
                self.execute("INSERT INTO schema_migrations (version, title, applied) VALUES (?, ?, ?)",
                             (version, "(present before versioned migrations)", utcnow()))
                done.add(version)
            for migration in MIGRATIONS:
                if migration.version in done:
                    continue
                getattr(migration, self.backend)(self)
                self.execute("INSERT INTO schema_migrations (version, title, applied) VALUES (?, ?, ?)",
                             (migration.version, migration.title, utcnow()))
                applied_now.append(migration.version)
            self._after_migrations()
        return applied_now

    def _after_migrations(self) -> None:
        pass


class SqliteDatabase(Database):
    backend = "sqlite"
    order_column = "rowid"
    errors = (sqlite3.Error,)

    def __init__(self, path: Path):
        super().__init__()
        self.path = path
        self.display = str(path)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.row_factory = sqlite3.Row
        # WAL plus a busy timeout: concurrent runs (and a report rendering while a run goes) share the file.
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    @contextmanager
    def transaction(self) -> Iterator["SqliteDatabase"]:
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")  # the write lock up front: no deadlock upgrading a read
        try:
            yield self
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _legacy_versions(self) -> set[int]:
        if not self.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'").fetchone():
            return set()
        # siteward before versioned migrations kept its schema version in user_version (2 = branch columns).
        return {1, 2} if self.execute("PRAGMA user_version").fetchone()[0] >= 2 else {1}

    def _after_migrations(self) -> None:
        self.execute(f"PRAGMA user_version = {LATEST_VERSION}")  # what older readers look at


class PostgresDatabase(Database):
    backend = "postgresql"
    order_column = "seq"
    row_lock = " FOR UPDATE"

    def __init__(self, url: str):
        super().__init__()
        import psycopg  # only a PostgreSQL history needs the driver

        self._psycopg = psycopg
        self.errors = (psycopg.Error,)
        self.url = url
        self.display = mask_url_passwords(url)

    def _connect(self):
        from psycopg.rows import dict_row

        # autocommit: every statement outside `transaction()` commits at once, as SQLite's do here.
        return self._psycopg.connect(self.url, autocommit=True, row_factory=dict_row,
                                     connect_timeout=CONNECT_TIMEOUT_S, application_name="siteward")

    def execute(self, sql: str, args: tuple | list = ()):
        return self.connection().execute(sql.replace("?", "%s"), args)

    @contextmanager
    def transaction(self) -> Iterator["PostgresDatabase"]:
        with self.connection().transaction():
            yield self

    def _lock_migrations(self) -> None:
        self.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))


def open_database(location: str | Path) -> Database:
    if is_postgres_url(location):
        return PostgresDatabase(str(location))
    return SqliteDatabase(Path(location))
