"""Live A/B findings (reports.live): round by round, BH over all metrics, and when to stop."""

from __future__ import annotations

import numpy as np

from report_records import measurement
from reports.live import compare_paired, is_live, undecided
from reports.regressions import Settings


def _side(rng, rounds, drifts, metrics: dict[str, float], noise=0.03, cap=None):
    return [measurement(name, [value * np.exp(drifts[r] + rng.normal(0, noise))], round=str(r),
                        **({"round_cap": str(cap)} if cap else {}))
            for r in range(rounds) for name, value in metrics.items()]


def test_the_slower_metric_is_found_under_heavy_drift_and_the_rest_decided_equal():
    rng = np.random.default_rng(1)
    drifts = rng.normal(0, 0.4, 8)
    a = _side(rng, 8, drifts, {"fp_ms": 100, "fcp_ms": 120, "load_ms": 400})
    b = _side(rng, 8, drifts, {"fp_ms": 130, "fcp_ms": 120, "load_ms": 400})
    assert is_live(a) and is_live(b) and not is_live([measurement()])
    found = {c.metric: c for c in compare_paired(a, b, Settings())}
    assert found["fp_ms"].state == "regression" and found["fp_ms"].method == "paired-rounds"
    assert found["fp_ms"].ci_low > 0 and found["fp_ms"].q_value <= 0.05
    assert found["fcp_ms"].state == found["load_ms"].state == "unchanged"
    assert undecided(found.values()) == []  # 8 rounds: every metric is decided


def test_a_few_noisy_rounds_leave_metrics_undecided():
    rng = np.random.default_rng(2)
    drifts = rng.normal(0, 0.4, 3)
    a = [measurement("fp_ms", [100 * np.exp(d + rng.normal(0, 0.3))], round=str(r)) for r, d in enumerate(drifts)]
    b = [measurement("fp_ms", [100 * np.exp(d + rng.normal(0, 0.3))], round=str(r)) for r, d in enumerate(drifts)]
    (c,) = compare_paired(a, b, Settings())
    assert c.state == "unchanged" and undecided([c]) == [c]


def test_a_metric_only_on_b_is_new_and_one_round_is_insufficient():
    a = [measurement("fp_ms", [100.0], round="1")]
    b = [measurement("fp_ms", [130.0], round="1"), measurement("tbt_ms", [5.0], round="1")]
    found = {c.metric: c.state for c in compare_paired(a, b, Settings())}
    assert found == {"fp_ms": "insufficient", "tbt_ms": "new"}


def test_looks_are_counted_for_the_bonferroni_share():
    from reports.live import is_look, looks_planned

    assert [r for r in range(1, 21) if is_look(r, 20)] == [4, 8, 12, 16, 20]
    assert [r for r in range(1, 11) if is_look(r, 10)] == [4, 8, 10]
    assert [looks_planned(cap) for cap in (3, 4, 8, 10, 20)] == [1, 1, 2, 3, 5]


def test_optional_stopping_keeps_a_a_false_alarms_under_five_percent():
    # Stop at the first look where anything is decided, as the runner does: without the
    # Bonferroni share of each look, this sequence would false-alarm far more often.
    from reports.live import is_look

    rng = np.random.default_rng(3)
    alarms = 0
    for _ in range(300):
        drifts = rng.normal(0, 0.3, 20)
        a = _side(rng, 20, drifts, {"fp_ms": 100, "fcp_ms": 120, "load_ms": 400}, noise=0.25, cap=20)
        b = _side(rng, 20, drifts, {"fp_ms": 100, "fcp_ms": 120, "load_ms": 400}, noise=0.25, cap=20)
        for r in (r for r in range(1, 21) if is_look(r, 20)):
            found = compare_paired([m for m in a if int(m.tags["round"]) < r], [m for m in b if int(m.tags["round"]) < r],
                                   Settings())
            if any(c.state == "regression" for c in found):
                alarms += 1
                break
            if not undecided(found):
                break
    assert alarms / 300 <= 0.05
