"""reports/under_load.py on synthetic journeys with known answers: slower under load or not."""

from __future__ import annotations

import numpy as np

from reports.under_load import BEFORE, UNDER, under_load_config, under_load_findings
from siteward.records import LOAD_PHASE_TAG, Measurement
from siteward.schema import UnderLoadConfig

STEPS = {"1. home": 120.0, "2. open category": 90.0, "3. open product": 150.0, "4. add to cart": 60.0,
         "5. checkout": 200.0, "6. address step": 80.0}


def journey(phase: str, factor: float, rng: np.random.Generator, rounds: int = 3, engine: str = "chromium",
            steps: dict[str, float] = STEPS, noise: float = 0.15, at: float = 0.0) -> list[Measurement]:
    found = []
    for round_number in range(1, rounds + 1):
        for index, (step, ms) in enumerate(steps.items(), start=1):
            value = ms * factor * float(np.exp(rng.normal(0, noise)))
            found.append(Measurement(
                stage="browsers", subject=f"checkout|{engine}|desktop#{index}", metric="step_ms", unit="ms",
                samples=[round(value, 1)], data={"started": at + round_number * 10 + index},
                tags={"journey": "checkout", "engine": engine, "device": "desktop", "step": step,
                      LOAD_PHASE_TAG: phase, "load_round": str(round_number)}))
    return found


def test_a_journey_twice_as_slow_under_load_is_a_failing_finding_with_its_figures():
    rng = np.random.default_rng(1)
    [finding] = under_load_findings(journey(BEFORE, 1.0, rng) + journey(UNDER, 2.0, rng), UnderLoadConfig())
    assert finding.status == "fail" and finding.check == "under-load"
    assert 0.7 < finding.value < 1.4 and finding.limit == 0.5
    assert finding.data["p"] < 0.05 and finding.data["rounds_before"] == finding.data["rounds_under"] == 3
    assert "slower than the +50% allowed" in finding.message


def test_an_unchanged_journey_passes_in_nearly_every_trial():
    """Same speed before and under load, 15 % noise per step: false alarms at most the test's level."""
    rng = np.random.default_rng(7)
    alarms = sum(
        under_load_findings(journey(BEFORE, 1.0, rng) + journey(UNDER, 1.0, rng), UnderLoadConfig())[0].status
        == "fail" for _ in range(200))
    assert alarms <= 4, alarms  # the floor of +50 % keeps it near zero, far below 5 % of 200


def test_a_significant_but_small_slowdown_stays_within_the_allowed_share():
    rng = np.random.default_rng(3)
    [finding] = under_load_findings(journey(BEFORE, 1.0, rng, noise=0.02) + journey(UNDER, 1.2, rng, noise=0.02),
                                    UnderLoadConfig())
    assert finding.data["p"] < 0.01 and finding.status == "pass", finding.message
    assert finding.value > 0.1


def test_each_engine_is_judged_on_its_own_and_a_journey_with_too_few_steps_is_not_compared():
    rng = np.random.default_rng(5)
    measured = journey(BEFORE, 1.0, rng) + journey(UNDER, 3.0, rng)
    measured += journey(BEFORE, 1.0, rng, engine="firefox") + journey(UNDER, 1.0, rng, engine="firefox")
    two_steps = dict(list(STEPS.items())[:2])
    measured += journey(BEFORE, 1.0, rng, engine="webkit", steps=two_steps)
    measured += journey(UNDER, 5.0, rng, engine="webkit", steps=two_steps)
    by_engine = {f.tags["engine"]: f for f in under_load_findings(measured, UnderLoadConfig())}
    assert by_engine["chromium"].status == "fail" and by_engine["firefox"].status == "pass"
    assert by_engine["webkit"].status == "warn" and "not compared" in by_engine["webkit"].message


def test_measurements_without_both_phases_give_no_finding():
    rng = np.random.default_rng(2)
    assert under_load_findings(journey(BEFORE, 1.0, rng), UnderLoadConfig()) == []


def test_the_settings_come_from_the_runs_stored_config():
    assert under_load_config({"load": {"under_load": {"journey": "checkout", "slowdown": 1.0}}}).slowdown == 1.0
    assert under_load_config({}).slowdown == 0.5


def test_the_steps_under_load_sit_on_the_load_charts_time_axis():
    from reports.journey_chart import journey_chart
    from siteward.records import Finding

    window = Finding(stage="loadtests", subject="load", check="load-window", status="pass",
                     data={"started": 1000.0, "hold": [5, 20]})
    steps = [Measurement(stage="browsers", subject=f"checkout|chromium|desktop#{i}", metric="step_ms", unit="ms",
                         samples=[ms], data={"started": 1000.0 + at},
                         tags={"journey": "checkout", "engine": "chromium", "step": f"{i}. s", LOAD_PHASE_TAG: phase})
             for i, (at, ms, phase) in enumerate([(6.25, 400.0, UNDER), (7.0, 90.0, UNDER), (-20.0, 80.0, BEFORE)], 1)]
    chart = journey_chart({"t": [5.0, 6.0, 7.0], "users": [10.0, 20.0, 20.0]}, steps, [window])
    assert chart["columns"]["t"] == [5.0, 6.0, 6.25, 7.0]
    assert chart["columns"]["users"] == [10.0, 20.0, None, 20.0]
    assert chart["columns"]["chromium"] == [None, None, 400.0, 90.0]  # the before-load step is not drawn
    assert journey_chart({"t": [], "users": []}, steps, []) is None  # no load window: nothing to align with


def test_only_steps_that_started_while_the_load_held_count_as_under_load():
    """A round that outlasted the hold ran its last steps on a falling load: left out."""
    from reports.under_load import hold_span
    from siteward.records import Finding

    window = Finding(stage="loadtests", subject="load", check="load-window", status="pass",
                     data={"started": 1000.0, "hold": [10, 40]})
    hold = hold_span([window])
    assert hold == (1013.0, 1040.0)  # Locust's start-up comes on top of the plan's times
    rng = np.random.default_rng(4)
    before = journey(BEFORE, 1.0, rng, at=0.0)
    inside = journey(UNDER, 1.0, rng, rounds=1, at=1005.0)  # steps start at 1016..1021
    outside = journey(UNDER, 4.0, rng, rounds=1, at=1040.0)  # steps start at 1051..1056: ramp-down
    [finding] = under_load_findings(before + inside + outside, UnderLoadConfig(), hold)
    assert finding.status == "pass" and finding.data["rounds_under"] == 1, finding.message
    [unfiltered] = under_load_findings(before + inside + outside, UnderLoadConfig())
    assert unfiltered.status == "fail"  # the ramp-down round alone would have made it "slower"
