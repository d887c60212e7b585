"""Regression analysis on synthetic, realistic sample sets (fixed seeds)."""

from __future__ import annotations

import numpy as np
import pytest

from report_records import latency, measurement
from reports.regressions import (
    MIN_SAMPLES, build_trends, compare_measurements, compare_samples, pool_measurements, regressions_of, trend_of,
)


def test_thirty_percent_slower_is_a_regression_for_every_seed():
    states = [compare_samples(latency(seed), latency(seed + 1000, shift=0.30), unit="ms", higher_is_better=False)[0]
              for seed in range(20)]
    assert states.count("regression") == 20


def test_thirty_percent_slower_is_found_with_lighthouse_sized_samples():
    # 7 runs a side (a bigger audits.runs): still enough for a one-sided test at alpha 0.01.
    states = [compare_samples(latency(seed, n=7, spread=0.08), latency(seed + 500, n=7, shift=0.30, spread=0.08),
                              unit="ms", higher_is_better=False)[0] for seed in range(20)]
    assert states.count("regression") >= 18


@pytest.mark.parametrize("n", [5, 10, 30, 200])
def test_no_change_flags_at_most_one_of_twenty_comparisons(n):
    flagged = [compare_samples(latency(seed, n=n), latency(seed + 10_000, n=n), unit="ms", higher_is_better=False)[0]
               for seed in range(20)]
    assert flagged.count("regression") <= 1


def test_no_change_in_noisy_small_samples_is_not_flagged_even_without_effect_floor():
    # Only the one-sided test stands between noise and a false alarm here.
    flagged = [compare_samples(latency(seed, n=12, spread=0.4), latency(seed + 77, n=12, spread=0.4),
                               unit="ms", higher_is_better=False, relative_floor=0.0)[0] for seed in range(20)]
    assert flagged.count("regression") <= 1


def test_too_few_samples_is_insufficient_not_a_guess():
    state, p, reason = compare_samples([400, 410, 420, 405], latency(1, shift=1.0), unit="ms", higher_is_better=False)
    assert state == "insufficient" and p is None
    assert f"need {MIN_SAMPLES}" in reason and "have 4 and 20" in reason


def test_faster_is_an_improvement_not_a_regression():
    state, p, _ = compare_samples(latency(3), latency(4, shift=-0.3), unit="ms", higher_is_better=False)
    assert state == "improvement" and p < 0.01


def test_lower_score_regresses_when_higher_is_better():
    rng = np.random.default_rng(7)
    base = list(np.clip(rng.normal(0.92, 0.01, 10), 0, 1))
    worse = list(np.clip(rng.normal(0.70, 0.01, 10), 0, 1))
    assert compare_samples(base, worse, unit="score", higher_is_better=True)[0] == "regression"
    assert compare_samples(worse, base, unit="score", higher_is_better=True)[0] == "improvement"


def test_significant_but_tiny_change_is_below_the_relative_floor():
    # 4 % slower with 400 samples a side: significant, but not worth a failed deploy.
    state, p, reason = compare_samples(latency(5, n=400), latency(6, n=400, shift=0.04), unit="ms", higher_is_better=False)
    assert state == "unchanged" and p < 0.01
    assert "below floor" in reason


def test_absolute_floor_per_unit_protects_fast_metrics():
    # 50 ms -> 65 ms is +30 % but only 15 ms: under the 20 ms floor.
    state, _, reason = compare_samples(latency(8, median=50, spread=0.02), latency(9, median=50, shift=0.3, spread=0.02),
                                       unit="ms", higher_is_better=False)
    assert state == "unchanged" and "floor 20" in reason
    # The same relative change on a 0.001 ratio budget scale is above the ratio floor.
    state, _, _ = compare_samples([0.010] * 3 + [0.011] * 3, [0.020] * 3 + [0.021] * 3, unit="ratio", higher_is_better=False)
    assert state == "regression"


def test_identical_constant_samples_are_unchanged():
    assert compare_samples([3.0] * 6, [3.0] * 6, unit="count", higher_is_better=False)[0] == "unchanged"


def test_one_route_with_thirty_percent_added_latency_is_the_only_regression():
    routes = ["/", "/category/{slug}", "/product/{slug}", "/search", "/cart", "/api/cart"]
    medians = [120, 150, 180, 220, 90, 40]
    base = [measurement("p95_ms", latency(i, n=30, median=m, spread=0.2), stage="loadtests", subject=f"GET {r}", route=r)
            for i, (r, m) in enumerate(zip(routes, medians))]
    cur = [measurement("p95_ms", latency(100 + i, n=30, median=m, spread=0.2, shift=0.3 if r == "/product/{slug}" else 0.0),
                       stage="loadtests", subject=f"GET {r}", route=r)
           for i, (r, m) in enumerate(zip(routes, medians))]
    found = regressions_of(compare_measurements(base, cur))
    assert [c.subject for c in found] == ["GET /product/{slug}"]
    assert found[0].change == pytest.approx(0.3, abs=0.12)


