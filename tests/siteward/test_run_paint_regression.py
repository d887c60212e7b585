"""End to end with real Chromium: a first-paint regression is found, confirmed by re-measuring, and cleared.

`siteward run --stage browsers` on the demo shop, narrowed to Chromium desktop and four pages
(one page load at a time, so the page loads do not slow each other down; four pages so that
each metric has peers whose common change is this machine's drift, reports/drift.py): seven clean runs on
main make the pooled baseline; then `slow-paint` delays the product page's first paint by
30 % of its clean first-contentful-paint median, and that run must fail with the page's fcp_ms
regression confirmed by re-measurements; a clean run afterwards passes.

What it needs from the browsers stage: several first-paint samples per page and run
(`[browsers] samples`, 10 here), so that a run's median is steadier than +30 %. With one page
load per page and run it cannot hold: measured here, the
product page's first paint of single loads varied 9 % (log SD) from run to run on a quiet
machine, so +30 % was 2.5 of those SDs, p = 0.03 against 5 runs, q = 0.5 over the run's 16
metrics: no regression. And without the drift of peers divided out, a clean run on this
machine false-alarmed: home's load_ms +35.7 ms (+12 %), confirmed by 30 re-measurements,
because the machine itself had slowed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from statistics import median

import pytest

from siteward.shop.server import start_shop
from siteward.store import Store

# First-paint loads per page and run. Measured here: with 10 loads and 7 clean runs the product
# page's fcp run medians still varied 10.5 % (log SD) from run to run, so +30 % reached only
# q = 0.34; with each run's drift divided out (the other pages' common change) 4.1 %.
SAMPLES = 10
# 11-12 minutes (9 runs of 40 page loads, then 30 re-measurements): more than CI's budget
# leaves beside everything else, so CI runs it only with SITEWARD_LONG_E2E=1 (see the README).
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.environ.get("SITEWARD_LONG_E2E"), reason="11-12 min: set SITEWARD_LONG_E2E=1"),
]

# First contentful paint: the slow-paint script blocks the parser before the content, but
# Chromium may paint the page's background first (seen here: fp 226 ms while fcp 350 ms on a
# faulty run), so fp_ms need not move while the shopper waits the whole delay for content.
TARGET = ("browsers", "product|chromium|desktop", "fcp_ms")
DELAY_SHARE = 0.45  # of the clean median: about +30 % on first contentful paint
CLEAN_RUNS = 7  # the pooled baseline (5 left a t-test with 4 degrees of freedom, too weak for +30 % after BH)


def _config(tmp_path, url: str) -> str:
    path = tmp_path / "siteward.toml"
    path.write_text(f"""
stages = ["browsers"]

[target]
name = "paint-e2e"
base_url = "{url}"

[results]
root = "{tmp_path / 'results'}"

[[pages]]
name = "home"
path = "/"

[[pages]]
name = "category"
path = "/category/shoes"

[[pages]]
name = "product"
path = "/product/canvas-sneaker"

[[pages]]
name = "cart"
path = "/cart"

[browsers]
engines = ["chromium"]
devices = ["desktop"]
concurrency = 1
samples = {SAMPLES}
settle_ms = 100

[regressions]
confirm_runs = 3
""")
    return str(path)


def _run(config: str, results) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-m", "siteward.cli", "run", "-c", config, "-q", "--branch", "main"],
                          capture_output=True, text=True, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr
    latest = Store(results / "history.sqlite").runs(limit=1)[0]
    return proc.returncode, json.loads((latest.run_dir / "summary.json").read_text())


def _fcp(summary: dict) -> float:
    (m,) = [m for m in summary["stages"]["browsers"]["measurements"] if (m["subject"], m["metric"]) == TARGET[1:]]
    return m["median"]


def test_slow_paint_is_a_confirmed_first_paint_regression_and_clean_again_passes(tmp_path):
    results = tmp_path / "results"
    with start_shop() as shop:
        config = _config(tmp_path, shop.url)
        clean = [_run(config, results) for _ in range(CLEAN_RUNS)]
        assert [code for code, _ in clean] == [0] * CLEAN_RUNS, [s["failed"] for _, s in clean]
        # The script blocks the parser, but part of the delay overlaps work the page does anyway:
        # measured here, a delay of 30 % of the median moved first contentful paint by +20 %.
        delay = round(DELAY_SHARE * median(_fcp(summary) for _, summary in clean))

        shop.set_faults([f"slow-paint=/product:{delay}"])
        try:
            code, slow = _run(config, results)
        finally:
            shop.set_faults([])
        found = {(r["stage"], r["subject"], r["metric"]): r for r in slow["regressions"]}
        assert TARGET in found, (delay, slow["regressions"], [c for c in slow["failed"]])
        assert found[TARGET]["confirmations"] >= 1 and "confirmed by" in found[TARGET]["reason"]
        assert found[TARGET]["change_pct"] >= 20, found[TARGET]
        assert code == 1 and slow["verdict"] == "fail"
        assert slow["counts"]["confirmation_records"] > 0
        assert {key[1].split("|")[0] for key in found} == {"product"}  # the untouched pages did not regress

        code, after = _run(config, results)
    assert code == 0 and after["regressions"] == [], after["failed"]
    assert slow["run_id"] not in after["baseline_run_ids"]
