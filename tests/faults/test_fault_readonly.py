"""A read-only disk for results: a real read-only filesystem (tmpfs remounted ro).

The mount lives in a private mount namespace (`unshare --mount`), so nothing outside the
test sees it. Needs CAP_SYS_ADMIN (root in this container); skipped where that is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fault_support import integrity

DRIVER = Path(__file__).with_name("readonly_driver.py")


def _namespaces_work(tmp_path: Path) -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "mount", "-t", "tmpfs", "none",
                            str(tmp_path)], capture_output=True)
    return probe.returncode == 0


def _drive(scenario: str, tmp_path: Path, url: str, history: Path | None) -> dict:
    (tmp_path / "probe").mkdir()
    if not _namespaces_work(tmp_path / "probe"):
        pytest.skip("needs unshare --mount and tmpfs mounts (CAP_SYS_ADMIN)")
    root = tmp_path / "results"
    root.mkdir()
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", sys.executable, str(DRIVER), scenario, str(root), url,
         str(history or "-"), str(tmp_path / "work")],
        capture_output=True, text=True, timeout=900)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, proc.stdout + proc.stderr
    return json.loads(lines[-1].removeprefix("RESULT "))


def test_a_read_only_results_root_is_exit_2_before_measuring(own_shop, tmp_path):
    out = _drive("before", tmp_path, own_shop.url, None)
    assert out["code"] == 2, out["stderr"]
    assert "Read-only file system" in out["stderr"] and "results" in out["stderr"]
    assert "Traceback" not in out["stderr"]
    assert out["entries"] == []  # nothing written, nothing measured


@pytest.mark.browser
def test_the_run_dir_turning_read_only_keeps_records_and_says_the_report_failed(own_shop, tmp_path):
    own_shop.set_faults(["latency=/category:1500", "latency=/product:1500", "latency=/cart:1500"])
    history = tmp_path / "history" / "history.sqlite"
    out = _drive("during", tmp_path, own_shop.url, history)
    stderr = out["stderr"]
    assert "Traceback" not in stderr
    assert out["findings_before"] >= 1
    # The run could not write its report: said plainly, with how to render it later.
    assert out["code"] == 2, stderr
    assert "cannot write the report" in stderr and "Read-only file system" in stderr
    assert f"siteward report {out['run_id']}" in stderr
    # Every check still has its record in the history.
    subjects = {f["subject"] for f in out["findings"] if f["check"] in ("http-status", "page-load")}
    assert len(subjects) == 4, subjects
    assert integrity(history) == "ok"
    assert out["report_ro"]["code"] == 2 and "Read-only file system" in out["report_ro"]["stderr"]
    # Once the disk is writable again, the report renders from the stored records.
    assert out["report_rw"]["code"] in (0, 1, 3), out["report_rw"]["stderr"]
    assert {"report.html", "summary.json", "junit.xml", "summary.md"} <= set(out["report_rw"]["files"])
