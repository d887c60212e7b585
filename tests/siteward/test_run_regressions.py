"""End to end through `siteward run`: pooled history on main, a route regression, the exit code.

The demo shop's /product route is given a steady 100 ms of backend latency (a fault switch
used as the "normal" behaviour, so a 30 % change is a clear 30 ms). Five clean runs on main
make the baseline (the fifth is judged against four others first: an A/A run); a run with
+30 % on that route fails with the route's regression (load metrics are not re-measured: they
need the stricter q-value); a clean run afterwards passes, and the failed run is not in its
baseline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from siteward.shop.server import start_shop
from siteward.store import Store

# In the clean-clone CI of an earlier stop, an unchanged route (GET /search?q=, p99) was flagged
# beside the injected one: this shared machine's drift between runs, which the other routes
# shared. Each route is now tested with its peers' common change divided out (reports/drift.py).
# ~3 minutes; CI's 45-minute budget is spent: run with SITEWARD_LONG_E2E=1 (README, Development).
pytestmark = [pytest.mark.load,
              pytest.mark.skipif(not os.environ.get("SITEWARD_LONG_E2E"), reason="~3 min: set SITEWARD_LONG_E2E=1")]

ROUTE = "GET /product/{slug}"


def _config(tmp_path, url: str) -> str:
    path = tmp_path / "siteward.toml"
    path.write_text(f"""
stages = ["loadtests"]

[target]
name = "regression-e2e"
base_url = "{url}"

[results]
root = "{tmp_path / 'results'}"

[regressions]
min_baseline_runs = 4

[load]
profile = "open"
peak_rps = 3
multiplier = 5
duration_s = 20
workers = 1
""")
    return str(path)


def _run(config: str, results) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-m", "siteward.cli", "run", "-c", config, "-q", "--branch", "main"],
                          capture_output=True, text=True, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr
    latest = Store(results / "history.sqlite").runs(limit=1)[0]
    summary = json.loads((latest.run_dir / "summary.json").read_text())
    return proc.returncode, summary


def test_clean_history_then_30_percent_latency_is_a_regression_then_clean_passes(tmp_path):
    results = tmp_path / "results"
    with start_shop(faults=["latency=/product:100"]) as shop:
        config = _config(tmp_path, shop.url)
        clean = [_run(config, results) for _ in range(5)]
        assert [code for code, _ in clean] == [0] * 5, [s["failed"] for _, s in clean]
        aa = clean[-1][1]
        assert len(aa["baseline_run_ids"]) == 4 and aa["regressions"] == []  # A/A: judged, nothing found
        assert aa["counts"]["comparisons"].get("unchanged", 0) > 10

        shop.set_faults(["latency=/product:130"])  # +30 % on one route
        try:
            code, slow = _run(config, results)
        finally:
            shop.set_faults(["latency=/product:100"])
        assert code == 1 and slow["verdict"] == "fail"
        flagged = {(r["subject"], r["metric"]): r for r in slow["regressions"]}
        # The route's median or its whole response-time distribution (whichever clears the
        # stricter bar of a metric that cannot be re-measured), and only the aggregates that hold it.
        latency = [flagged[(ROUTE, m)] for m in ("response_ms", "p50_ms") if (ROUTE, m) in flagged]
        assert latency, slow["regressions"]
        found = latency[0]
        assert found["baseline_runs"] == 5 and found["q_value"] <= 0.01 and found["confirmations"] == 0
        assert 20 <= found["change_pct"] <= 40
        assert {subject for subject, _ in flagged} <= {ROUTE, "group:page", "all"}, flagged  # nothing unrelated

        code, after = _run(config, results)
    assert code == 0 and after["regressions"] == []
    assert slow["run_id"] not in after["baseline_run_ids"]
