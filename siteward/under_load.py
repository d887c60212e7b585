"""Checkout under load: a journey measured on every engine before the load test starts and
again while the load holds its target ([load.under_load]; reports/under_load.py judges).

The runner calls `run_load_with_journey` in place of the load stage when a run has both the
browsers and the load stage and a journey is named. The journey goes through the browsers
stage's own contract (a sweep narrowed to that journey and one device) with a `load_phase`
tag on its records; the load stage runs in a thread beside it and says through a record
("load-window") when it started and when it holds, so no stage learns of the other.
The browsers sweep stays in the main thread, where its signal handling works.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any, Callable

from rich.markup import escape

from browsers import stage as browsers_stage
from loadtests import stage as loadtests_stage
from siteward.records import BEFORE_LOAD, LOAD_PHASE_TAG, LOAD_WINDOW, UNDER_LOAD, Finding
from siteward.stage import StageContext

BEFORE, UNDER = BEFORE_LOAD, UNDER_LOAD
START_SLACK_S = 3.0  # Locust's start-up (workers connecting) comes on top of the plan's times
WINDOW_WAIT_S = 180.0  # the load stage's preparations (discovery, safety checks) before Locust
POLL_S = 0.5


def wanted(ctx: StageContext, plans: dict[str, Any]) -> str | None:
    """The journey to measure under load, when this run can: both stages, a local load test."""
    journey = ctx.config.load.under_load.journey
    load = plans.get(loadtests_stage.NAME)
    if journey is None or browsers_stage.NAME not in plans or load is None:
        return None
    if load.options.master or load.options.worker or load.shape is None:
        return None  # the load's start depends on remote workers: no window to aim at
    return journey


def journey_plan(ctx: StageContext, journey: str):
    settings = ctx.config.load.under_load
    options = browsers_stage.Options(journeys=(journey,), devices=(settings.device,), no_pages=True)
    return browsers_stage.plan(ctx.config, options)


def _phase(ctx: StageContext, phase: str, round_number: int) -> StageContext:
    return replace(ctx, record_tags={**ctx.record_tags, LOAD_PHASE_TAG: phase, "load_round": str(round_number)},
                   evidence_subdir=f"under-load/{phase}-{round_number}", quiet=True)


def _load_window(ctx: StageContext, deadline: float, load_done: threading.Event) -> dict[str, Any] | None:
    """The load stage's "load-window" record of this run, once it exists (None: it never came)."""
    while time.monotonic() < deadline and not load_done.is_set():
        for finding in ctx.store.records(ctx.run_id, kind="finding", stage=loadtests_stage.NAME):
            if finding.check == LOAD_WINDOW:
                return finding.data
        time.sleep(POLL_S)
    return None


def run_load_with_journey(ctx: StageContext, plans: dict[str, Any], journey: str,
                          run_stage: Callable[[StageContext, str, Any], None]) -> None:
    """Journey rounds before the load; the load in a thread; rounds while it holds; then wait for it.

    `run_stage(ctx, name, plan)` is the runner's own way of running a stage (errors become records)."""
    settings = ctx.config.load.under_load
    sweep = journey_plan(ctx, journey)
    ctx.console.print(f"siteward: journey {escape(journey)!s} on {', '.join(sweep.engines)} "
                      f"({settings.device}): {settings.rounds} round(s) before the load, then while it holds")
    for round_number in range(1, settings.rounds + 1):
        run_stage(_phase(ctx, BEFORE, round_number), browsers_stage.NAME, sweep)

    load_plan = plans[loadtests_stage.NAME]
    load_done = threading.Event()

    def load() -> None:
        try:
            run_stage(ctx, loadtests_stage.NAME, load_plan)
        finally:
            load_done.set()

    thread = threading.Thread(target=load, name="siteward-load", daemon=True)
    thread.start()
    measured = 0
    try:
        window = _load_window(ctx, time.monotonic() + WINDOW_WAIT_S, load_done)
        if window is not None:
            started = float(window["started"])
            hold_start, hold_end = (float(t) for t in window["hold"])
            wait = started + hold_start + START_SLACK_S - time.time()
            if wait > 0:
                load_done.wait(wait)
            # Rounds start while the load holds; reports/under_load.py keeps the steps that ran inside it.
            while measured < settings.rounds and not load_done.is_set() \
                    and time.time() < started + hold_end - START_SLACK_S:
                measured += 1
                run_stage(_phase(ctx, UNDER, measured), browsers_stage.NAME, sweep)
    finally:
        # The load stage ends by its own plan (duration, abort thresholds, Ctrl-C in Locust).
        thread.join()
    if measured < settings.rounds:
        ctx.emit(Finding(stage="browsers", subject=f"journey:{journey}", check="under-load", status="warn",
                         severity="major", tags={"journey": journey},
                         message=f"journey {journey!r} started {measured} of {settings.rounds} round(s) while the "
                                 "load held its target (the hold was shorter than the rounds, or the load ended "
                                 "early): fewer samples to compare with"))
