"""The lhci wrapper's pure parts: the generated config, run order, messages, tool lookup."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from audits.lhci import assertion_message, collect_config, failure_message, saved_lhrs
from audits.tools import find_node_tools
from siteward.errors import ToolMissing


def test_collect_config_presets_and_state():
    mobile = collect_config("http://h/", preset="mobile", runs=3, chrome_path="/usr/bin/chromium",
                            chrome_flags=["--headless=new", "--no-sandbox"])["ci"]["collect"]
    assert mobile["numberOfRuns"] == 3 and mobile["url"] == ["http://h/"]
    assert "preset" not in mobile["settings"]  # Lighthouse's default config is the mobile one
    assert mobile["settings"]["chromeFlags"] == "--no-sandbox"  # lhci adds --headless=new itself
    desktop = collect_config("http://h/", preset="desktop", runs=1, chrome_path="c", chrome_flags=["--no-sandbox"],
                             with_state=True)["ci"]["collect"]
    assert desktop["settings"]["preset"] == "desktop"
    # With state: Lighthouse's Chrome is prepared by the puppeteerScript and keeps that storage.
    assert desktop["puppeteerScript"] == "lighthouse_state.js" and desktop["settings"]["disableStorageReset"]
    assert desktop["puppeteerLaunchOptions"] == {"args": ["--no-sandbox"]} and "chromeFlags" not in desktop["settings"]


def test_saved_lhrs_in_run_order_by_timestamp(tmp_path):
    folder = tmp_path / ".lighthouseci"
    folder.mkdir()
    for stamp in ("1795314817999", "1795314817325", "999", "x"):
        (folder / f"lhr-{stamp}.json").write_text("{}")
    (folder / "lhr-1795314817325.html").write_text("")
    (folder / "assertion-results.json").write_text("[]")
    assert [p.name for p in saved_lhrs(tmp_path)] == ["lhr-999.json", "lhr-1795314817325.json", "lhr-1795314817999.json"]
    assert saved_lhrs(tmp_path / "nothing") == []


def test_failure_message_prefers_lighthouse_runtime_error():
    stderr = ("Error: Lighthouse failed with exit code 1\n    at ChildProcess.<anonymous> (/x.js:1:1)\n"
              "Runtime error encountered: Lighthouse was unable to reliably load the page you requested. "
              "(Status code: 404) (ERRORED_DOCUMENT_REQUEST)\nLighthouseError: ...\n")
    message, code = failure_message(stderr, "", 1)
    assert message.startswith("Lighthouse was unable to reliably load")
    assert code == "ERRORED_DOCUMENT_REQUEST"
    message, code = failure_message("Error: No URLs provided to collect\n    at x (y)\n", "", 1)
    assert message == "Error: No URLs provided to collect" and code is None


def test_assertion_message_reads_like_lhci():
    item = {"name": "minScore", "expected": 0.95, "actual": 0.84, "values": [0.84, 0.9], "operator": ">=",
            "passed": False, "auditProperty": "accessibility", "auditId": "categories", "level": "error"}
    assert assertion_message(item) == ("categories.accessibility failure for minScore assertion: "
                                       "expected >=0.95, found 0.84 (all values: 0.84, 0.9)")
    assert " warning " in assertion_message({**item, "level": "warn"})
    assert " passing " in assertion_message({**item, "passed": True})


def test_missing_tools_raise_tool_missing_with_install_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no node, no lhci
    with pytest.raises(ToolMissing) as err:
        find_node_tools(root=tmp_path)
    assert "npm" in str(err.value.hint) and err.value.exit_code == 3


def test_missing_lhci_and_chromium_are_named(tmp_path, monkeypatch):
    node_dir = Path(os.environ.get("NODE_DIR", "/usr/bin"))
    monkeypatch.setenv("PATH", str(node_dir))
    if not (node_dir / "node").exists():
        pytest.skip("node not in /usr/bin")
    with pytest.raises(ToolMissing) as err:
        find_node_tools(root=tmp_path)  # a project without node_modules
    assert "npm ci" in str(err.value.hint)
    with pytest.raises(ToolMissing) as err:
        find_node_tools("/nonexistent/chromium")
    assert "apt-get install -y chromium" in str(err.value.hint)


def test_failure_code_from_the_lhr_lighthouse_13_prints():
    stderr = ('Error: Lighthouse failed with exit code 1\n    at ChildProcess.<anonymous> (x.js:1:1)\n{\n'
              '  "lighthouseVersion": "13.5.0",\n  "runtimeError": {\n    "code": "NO_FCP",\n'
              '    "message": "The page did not paint any content."\n  }\n}\n'
              "Runtime error encountered: The page did not paint any content.\n")
    assert failure_message(stderr, "", 1) == ("The page did not paint any content.", "NO_FCP")
