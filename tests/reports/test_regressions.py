"""Screening and confirmation of regressions on synthetic runs with known answers (fixed seeds)."""

from __future__ import annotations

import numpy as np
import pytest

from report_records import drifting_runs, latency, measurement
from reports.regressions import (
    Settings, compare, compare_measurements, confirm, pool_measurements, regressions_of,
)
from reports.trends import build_trends, trend_of

SETTINGS = Settings()  # fdr 0.05, min_change 10 %, 5 runs needed, 3 re-measurements
PAGE_TAGS = {"page": "home", "engine": "chromium", "device": "desktop"}


def _runs(metric_samples: dict[str, list[list[float]]], **tags) -> list[list]:
    """Per run, one measurement per metric: {metric: [run0 samples, run1 samples, ...]}."""
    count = len(next(iter(metric_samples.values())))
    return [[measurement(metric, samples[i], **tags) for metric, samples in metric_samples.items()]
            for i in range(count)]


def _family(rng, metrics: int, shifted: set[int], *, runs=10, n=5, run_sd=0.02, within_sd=0.05, shift=0.30):
    """Baseline runs and a current run of `metrics` page timings; the `shifted` ones are slower."""
    history = {f"m{i}_ms": drifting_runs(rng, runs + 1, n, median=100 + 20 * i, run_sd=run_sd, within_sd=within_sd)
               for i in range(metrics)}
    current = {name: [list(np.asarray(samples[-1]) * (1 + shift * (i in shifted)))]
               for i, (name, samples) in enumerate(history.items())}
    baseline = _runs({name: samples[:-1] for name, samples in history.items()}, **PAGE_TAGS)
    return baseline, _runs(current, **PAGE_TAGS)[0]


def test_thirty_percent_on_one_of_fifty_metrics_is_found_and_a_a_runs_stay_quiet():
    rng = np.random.default_rng(1)
    found, false_runs = 0, 0
    for _ in range(40):
        baseline, current = _family(rng, 50, {7})
        found += "m7_ms" in {c.metric for c in compare(baseline, current, SETTINGS) if c.state == "regression"}
        baseline, current = _family(rng, 50, set())
        false_runs += any(c.state == "regression" for c in compare(baseline, current, SETTINGS))
    assert found >= 38  # >= 95 %
    assert false_runs <= 3  # A/A runs with any false regression: <= 5 % (+ sampling tolerance)


def test_false_discovery_rate_over_many_metrics_holds():
    rng = np.random.default_rng(2)
    proportions = []
    for _ in range(30):
        baseline, current = _family(rng, 100, set(range(0, 100, 10)), shift=0.5)
        flagged = [c for c in compare(baseline, current, SETTINGS) if c.state == "regression"]
        false = sum(int(c.metric[1:].split("_")[0]) % 10 != 0 for c in flagged)
        proportions.append(false / max(1, len(flagged)))
    assert np.mean(proportions) <= 0.06


def test_unchanged_runs_with_drift_raise_no_alarm_where_pooling_would():
    rng = np.random.default_rng(3)
    alarms_runs, alarms_pooled = 0, 0
    for _ in range(40):
        baseline, current = _family(rng, 20, set(), run_sd=0.10, within_sd=0.05, shift=0.0)
        alarms_runs += any(c.state == "regression" for c in compare(baseline, current, SETTINGS))
        pooled = [m for run in baseline for m in run]
        alarms_pooled += any(c.state == "regression" for c in compare([pooled], current, SETTINGS, "mann-whitney"))
    assert alarms_runs <= 3
    assert alarms_pooled >= 20  # what the pooled sample-by-sample test would have done


def test_a_finding_carries_baseline_current_change_q_and_interval():
    rng = np.random.default_rng(4)
    baseline, current = _family(rng, 5, {2}, shift=0.4)
    (c,) = [c for c in compare(baseline, current, SETTINGS) if c.state == "regression"]
    assert (c.metric, c.baseline_runs, c.n_baseline, c.n_current, c.method) == ("m2_ms", 10, 50, 5, "run-medians")
    assert c.change == pytest.approx(0.4, abs=0.08) and c.q_value <= 0.05 and c.confirmable
    assert 0 < c.ci_low < c.abs_change < c.ci_high
    assert c.floor == pytest.approx(0.1 * c.baseline_median, rel=0.5)
    data = c.as_dict()
    for key in ("baseline_median", "n_baseline", "baseline_runs", "current_median", "n_current", "change_pct",
                "q_value", "ci_low", "ci_high", "confirmations"):
        assert data[key] is not None, key


