"""A real run from the real browsers stage against the real demo shop, rendered and re-rendered."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from reports import render_run
from siteward.store import Store

pytestmark = pytest.mark.browser


def sweep(url: str, results: Path) -> int:
    argv = [sys.executable, "-m", "siteward.cli", "sweep", "--target", url, "--results", str(results),
            "--engine", "chromium", "--device", "desktop", "--page", "home", "--no-journeys", "--quiet",
            "--branch", "main"]
    return subprocess.run(argv, timeout=600, capture_output=True, text=True).returncode


def test_fault_run_fails_against_the_clean_run_and_renders_again(tmp_path):
    from siteward.shop.server import start_shop

    results = tmp_path / "results"
    with start_shop(faults=[]) as shop:
        clean_exit = sweep(shop.url, results)
        shop.set_faults(["console-error"])
        fault_exit = sweep(shop.url, results)
    assert (clean_exit, fault_exit) == (0, 1)

    store = Store(results / "history.sqlite")
    fault_run, clean_run = store.runs(limit=2)
    summary = json.loads((fault_run.run_dir / "summary.json").read_text(encoding="utf-8"))
    # One clean run is the baseline to be (5 are needed before regressions are judged).
    assert summary["verdict"] == "fail" and summary["baseline_run_id"] == clean_run.id
    assert summary["baseline_runs_needed"] == 4 and summary["branch"] == "main"
    assert any(f["check"] == "console-errors" and f["status"] == "fail" for f in summary["findings"])
    assert summary["stages"]["browsers"]["measurements"]
    junit = ET.parse(fault_run.run_dir / "junit.xml").getroot()
    assert int(junit.get("failures")) >= 1

    # `siteward report RUN` renders the stored run again, to the same verdict and thumbnails.
    again = render_run(store, fault_run.id)
    assert (again.verdict, again.exit_code) == ("fail", 1)
    html = again.paths["report.html"].read_text(encoding="utf-8")
    assert 'src="thumbs/' in html and "console-errors" in html
    assert list((fault_run.run_dir / "thumbs").glob("*.jpg"))
    store.close()
