"""reports.stats on synthetic data with known answers (fixed seeds; rates with tolerances)."""

from __future__ import annotations

import numpy as np
import pytest

from report_records import drifting_runs
from reports.stats import (
    bh_qvalues, effect_floor, median_difference_ci, pooled_test, run_medians_test, slope_with_ci,
)


def _p_worse(rng, *, shift=0.0, run_sd=0.05, within_sd=0.15, k=10, n=5, test="runs"):
    runs = drifting_runs(rng, k + 1, n, run_sd=run_sd, within_sd=within_sd)
    current = drifting_runs(rng, 1, n, run_sd=run_sd, within_sd=within_sd, shift=shift)[0]
    if test == "runs":
        return run_medians_test(runs[:k], current, unit="ms", higher_is_better=False).p_worse
    return pooled_test(np.concatenate(runs[:k]), current, higher_is_better=False).p_worse


def test_run_medians_test_holds_its_level_when_whole_runs_drift():
    rng = np.random.default_rng(1)
    p = np.array([_p_worse(rng, run_sd=0.10, within_sd=0.05) for _ in range(2000)])
    assert 0.035 <= np.mean(p < 0.05) <= 0.065
    assert 0.003 <= np.mean(p < 0.01) <= 0.02


def test_pooled_mann_whitney_false_alarms_when_whole_runs_drift():
    # Why it is not the default: the same unchanged data, pooled, "regresses" about a third of the time.
    rng = np.random.default_rng(2)
    p = np.array([_p_worse(rng, run_sd=0.10, within_sd=0.05, test="pooled") for _ in range(400)])
    assert np.mean(p < 0.05) > 0.25


def test_pooled_mann_whitney_holds_its_level_without_drift():
    rng = np.random.default_rng(3)
    p = np.array([_p_worse(rng, run_sd=0.0, test="pooled") for _ in range(1000)])
    assert np.mean(p < 0.05) <= 0.07


def test_run_medians_test_finds_thirty_percent_when_runs_spread_three_and_a_half_percent():
    # Run-level SD sqrt(0.02^2 + (1.25 * 0.05 / sqrt(5))^2) = 3.4 %: +30 % is 7.6 of them.
    rng = np.random.default_rng(4)
    p = np.array([_p_worse(rng, shift=0.30, run_sd=0.02, within_sd=0.05) for _ in range(500)])
    assert np.mean(p < 0.001) >= 0.95
    # Three times the spread: the same change is mostly out of reach of one run.
    p = np.array([_p_worse(rng, shift=0.30, run_sd=0.06, within_sd=0.15) for _ in range(300)])
    assert np.mean(p < 0.001) < 0.5


def test_one_sample_per_run_works():
    rng = np.random.default_rng(5)
    p_null = np.array([_p_worse(rng, n=1, run_sd=0.03, within_sd=0.05) for _ in range(1000)])
    p_shift = np.array([_p_worse(rng, n=1, shift=0.30, run_sd=0.03, within_sd=0.03) for _ in range(300)])
    assert np.mean(p_null < 0.05) <= 0.07
    assert np.mean(p_shift < 0.01) >= 0.95


def test_direction_and_units_of_the_result():
    base = [[400.0, 410.0], [395.0, 405.0], [402.0, 398.0], [420.0, 380.0], [399.0, 401.0]]
    slower = run_medians_test(base, [520.0, 530.0], unit="ms", higher_is_better=False)
    assert slower.p_worse < 0.01 and slower.p_better > 0.99
    assert slower.baseline == pytest.approx(400.0, rel=0.01) and slower.current == 525.0
    assert slower.ci_low < 125.0 < slower.ci_high and slower.ci_low > 0
    scores = [[0.92], [0.93], [0.91], [0.92], [0.92]]
    lower = run_medians_test(scores, [0.80], unit="score", higher_is_better=True)
    assert lower.p_worse < 0.01 and lower.ci_high < 0


def test_a_baseline_that_never_moved_is_not_infinitely_sure():
    same = [[4.2]] * 6
    result = run_medians_test(same, [4.2], unit="ms", higher_is_better=False)
    assert result.p_worse == pytest.approx(0.5)
    assert run_medians_test(same, [5.2], unit="ms", higher_is_better=False).p_worse < 1e-4  # 1 % spread assumed
    # Whole milliseconds: runs that all said 4 ms may have been 3.6 or 4.4; 5 ms is not yet proof.
    whole = run_medians_test([[4.0]] * 6, [5.0], unit="ms", higher_is_better=False)
    assert whole.step == 1.0 and whole.p_worse > 0.01


