"""The history: runs, their records, and approved baselines, in SQLite (a file, the default) or
PostgreSQL (`[results] history = "postgresql://..."`, shared by many CI jobs); siteward/history_db.py
holds what differs between the two.

Every record is committed the moment it is added, so a run killed halfway keeps everything it
measured; concurrent runs (and a report rendering while a run is going) share one history.
"""

from __future__ import annotations

import json
import secrets as _random
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from siteward.errors import UsageError
from siteward.history_db import Database, open_database
from siteward.records import AnyRecord, Measurement, parse_record, utcnow


PRUNE_BATCH = 200  # runs deleted per transaction: concurrent writers wait at most one batch
RUNNING_AT_MOST = timedelta(hours=24)  # an unfinished run younger than this may still be going: never pruned


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
    shard: str = ""  # "i/n" for one shard of a sharded run, else ""
    shard_group: str = ""  # the id the shards of one sharded run share
    merged_from: list[str] | None = None  # a merged run: the runs it was made of

    @classmethod
    def from_row(cls, row) -> "RunInfo":
        done = row["stages_done"]
        return cls(
            id=row["id"], target=row["target"], fingerprint=row["fingerprint"],
            config=json.loads(row["config_json"]), stages=json.loads(row["stages"]),
            run_dir=Path(row["run_dir"]), tool_versions=json.loads(row["tool_versions"]),
            started=row["started"], finished=row["finished"], verdict=row["verdict"],
            exit_code=row["exit_code"], branch=row["branch"], commit=row["commit_id"],
            stages_done=None if done is None else json.loads(done),
            shard=row["shard"], shard_group=row["shard_group"],
            merged_from=None if row["merged_from"] is None else json.loads(row["merged_from"]),
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


def _started(info: RunInfo) -> datetime:
    try:
        started = datetime.fromisoformat(info.started)
    except ValueError:  # not a time siteward wrote: as old as can be
        return datetime.min.replace(tzinfo=timezone.utc)
    return started if started.tzinfo else started.replace(tzinfo=timezone.utc)


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
    def __init__(self, location: str | Path, *, results_root: str | Path | None = None):
        """`location`: a SQLite file or a postgresql:// URL. `results_root`: where run folders
        are looked for when they moved (default: beside a SQLite file)."""
        self.db: Database = open_database(location)
        self.path = getattr(self.db, "path", None)  # the SQLite file; None on PostgreSQL
        self.where = self.db.display  # for messages: a URL's password masked
        self.results_root = Path(results_root) if results_root else (self.path.parent if self.path else None)
        try:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db.migrate()
        except (OSError, *self.db.errors) as exc:
            raise UsageError(f"{self.where}: cannot open the history database: {self._why(exc)}",
                             hint=self._hint()) from None

    @classmethod
    def for_config(cls, config) -> "Store":
        """The history a config names (`[results] history`), its run folders under `[results] root`."""
        return cls(config.history_location(), results_root=config.results_root())

    def _why(self, exc: BaseException) -> str:
        text = " ".join(str(exc).split())
        if self.path is not None:
            unwritable = _unwritable(self.path.parent)  # sqlite only says "unable to open database file"
            if unwritable:
                text += f" ({self.path.parent}: {unwritable})"
        return self.db.display_error(text)

    def _hint(self) -> str | None:
        if self.path is not None:
            return None
        return ("is the server up and the database created? The password comes from the URL's ${secrets.NAME}"
                " or from PGPASSWORD / ~/.pgpass")

    def _tx(self):
        return self.db.transaction()

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ runs
    def create_run(
        self, *, target: str, fingerprint: str, config: dict[str, Any], stages: list[str],
        run_dir: Path, tool_versions: dict[str, str] | None = None, run_id: str | None = None,
        branch: str = "", commit: str = "", track_stages: bool = False, shard: str = "", shard_group: str = "",
        merged_from: list[str] | None = None,
    ) -> str:
        """`track_stages`: the runner marks each stage done as it ends, so a killed run is known incomplete."""
        run_id = run_id or new_run_id()
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (id, target, fingerprint, config_json, stages, run_dir, tool_versions, started,"
                " branch, commit_id, stages_done, shard, shard_group, merged_from)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, target, fingerprint, json.dumps(config), json.dumps(stages),
                 str(run_dir), json.dumps(tool_versions or {}), utcnow(), branch, commit,
                 "[]" if track_stages else None, shard, shard_group,
                 None if merged_from is None else json.dumps(merged_from)),
            )
        return run_id

    def mark_stage_done(self, run_id: str, stage: str) -> None:
        with self._tx() as db:
            row = db.execute("SELECT stages_done FROM runs WHERE id = ?" + db.row_lock, (run_id,)).fetchone()
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
        row = self.db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            # Allow unique prefixes, as git does for commits (a prefix is matched literally).
            prefix = run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            rows = self.db.execute("SELECT * FROM runs WHERE id LIKE ? ESCAPE '\\'", (prefix + "%",)).fetchall()
            if len(rows) != 1:
                known = ", ".join(r.id for r in self.runs(limit=5)) or "none yet"
                raise UsageError(f"no run {run_id!r} in {self.where} (latest: {known})")
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
        order = self.db.order_column  # insertion order
        if before is not None:
            where.append(f"{order} < (SELECT {order} FROM runs WHERE id = ?)")
            args.append(before)
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {order} DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self._located(RunInfo.from_row(r)) for r in self.db.execute(sql, args)]

    def _located(self, info: RunInfo) -> RunInfo:
        """A results root that was moved or copied keeps its run folders next to its history:
        there they are, not at the absolute path stored when the run was made (the original). A shared
        history (PostgreSQL) stores other machines' paths: the local results root has the run if any."""
        if self.results_root is None:
            return info
        beside = self.results_root / info.run_dir.name
        if beside != info.run_dir and beside.is_dir():
            return replace(info, run_dir=beside)
        return info

    def latest_passing(self, run: RunInfo) -> RunInfo | None:
        """The latest passing run of the same target and config (any branch, complete or not)."""
        found = self.runs(target=run.target, fingerprint=run.fingerprint, verdict="pass", before=run.id, limit=1)
        return found[0] if found else None

    def prune(self, *, keep: int | None = None, older_than: datetime | None = None,
              dry_run: bool = False) -> list[RunInfo]:
        """Delete runs (their records go with them): beyond the `keep` newest of each target, and/or
        started before `older_than`. Runs still going are never deleted. The deleted runs, newest first."""
        if keep is None and older_than is None:
            raise UsageError("prune needs --keep N or --older-than AGE (or both)")
        doomed: list[RunInfo] = []
        seen_per_target: dict[str, int] = {}
        may_be_going = datetime.now(timezone.utc) - RUNNING_AT_MOST
        for info in self.runs():
            started = _started(info)
            if info.finished is None and started > may_be_going:
                continue  # neither deleted nor counted among the kept
            seen_per_target[info.target] = seen_per_target.get(info.target, 0) + 1
            beyond_keep = keep is not None and seen_per_target[info.target] > keep
            too_old = older_than is not None and started < older_than
            if beyond_keep or too_old:
                doomed.append(info)
        if not dry_run:
            for start in range(0, len(doomed), PRUNE_BATCH):
                batch = [info.id for info in doomed[start:start + PRUNE_BATCH]]
                marks = ", ".join("?" * len(batch))
                with self._tx() as db:
                    db.execute(f"DELETE FROM records WHERE run_id IN ({marks})", batch)
                    db.execute(f"DELETE FROM runs WHERE id IN ({marks})", batch)
        return doomed

    # --------------------------------------------------------------- records
    def add(self, run_id: str, record: AnyRecord) -> int:
        name = getattr(record, "metric", None) or getattr(record, "check", None) or getattr(record, "role")
        with self._tx() as db:
            row = db.execute(
                "INSERT INTO records (run_id, kind, stage, subject, name, status, body) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " RETURNING id",
                (run_id, record.kind, record.stage, record.subject, name,
                 getattr(record, "status", None), record.model_dump_json()),
            ).fetchone()
            return int(row["id"])

    def records(self, run_id: str, *, kind: str | None = None, stage: str | None = None) -> list[AnyRecord]:
        sql, args = "SELECT body FROM records WHERE run_id = ?", [run_id]
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
        if stage:
            sql += " AND stage = ?"
            args.append(stage)
        return [parse_record(row["body"]) for row in self.db.execute(sql + " ORDER BY id", args)]

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

    def replace_baselines(self, prefixes: list[str], entries: dict[str, str], run_id: str) -> None:
        """In one transaction: drop the baselines under each prefix, then set entries {key: path}
        (no file: empty sha256). For approvals that replace a whole set, e.g. accepted violations."""
        with self._tx() as db:
            keys = [r["key"] for r in db.execute("SELECT key FROM baselines")]
            for key in keys:
                if any(key.startswith(prefix) for prefix in prefixes):
                    db.execute("DELETE FROM baselines WHERE key = ?", (key,))
            approved = utcnow()
            for key, path in entries.items():
                db.execute("INSERT INTO baselines (key, path, sha256, run_id, approved) VALUES (?, ?, ?, ?, ?)"
                           " ON CONFLICT(key) DO UPDATE SET path = excluded.path, sha256 = excluded.sha256,"
                           " run_id = excluded.run_id, approved = excluded.approved",
                           (key, path, "", run_id, approved))

    def baseline(self, key: str) -> Baseline | None:
        row = self.db.execute("SELECT * FROM baselines WHERE key = ?", (key,)).fetchone()
        return Baseline(**dict(row)) if row else None

    def baselines(self, prefix: str = "") -> list[Baseline]:
        rows = self.db.execute("SELECT * FROM baselines")  # sorted here: the databases' collations differ
        return sorted((Baseline(**dict(r)) for r in rows if r["key"].startswith(prefix)), key=lambda b: b.key)

