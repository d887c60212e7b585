"""End to end through `siteward run`: history, regressions against it, and the exit code.

The demo shop's /product route is given a steady 100 ms of backend latency (a fault
switch used as the "normal" behaviour, so a 30 % change is a clear 30 ms); the load
stage's per-request samples are what the regression analysis compares.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import pytest

from reports.regressions import compare_measurements, regressions_of
from siteward.shop.server import start_shop
from siteward.store import Store

pytestmark = pytest.mark.load

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

[load]
profile = "open"
peak_rps = 3
multiplier = 5
duration_s = 20
workers = 1
""")
    return str(path)


def _run(config: str, results) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-m", "siteward.cli", "run", "-c", config, "-q"],
                          capture_output=True, text=True, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr
    latest = Store(results / "history.sqlite").runs(limit=1)[0]
    summary = json.loads((latest.run_dir / "summary.json").read_text())
    return proc.returncode, summary


@pytest.fixture(scope="module")
def slow_product_shop():
    with start_shop(faults=["latency=/product:100"]) as shop:
        yield shop


def test_clean_twice_passes_then_30_percent_latency_is_a_regression(tmp_path, slow_product_shop):
    config = _config(tmp_path, slow_product_shop.url)
    first_code, first = _run(config, tmp_path / 'results')
    assert first_code == 0, first["failed"]
    second_code, second = _run(config, tmp_path / 'results')
    assert second_code == 0, second["failed"]
    assert second["baseline_run_id"] == first["run_id"]
    assert second["regressions"] == []

    slow_product_shop.set_faults(["latency=/product:130"])  # +30 % on one route
    try:
        third_code, third = _run(config, tmp_path / 'results')
    finally:
        slow_product_shop.set_faults(["latency=/product:100"])
    assert third_code == 1
    assert third["baseline_run_id"] == second["run_id"]  # latest passing run
    flagged = {(r["subject"], r["metric"]) for r in third["regressions"]}
    assert (ROUTE, "response_ms") in flagged, third["regressions"]
    assert third["verdict"] == "fail"


def test_no_change_twenty_comparisons_flag_at_most_one(tmp_path, slow_product_shop):
    config = _config(tmp_path, slow_product_shop.url)
    run_ids = []
    for _ in range(5):
        code, summary = _run(config, tmp_path / 'results')
        assert code == 0, summary["failed"]
        run_ids.append(summary["run_id"])
    store = Store(tmp_path / "results" / "history.sqlite")
    measurements = {r: store.records(r, kind="measurement") for r in run_ids}
    pairs = list(itertools.permutations(run_ids, 2))
    assert len(pairs) == 20
    flagged = [(a, b, regressions_of(compare_measurements(measurements[a], measurements[b])))
               for a, b in pairs]
    flagged = [f for f in flagged if f[2]]
    assert len(flagged) <= 1, [(a, b, [(c.subject, c.metric, c.reason) for c in regs]) for a, b, regs in flagged]
    # The comparisons did compare real distributions, not "insufficient" placeholders.
    sample = compare_measurements(measurements[run_ids[0]], measurements[run_ids[1]])
    route = [c for c in sample if c.subject == ROUTE and c.metric == "response_ms"]
    assert route and route[0].state == "unchanged" and route[0].n_baseline >= 20
