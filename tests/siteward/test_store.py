"""The history, on SQLite and on a real PostgreSQL alike (the `history_location` fixture): records persist
as they arrive, survive a kill, concurrent runs don't corrupt it, old schemas are migrated, prune deletes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from siteward.errors import UsageError
from reports.budgets import budget_finding
from siteward.records import Artifact, Finding, Measurement
from siteward.history_db import MIGRATIONS
from siteward.store import Store


def _new_run(store: Store, tmp_path, **kw) -> str:
    return store.create_run(target=kw.get("target", "shop"), fingerprint=kw.get("fingerprint", "f1"),
                            config={"x": 1}, stages=["browsers"], run_dir=tmp_path / "run")


def test_records_round_trip_with_raw_samples(tmp_path, history_location):
    store = Store(history_location)
    run = _new_run(store, tmp_path)
    m = Measurement(stage="browsers", subject="home|chromium|desktop", metric="fcp_ms", unit="ms",
                    samples=[120, 100, 140], tags={"page": "home"})
    f = Finding(stage="browsers", subject="home|chromium|desktop", check="overflow", status="fail",
                message="page is 900px wide", evidence=["screens/home.png"])
    a = Artifact(stage="browsers", subject="home|chromium|desktop", role="screenshot", path="screens/home.png")
    for record in (m, f, a):
        store.add(run, record)
    got = store.records(run)
    assert got == [m, f, a]
    assert got[0].samples == [120.0, 100.0, 140.0] and got[0].value == 120.0
    assert [r.kind for r in store.records(run, kind="finding")] == ["finding"]


def test_budget_finding_direction():
    slow = budget_finding(stage="audits", subject="s", name="fcp_ms", limit=1500, value=1800, unit="ms")
    good_score = budget_finding(stage="audits", subject="s", name="performance_score", limit=0.9,
                                value=0.95, unit="score", higher_is_better=True)
    assert slow.status == "fail" and "1800" in slow.message
    assert good_score.status == "pass"


def test_measurement_without_samples_is_rejected():
    with pytest.raises(ValueError):
        Measurement(stage="browsers", subject="s", metric="m", unit="ms", samples=[])


def test_run_lifecycle_and_latest_passing(tmp_path, history_location):
    store = Store(history_location)
    first = _new_run(store, tmp_path)
    store.finish_run(first, verdict="pass", exit_code=0)
    failed = _new_run(store, tmp_path)
    store.finish_run(failed, verdict="fail", exit_code=1)
    other_config = _new_run(store, tmp_path, fingerprint="f2")
    store.finish_run(other_config, verdict="pass", exit_code=0)
    current = _new_run(store, tmp_path)
    baseline = store.latest_passing(store.run(current))
    assert baseline is not None and baseline.id == first
    assert store.run(current).finished is None
    assert [r.id for r in store.runs()] == [current, other_config, failed, first]
    assert store.run(current).id == current


def test_unknown_run_is_a_usage_error(history_location):
    store = Store(history_location)
    with pytest.raises(UsageError, match="no run"):
        store.run("nope")
    store.create_run(run_id="20260101-000000-a_cdef", target="t", fingerprint="f", config={}, stages=[], run_dir=Path("r"))
    store.create_run(run_id="20260101-000000-abcdef", target="t", fingerprint="f", config={}, stages=[], run_dir=Path("r"))
    assert store.run("20260101-000000-a_").id == "20260101-000000-a_cdef"  # "_" is no wildcard in a prefix
    with pytest.raises(UsageError, match="no run"):
        store.run("20260101")  # two runs: not unique


def test_baselines_upsert(history_location):
    store = Store(history_location)
    store.set_baseline("visual:home|chromium|desktop", "baselines/a.png", "aa", "run1")
    store.set_baseline("visual:home|chromium|desktop", "baselines/b.png", "bb", "run2")
    store.set_baseline("visual:cart|chromium|desktop", "baselines/c.png", "cc", "run2")
    assert store.baseline("visual:home|chromium|desktop").sha256 == "bb"
    assert [b.key for b in store.baselines("visual:")] == ["visual:cart|chromium|desktop", "visual:home|chromium|desktop"]
    assert store.baseline("visual:none") is None


KILLED_WRITER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from siteward.records import Measurement
    from siteward.store import Store
    store = Store(sys.argv[1])
    run = store.create_run(target="shop", fingerprint="f", config={}, stages=["loadtests"], run_dir=Path("r"))
    for i in range(10):
        store.add(run, Measurement(stage="loadtests", subject="GET /", metric="p95_ms", unit="ms", samples=[i]))
    print(run, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # killed halfway: no finish_run, no close
    store.add(run, Measurement(stage="loadtests", subject="never", metric="m", unit="ms", samples=[1]))
""")


