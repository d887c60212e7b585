"""The command line: exit codes of DESIGN.md and messages without tracebacks."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from siteward.cli import main


def _siteward(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "siteward.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_doctor_reports_all_three_engines_available():
    proc = _siteward("doctor")
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    for engine in ("chromium", "firefox", "webkit"):
        assert f"engine {engine}: available" in out
    for tool in ("chromium", "firefox-esr", "WebKitWebDriver", "Xvfb", "node", "lighthouse", "lhci", "locust", "playwright"):
        assert tool in out


def test_doctor_exits_3_with_install_command_when_a_tool_is_missing(tmp_path):
    # Only PATH is narrowed: the Debian browsers "disappear" for this process.
    proc = subprocess.run([sys.executable, "-m", "siteward.cli", "doctor"], capture_output=True, text=True,
                          env={"PATH": str(tmp_path), "COLUMNS": "200"}, timeout=120)
    assert proc.returncode == 3
    assert "apt-get install -y chromium" in proc.stdout
    assert "engine chromium: unavailable" in proc.stdout


@pytest.mark.parametrize("argv,fragment", [
    (["shop", "--fault", "explode"], "unknown fault"),
    (["shop", "--fault", "latency=abc"], "--fault latency=abc"),
    (["sweep", "--page", "nope"], "no such page"),
    (["load", "--profile", "soak"], "expected peak, open or steady"),
    (["load", "--worker"], "--master-host"),
    (["audit", "--preset", "tablet"], "mobile or desktop"),
    (["report", "no-such-run"], "no run"),
    (["demo", "--fault", "nonsense"], "unknown fault"),
])
def test_bad_usage_exits_2_with_a_message(tmp_path, capsys, monkeypatch, argv, fragment):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err


def test_unknown_option_exits_2():
    proc = _siteward("sweep", "--frobnicate")
    assert proc.returncode == 2 and "No such option" in proc.stderr and "Traceback" not in proc.stderr


def test_unreachable_target_exits_3_and_still_writes_the_reports(tmp_path):
    proc = _siteward("run", "--target", f"http://127.0.0.1:{_closed_port()}", "--results", str(tmp_path), "-q")
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["verdict"] == "error"
    assert any("does not answer" in f["message"] for f in summary["findings"])
    for name in ("report.html", "junit.xml", "summary.md"):
        assert (run_dir / name).is_file()
