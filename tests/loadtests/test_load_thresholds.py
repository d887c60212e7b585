"""Thresholds on synthetic buckets (no Locust, no network): the stage's measurements, judged by reports/."""

from __future__ import annotations

import pytest

from loadtests import series
from loadtests.ingest import achieved_rate_ratio, load_measurements
from loadtests.shapes import make_plan
from reports.budgets import Limits, judge
from siteward.schema import ThresholdsConfig

GROUPS = {"GET /": "page", "GET /api/products": "api"}


def open_plan(rate: float = 10.0, duration: float = 10.0):
    return make_plan(profile="open", peak_rps=rate, peak_users=None, multiplier=1, duration_s=duration,
                     think_time_s=(0.5, 2), spike_factor=1.5, open_pool_s=2, max_users=2000, max_rps=5000,
                     max_duration_s=3600)


def traffic(start: int, seconds: int, per_second: int, api_ms: float, error_every: int = 0) -> series.Buckets:
    buckets: series.Buckets = {}
    n = 0
    for s in range(start, start + seconds):
        for i in range(per_second):
            n += 1
            failed = bool(error_every) and n % error_every == 0
            route = "GET /api/products" if i % 2 else "GET /"
            series.add_request(buckets, s, route, api_ms if i % 2 else 30.0, failed)
    return buckets


def evaluate(config: ThresholdsConfig, plan, buckets, start_epoch: float, groups):
    raw = {"buckets": buckets, "start_epoch": start_epoch}
    return judge(load_measurements(plan, raw, groups), Limits(load={"thresholds": config}))


def by_name(rows):
    return {r.tags["budget"]: r for r in rows}


def test_healthy_run_passes_every_threshold():
    rows = by_name(evaluate(ThresholdsConfig(), open_plan(), traffic(1000, 10, 10, 50.0), 1000.0, GROUPS))
    assert rows["p95_ms[api]"].value == 50.0 and rows["p95_ms[api]"].value <= rows["p95_ms[api]"].limit
    assert rows["p95_ms[page]"].value == 30.0
    assert rows["error_ratio"].value == 0.0
    assert rows["rate_ratio"].value == pytest.approx(1.0)
    assert {r.status for r in rows.values()} == {"pass"}


def test_slow_api_fails_only_the_api_group():
    rows = by_name(evaluate(ThresholdsConfig(), open_plan(), traffic(1000, 10, 10, 450.0), 1000.0, GROUPS))
    assert rows["p95_ms[api]"].value == 450.0 > rows["p95_ms[api]"].limit
    assert rows["p95_ms[api]"].status == "fail"
    assert rows["p95_ms[page]"].value == 30.0 <= rows["p95_ms[page]"].limit


def test_error_ratio_and_low_rate():
    rows = by_name(evaluate(ThresholdsConfig(), open_plan(rate=20), traffic(1000, 10, 10, 50.0, error_every=20),
                            1000.0, GROUPS))
    assert rows["error_ratio"].value == pytest.approx(0.05)
    assert rows["rate_ratio"].value == pytest.approx(0.5)
    assert rows["rate_ratio"].data["higher_is_better"] and rows["rate_ratio"].status == "fail"


def test_group_without_traffic_has_no_value():
    config = ThresholdsConfig(p99_ms={"checkout": 500})
    rows = by_name(evaluate(config, open_plan(), traffic(1000, 10, 10, 50.0), 1000.0, GROUPS))
    assert rows["p99_ms[checkout]"].value is None and rows["p99_ms[checkout]"].status == "skip"


def test_achieved_rate_accounts_for_a_start_inside_a_second():
    buckets = traffic(1000, 12, 10, 5.0)
    achieved, target = achieved_rate_ratio(open_plan(duration=10), buckets, 1000.5)
    assert achieved == pytest.approx(10.0) and target == pytest.approx(10.0)
