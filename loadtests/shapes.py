"""Load shapes: how many users run at each moment. Pure; no Locust, no network.

Each shape has Locust's LoadTestShape interface (`tick()` returns (users, spawn_rate)
or None to stop, `reset_time()`, `get_run_time()`) with an injectable clock, so it is
unit-tested by moving a fake clock. The locustfile wraps the chosen shape in a real
LoadTestShape subclass (importing Locust here would gevent-patch whoever imports us).

- peak (closed model): warm up at the observed peak, ramp to multiplier x peak, hold,
  spike to spike_factor x the target briefly, ramp down. Users think between requests
  (paced: the think time runs from one request's start to the next), so a request rate
  converts into users by Little's law: users = rate x mean think time, and holds while
  responses are faster than the think time; a slower site lowers the rate (closed model).
- open (arrival rate): a fixed pool of users takes "tickets" issued at the target rate;
  the shape only keeps the pool alive, the rate is the dispatcher's (see locustfile).
- steady: a constant number of users for the whole duration.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from siteward.errors import UsageError

Clock = Callable[[], float]

# Fractions of the duration: warm-up, ramp, hold, spike, ramp-down.
PEAK_PHASES = (("warm-up", 0.15), ("ramp-up", 0.20), ("hold", 0.40), ("spike", 0.10), ("ramp-down", 0.15))
MIN_CYCLE_S = 0.1  # a closed-model user without think time still needs a rate -> users factor


@dataclass(frozen=True)
class Phase:
    name: str
    start: float
    end: float
    level_from: float  # multiples of the observed peak
    level_to: float

    def level(self, t: float) -> float:
        if self.end <= self.start:
            return self.level_to
        share = (t - self.start) / (self.end - self.start)
        return self.level_from + (self.level_to - self.level_from) * share


def peak_phases(duration_s: float, multiplier: float, spike_factor: float) -> list[Phase]:
    levels = {"warm-up": (1.0, 1.0), "ramp-up": (1.0, multiplier), "hold": (multiplier, multiplier),
              "spike": (multiplier * spike_factor, multiplier * spike_factor), "ramp-down": (multiplier, 0.0)}
    phases, start = [], 0.0
    for name, share in PEAK_PHASES:
        end = start + share * duration_s
        phases.append(Phase(name, start, end, *levels[name]))
        start = end
    return phases


def level_at(phases: list[Phase], t: float) -> float | None:
    """The load level at run time t; None once the last phase is over."""
    for phase in phases:
        if phase.start <= t < phase.end:
            return phase.level(t)
    return None


@dataclass(frozen=True)
class LoadPlan:
    """What the run will do, decided before a single request; shared with Locust as a spec.

    One small class per profile (PeakPlan, OpenPlan, SteadyPlan); this base is the steady one's
    behaviour: a constant level for the whole duration, no request-rate target.
    """

    profile: ClassVar[str] = "steady"
    start_at_once: ClassVar[bool] = False  # the shape starts every user in the first tick

    duration_s: float
    multiplier: float
    spike_factor: float
    peak_rps: float | None  # None when the peak is given in users
    users_per_level: float  # users at level 1.0 (the observed peak)
    target_rps: float | None  # the rate the hold phase (or the open model) aims at
    open_pool: int
    max_users: int

    def phases(self) -> list[Phase]:
        return [Phase("hold", 0.0, self.duration_s, self.multiplier, self.multiplier)]

    def hold_window(self) -> tuple[float, float]:
        """Run-time span where the achieved rate is compared with the target."""
        edge = min(1.0, self.duration_s / 4)  # skip the partial first and last second
        return edge, self.duration_s - edge

    def users_at(self, t: float) -> int | None:
        level = level_at(self.phases(), t)
        if level is None:
            return None
        return min(self.max_users, max(1, math.ceil(level * self.users_per_level - 1e-9)))

    def target_rate_at(self, t: float) -> float | None:
        return None

    def to_spec(self) -> dict[str, Any]:
        return {"profile": self.profile, **asdict(self)}

    @staticmethod
    def from_spec(spec: dict[str, Any]) -> "LoadPlan":
        fields = {k: v for k, v in spec.items() if k != "profile"}
        return PLANS[spec["profile"]](**fields)


SteadyPlan = LoadPlan


@dataclass(frozen=True)
class PeakPlan(LoadPlan):
    """Closed model: warm-up at the observed peak, ramp to multiplier x peak, hold, spike, ramp down."""

    profile: ClassVar[str] = "peak"

    def phases(self) -> list[Phase]:
        return peak_phases(self.duration_s, self.multiplier, self.spike_factor)

    def hold_window(self) -> tuple[float, float]:
        hold = next(p for p in self.phases() if p.name == "hold")
        return hold.start, hold.end

    def target_rate_at(self, t: float) -> float | None:
        level = level_at(self.phases(), t)
        return None if level is None or self.peak_rps is None else level * self.peak_rps


@dataclass(frozen=True)
class OpenPlan(LoadPlan):
    """Open model: a fixed pool of users takes tickets issued at the target rate (see locustfile)."""

    profile: ClassVar[str] = "open"
    start_at_once: ClassVar[bool] = True

    def phases(self) -> list[Phase]:
        return [Phase("hold", 0.0, self.duration_s, 1.0, 1.0)]

    def users_at(self, t: float) -> int | None:
        return None if level_at(self.phases(), t) is None else self.open_pool

    def target_rate_at(self, t: float) -> float | None:
        return None if level_at(self.phases(), t) is None else self.target_rps


PLANS: dict[str, type[LoadPlan]] = {"peak": PeakPlan, "open": OpenPlan, "steady": SteadyPlan}


def _top_level(plan: LoadPlan) -> float:
    """The highest level any phase reaches: the spike, or the warm-up's 1x when the multiplier is below 1."""
    return max(max(p.level_from, p.level_to) for p in plan.phases())