def test_whole_millisecond_samples_give_run_medians_between_the_steps():
    from reports.stats import run_centre

    centres = [run_centre(np.array([2.0] * (50 - k) + [3.0] * k)) for k in (20, 24, 25, 26, 30)]
    assert all(2.0 < c < 3.0 for c in centres) and centres == sorted(centres)
    assert centres[2] == pytest.approx(2.5)


def test_bootstrap_ci_of_the_median_difference_covers_the_true_shift():
    rng = np.random.default_rng(6)
    covered = 0
    for _ in range(60):
        base, cur = rng.normal(100, 10, 40), rng.normal(120, 10, 40)
        low, high = median_difference_ci(base, cur, seed=1)
        covered += low <= 20 <= high
    assert covered >= 52  # 95 % nominal, 60 trials


def test_bh_qvalues_match_the_hand_computed_ones():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005, 0.01, 0.03, 0.04 -> 0.005*4/1, 0.01*4/2, 0.03*4/3, 0.04*4/4, then running minimum from the top
    assert bh_qvalues(p) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert bh_qvalues([]) == []


def test_bh_keeps_the_false_discovery_rate_over_many_metrics():
    rng = np.random.default_rng(7)
    proportions = []
    for _ in range(60):  # 60 runs of 100 metrics: the mean FDR measured 0.035-0.047 over seeds, bound 0.06
        p_null = [_p_worse(rng, run_sd=0.05) for _ in range(90)]
        p_real = [_p_worse(rng, shift=0.4, run_sd=0.05) for _ in range(10)]
        q = np.array(bh_qvalues(p_null + p_real))
        found = q <= 0.05
        proportions.append(found[:90].sum() / max(1, found.sum()))
    assert np.mean(proportions) <= 0.06


def test_effect_floor_scales_with_the_metric_and_its_spread():
    assert effect_floor(4.0, 0.1, "ms", 0.10) == pytest.approx(0.4)  # a 4 ms route: 0.4 ms, not 20 ms
    assert effect_floor(400.0, 60.0, "ms", 0.10) == 60.0  # noisy runs: the spread
    assert effect_floor(10.0, 0.0, "count", 0.05) == 1.0  # counts move in ones
    assert effect_floor(0.9, 0.0, "score", 0.0) == 0.01 and effect_floor(90, 0.0, "score", 0.0) == 1.0
    assert effect_floor(3.0, 0.05, "ms", 0.10, step=1.0) == 1.0  # whole-millisecond data resolve 1 ms


def test_slope_confidence_interval():
    slope, low, high = slope_with_ci([100, 110, 120, 130, 140, 150])
    assert slope == pytest.approx(10) and low <= 10 <= high and low > 0
    _, low, high = slope_with_ci([100, 130, 90, 120, 95, 125, 100, 110])
    assert low < 0 < high


def _rounds(rng, rounds: int, *, shift=0.0, drift_sd=0.3, within_sd=0.05, n=1):
    """A and B measured alternately: each round's drift hits both."""
    drifts = rng.normal(0, drift_sd, rounds)
    a = {str(r): list(100 * np.exp(d + rng.normal(0, within_sd, n))) for r, d in enumerate(drifts)}
    b = {str(r): list(100 * (1 + shift) * np.exp(d + rng.normal(0, within_sd, n))) for r, d in enumerate(drifts)}
    return a, b


def test_paired_rounds_cancel_drift_that_would_swamp_a_history_comparison():
    from reports.stats import paired_rounds_test

    rng = np.random.default_rng(9)
    null = [paired_rounds_test(*_rounds(rng, 6), unit="ms", higher_is_better=False).p_worse for _ in range(1000)]
    assert 0.03 <= np.mean(np.array(null) < 0.05) <= 0.07
    found = [paired_rounds_test(*_rounds(rng, 6, shift=0.3), unit="ms", higher_is_better=False) for _ in range(300)]
    assert np.mean([r.p_worse < 0.001 for r in found]) >= 0.95  # 30 % under 30 % drift, in 6 rounds
    assert np.mean([r.ci_low < r.current - r.baseline < r.ci_high for r in found]) >= 0.95
    with pytest.raises(ValueError):
        paired_rounds_test({"1": [1.0]}, {"1": [2.0]}, unit="ms", higher_is_better=False)