def test_run_killed_halfway_keeps_its_records(history_location):
    db = history_location
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITER, db], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL
    run_id = proc.stdout.strip()
    store = Store(db)
    records = store.records(run_id)
    assert [r.samples[0] for r in records] == list(range(10))
    info = store.run(run_id)
    assert info.finished is None and info.verdict is None
    if store.path is not None:
        assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _hammer(db: str, worker: int, count: int) -> None:
    from pathlib import Path

    store = Store(db)
    run = store.create_run(target=f"t{worker}", fingerprint="f", config={}, stages=[], run_dir=Path("r"))
    for i in range(count):
        store.add(run, Finding(stage="browsers", subject=f"w{worker}", check="c", status="pass", message=str(i)))
    store.finish_run(run, verdict="pass", exit_code=0)


def test_concurrent_runs_do_not_corrupt_the_history(history_location):
    """4 writers at once, each opening the (fresh) history itself: migrated once, nothing lost."""
    db = history_location
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(db, w, 80)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = Store(db)
    runs = store.runs()
    assert len(runs) == 4 and all(r.verdict == "pass" for r in runs)
    for run in runs:
        messages = [r.message for r in store.records(run.id)]
        assert messages == [str(i) for i in range(80)]
    assert sorted(store.db.applied_versions()) == [m.version for m in MIGRATIONS]
    count = store.db.execute("SELECT COUNT(*) AS n FROM schema_migrations").fetchone()["n"]
    assert count == len(MIGRATIONS)
    if store.path is not None:
        assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_unwritable_history_is_a_clear_error(tmp_path):
    if os.geteuid() == 0:
        target = "/proc/siteward-history/h.sqlite"  # root can write anywhere else
    else:
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        target = str(ro / "sub" / "h.sqlite")
    with pytest.raises(UsageError, match="cannot open the history database"):
        Store(target)


# The history schema of siteward before runs recorded their branch, commit and finished stages.
SCHEMA_V1 = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY, target TEXT NOT NULL, fingerprint TEXT NOT NULL, config_json TEXT NOT NULL,
    stages TEXT NOT NULL, run_dir TEXT NOT NULL, tool_versions TEXT NOT NULL DEFAULT '{}', started TEXT NOT NULL,
    finished TEXT, verdict TEXT, exit_code INTEGER
);
CREATE TABLE records (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    kind TEXT NOT NULL, stage TEXT NOT NULL, subject TEXT NOT NULL, name TEXT NOT NULL, status TEXT,
    body TEXT NOT NULL
);
CREATE INDEX records_run ON records(run_id, kind);
CREATE INDEX runs_target ON runs(target, fingerprint, started);
CREATE TABLE baselines (key TEXT PRIMARY KEY, path TEXT NOT NULL, sha256 TEXT NOT NULL, run_id TEXT NOT NULL,
                        approved TEXT NOT NULL);