def test_compare_measurements_reports_new_gone_and_unit_changes():
    base = [measurement("fcp_ms", latency(1)), measurement("lcp_ms", latency(2)),
            measurement("bytes", [1000.0] * 6, unit="bytes")]
    cur = [measurement("fcp_ms", latency(3)), measurement("tbt_ms", latency(4)),
           measurement("bytes", [1.0] * 6, unit="KB")]
    by_metric = {c.metric: c for c in compare_measurements(base, cur)}
    assert by_metric["fcp_ms"].state == "unchanged"
    assert by_metric["tbt_ms"].state == "new" and by_metric["tbt_ms"].baseline_median is None
    assert by_metric["lcp_ms"].state == "gone" and by_metric["lcp_ms"].current_median is None
    assert by_metric["bytes"].state == "insufficient" and "unit changed" in by_metric["bytes"].reason


def test_repeated_measurements_of_one_key_pool_their_samples():
    pooled = pool_measurements([measurement(samples=[1, 2, 3]), measurement(samples=[4, 5])])
    (only,) = pooled.values()
    assert only.samples == [1, 2, 3, 4, 5]
    # Pooling lets two batches of 3 reach the 5-sample minimum together.
    base = [measurement(samples=latency(1, n=3, spread=0.05)), measurement(samples=latency(2, n=3, spread=0.05))]
    cur = [measurement(samples=latency(3, n=3, shift=0.5, spread=0.05)),
           measurement(samples=latency(4, n=3, shift=0.5, spread=0.05))]
    (comparison,) = compare_measurements(base, cur)
    assert comparison.n_baseline == 6 and comparison.state == "regression"


def test_regressions_are_sorted_by_size():
    base = [measurement(m, latency(i)) for i, m in enumerate(["a_ms", "b_ms"])]
    cur = [measurement("a_ms", latency(10, shift=0.3)), measurement("b_ms", latency(11, shift=0.8))]
    assert [c.metric for c in regressions_of(compare_measurements(base, cur))] == ["b_ms", "a_ms"]


def test_trend_directions():
    key = ("browsers", "home", "fcp_ms")
    rising = [(f"r{i}", 400 + 40 * i) for i in range(6)]
    assert trend_of(key, "ms", False, rising).direction == "worsening"
    assert trend_of(key, "score", True, rising).direction == "improving"
    flat = [(f"r{i}", 400 + (3 if i % 2 else -3)) for i in range(6)]
    assert trend_of(key, "ms", False, flat).direction == "flat"
    assert trend_of(key, "ms", False, rising[:2]).direction == "short"
    # One outlier run does not make a trend (Theil-Sen is robust).
    spike = [(f"r{i}", 400.0) for i in range(7)]
    spike[3] = ("r3", 2000.0)
    assert trend_of(key, "ms", False, spike).direction == "flat"


def test_build_trends_follows_runs_in_order_and_skips_unmeasured_keys():
    history = [(f"run{i}", [measurement(samples=[100.0 + 50 * i] * 5)]) for i in range(4)]
    history[2] = ("run2", [])  # that run did not measure it
    (trend,) = build_trends(history, [("browsers", "home|chromium|desktop", "fcp_ms"), ("x", "y", "z")])
    assert trend.run_ids == ["run0", "run1", "run3"]
    assert trend.values == [100.0, 150.0, 250.0]
    assert trend.direction == "worsening"


def test_false_alarm_rate_over_many_unchanged_comparisons_stays_below_alpha():
    # No effect floor at all (unknown unit, relative floor 0): only the test's alpha guards.
    flagged = sum(compare_samples(latency(seed, n=20), latency(seed + 50_000, n=20), unit="unitless",
                                  higher_is_better=False, relative_floor=0.0)[0] == "regression"
                  for seed in range(400))
    assert flagged / 400 <= 0.02  # alpha 0.01, with room for sampling noise


def test_non_finite_samples_do_not_count():
    state, _, reason = compare_samples([float("nan")] * 10 + [400.0] * 3, latency(1), unit="ms", higher_is_better=False)
    assert state == "insufficient" and "have 3 and 20" in reason
