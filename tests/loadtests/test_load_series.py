"""Per-second buckets, percentiles, series, the abort rule and the saturation verdict."""

from __future__ import annotations

import random

import numpy as np
import pytest

from loadtests import series


def test_percentiles_of_exact_small_values_match_numpy_inverted_cdf():
    rng = random.Random(3)
    values = [rng.randint(1, 99) for _ in range(5000)]
    buckets: series.Buckets = {}
    for v in values:
        series.add_request(buckets, 100, "GET /", v, False)
    hist = series.select(buckets)
    for share in (0.5, 0.95, 0.99):
        assert series.percentile(hist, share) == np.percentile(values, share * 100, method="inverted_cdf")


def test_rounding_keeps_large_values_within_one_percent():
    for value in (123.4, 999.0, 4567.0, 23456.0):
        assert abs(series.round_ms(value) - value) / value < 0.03


def test_quantile_samples_keep_the_distribution_and_cap_the_count():
    hist = {10: 9000, 500: 1000}
    samples = series.quantile_samples(hist, limit=2000)
    assert len(samples) == 2000
    assert samples.count(500.0) == 200  # 10 % of the requests -> 10 % of the samples
    assert series.quantile_samples({5: 3, 7: 1}) == [5.0, 5.0, 5.0, 7.0]
    assert series.quantile_samples({}) == []


def test_merge_adds_reports_from_workers_even_after_json():
    a: series.Buckets = {}
    series.add_request(a, 5, "GET /", 10, False)
    other = {"5": {"GET /": [2, 1, {"10": 1, "20": 1}]}, "6": {"GET /api": [1, 0, {"3": 1}]}}
    merged = series.merge_buckets(a, other)
    assert merged[5]["GET /"] == [3, 1, {10: 2, 20: 1}]
    assert series.counts(merged) == (4, 1)
    assert series.counts(merged, {"GET /api"}) == (1, 0)


def test_load_series_has_one_entry_per_second_with_nulls_for_quiet_seconds():
    buckets: series.Buckets = {}
    start = 1000.25
    for _ in range(4):
        series.add_request(buckets, 1000, "GET /", 20, False)
    series.add_request(buckets, 1002, "GET /", 50, True)
    doc = series.load_series(buckets, start, {0: 2, 2: 3})
    assert set(doc) == {"t", "users", "rps", "p50_ms", "p95_ms", "p99_ms", "errors_per_s"}
    assert doc["t"] == [0, 1, 2]
    assert doc["rps"] == [4, 0, 1]
    assert doc["errors_per_s"] == [0, 0, 1]
    assert doc["p95_ms"] == [20.0, None, 50.0]
    assert doc["users"] == [2, 2, 3]


def test_abort_needs_the_ratio_sustained_over_the_window():
    healthy = [(t, t * 100, t) for t in range(12)]  # 1 % errors
    assert series.abort_reason(healthy, 0.2, 10) is None
    failing = [(t, t * 100, t * 40) for t in range(12)]  # 40 % errors
    reason = series.abort_reason(failing, 0.2, 10)
    assert reason and "40.0%" in reason
    assert series.abort_reason(failing[:5], 0.2, 10) is None  # not yet sustained for 10 s
    burst = [(t, t * 100, 0 if t < 9 else (t - 8) * 100) for t in range(12)]  # errors only in the last 3 s
    assert series.abort_reason(burst, 0.5, 10) is None


def test_saturation_verdict():
    assert series.saturation_verdict({"worker-1": [98.0] * 8 + [40.0] * 2})[0] == "fail"
    assert series.saturation_verdict({"worker-1": [80.0] * 10, "master": [1.0] * 10})[0] == "warn"
    status, message, data = series.saturation_verdict({"local": [20.0, 30.0, 95.0] + [25.0] * 7})
    assert status == "pass" and data["local"]["max"] == 95.0
    assert series.saturation_verdict({})[0] == "skip"


@pytest.mark.parametrize("value, expected", [(42.4, 42), (142.0, 140), (1420.0, 1400), (14200.0, 14000)])
def test_round_ms_matches_locust(value, expected):
    assert series.round_ms(value) == expected
