"""A Locust worker dies mid-run (SIGKILL): the load test goes on and says what happened."""

from __future__ import annotations

import signal
import time

import psutil
import pytest

from fault_support import assert_run_kept_and_reportable, findings, only_run, start_cli, wait_for

pytestmark = pytest.mark.load


def _workers(run) -> list[psutil.Process]:
    found = []
    for process in run.descendants():
        try:
            if "--worker" in process.cmdline():
                found.append(process)
        except psutil.Error:
            continue
    return found


def test_a_killed_locust_worker_is_an_error_record_and_the_rest_is_measured(own_shop, tmp_path):
    results = tmp_path / "results"
    run = start_cli("load", "--target", own_shop.url, "--results", str(results), "--workers", "2",
                    "--profile", "open", "--peak-rps", "2", "--multiplier", "2", "--duration", "24", "-q",
                    out_dir=tmp_path / "cli")
    workers: list[psutil.Process] = []

    def two_workers() -> bool:
        workers[:] = _workers(run)
        return len(workers) == 2
    wait_for(two_workers, 120, "two Locust workers")
    wait_for(lambda: _load_started(results), 120, "the load to start")
    time.sleep(6)  # some seconds of load on both workers
    victim = workers[0]
    victim.send_signal(signal.SIGKILL)
    code = run.wait(600)
    assert "Traceback" not in run.stderr, run.stderr

    history = results / "history.sqlite"
    found = findings(history, only_run(history)["id"])
    errors = [f for f in found if f["check"] == "load-run" and f["status"] == "error"]
    assert errors and "worker-" in errors[0]["message"] and "-9" in errors[0]["message"], found
    _, report_code, summary = assert_run_kept_and_reportable(results, tmp_path)
    thresholds = [b for b in summary["budgets"] if b["check"] == "threshold" and b["status"] in ("pass", "fail")]
    assert thresholds, "what the surviving worker measured is kept and judged"
    assert code == report_code == {"fail": 1, "error": 3}[summary["verdict"]]


def _load_started(results) -> bool:
    for log in results.glob("*/load/locust-master.log"):
        text = log.read_text(errors="replace").lower()
        if "all users spawned" in text or "ramping" in text or "spawning" in text:
            return True
    return False
