"""Helpers for fault tests: the real CLI as a subprocess, and the history read from outside.

The history is read with its own read-only SQLite connection (as a second process would),
so the tests see exactly what a run killed at that moment would leave behind.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import psutil

from local_server import serve_locally

REPO = Path(__file__).resolve().parents[2]
QUICK_BUDGETS = {"global": {"response_ms": 60_000, "cls": 0.1}, "mobile": {"fcp_ms": 60_000}}


@dataclass
class CliRun:
    """`python -m siteward.cli ...` in the background, output captured to files."""

    process: subprocess.Popen
    out_dir: Path

    @property
    def stdout(self) -> str:
        return (self.out_dir / "stdout.txt").read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return (self.out_dir / "stderr.txt").read_text(errors="replace")

    def wait(self, timeout: float = 600) -> int:
        return self.process.wait(timeout=timeout)

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.Error:
            return []


def start_cli(*args: str, out_dir: Path, env: dict[str, str] | None = None, cwd: Path | None = None,
              new_session: bool = False) -> CliRun:
    out_dir.mkdir(parents=True, exist_ok=True)
    environment = dict(os.environ, COLUMNS="200", PYTHONUNBUFFERED="1", **(env or {}))
    environment["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), environment.get("PYTHONPATH", "")) if p)
    with open(out_dir / "stdout.txt", "wb") as out, open(out_dir / "stderr.txt", "wb") as err:
        process = subprocess.Popen([sys.executable, "-m", "siteward.cli", *args], stdout=out, stderr=err,
                                   stdin=subprocess.DEVNULL, env=environment, cwd=cwd or REPO,
                                   start_new_session=new_session)
    return CliRun(process, out_dir)


def run_cli(*args: str, out_dir: Path, timeout: float = 600, **kwargs) -> tuple[int, str, str]:
    run = start_cli(*args, out_dir=out_dir, **kwargs)
    try:
        code = run.wait(timeout)
    except subprocess.TimeoutExpired:
        run.process.kill()
        raise
    return code, run.stdout, run.stderr


# ------------------------------------------------------------------ history
def _connect(history: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{history}?mode=ro", uri=True, timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def records(history: Path, *, stage: str | None = None, kind: str | None = None) -> list[dict]:
    """Every stored record body (all runs), oldest first; [] while the file does not exist."""
    if not history.exists():
        return []
    sql, args = "SELECT body FROM records WHERE 1=1", []
    if stage:
        sql, args = sql + " AND stage = ?", [*args, stage]
    if kind:
        sql, args = sql + " AND kind = ?", [*args, kind]
    try:
        conn = _connect(history)
        try:
            return [json.loads(r["body"]) for r in conn.execute(sql + " ORDER BY id", args)]
        finally:
            conn.close()
    except sqlite3.OperationalError:  # created but schema not there yet
        return []


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, poll_s: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def wait_for_records(history: Path, count: int, timeout: float = 300, **filters) -> list[dict]:
    found: list[dict] = []

    def enough() -> bool:
        nonlocal found
        found = records(history, **filters)
        return len(found) >= count

    wait_for(enough, timeout, f"{count} record(s) {filters} in {history}")
    return found


def integrity(history: Path) -> str:
    conn = _connect(history)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def only_run(history: Path) -> dict:
    conn = _connect(history)
    try:
        rows = [dict(r) for r in conn.execute("SELECT * FROM runs")]
    finally:
        conn.close()
    assert len(rows) == 1, rows
    return rows[0]


def findings(history: Path, run_id: str) -> list[dict]:
    conn = _connect(history)
    try:
        rows = conn.execute("SELECT body FROM records WHERE run_id = ? AND kind = 'finding' ORDER BY id", (run_id,))
        return [json.loads(r["body"]) for r in rows]
    finally:
        conn.close()


def assert_run_kept_and_reportable(results: Path, out_dir: Path) -> tuple[dict, int, dict]:
    """The store is consistent, and `siteward report RUN` renders the run again afterwards.

    Returns the run row, the report's exit code and the re-rendered summary.json.
    """
    history = results / "history.sqlite"
    assert integrity(history) == "ok"
    run = only_run(history)
    code, _, err = run_cli("report", run["id"], "--results", str(results), out_dir=out_dir / "report")
    assert code in (0, 1, 3), err
    assert "Traceback" not in err
    run_dir = Path(run["run_dir"])
    for name in ("report.html", "summary.json", "junit.xml", "summary.md"):
        assert (run_dir / name).is_file(), name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["run_id"] == run["id"]
    return run, code, summary


def kill_tree(process: psutil.Process, signum: int = signal.SIGKILL) -> None:
    for child in [*process.children(recursive=True), process]:
        try:
            child.send_signal(signum)
        except psutil.Error:
            pass


def alive_pids(pids: set[int]) -> list[int]:
    """The pids that still run (zombies count as gone: only their exit status is left)."""
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.Error:
            pass
    return alive


def watch_descendants(run, into: set[int], stop: threading.Event) -> threading.Thread:
    """Collect the pids of the run's process tree every 0.3 s until `stop` or the run ends."""
    def watch() -> None:
        while not stop.is_set() and run.process.poll() is None:
            into.update(p.pid for p in run.descendants())
            stop.wait(0.3)
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


class _Trickle(BaseHTTPRequestHandler):
    """200 with its first bytes at once, then one more byte every half second, forever."""

    stop: threading.Event
    head: bytes
    filler: bytes
    content_type: str

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.send_header("Content-Type", self.content_type)
        self.end_headers()
        try:
            self.wfile.write(self.head)
            while not self.stop.is_set():
                self.wfile.write(self.filler)
                self.wfile.flush()
                time.sleep(0.5)
        except OSError:
            pass


@contextmanager
def never_ending_site(head: bytes = b"<!doctype html><html><head><title>slow</title></head><body><p>",
                      filler: bytes = b".", content_type: str = "text/html; charset=utf-8") -> Iterator[str]:
    """A real server on 127.0.0.1 whose every response trickles forever (per-read timeouts never fire)."""
    stop = threading.Event()
    handler = type("Trickle", (_Trickle,), {"stop": stop, "head": head, "filler": filler,
                                            "content_type": content_type})
    with serve_locally(handler) as url:
        try:
            yield url
        finally:
            stop.set()  # before the server shuts down: its handler threads leave their loops