def make_plan(*, profile: str, peak_rps: float | None, peak_users: int | None, multiplier: float,
              duration_s: float, think_time_s: tuple[float, float], spike_factor: float,
              open_pool_s: float, max_users: int, max_rps: float, max_duration_s: float) -> LoadPlan:
    """Turn config + overrides into a plan; refuse plans beyond the safety caps."""
    if duration_s > max_duration_s:
        raise UsageError(f"duration {duration_s:g} s exceeds load.max_duration_s {max_duration_s:g} s")
    if peak_users is not None and profile != "open":
        peak_rps = None  # the peak is given in users: no request-rate target
    if peak_rps is None and peak_users is None:
        raise UsageError("load needs an observed peak: set load.peak_rps or load.peak_users")
    # Think time paces request starts (see locustfile), so a user's cycle is the mean think time.
    cycle_s = max(MIN_CYCLE_S, sum(think_time_s) / 2)
    if profile == "open":
        if peak_rps is None:
            raise UsageError("the open profile holds a request rate: set load.peak_rps (or --peak-rps)")
        target = peak_rps * multiplier
        pool = max(4, math.ceil(target * open_pool_s))
        if pool > max_users:
            raise UsageError(f"the open profile at {target:g} req/s keeps {pool} users (rate x open_pool_s), "
                             f"above load.max_users {max_users}", hint="raise load.max_users or lower open_pool_s")
        plan: LoadPlan = OpenPlan(duration_s, multiplier, spike_factor, peak_rps, 0.0, target, pool, max_users)
    else:
        users_per_level = peak_users if peak_rps is None else peak_rps * cycle_s
        target = None if peak_rps is None else peak_rps * multiplier
        plan = PLANS[profile](duration_s, multiplier, spike_factor, peak_rps, float(users_per_level),
                              target, 0, max_users)
        wanted = max(1, math.ceil(users_per_level * _top_level(plan)))
        if wanted > max_users:
            raise UsageError(f"the {profile} profile needs {wanted} users, above load.max_users {max_users}",
                             hint="raise load.max_users, or lower the peak or the multiplier")
    top_rate = (plan.target_rps or 0) if profile == "open" else (plan.peak_rps or 0) * _top_level(plan)
    if top_rate > max_rps:
        raise UsageError(f"the {profile} profile would reach {top_rate:g} req/s, above load.max_rps {max_rps:g}",
                         hint="raise load.max_rps, or lower --peak-rps or --multiplier")
    return plan


class PlanShape:
    """A LoadTestShape-compatible driver of a LoadPlan; the clock is injectable."""

    def __init__(self, plan: LoadPlan, clock: Clock = time.monotonic):
        self.plan = plan
        self.clock = clock
        self.start_time = clock()

    def reset_time(self) -> None:
        self.start_time = self.clock()

    def get_run_time(self) -> float:
        return self.clock() - self.start_time

    def tick(self) -> tuple[int, float] | None:
        t = self.get_run_time()
        users = self.plan.users_at(t)
        if users is None:
            return None
        before = self.plan.users_at(max(0.0, t - 1.0)) or 0
        after = self.plan.users_at(t + 1.0)
        # Fast enough to follow the plan within Locust's one-second tick.
        spawn_rate = float(max(1, abs(users - before), abs((after if after is not None else users) - users)))
        if self.plan.start_at_once or t < 1.0:
            spawn_rate = float(max(spawn_rate, users))  # start the pool (or the warm-up) at once
        return users, spawn_rate
