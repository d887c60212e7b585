"""End to end: the checkout journey measured before the load test and while it holds 10x peak.

`siteward run` with the browsers and load stages on the demo shop (real Chromium, real
Locust). Clean, the journey under load is not slower by the allowed +50 %: the run passes.
Then the shop slows under load: when the run's load starts, the test switches the `latency`
fault on (300 ms on every route), as a shop whose servers fall behind under traffic would;
the journey steps under load are then several times slower than before it, an "under-load"
finding fails the run, and the report draws the journey's steps on the load chart's time axis.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from siteward.store import Store

import os

# Two runs of 36 s load plus the journey rounds: 2-2.5 min, more than CI's 45-minute budget leaves
# beside everything else since web-vitals, axe-core and traces joined the browser checks, so CI runs
# it only with SITEWARD_LONG_E2E=1 (see the README's Development section); green here (2 min 8 s).
pytestmark = [pytest.mark.browser, pytest.mark.load,
              pytest.mark.skipif(not os.environ.get("SITEWARD_LONG_E2E"), reason="2-2.5 min: set SITEWARD_LONG_E2E=1")]

LATENCY_MS = 300


def _config(tmp_path, url: str) -> str:
    path = tmp_path / "siteward.toml"
    path.write_text(f"""
stages = ["browsers", "loadtests"]

[target]
name = "under-load-e2e"
base_url = "{url}"

[results]
root = "{tmp_path / 'results'}"

[[pages]]
name = "home"
path = "/"

[[journeys]]
name = "checkout"
steps = [
  {{ goto = "/", name = "home" }},
  {{ click = "a[data-testid=category-link][href='/category/shoes']", name = "open category" }},
  {{ click = "a[data-testid=product-link][href='/product/canvas-sneaker']", name = "open product" }},
  {{ click = "[data-testid=add-to-cart]", name = "add to cart" }},
  {{ expect_visible = "[data-testid=cart-line]" }},
  {{ click = "a[data-testid=checkout]", name = "checkout" }},
  {{ expect_visible = "input[name=full_name]" }},
]

[browsers]
engines = ["chromium"]
devices = ["desktop"]
samples = 1

[load]
peak_rps = 2
multiplier = 10
duration_s = 36
workers = 1

[load.under_load]
journey = "checkout"
rounds = 3
""")
    return str(path)


def _run(config: str, results, during_load=None) -> tuple[int, dict, Store]:
    proc = subprocess.Popen([sys.executable, "-m", "siteward.cli", "run", "-c", config, "-q", "--branch", "main"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    helper = threading.Thread(target=during_load, daemon=True) if during_load else None
    if helper:
        helper.start()
    try:
        out, err = proc.communicate(timeout=400)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in err, err
    store = Store(results / "history.sqlite")
    latest = store.runs(limit=1)[0]
    return proc.returncode, json.loads((latest.run_dir / "summary.json").read_text()), store


def _under_load(summary: dict) -> list[dict]:
    """The comparison per journey x engine x device (not the note when fewer rounds fit the hold)."""
    return [f for f in summary["findings"] if f["check"] == "under-load" and f["subject"].startswith("checkout|")]


def _when_load_starts(results, action, earlier: set[str], timeout_s: float = 300):
    """Call `action` once a new run (none of `earlier`) has said its load started (its load-window record)."""
    def wait() -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (results / "history.sqlite").exists():
                store = Store(results / "history.sqlite")
                runs = [r for r in store.runs(limit=5) if r.id not in earlier]
                if runs and any(f.check == "load-window" for f in store.records(runs[0].id, kind="finding")):
                    action()
                    return
            time.sleep(0.5)
    return wait


def test_checkout_slower_under_load_is_a_finding_and_clean_it_passes(faulty_shop, tmp_path):
    results = tmp_path / "results"
    config = _config(tmp_path, faulty_shop.url)

    code, summary, _ = _run(config, results)
    [clean] = _under_load(summary)
    assert clean["status"] == "pass", clean["message"]
    assert clean["data"]["rounds_before"] == 3 and clean["data"]["rounds_under"] >= 1, clean["message"]
    assert code == 0, [f["message"] for f in summary["findings"] if f["status"] in ("fail", "error")]

    code, summary, store = _run(config, results, _when_load_starts(
        results, lambda: faulty_shop.set_faults([f"latency=/:{LATENCY_MS}"]), earlier={summary["run_id"]}))
    [slow] = _under_load(summary)
    assert slow["status"] == "fail" and slow["value"] > 0.5, slow["message"]  # +70 % to +106 % seen
    assert code == 1
    # The before-load rounds and the run's own journey are never compared with the run's history.
    run = store.runs(limit=1)[0]
    phases = {m.tags.get("load_phase") for m in store.records(run.id, kind="measurement") if m.metric == "step_ms"}
    assert phases == {None, "before-load", "under-load"}
    html = (run.run_dir / "report.html").read_text(encoding="utf-8")
    assert "journey-under-load" in html  # the steps drawn on the load chart's time axis
