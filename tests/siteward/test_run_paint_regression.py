"""End to end with real Chromium: a first-paint regression is found, confirmed by re-measuring, and cleared.

`siteward run --stage browsers` on the demo shop, narrowed to Chromium desktop and two pages
(one page load at a time, so the page loads do not slow each other down): five clean runs on
main make the pooled baseline; then `slow-paint` delays the product page's first paint by
30 % of its clean median, and that run must fail with the page's fp_ms regression confirmed by
re-measurements; a clean run afterwards passes.

What it needs from the browsers stage: several first-paint samples per page and run
(`[browsers] samples`), so that a run's median is steadier than +30 %. With one page load per
page and run (the browsers stage when this was written) it cannot hold: measured here, the
product page's first paint of single loads varied 9 % (log SD) from run to run on a quiet
machine, so +30 % was 2.5 of those SDs, p = 0.03 against 5 runs, q = 0.5 over the run's 16
metrics: no regression. The test runs once the browsers config has `samples`, and says
why it is skipped until then.
"""

from __future__ import annotations

import json
import subprocess
import sys
from statistics import median

import pytest

from browsers.config import BrowsersConfig
from siteward.shop.server import start_shop
from siteward.store import Store

SAMPLES = 5  # first-paint samples per page and run
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif("samples" not in BrowsersConfig.model_fields,
                       reason="needs `[browsers] samples` (several page loads per page and run) from the browsers "
                              "stage: with one load per run, +30 % first paint is within run-to-run noise"),
]

TARGET = ("browsers", "product|chromium|desktop", "fp_ms")


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
name = "product"
path = "/product/canvas-sneaker"

[browsers]
engines = ["chromium"]
devices = ["desktop"]
concurrency = 1
samples = {SAMPLES}

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


def _fp(summary: dict) -> float:
    (m,) = [m for m in summary["stages"]["browsers"]["measurements"] if (m["subject"], m["metric"]) == TARGET[1:]]
    return m["median"]


def test_slow_paint_is_a_confirmed_first_paint_regression_and_clean_again_passes(tmp_path):
    results = tmp_path / "results"
    with start_shop() as shop:
        config = _config(tmp_path, shop.url)
        clean = [_run(config, results) for _ in range(5)]
        assert [code for code, _ in clean] == [0] * 5, [s["failed"] for _, s in clean]
        delay = round(0.30 * median(_fp(summary) for _, summary in clean))

        shop.set_faults([f"slow-paint=/product:{delay}"])
        try:
            code, slow = _run(config, results)
        finally:
            shop.set_faults([])
        found = {(r["stage"], r["subject"], r["metric"]): r for r in slow["regressions"]}
        assert TARGET in found, (delay, slow["regressions"], [c for c in slow["failed"]])
        assert found[TARGET]["confirmations"] >= 1 and "confirmed by" in found[TARGET]["reason"]
        assert code == 1 and slow["verdict"] == "fail"
        assert slow["counts"]["confirmation_records"] > 0
        assert not any(key[1].startswith("home|") for key in found)  # the untouched page did not regress

        code, after = _run(config, results)
    assert code == 0 and after["regressions"] == [], after["failed"]
    assert slow["run_id"] not in after["baseline_run_ids"]
