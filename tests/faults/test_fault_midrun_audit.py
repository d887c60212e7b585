"""Lighthouse faults through the CLI: a page that never finishes loading, and SIGTERM mid-audit.

The never-ending page is real (fault_support.never_ending_site): a server on 127.0.0.1 that
sends its HTML one byte every half second, forever. audits.timeout_s is small, so the lhci
call overruns and is killed.
"""

from __future__ import annotations

import signal
import threading
import time

import psutil
import pytest

from fault_support import (alive_pids, assert_run_kept_and_reportable, findings, never_ending_site, only_run, start_cli,
                           wait_for, watch_descendants)

pytestmark = [pytest.mark.lighthouse, pytest.mark.browser]


def test_lighthouse_on_a_page_that_never_loads_is_killed_at_its_timeout(tmp_path):
    config = tmp_path / "siteward.toml"
    config.write_text('[target]\nbase_url = "http://127.0.0.1:1"\n[[pages]]\nname = "slow"\npath = "/"\n'
                      '[audits]\ntimeout_s = 15\nruns = 1\npresets = ["mobile"]\nhttp_timeout_s = 5\n')
    results = tmp_path / "results"
    pids: set[int] = set()
    stop = threading.Event()
    with never_ending_site() as url:
        run = start_cli("audit", "-c", str(config), "--target", url, "--results", str(results), "-q",
                        out_dir=tmp_path / "cli")
        watcher = watch_descendants(run, pids, stop)
        code = run.wait(600)
        stop.set()
        watcher.join(5)
    assert "Traceback" not in run.stderr, run.stderr
    history = results / "history.sqlite"
    found = findings(history, only_run(history)["id"])
    lighthouse = [f for f in found if f["check"] == "lighthouse"]
    assert lighthouse and all(f["status"] == "error" for f in lighthouse), lighthouse
    assert any("timed out after 15 s" in f["message"] for f in lighthouse), lighthouse
    assert code == 3  # nothing could be measured
    _, report_code, summary = assert_run_kept_and_reportable(results, tmp_path)
    assert report_code == 3 and summary["verdict"] == "error"
    wait_for(lambda: not alive_pids(pids), 30, "Lighthouse and its Chrome to be gone")


def test_sigterm_mid_audit_stops_lighthouse_and_reports(own_shop, tmp_path):
    results = tmp_path / "results"
    run = start_cli("audit", "--target", own_shop.url, "--results", str(results), "--page", "home", "--page", "cart",
                    "--preset", "mobile", "--runs", "1", "-q", out_dir=tmp_path / "cli")
    pids: set[int] = set()
    stop = threading.Event()
    watcher = watch_descendants(run, pids, stop)

    def lighthouse_running() -> bool:
        return any(_name(p) in ("node", "chromium") for p in run.descendants())
    wait_for(lighthouse_running, 120, "Lighthouse to start")
    time.sleep(2)  # let it get into the page load
    run.signal(signal.SIGTERM)
    code = run.wait(300)
    stop.set()
    watcher.join(5)
    assert "Traceback" not in run.stderr, run.stderr
    assert "interrupted by SIGTERM" in run.stderr
    history = results / "history.sqlite"
    found = findings(history, only_run(history)["id"])
    assert any(f["check"] == "interrupted" for f in found)
    assert code in (1, 3)
    assert_run_kept_and_reportable(results, tmp_path)
    wait_for(lambda: not alive_pids(pids), 30, "Lighthouse and its Chrome to be gone after SIGTERM")


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.Error:
        return ""


def test_never_ending_site_really_never_ends():
    """The fixture itself: a plain client gives up on it (guards against a vacuous timeout test)."""
    import httpx

    with never_ending_site() as url, pytest.raises(httpx.ReadTimeout):
        with httpx.Client(timeout=httpx.Timeout(3.0, read=3.0)) as client:
            with client.stream("GET", url + "/") as response:
                deadline = time.monotonic() + 10
                for _ in response.iter_raw():
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("still streaming after 10 s")