"""


def test_a_history_from_the_old_schema_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.executescript(SCHEMA_V1)
    m = Measurement(stage="browsers", subject="home|chromium|desktop", metric="fcp_ms", unit="ms", samples=[100, 110])
    old.execute("INSERT INTO runs VALUES ('r1', 'shop', 'f1', '{}', '[\"browsers\"]', '/x', '{}', 't0', 't1', 'pass', 0)")
    old.execute("INSERT INTO records (run_id, kind, stage, subject, name, body) VALUES ('r1', 'measurement',"
                " 'browsers', 'home|chromium|desktop', 'fcp_ms', ?)", (m.model_dump_json(),))
    old.commit()
    old.close()

    store = Store(path)
    before = store.run("r1")
    assert (before.branch, before.commit, before.stages_done, before.verdict) == ("", "", None, "pass")
    assert before.unfinished_stages == [] and store.records("r1") == [m]
    new = store.create_run(target="shop", fingerprint="f1", config={}, stages=["browsers", "audits"],
                           run_dir=tmp_path / "run", branch="main", commit="abc", track_stages=True)
    store.mark_stage_done(new, "browsers")
    info = store.run(new)
    assert (info.branch, info.commit, info.stages_done, info.unfinished_stages) == ("main", "abc", ["browsers"], ["audits"])
    store.close()
    # Opening it again is a no-op, and an old-schema reader's columns are all still there.
    Store(path).close()
    columns = [row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(runs)")]
    assert columns[:11] == ["id", "target", "fingerprint", "config_json", "stages", "run_dir", "tool_versions",
                            "started", "finished", "verdict", "exit_code"]
    assert {"branch", "commit_id", "stages_done"} <= set(columns)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == MIGRATIONS[-1].version
    assert {"shard", "shard_group", "merged_from"} <= set(columns)


def test_a_copied_results_root_renders_into_the_copy_not_the_original(tmp_path):
    import shutil
    import subprocess
    import sys

    original = tmp_path / "results"
    store = Store(original / "history.sqlite")
    run_dir = original / "20260101-000000-abcdef"
    run_dir.mkdir(parents=True)
    store.create_run(run_id="20260101-000000-abcdef", target="t", fingerprint="f", config={}, stages=["browsers"],
                     run_dir=run_dir.resolve())
    store.close()
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    assert Store(copy / "history.sqlite").run("20260101").run_dir == copy / "20260101-000000-abcdef"

    done = subprocess.run([sys.executable, "-m", "siteward.cli", "report", "20260101", "--results", str(copy)],
                          capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    assert (copy / "20260101-000000-abcdef" / "report.html").is_file()
    assert not (run_dir / "report.html").exists()  # the original is left as it was


def test_a_postgresql_history_at_version_1_is_migrated(postgres):
    """A history a first siteward made on PostgreSQL (only migration 1) gains the later columns and keeps its runs."""
    import psycopg

    from siteward.history_db import MIGRATIONS_TABLE, PostgresDatabase

    url = postgres.url(postgres.new_database())
    first = PostgresDatabase(url)
    with first.transaction():
        first.execute(MIGRATIONS_TABLE)
        MIGRATIONS[0].postgresql(first)
        first.execute("INSERT INTO schema_migrations VALUES (1, 'runs, records and baselines', 't')")
        first.execute("INSERT INTO runs (id, target, fingerprint, config_json, stages, run_dir, started, verdict)"
                      " VALUES ('r1', 'shop', 'f1', '{}', '[\"browsers\"]', '/x', 't0', 'pass')")
    first.close()
    store = Store(url)
    old = store.run("r1")
    assert (old.branch, old.stages_done, old.shard, old.merged_from, old.verdict) == ("", None, "", None, "pass")
    assert sorted(store.db.applied_versions()) == [m.version for m in MIGRATIONS]
    with psycopg.connect(url) as conn:
        columns = {row[0] for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'runs'")}
    assert {"branch", "commit_id", "stages_done", "shard", "shard_group", "merged_from", "seq"} <= columns


def _finished_run(store: Store, target: str, verdict: str = "pass") -> str:
    run = store.create_run(target=target, fingerprint="f", config={}, stages=["browsers"], run_dir=Path("r"))
    store.add(run, Finding(stage="browsers", subject="home", check="c", status="pass", message="ok"))
    store.finish_run(run, verdict=verdict, exit_code=0)
    return run


def test_prune_keeps_the_newest_runs_of_each_target(history_location):
    store = Store(history_location)
    shop = [_finished_run(store, "shop") for _ in range(5)]
    blog = [_finished_run(store, "blog") for _ in range(2)]
    going = store.create_run(target="shop", fingerprint="f", config={}, stages=["browsers"], run_dir=Path("r"))

    assert [r.id for r in store.prune(keep=2, dry_run=True)] == shop[:3][::-1]
    assert len(store.runs()) == 8  # a dry run deletes nothing
    removed = store.prune(keep=2)
    assert [r.id for r in removed] == shop[:3][::-1]
    assert {r.id for r in store.runs()} == {going, *shop[3:], *blog}  # the run still going was not counted out
    assert store.records(shop[0]) == []  # its records went with it
    assert len(store.records(shop[4])) == 1


def test_prune_older_than(history_location):
    from datetime import datetime, timedelta, timezone

    store = Store(history_location)
    old = _finished_run(store, "shop")
    store.db.execute("UPDATE runs SET started = ? WHERE id = ?",
                     ((datetime.now(timezone.utc) - timedelta(days=40)).isoformat(), old))
    new = _finished_run(store, "shop")
    removed = store.prune(older_than=datetime.now(timezone.utc) - timedelta(days=30))
    assert [r.id for r in removed] == [old]
    assert [r.id for r in store.runs()] == [new]
    with pytest.raises(UsageError, match="--keep"):
        store.prune()


def test_postgresql_that_is_not_there_is_a_clear_error(postgres):
    with pytest.raises(UsageError, match="cannot open the history database") as caught:
        Store(postgres.url("no_such_database"))
    assert "pg-test-secret" not in str(caught.value) and "********" in str(caught.value)
    assert "PGPASSWORD" in (caught.value.hint or "")
