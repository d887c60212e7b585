"""One attempt of one check (a page on a profile, or a journey on a profile) -> records.

Records are collected, not emitted: the stage emits only the final attempt's, so a
retried check never leaves half an attempt in the history. Exceptions escape to the
stage, which turns them into an error record (and retries).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from browsers.checks import (
    STAGE, PageObservation, compat_findings, emulation_gaps, timing_measurements, unsupported_metric_reasons,
)
from browsers.devices import DeviceProfile
from browsers.plan import JourneyTask, PageTask
from siteward.journeys import config_dir, load_python_journey, run_python, run_steps
from siteward.records import AnyRecord, Artifact, Finding, Measurement
from siteward.stage import StageContext, safe_filename

REQUIRED_WAIT_S = 5.0
ENGINE_LIMITED_CHECKS = ("console-errors", "failed-requests")


@dataclass
class Attempt:
    records: list[AnyRecord] = field(default_factory=list)
    ok: bool = True  # the check ran (pages) / passed (journeys)
    error: str | None = None
    screenshot: Path | None = None
    tags: dict[str, str] = field(default_factory=dict)
    subject: str = ""
    form_factor: str = "desktop"
    page: str | None = None
    emulation: list[str] = field(default_factory=list)
    unsupported: dict[str, str] = field(default_factory=dict)
    state_file: Path | None = None


def profile_tags(engine: str, device: DeviceProfile) -> dict[str, str]:
    return {"engine": engine, "device": device.name, "form_factor": device.form_factor}


class Executor:
    """Runs attempts against started engines; knows where evidence goes."""

    def __init__(self, ctx: StageContext, engines: dict[str, Any], devices: dict[str, DeviceProfile],
                 state_files: dict[str, Path]):
        self.ctx = ctx
        self.engines = engines
        self.devices = devices
        self.state_files = state_files
        self.settings = ctx.config.browsers
        self.base_url = ctx.config.target.base_url

    async def _session(self, engine: str, device: DeviceProfile, state_file: Path | None):
        owner = self.engines[engine]
        if engine == "webkit":
            cookies = json.loads(state_file.read_text())["cookies"] if state_file else None
            return await owner.new_session(device, cookies=cookies, base_url=self.base_url)
        return await owner.new_session(device, storage_state=str(state_file) if state_file else None)

    # ------------------------------------------------------------------ pages
    async def page(self, task: PageTask) -> Attempt:
        page, engine = task.page, task.profile.engine
        device = self.devices[task.profile.device]
        tags = {"page": page.name, **profile_tags(engine, device)}
        subject = f"{page.name}|{engine}|{device.name}"
        result = Attempt(tags=tags, subject=subject, form_factor=device.form_factor, page=page.name)
        state_file = self.state_files.get(page.journey_state) if page.journey_state else None
        url = self.ctx.config.url(page.path)
        timeout_s = self.settings.timeout_s
        session = await self._session(engine, device, state_file)
        try:
            status = await session.goto(url, timeout_s)
            status_source = "browser"
            if status is None and hasattr(session, "fetch_status"):
                status = await session.fetch_status(url, timeout_s)
                status_source = "a plain HTTP request (WebDriver reports no status)"
            await session.settle(self.settings.settle_ms)
            facts = await session.facts()
            # The page has loaded: a short wait only absorbs a slow machine, a missing element costs it once.
            required = {sel: await session.is_visible(sel, REQUIRED_WAIT_S) for sel in page.required}
            console, console_note = session.console_errors()
            failed, requests_note = session.failed_requests()
            shot_path = self.ctx.evidence_dir("screens", page.name) / f"{engine}-{device.name}.png"
            await session.screenshot(shot_path, mask=[*page.mask, *self.ctx.config.visual.mask],
                                     full_page=self.ctx.config.visual.full_page)
            result.emulation = emulation_gaps(device, facts, session.emulation_limits)
        finally:
            await session.close()

        observation = PageObservation(
            url=url, status=status, status_source=status_source, console_errors=console, console_note=console_note,
            failed_requests=failed, requests_note=requests_note, facts=facts, required=required,
        )
        evidence = [self.ctx.relative(shot_path)]
        result.screenshot = shot_path
        result.records.append(Artifact(stage=STAGE, subject=subject, tags=tags, role="screenshot",
                                       path=evidence[0], media_type="image/png"))
        for finding in compat_findings(observation, subject, tags, evidence):
            if finding.status == "skip" and finding.check in ENGINE_LIMITED_CHECKS:
                # An engine limit, not a page result: said once per engine by the stage.
                result.unsupported[finding.check] = f"{engine}: {finding.message}"
            else:
                result.records.append(finding)
        measured, missing = timing_measurements(facts, subject, tags)
        result.records.extend(measured)
        result.unsupported.update(unsupported_metric_reasons(engine, facts, missing))
        return result

    # --------------------------------------------------------------- journeys
    def _shot_path(self, journey: str, engine: str, device: str):
        folder = self.ctx.evidence_dir("screens", "journeys", safe_filename(journey))
        return lambda name: folder / f"{engine}-{device}-{safe_filename(name)}.png"

    async def journey(self, task: JourneyTask) -> Attempt:
        journey, engine = task.journey, task.profile.engine
        device = self.devices[task.profile.device]
        tags = {"journey": journey.name, **profile_tags(engine, device)}
        subject = f"{journey.name}|{engine}|{device.name}"
        result = Attempt(tags=tags, subject=subject, form_factor=device.form_factor)
        shot_path = self._shot_path(journey.name, engine, device.name)
        session = await self._session(engine, device, None)
        try:
            if journey.python:
                function = load_python_journey(journey.python, config_dir(self.ctx.config))
                outcome = await run_python(session, function, base_url=self.base_url, secrets=self.ctx.secrets,
                                           screenshot_path=shot_path)
            else:
                outcome = await run_steps(session, journey, base_url=self.base_url, secrets=self.ctx.secrets,
                                          default_timeout_s=self.settings.step_timeout_s, screenshot_path=shot_path)
            if outcome.passed and task.saves_state:
                state = self.ctx.evidence_dir("state") / f"{safe_filename(journey.name)}.json"
                await session.storage_state(state)
                result.state_file = state
            result.emulation = list(session.emulation_limits)
        finally:
            await session.close()

        for step in outcome.steps:
            step_tags = {**tags, "step": f"{step.index}. {step.label}"}
            result.records.append(Measurement(stage=STAGE, subject=f"{subject}#{step.index}", tags=step_tags,
                                              metric="step_ms", unit="ms", samples=[round(step.ms, 1)]))
        for mark, ms in outcome.marks.items():
            result.records.append(Measurement(stage=STAGE, subject=f"{subject}@{mark}", tags={**tags, "step": mark},
                                              metric="mark_ms", unit="ms", samples=[round(ms, 1)]))
        for name, path in outcome.screenshots:
            result.records.append(Artifact(stage=STAGE, subject=subject, tags={**tags, "step": name},
                                           role="screenshot", path=self.ctx.relative(path), media_type="image/png"))
        if outcome.passed:
            result.records.append(Measurement(stage=STAGE, subject=subject, tags=tags, metric="journey_ms",
                                              unit="ms", samples=[round(outcome.total_ms, 1)]))
            message = f"{len(outcome.steps)} step(s) passed in {outcome.total_ms / 1000:.1f} s"
            result.records.append(Finding(stage=STAGE, subject=subject, tags=tags, check="journey",
                                          status="pass", message=message, severity="critical",
                                          data={"steps": len(outcome.steps)}))
        else:
            result.ok = False
            result.error = f"step {outcome.failed_step}: {outcome.error}"
            evidence = [self.ctx.relative(outcome.failure_screenshot)] if outcome.failure_screenshot else []
            if outcome.failure_screenshot:
                result.records.append(Artifact(stage=STAGE, subject=subject, tags={**tags, "step": "failed"},
                                               role="screenshot", path=evidence[0], media_type="image/png"))
            result.records.append(Finding(
                stage=STAGE, subject=subject, tags=tags, check="journey", status="fail", severity="critical",
                message=f"failed at step {outcome.failed_step}: {outcome.error}", evidence=evidence,
                data={"step": outcome.failed_step, "error": outcome.error, "passed_steps": len(outcome.steps)},
            ))
        return result
