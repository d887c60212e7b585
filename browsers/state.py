"""Fresh browser state for the pages that need it, per engine.

A page with `journey_state` asks for that journey's state on its own engine right before
it is checked. The journey runs on that engine (desktop) the first time, and again when
the state is older than `browsers.state_max_age_s` or one of its cookies expires within
the next check: a session cookie that lives ten minutes never reaches a page stale. A
journey that cannot record its state blocks the pages that need it on that engine, with
the reason, and is not run again for every page.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from browsers.checks import STAGE
from browsers.plan import JourneyTask, Profile
from siteward.browser_state import BrowserState
from siteward.journeys import JourneyConfig, secret_problem
from siteward.records import Artifact, Finding
from siteward.stage import StageContext, safe_filename

STATE_DEVICE = "desktop"
PLAYWRIGHT_ENGINES = ("chromium", "firefox")  # Python journeys drive a Playwright page
CHECK_MARGIN_S = 15.0  # a cookie must outlive the check that uses it by this much


class StateUnavailable(Exception):
    """The state a page needs could not be recorded; the message says why."""


class StateKeeper:
    def __init__(self, ctx: StageContext, engines: dict[str, Any],
                 run_journey: Callable[[JourneyTask], Awaitable[Any]]):
        self.ctx = ctx
        self.engines = engines
        self.run_journey = run_journey  # the stage's attempts-with-retries of one journey task
        self.states: dict[tuple[str, str], BrowserState] = {}
        self.failures: dict[tuple[str, str], str] = {}
        self.recorded: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.locks: defaultdict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)

    def _journey(self, name: str) -> JourneyConfig:
        return next(j for j in self.ctx.config.journeys if j.name == name)

    def engine_for(self, journey: JourneyConfig, engine: str) -> str | None:
        """The page's own engine; a Python journey's state for WebKit comes from a Playwright engine."""
        if not (journey.python and engine == "webkit"):
            return engine
        return next((e for e in PLAYWRIGHT_ENGINES if e in self.engines), None)

    async def state_for(self, journey_name: str, engine: str) -> BrowserState:
        journey = self._journey(journey_name)
        runs_on = self.engine_for(journey, engine)
        if runs_on is None:
            raise StateUnavailable(f"journey {journey_name!r} is a Python journey and needs Chromium or Firefox,"
                                   " and neither is running")
        key = (journey_name, runs_on)
        async with self.locks[key]:
            if key in self.failures:
                raise StateUnavailable(self.failures[key])
            state = self.states.get(key)
            stale = None if state is None else state.staleness(
                max_age_s=self.ctx.config.browsers.state_max_age_s, margin_s=CHECK_MARGIN_S)
            if state is not None and stale is None:
                return state
            problem = secret_problem(journey, self.ctx.secrets)
            if problem:
                self.failures[key] = f"journey {journey_name!r} cannot run: {problem}"
                raise StateUnavailable(self.failures[key])
            return await self._record(journey, runs_on, stale)

    async def _record(self, journey: JourneyConfig, engine: str, stale: str | None) -> BrowserState:
        key = (journey.name, engine)
        final = await self.run_journey(JourneyTask(journey, Profile(engine, STATE_DEVICE), saves_state=True))
        subject = f"{journey.name}|{engine}|{STATE_DEVICE}"
        tags = {"journey": journey.name, "engine": engine, "device": STATE_DEVICE}
        if not final.ok or final.state is None:
            self.failures[key] = f"journey {journey.name!r} failed on {engine}: {final.error or 'no state'}"
            evidence = [r.path for r in final.records if isinstance(r, Artifact) and r.role == "screenshot"]
            for record in final.records:
                if isinstance(record, Artifact):
                    self.ctx.emit(record)
            self.ctx.emit(Finding(stage=STAGE, subject=subject, tags=tags, check="journey-state", status="error",
                                  severity="critical", evidence=evidence[-1:],
                                  message=f"browser state could not be recorded: {self.failures[key]}"))
            raise StateUnavailable(self.failures[key])
        self.recorded[key] += 1
        state = final.state
        path = self.ctx.evidence_dir("state") / safe_filename(f"{journey.name}-{engine}-{self.recorded[key]}.json")
        state.write(path)
        self.ctx.emit(Artifact(stage=STAGE, subject=journey.name, tags=tags, role="storage-state",
                               path=self.ctx.relative(path), media_type="application/json"))
        again = f"; recorded again because the previous state: {stale}" if stale else ""
        self.ctx.emit(Finding(stage=STAGE, subject=subject, tags=tags, check="journey-state", status="pass",
                              severity="info", data={"recorded": self.recorded[key], "refreshed_because": stale},
                              message=f"browser state of journey {journey.name!r} recorded on {engine}: "
                                      f"{state.summary()}{again}"))
        self.states[key] = state
        return state
