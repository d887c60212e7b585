"""Faults in the middle of a real sweep (the CLI as a subprocess, Chromium, the demo shop).

Each time: what was measured before the fault stays, the checks hit by the fault are error
records, the history passes PRAGMA integrity_check, `siteward report RUN` renders the run
afterwards, the exit code is 1 if a failure was found before the fault and 3 otherwise,
and no browser process outlives the run.
"""

from __future__ import annotations

import os
import signal
import threading

import psutil
import pytest

from fault_support import (
    alive_pids, assert_run_kept_and_reportable, findings, kill_tree, records, start_cli, wait_for, wait_for_records,
    watch_descendants,
)

pytestmark = pytest.mark.browser

PAGES = ["home", "category", "search", "product", "cart"]
SLOW = ["latency=/category:1500", "latency=/product:1500", "latency=/search:1500", "latency=/cart:1500"]


def _sweep_args(url: str, results, *, device: str = "desktop") -> list[str]:
    args = ["sweep", "--target", url, "--results", str(results), "--engine", "chromium", "--device", device,
            "--no-journeys", "-q"]
    for page in PAGES:
        args += ["--page", page]
    return args


def _is_browser_main(process: psutil.Process) -> bool:
    """Chromium's main process (its helpers carry a --type= flag)."""
    try:
        return process.name() == "chromium" and not any(a.startswith("--type=") for a in process.cmdline())
    except psutil.Error:
        return False


def _no_survivors(pids: set[int]) -> None:
    wait_for(lambda: not alive_pids(pids), 30, f"browser processes {sorted(pids)} to exit with the run")


def test_the_target_going_down_halfway_keeps_what_was_measured(own_shop, tmp_path):
    own_shop.set_faults(SLOW)
    results, history = tmp_path / "results", tmp_path / "results" / "history.sqlite"
    run = start_cli(*_sweep_args(own_shop.url, results), out_dir=tmp_path / "cli")
    before = wait_for_records(history, 1, stage="browsers", kind="finding")
    own_shop.stop()  # the target is gone from here on
    code = run.wait()
    assert "Traceback" not in run.stderr

    run_row, report_code, summary = assert_run_kept_and_reportable(results, tmp_path)
    found = findings(history, run_row["id"])
    # Everything recorded before the fault is still there, unchanged.
    assert all(record in found for record in before)
    loads = [f for f in found if f["check"] in ("page-load", "http-status")]
    assert len({f["subject"] for f in loads}) == len(PAGES), "every page has its result"
    errors = [f for f in found if f["status"] == "error" and f["check"] == "page-load"]
    assert errors, "checks after the fault are error records"
    assert all("ERR_CONNECTION_REFUSED" in f["message"] or "refused" in f["message"].lower() for f in errors), errors
    # A check can also fail: a budget missed before the fault on a busy machine, or a page
    # whose images died with the shop halfway through loading. Failures outrank errors.
    # Budgets are judged by reports/ when the report renders, so they are not in the stored findings.
    failed = (any(f["status"] == "fail" for f in [*found, *summary["findings"]])
              or summary["counts"]["budgets"]["failed"])
    expected = ("fail", 1) if failed else ("error", 3)
    assert (summary["verdict"], code, report_code) == (expected[0], expected[1], expected[1])


def test_a_browser_killed_mid_check_is_an_error_or_a_retry_and_the_run_goes_on(own_shop, tmp_path):
    own_shop.set_faults(SLOW)
    results, history = tmp_path / "results", tmp_path / "results" / "history.sqlite"
    run = start_cli(*_sweep_args(own_shop.url, results), out_dir=tmp_path / "cli")
    wait_for_records(history, 1, stage="browsers", kind="finding")
    browsers = []

    def find_browser() -> bool:
        browsers[:] = [p for p in run.descendants() if _is_browser_main(p)]
        return bool(browsers)
    wait_for(find_browser, 60, "the Chromium main process")
    for browser in browsers:
        kill_tree(browser)
    code = run.wait()
    assert "Traceback" not in run.stderr

    run_row, report_code, summary = assert_run_kept_and_reportable(results, tmp_path)
    found = findings(history, run_row["id"])
    outcome = {f["subject"] for f in found if f["check"] in ("http-status", "page-load")}
    assert len(outcome) == len(PAGES), "every page has a result despite the kill"
    hit = [f for f in found if f["check"] == "flaky" or (f["check"] == "page-load" and f["status"] == "error")]
    assert hit, "the killed check shows up as a retry (flaky) or an error"
    assert code == report_code == {"pass": 0, "fail": 1, "error": 3}[summary["verdict"]]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_sweep_reports_what_it_measured(own_shop, tmp_path, signum):
    # SIGINT like Ctrl-C (to the whole process group); SIGTERM like `kill` or a cancelled CI job.
    # With the overflow fault on a phone, the first pages already fail: exit 1, not 3.
    own_shop.set_faults([*SLOW, "overflow"])
    results, history = tmp_path / "results", tmp_path / "results" / "history.sqlite"
    run = start_cli(*_sweep_args(own_shop.url, results, device="pixel-7"), out_dir=tmp_path / "cli",
                    new_session=True)
    pids: set[int] = set()
    stop = threading.Event()
    watcher = watch_descendants(run, pids, stop)
    wait_for(lambda: any(r["status"] == "fail" for r in records(history, stage="browsers", kind="finding")),
             300, "a failed check")
    measured = records(history, stage="browsers")
    if signum == signal.SIGINT:
        os.killpg(run.process.pid, signal.SIGINT)
    else:
        run.signal(signal.SIGTERM)
    code = run.wait(timeout=180)
    stop.set()
    watcher.join(timeout=5)
    assert "Traceback" not in run.stderr, run.stderr
    assert "interrupted" in run.stderr

    run_row, report_code, summary = assert_run_kept_and_reportable(results, tmp_path)
    found = findings(history, run_row["id"])
    assert any(f["check"] == "interrupted" and f["status"] == "error" and signal.Signals(signum).name in f["message"]
               for f in found)
    kept = records(history, stage="browsers")
    assert all(r in kept for r in measured), "records from before the signal are all kept"
    assert code == 1 and report_code == 1 and summary["verdict"] == "fail"
    _no_survivors(pids)