def test_confirmation_keeps_a_regression_that_re_measures_worse_and_drops_a_fluke():
    rng = np.random.default_rng(5)
    baseline, current = _family(rng, 5, {1, 3}, shift=0.4)
    screened = compare(baseline, current, SETTINGS)
    assert {c.metric for c in screened if c.state == "regression"} == {"m1_ms", "m3_ms"}
    fresh = [measurement("m1_ms", list(np.array([121.0, 119.0, 120.0]) * 1.4), **PAGE_TAGS, confirmation="1"),
             measurement("m3_ms", [160.0, 161.0, 159.0], **PAGE_TAGS, confirmation="1")]  # m3 is back to normal
    states = {c.metric: c for c in confirm(screened, baseline, fresh, SETTINGS)}
    assert states["m1_ms"].state == "regression" and states["m1_ms"].confirmations == 3
    assert "confirmed by 3 re-measurement(s)" in states["m1_ms"].reason
    assert states["m3_ms"].state == "unconfirmed" and "not confirmed" in states["m3_ms"].reason
    assert regressions_of(states.values()) == [states["m1_ms"]]


def test_without_re_measurements_only_strong_evidence_stands():
    rng = np.random.default_rng(6)
    baseline, current = _family(rng, 40, {0, 1}, shift=0.15, run_sd=0.01, within_sd=0.03)
    screened = compare(baseline, current, SETTINGS)
    after = {c.metric: c for c in confirm(screened, baseline, [], SETTINGS)}
    for c in screened:
        if c.state == "regression":
            expected = "regression" if c.q_value <= SETTINGS.fdr * 0.2 else "unconfirmed"
            assert after[c.metric].state == expected


def test_load_generator_health_is_never_a_regression():
    cpu = {"generator_cpu_percent": [[20.0] * 30] * 5}
    baseline = _runs(cpu, stage="loadtests", subject="load-generator")
    busier = _runs({"generator_cpu_percent": [[95.0] * 30]}, stage="loadtests", subject="load-generator")[0]
    rate = _runs({"achieved_rps": [[50.0] * 10] * 5}, stage="loadtests", subject="all")
    (c,) = compare(baseline, busier, SETTINGS)
    assert c.state == "excluded" and "generator" in c.reason
    (c,) = compare(rate, _runs({"achieved_rps": [[20.0] * 10]}, stage="loadtests", subject="all")[0], SETTINGS)
    assert c.state == "excluded"


def test_a_fast_route_regresses_by_its_own_scale_not_a_fixed_20_ms():
    # A 4 ms route getting 30 % slower (1.2 ms) is found; a 20 ms floor would hide it.
    rng = np.random.default_rng(7)
    runs = [list(4.0 * np.exp(rng.normal(rng.normal(0, 0.02), 0.2, 500))) for _ in range(10)]
    baseline = _runs({"response_ms": runs}, stage="loadtests", subject="GET /api/cart")
    slow = _runs({"response_ms": [list(5.2 * np.exp(rng.normal(0, 0.2, 500)))]}, stage="loadtests",
                 subject="GET /api/cart")[0]
    (c,) = confirm(compare(baseline, slow, SETTINGS), baseline, [], SETTINGS)
    assert c.state == "regression" and c.floor < 1.0 and not c.confirmable


def test_a_change_inside_the_baseline_spread_is_not_a_regression():
    runs = [[100.0], [130.0], [85.0], [120.0], [95.0], [110.0]]  # runs vary by ~17 %
    baseline = _runs({"fp_ms": runs}, **PAGE_TAGS)
    (c,) = compare(baseline, [measurement("fp_ms", [125.0], **PAGE_TAGS)], SETTINGS)
    assert c.state == "unchanged" and c.floor > 0.1 * c.baseline_median


