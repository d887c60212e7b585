"""Ctrl-C twice during load: what Locust measured reaches the report anyway (issue 14, item 2).

Before: the second Ctrl-C stopped siteward before the load stage recorded its results; the
run kept 2 records while 10 s of results sat in load/raw.json, never ingested. Now
`siteward report RUN` recovers them from load/raw.json, says so, and the run stays
incomplete (never a PASS).
"""

from __future__ import annotations

import json
import signal
import time

import pytest

from fault_support import findings, only_run, run_cli, start_cli, wait_for

pytestmark = pytest.mark.load


def _measurements(history) -> list[dict]:
    import sqlite3
    with sqlite3.connect(history) as db:
        rows = db.execute("SELECT body FROM records WHERE kind = 'measurement' AND stage = 'loadtests'").fetchall()
    return [json.loads(body) for (body,) in rows]


def test_results_left_in_raw_json_are_recovered_by_the_report(own_shop, tmp_path):
    results = tmp_path / "results"
    run = start_cli("load", "--target", own_shop.url, "--results", str(results), "--workers", "1",
                    "--profile", "open", "--peak-rps", "4", "--multiplier", "2", "--duration", "60", "-q",
                    out_dir=tmp_path / "cli")
    wait_for(lambda: any((d / "load" / "spec.json").is_file() for d in results.glob("2*")), 120, "the load spec")
    time.sleep(15)  # some seconds of load
    run.signal(signal.SIGINT)
    time.sleep(0.3)
    run.signal(signal.SIGINT)
    run.wait(120)
    assert "Traceback" not in run.stderr, run.stderr
    history = results / "history.sqlite"
    stored = only_run(history)
    raw = next(results.glob("*/load/raw.json"))
    assert json.loads(raw.read_text())["buckets"], "Locust wrote what it measured"
    before = _measurements(history)

    code, out, err = run_cli("report", stored["id"], "--results", str(results), out_dir=tmp_path / "report")
    assert "Traceback" not in err, err
    after = _measurements(history)
    assert len(after) > len(before), (len(before), len(after))
    assert any(m["subject"] == "all" and m["metric"] == "response_ms" and len(m["samples"]) > 20 for m in after)
    recovered = [f for f in findings(history, stored["id"]) if "recovered from load/raw.json" in f["message"]]
    assert len(recovered) == 1 and recovered[0]["status"] == "warn"
    assert code != 0  # an interrupted run is never a PASS
    run_cli("report", stored["id"], "--results", str(results), out_dir=tmp_path / "again")
    assert len(_measurements(history)) == len(after), "recovered once, not on every re-render"
