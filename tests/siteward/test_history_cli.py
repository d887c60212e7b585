"""`siteward history` and a PostgreSQL history named in siteward.toml, through the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from siteward.records import Finding
from siteward.store import Store

CONFIG = """
[target]
base_url = "http://127.0.0.1:9"
name = "shop"
[[pages]]
name = "home"
path = "/"
[results]
root = "{root}"
history = "{history}"
[secrets]
HISTORY = "SITEWARD_TEST_HISTORY_PASSWORD"
"""


def _siteward(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "siteward.cli", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def _config(tmp_path: Path, history: str) -> Path:
    path = tmp_path / "siteward.toml"
    path.write_text(CONFIG.format(root=tmp_path / "results", history=history))
    return path


def test_prune_on_a_postgresql_history_named_in_the_config(tmp_path, postgres):
    from pg_server import PASSWORD

    database = postgres.new_database()
    store = Store(postgres.url(database))
    runs = []
    for _ in range(4):
        run = store.create_run(target="shop", fingerprint="f", config={}, stages=["browsers"],
                               run_dir=Path("/elsewhere/machine") / "x")
        store.add(run, Finding(stage="browsers", subject="home", check="c", status="pass", message="ok"))
        store.finish_run(run, verdict="pass", exit_code=0)
        runs.append(run)
    local_folder = tmp_path / "results" / runs[0]
    local_folder.mkdir(parents=True)  # a folder named as a pruned run, but the history says it lives elsewhere
    config = _config(tmp_path, postgres.url(database, password=False).replace("siteward@", "siteward:${secrets.HISTORY}@"))

    done = _siteward("history", "prune", "--keep", "2", "-c", str(config),
                     env={"SITEWARD_TEST_HISTORY_PASSWORD": PASSWORD})
    assert done.returncode == 0, done.stderr
    assert "deleted 2 run(s)" in done.stderr and PASSWORD not in done.stdout + done.stderr
    assert [r.id for r in store.runs()] == runs[:1:-1]
    assert local_folder.is_dir()  # its stored path is another machine's: never followed

    info = _siteward("history", "info", "-c", str(config), env={"SITEWARD_TEST_HISTORY_PASSWORD": PASSWORD})
    assert info.returncode == 0 and "(postgresql), schema version 3" in info.stderr, info.stderr

    wrong = _siteward("history", "info", "-c", str(config), env={"SITEWARD_TEST_HISTORY_PASSWORD": "not-the-password"})
    assert wrong.returncode == 2 and "cannot open the history database" in wrong.stderr
    assert "not-the-password" not in wrong.stderr and "Traceback" not in wrong.stderr


def test_a_password_written_into_the_history_url_is_refused(tmp_path):
    config = _config(tmp_path, "postgresql://siteward:hunter2hunter2@db.example:5432/siteward")
    done = _siteward("history", "info", "-c", str(config))
    assert done.returncode == 2 and "${secrets.NAME}" in done.stderr
    assert "hunter2hunter2" not in done.stderr


def test_other_history_urls_and_undeclared_secrets_are_config_errors(tmp_path):
    for history, says in (("mysql://db/siteward", "not mysql://"),
                          ("postgresql:///siteward", "needs a host"),
                          ("postgresql://u:${secrets.NOPE}@db/s", "secrets.NOPE")):
        done = _siteward("history", "info", "-c", str(_config(tmp_path, history)))
        assert done.returncode == 2 and says in done.stderr, (history, done.stderr)
