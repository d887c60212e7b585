"""Ctrl-C (SIGINT) and SIGTERM stop a load test cleanly and still write what was measured."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reports.budgets import Limits, judge
from siteward.records import Artifact, Finding, Measurement
from siteward.store import Store

pytestmark = pytest.mark.load
CHILD = Path(__file__).with_name("load_child.py")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_locust_and_keeps_the_results(faulty_shop, tmp_path, signum):
    results = tmp_path / "results"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(CHILD.parent), str(CHILD.parent.parent), os.getcwd()])}
    child = subprocess.Popen([sys.executable, str(CHILD), faulty_shop.url, str(results)], env=env)
    history = results / "run" / "load" / "locust_stats_history.csv"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and child.poll() is None:
        if history.is_file() and len(history.read_text().splitlines()) > 6:  # a few seconds of load
            break
        time.sleep(0.5)
    assert child.poll() is None, "the load stage ended before it could be interrupted"
    child.send_signal(signum)
    assert child.wait(90) == 130

    store = Store(results / "history.sqlite")
    records = store.records("signal-run")
    stopped = [r for r in records if isinstance(r, Finding) and r.check == "load-run"]
    assert stopped and stopped[0].status == "warn" and "interrupted" in stopped[0].message
    judged = judge([r for r in records if isinstance(r, Measurement)],
                   Limits.from_snapshot(store.run("signal-run").config))
    assert any(f.check == "threshold" and f.value is not None for f in judged)
    series = next(r for r in records if isinstance(r, Artifact) and r.role == "load-series")
    doc = json.loads((results / "run" / series.path).read_text())
    assert 0 < len(doc["t"]) < 35 and sum(doc["rps"]) > 0
    # no Locust process is left behind
    leftovers = subprocess.run(["pgrep", "-f", f"siteward-out {results}"], capture_output=True, text=True)
    assert leftovers.stdout.strip() == ""