def test_too_few_runs_new_gone_and_unit_changes():
    base = _runs({"fcp_ms": [latency(i, n=5) for i in range(3)], "lcp_ms": [latency(9 + i, n=5) for i in range(3)]})
    cur = [measurement("fcp_ms", latency(20, n=5)), measurement("tbt_ms", latency(21, n=5))]
    by_metric = {c.metric: c for c in compare(base, cur, SETTINGS)}
    assert by_metric["fcp_ms"].state == "insufficient" and "3 baseline run(s); 5 needed" in by_metric["fcp_ms"].reason
    assert by_metric["tbt_ms"].state == "new" and by_metric["lcp_ms"].state == "gone"
    unit = compare([[measurement("bytes", [1000.0] * 6, unit="bytes")]] * 5,
                   [measurement("bytes", [1.0] * 6, unit="KB")], SETTINGS)
    assert unit[0].state == "insufficient" and "unit changed" in unit[0].reason


def test_one_chosen_run_compares_sample_by_sample():
    base = [measurement("fcp_ms", latency(1)), measurement("lcp_ms", latency(2))]
    cur = [measurement("fcp_ms", latency(3, shift=0.5)), measurement("lcp_ms", latency(4))]
    found = {c.metric: c for c in compare_measurements(base, cur)}
    assert found["fcp_ms"].state == "regression" and found["fcp_ms"].method == "mann-whitney"
    assert found["fcp_ms"].ci_low is None  # intervals for pooled findings are added by with_intervals
    assert found["lcp_ms"].state == "unchanged"
    few = compare_measurements([measurement(samples=[1.0] * 4)], [measurement(samples=[2.0] * 20)])
    assert few[0].state == "insufficient" and "have 4 and 20" in few[0].reason


def test_re_measurement_records_are_not_the_run_s_own_samples():
    baseline = _runs({"fcp_ms": [latency(i, n=5, spread=0.05) for i in range(6)]}, **PAGE_TAGS)
    cur = [measurement("fcp_ms", latency(30, n=5, spread=0.05), **PAGE_TAGS),
           measurement("fcp_ms", [9999.0] * 5, **PAGE_TAGS, confirmation="1")]
    (c,) = compare(baseline, cur, SETTINGS)
    assert c.n_current == 5 and c.state == "unchanged"


def test_repeated_measurements_of_one_key_pool_their_samples():
    pooled = pool_measurements([measurement(samples=[1, 2, 3]), measurement(samples=[4, 5])])
    (only,) = pooled.values()
    assert only.samples == [1, 2, 3, 4, 5]


def test_trends_worsen_only_when_the_slope_interval_says_so():
    key = ("browsers", "home", "fcp_ms")
    rising = [(f"r{i}", 400 + 40 * i) for i in range(6)]
    assert trend_of(key, "ms", False, rising).direction == "worsening"
    assert trend_of(key, "score", True, rising).direction == "improving"
    assert trend_of(key, "ms", False, rising[:2]).direction == "short"
    spike = [(f"r{i}", 400.0) for i in range(7)]
    spike[3] = ("r3", 2000.0)
    assert trend_of(key, "ms", False, spike).direction == "flat"
    rng = np.random.default_rng(8)
    worsening = sum(trend_of(key, "ms", False, [(str(i), v) for i, v in enumerate(400 * np.exp(rng.normal(0, 0.25, 10)))])
                    .direction == "worsening" for _ in range(400))
    assert worsening / 400 <= 0.05  # the old rule (slope above 2 %) said "worsening" 21-27 % of the time


def test_build_trends_follows_runs_in_order_and_skips_unmeasured_keys():
    history = [(f"run{i}", [measurement(samples=[100.0 + 50 * i] * 5)]) for i in range(4)]
    history[2] = ("run2", [])
    (trend,) = build_trends(history, [("browsers", "home|chromium|desktop", "fcp_ms"), ("x", "y", "z")])
    assert trend.run_ids == ["run0", "run1", "run3"] and trend.values == [100.0, 150.0, 250.0]
    assert trend.direction == "worsening" and trend.slope_ci[0] > 0
