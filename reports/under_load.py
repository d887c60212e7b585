"""Is a journey slower while the load test holds its target than before it started?

siteward/under_load.py measured the journey (per engine) in rounds before the load and while
it held, each record tagged `load_phase`. Per journey x engine x device this compares the
two phases step by step: each step's median under load against its median before, and a
one-sided t-test on those log ratios across the steps (reports.stats.paired_rounds_test:
the steps play the rounds, so a step that is slow in both phases is compared with itself).
The journey is slower under load when that test is significant at `significance` and the
typical step got slower by at least `slowdown` (0.5 = +50 %). A journey that failed under
load is already a failing journey finding (tagged with its phase); this adds why it matters.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import median as _median
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reports.stats import paired_rounds_test
from siteward.records import BEFORE_LOAD, LOAD_PHASE_TAG, LOAD_WINDOW, UNDER_LOAD, Finding, Measurement
from siteward.schema import UnderLoadConfig

BEFORE, UNDER = BEFORE_LOAD, UNDER_LOAD
MIN_STEPS = 3  # fewer timed steps than this tell nothing about a journey's speed
STARTUP_S = 3.0  # Locust's start-up after the load stage's record: the hold begins this much later


class _LoadSnapshot(BaseModel):
    model_config = ConfigDict(extra="ignore")
    under_load: UnderLoadConfig = Field(default_factory=UnderLoadConfig)


def under_load_config(snapshot: Mapping[str, Any]) -> UnderLoadConfig:
    """[load.under_load] of a run's stored config (defaults when absent or unreadable)."""
    try:
        return _LoadSnapshot.model_validate(dict(snapshot.get("load") or {})).under_load
    except ValidationError:
        return UnderLoadConfig()


def is_phased(record: Any) -> bool:
    return LOAD_PHASE_TAG in getattr(record, "tags", {})


def in_hold(m: Measurement, hold: tuple[float, float] | None) -> bool:
    """Did this step start while the load held its target (epoch seconds)? Steps of a round that
    outlasted the hold were measured on a falling load: not what "under load" claims."""
    started = m.data.get("started")
    return hold is None or (isinstance(started, (int, float)) and hold[0] <= started <= hold[1])


def load_window(findings: Iterable[Finding]) -> tuple[float, float, float] | None:
    """(started, hold start, hold end) in seconds, from the load stage's "load-window" record:
    the epoch second the load started, then the hold's offsets from it (None: no such record)."""
    for f in findings:
        if f.stage == "loadtests" and f.check == LOAD_WINDOW:
            try:
                started, (begin, end) = float(f.data["started"]), f.data["hold"]
                return started, float(begin), float(end)
            except (KeyError, TypeError, ValueError):
                return None
    return None


def hold_span(findings: Iterable[Finding]) -> tuple[float, float] | None:
    """The hold of the load test in epoch seconds."""
    window = load_window(findings)
    if window is None:
        return None
    started, begin, end = window
    return started + begin + STARTUP_S, started + end


def _step_samples(measurements: Iterable[Measurement], hold: tuple[float, float] | None = None,
                  ) -> dict[tuple[str, str, str], dict[str, dict[str, list[float]]]]:
    """(journey, engine, device) -> phase -> step -> step_ms samples over the rounds (under load:
    only steps that started inside the hold)."""
    found: dict[tuple[str, str, str], dict[str, dict[str, list[float]]]] = defaultdict(
        lambda: {BEFORE: defaultdict(list), UNDER: defaultdict(list)})
    for m in measurements:
        phase = m.tags.get(LOAD_PHASE_TAG)
        if m.metric != "step_ms" or phase not in (BEFORE, UNDER) or "journey" not in m.tags:
            continue
        if phase == UNDER and not in_hold(m, hold):
            continue
        key = (m.tags["journey"], m.tags.get("engine", ""), m.tags.get("device", ""))
        found[key][phase][m.tags.get("step", m.subject)].extend(m.samples)
    return found


def under_load_findings(measurements: Iterable[Measurement], settings: UnderLoadConfig,
                        hold: tuple[float, float] | None = None) -> list[Finding]:
    """One finding per journey x engine x device measured in both phases; `hold` (epoch seconds,
    see hold_span) keeps only the steps under load that started while the load held."""
    found = []
    for (journey, engine, device), phases in sorted(_step_samples(measurements, hold).items()):
        before, under = phases[BEFORE], phases[UNDER]
        if not before or not under:
            continue  # a phase that never ran: siteward/under_load.py said why
        steps = sorted(set(before) & set(under))
        tags = {"journey": journey, "engine": engine, "device": device}
        subject = f"{journey}|{engine}|{device}"
        if len(steps) < MIN_STEPS:
            found.append(Finding(stage="browsers", subject=subject, tags=tags, check="under-load", status="warn",
                                 severity="minor", data={"steps": len(steps)},
                                 message=f"journey {journey} on {engine}/{device}: {len(steps)} step(s) timed both "
                                         f"before and under load, fewer than {MIN_STEPS}: not compared"))
            continue
        test = paired_rounds_test({s: before[s] for s in steps}, {s: under[s] for s in steps}, unit="ms",
                                  higher_is_better=False)
        change = test.current / test.baseline - 1 if test.baseline > 0 else 0.0
        slower = test.p_worse < settings.significance and change >= settings.slowdown
        slowest = max(steps, key=lambda s: _median(under[s]) / max(_median(before[s]), 1e-9))
        rounds = (max(len(before[s]) for s in steps), max(len(under[s]) for s in steps))
        message = (f"journey {journey} on {engine}/{device}: steps {change:+.0%} under load (typical step "
                   f"{test.baseline:.0f} -> {test.current:.0f} ms, 95 % CI {test.ci_low:+.0f}..{test.ci_high:+.0f} ms, "
                   f"p = {test.p_worse:.3g}, {len(steps)} steps, {rounds[0]} round(s) before, {rounds[1]} under); "
                   f"slowest: {slowest} {_median(before[slowest]):.0f} -> {_median(under[slowest]):.0f} ms")
        message += f" - slower than the {settings.slowdown:+.0%} allowed" if slower else ""
        found.append(Finding(
            stage="browsers", subject=subject, tags=tags, check="under-load", status="fail" if slower else "pass",
            severity="critical" if slower else "info", message=message,
            value=round(change, 4), limit=settings.slowdown, unit="ratio",
            data={"change": change, "p": test.p_worse, "baseline_ms": test.baseline, "under_ms": test.current,
                  "ci_ms": [test.ci_low, test.ci_high], "steps": len(steps), "rounds_before": rounds[0],
                  "rounds_under": rounds[1], "slowest_step": slowest},
        ))
    return found

