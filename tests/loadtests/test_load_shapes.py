"""Load shapes without a network: a fake clock drives tick()."""

from __future__ import annotations

import pytest

from loadtests.shapes import LoadPlan, PlanShape, level_at, make_plan, peak_phases
from siteward.errors import UsageError

DEFAULTS = dict(think_time_s=(0.5, 2.0), spike_factor=1.5, open_pool_s=2.0, max_users=2000, max_rps=5000,
                max_duration_s=3600)


def plan(**kw) -> LoadPlan:
    args = dict(profile="peak", peak_rps=3.0, peak_users=None, multiplier=10.0, duration_s=100.0, **DEFAULTS)
    args.update(kw)
    return make_plan(**args)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ticks(shape_plan: LoadPlan, times: list[float]) -> list:
    clock = FakeClock()
    shape = PlanShape(shape_plan, clock=clock)
    out = []
    for t in times:
        clock.now = 1000.0 + t
        out.append(shape.tick())
    return out


def test_peak_profile_warms_up_at_peak_ramps_to_10x_holds_spikes_and_ends():
    p = plan()
    per_level = 3.0 * 1.25  # Little's law: rate x mean think time (paced)
    warm, ramp_mid, hold, spike, down_mid, end = ticks(p, [5, 25, 50, 80, 92.5, 100.0])
    assert warm[0] == pytest.approx(per_level, abs=1)
    assert hold[0] == pytest.approx(10 * per_level, abs=1)
    assert spike[0] == pytest.approx(15 * per_level, abs=1)
    assert warm[0] < ramp_mid[0] < hold[0] < spike[0]
    assert 0 < down_mid[0] < hold[0]
    assert end is None


def test_tick_spawn_rate_follows_steps_within_a_second():
    p = plan()
    hold_users = ticks(p, [60])[0][0]
    spike_start = next(ph.start for ph in p.phases() if ph.name == "spike")
    users, rate = ticks(p, [spike_start])[0]
    assert users > hold_users
    assert rate >= users - hold_users  # the jump is reached within one tick


def test_phases_cover_the_duration_in_order():
    phases = peak_phases(60, 10, 1.5)
    assert [p.name for p in phases] == ["warm-up", "ramp-up", "hold", "spike", "ramp-down"]
    assert phases[0].start == 0 and phases[-1].end == pytest.approx(60)
    assert all(a.end == pytest.approx(b.start) for a, b in zip(phases, phases[1:]))
    assert level_at(phases, 60.0) is None
    assert level_at(phases, 0.0) == 1.0


def test_target_rate_and_hold_window():
    p = plan()
    begin, end = p.hold_window()
    assert p.target_rate_at((begin + end) / 2) == pytest.approx(30.0)
    assert p.target_rate_at(2.0) == pytest.approx(3.0)


def test_peak_in_users_has_no_rate_target():
    p = plan(peak_users=4, peak_rps=None)
    assert p.target_rps is None and p.target_rate_at(50) is None
    assert ticks(p, [50])[0][0] == 40


def test_open_profile_keeps_a_pool_for_the_whole_duration():
    p = plan(profile="open", duration_s=20)
    assert p.target_rps == 30 and p.open_pool == 60
    assert [t[0] for t in ticks(p, [0, 10, 19.9])] == [60, 60, 60]
    assert ticks(p, [20.0]) == [None]
    assert p.target_rate_at(10) == 30


def test_steady_profile_is_constant():
    p = plan(profile="steady", peak_users=5, peak_rps=None, multiplier=2, duration_s=10)
    assert {t[0] for t in ticks(p, [0, 5, 9.9])} == {10}


@pytest.mark.parametrize("kw, words", [
    (dict(peak_rps=1000.0, max_users=100_000), "max_rps"),
    (dict(duration_s=7200.0), "max_duration_s"),
    (dict(peak_users=500, peak_rps=None), "max_users"),
    (dict(profile="open", peak_rps=None, peak_users=3), "peak_rps"),
])
def test_plans_beyond_the_caps_are_refused_with_a_reason(kw, words):
    with pytest.raises(UsageError, match=words):
        plan(**kw)


def test_plan_round_trips_through_the_spec():
    p = plan(profile="open")
    assert LoadPlan.from_spec(p.to_spec()) == p
