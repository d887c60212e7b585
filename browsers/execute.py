"""One attempt of one check (a page on a profile, or a journey on a profile) -> records.

Records are collected, not emitted: the stage emits only the final attempt's, so a
retried check never leaves half an attempt in the history. Exceptions escape to the
stage, which turns them into an error record (and retries).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from browsers import a11y
from browsers.checks import (
    STAGE, PageObservation, compat_findings, emulation_gaps, first_party_hosts, missing_metric_findings,
    timing_measurements, unsupported_metric_reasons,
)
from browsers.devices import DeviceProfile
from browsers.evidence import journey_failure, state_applied, uncaught_findings
from browsers.plan import JourneyTask, PageTask
from browsers.vitals import journey_inp
from browsers.traces import Recording, Traces, evidence_paths
from siteward.browser_state import BrowserState, same_page
from siteward.journeys import (
    FirstFailure, StepFailed, config_dir, first_failure_of, load_python_journey, run_python, run_steps,
)
from siteward.records import AnyRecord, Artifact, Finding, Measurement
from siteward.stage import StageContext, safe_filename
from siteward.target import TargetAccess

REQUIRED_WAIT_S = 5.0
MAX_DOM_CHARS = 5_000_000  # a rendered DOM kept for the HTML audits, bounded
ENGINE_LIMITED_CHECKS = ("console-errors", "failed-requests")
# Of a page check's time, the load itself gets a share; the rest (at least LOAD_RESERVE_S: a new
# context, a probe of the server, then of the page's main thread) tells why a load did not end.
LOAD_SHARE = 0.75
LOAD_RESERVE_S = 6.0
RESPONSIVE_PROBE_S = 2.0
# How the engines say a response was cut off (Chromium net errors, Firefox NS errors).
TRUNCATED_RESPONSE = ("ERR_CONTENT_LENGTH_MISMATCH", "ERR_INCOMPLETE_CHUNKED_ENCODING", "ERR_EMPTY_RESPONSE",
                      "ERR_CONNECTION_CLOSED", "ERR_CONNECTION_RESET", "NS_ERROR_NET_PARTIAL_TRANSFER",
                      "NS_ERROR_NET_INTERRUPT", "NS_ERROR_NET_RESET")


def closed_mid_response(text: str) -> str | None:
    """The engine's name for a response cut off before its end, if the text holds one."""
    return next((marker for marker in TRUNCATED_RESPONSE if marker in text), None)


def cut_message(url: str, detail: str) -> str:
    return f"{url}: the connection closed mid-response ({detail}): the server sent part of the page and hung up"


async def server_answers(url: str, access: TargetAccess, timeout_s: float) -> bool:
    """Does the server send a response (status and headers) for the URL within timeout_s?"""
    try:
        async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, **access.httpx_options()) as client:
            async with client.stream("GET", url):
                return True
    except httpx.HTTPError:
        return False


async def diagnose_load(session: Any, url: str, error: str, waited_s: float, access: TargetAccess) -> str:
    """Why a page load failed, in the shopper's terms where the engine's words are opaque. A main
    thread is called unresponsive only when the server answers at once and the page's scripts
    still do not (a slow server keeps a navigation pending, and WebDriver's probe waits for it)."""
    failed, _ = session.failed_requests() if hasattr(session, "failed_requests") else (None, "")
    texts = [error] + [str(r.get("error", "")) for r in failed or [] if same_page(r.get("url", ""), url)]
    marker = next((m for m in map(closed_mid_response, texts) if m), None)
    if marker:
        return cut_message(url, marker)
    if "timed out" in error and await server_answers(url, access, RESPONSIVE_PROBE_S) \
            and not await session.responsive(RESPONSIVE_PROBE_S):
        return (f"{url} did not finish loading: the page's main thread is unresponsive (its scripts have not "
                f"yielded for {waited_s:g} s, e.g. an endless loop)")
    return error


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
    state: BrowserState | None = None  # what a state journey left
    first_failure: FirstFailure | None = None  # how a journey failed: its retry stops early on the same
    repeated: bool = False  # this attempt met the previous attempt's failure again
    where: dict[str, str] = field(default_factory=dict)  # host and browser version it ran on (browsers/pool.py)
    traces: list[Artifact] = field(default_factory=list)  # trace, HAR (WebKit: page source, console) of a failure

    def add_traces(self, kept: list[AnyRecord]) -> None:
        self.records = with_traces(self.records, kept)
        self.traces += [r for r in kept if isinstance(r, Artifact)]


def failing(records: list[AnyRecord]) -> bool:
    return any(isinstance(r, Finding) and r.status in ("fail", "error") for r in records)


def with_traces(records: list[AnyRecord], kept: list[AnyRecord]) -> list[AnyRecord]:
    """The records plus the kept trace files, which join the evidence of every failing finding
    (the report shows them next to its screenshot)."""
    paths = evidence_paths(kept)
    return [r.model_copy(update={"evidence": [*r.evidence, *paths]})
            if paths and isinstance(r, Finding) and r.status in ("fail", "error") else r for r in records] + kept


def profile_tags(engine: str, device: DeviceProfile) -> dict[str, str]:
    return {"engine": engine, "device": device.name, "form_factor": device.form_factor}


class Executor:
    """Runs attempts against started engines; knows where evidence goes."""

    def __init__(self, ctx: StageContext, engines: dict[str, Any], devices: dict[str, DeviceProfile]):
        self.ctx = ctx
        self.engines = engines
        self.devices = devices
        self.settings = ctx.config.browsers
        self.base_url = ctx.config.target.base_url
        self.first_party = first_party_hosts(ctx.config)
        self.traces = Traces(ctx)
        self._unclaimed: dict[str, list[AnyRecord]] = {}  # traces of attempts that raised

    async def _session(self, engine: str, device: DeviceProfile, state: BrowserState | None,
                       recording: Recording | None = None):
        owner = self.engines[engine]
        if engine == "webkit":
            return await owner.new_session(device, state=state, base_url=self.base_url,
                                           timeout_s=self.settings.step_timeout_s)
        try:
            return await owner.new_session(device, state=state, timeout_s=self.settings.step_timeout_s,
                                           recording=recording if recording and recording.traced else None)
        except BaseException:
            if recording is not None:
                recording.discard()
            raise

    async def _traced(self, session, recording: Recording | None, result: Attempt, work) -> Attempt:
        """Do the attempt's work, then close the session: what it recorded is kept when the attempt
        failed (a failing finding, or an exception: then the stage's error record claims it)."""
        subject, tags = result.subject, result.tags
        try:
            await work
        except BaseException:
            self._unclaimed[subject] = await self.traces.close(session, recording, True, subject, tags)
            raise
        result.add_traces(await self.traces.close(session, recording, failing(result.records), subject, tags))
        return result

    def claim(self, subject: str) -> list[AnyRecord]:
        """The kept traces of the attempt of `subject` that raised (the stage's error record links them)."""
        return self._unclaimed.pop(subject, [])

    # ------------------------------------------------------------------ pages
    async def page(self, task: PageTask, state: BrowserState | None = None) -> Attempt:
        page, engine = task.page, task.profile.engine
        device = self.devices[task.profile.device]
        tags = {"page": page.name, **profile_tags(engine, device)}
        subject = f"{page.name}|{engine}|{device.name}"
        result = Attempt(tags=tags, subject=subject, form_factor=device.form_factor, page=page.name)
        url = self.ctx.config.url(page.path)
        recording = self.traces.recording(engine, subject, "pages", page.name, device.name)
        session = await self._session(engine, device, state, recording)
        return await self._traced(session, recording, result, self._check_page(session, result, task, url))

    async def _check_page(self, session, result: Attempt, task: PageTask, url: str) -> None:
        page, engine = task.page, task.profile.engine
        device = self.devices[task.profile.device]
        tags, subject, timeout_s = result.tags, result.subject, self.settings.timeout_s
        status = await self._load(session, url, timeout_s)
        landed_url = session.landed_url or await session.current_url()
        status_source = "browser"
        if status is None and hasattr(session, "fetch_status"):
            status = await session.fetch_status(url, timeout_s)
            status_source = "a plain HTTP request (WebDriver reports no status)"
        await session.settle(self.settings.settle_ms)
        facts = await session.facts()
        if cut := session.cut_document(facts):
            raise StepFailed(cut_message(url, cut))
        final_url = await session.current_url()
        if device.name == "desktop":  # what the shopper sees, for the audits stage's HTML audits
            dom = await session.page_source()
        # The page has loaded: a short wait only absorbs a slow machine, a missing element costs it once.
        required = {sel: await session.is_visible(sel, REQUIRED_WAIT_S) for sel in page.required}
        console, console_note = session.console_errors()
        failed, requests_note = session.failed_requests()
        shot_path = self.ctx.evidence_dir("screens", page.name) / f"{engine}-{device.name}.png"
        await session.screenshot(shot_path, mask=[*page.mask, *self.ctx.config.visual.mask],
                                 full_page=self.ctx.config.visual.full_page)
        partial_shot = getattr(session, "screenshot_fallback", None)
        result.emulation = emulation_gaps(device, facts, session.emulation_limits)
        # Last: axe reads the page as the checks above left it and changes nothing they see.
        axe = await a11y.audit(session, self.settings.accessibility_tags, self.settings.accessibility_timeout_s) \
            if self.settings.accessibility else None

        observation = PageObservation(
            url=url, status=status, status_source=status_source, console_errors=console, console_note=console_note,
            failed_requests=failed, requests_note=requests_note, facts=facts, required=required,
            first_party_hosts=self.first_party, dialogs=list(session.dialogs), popups=list(session.popups),
            # a page with journey state that ends elsewhere is state-applied's finding
            landed_url=None if page.journey_state else landed_url, final_url=final_url,
        )
        evidence = [self.ctx.relative(shot_path)]
        if page.journey_state:
            result.records.append(state_applied(page.name, page.journey_state, url, final_url, subject, tags, evidence))
        if device.name == "desktop":
            result.records.append(self._keep_dom(page.name, engine, dom, tags, subject))
        result.screenshot = shot_path
        if partial_shot:
            result.records.append(Finding(stage=STAGE, subject=subject, tags=tags, check="screenshot", status="warn",
                                          severity="minor", message=f"{engine}/{device.name}: {partial_shot}",
                                          evidence=evidence))
        result.records.append(Artifact(stage=STAGE, subject=subject, tags=tags, role="screenshot",
                                       path=evidence[0], media_type="image/png"))
        for finding in compat_findings(observation, subject, tags, evidence):
            if finding.status == "skip" and finding.check in ENGINE_LIMITED_CHECKS:
                # An engine limit, not a page result: said once per engine by the stage.
                result.unsupported[finding.check] = f"{engine}: {finding.message}"
            else:
                result.records.append(finding)
        if axe is not None:
            accepted = a11y.accepted_for(self.ctx.store, page.name, engine, device.name)
            result.records.extend(a11y.a11y_records(axe, accepted, subject, tags, evidence,
                                                    self.settings.accessibility_tags))
        measured, missing = timing_measurements(facts, subject, tags)
        result.records.extend(measured)
        unsupported = unsupported_metric_reasons(engine, facts, missing)
        result.unsupported.update(unsupported)
        result.records.extend(missing_metric_findings([m for m in missing if m not in unsupported], facts,
                                                      subject, tags, evidence))

    async def _load(self, session, url: str, timeout_s: float) -> int | None:
        """goto within part of the check's time, so that a load that never ends can be told apart:
        a main thread stuck in a script, or a connection closed mid-response."""
        budget = max(1.0, min(timeout_s * LOAD_SHARE, timeout_s - LOAD_RESERVE_S))
        try:
            return await session.goto(url, budget)
        except StepFailed as exc:
            raise StepFailed(await diagnose_load(session, url, str(exc), budget, self.ctx.access)) from None

    async def timing_load(self, task: PageTask, state: BrowserState | None = None) -> list[Measurement]:
        """One more load of a page for its timings only (no screenshot, DOM or compatibility checks).

        A load that ends on another page than it asked for (state that did not apply, a redirect)
        measured that other page: ValueError, the sample is not kept."""
        device = self.devices[task.profile.device]
        tags = {"page": task.page.name, **profile_tags(task.profile.engine, device)}
        url = self.ctx.config.url(task.page.path)
        session = await self._session(task.profile.engine, device, state)
        try:
            await session.goto(url, self.settings.timeout_s)
            await session.settle(self.settings.settle_ms)
            facts = await session.facts()
            final_url = await session.current_url()
        finally:
            await session.close()
        if not same_page(final_url, url):
            raise ValueError(f"the load ended on {final_url} instead of {url}")
        return timing_measurements(facts, f"{task.page.name}|{task.profile.engine}|{device.name}", tags)[0]

    def _keep_dom(self, page: str, engine: str, dom: str, tags: dict[str, str], subject: str) -> Artifact:
        path = self.ctx.evidence_dir("dom", safe_filename(page)) / f"{engine}-desktop.html"
        path.write_text(self.ctx.secrets.redact(dom[:MAX_DOM_CHARS]), encoding="utf-8")
        return Artifact(stage=STAGE, subject=subject, tags=tags, role="rendered-dom", path=self.ctx.relative(path),
                        media_type="text/html")

    # --------------------------------------------------------------- journeys
    def _shot_path(self, journey: str, engine: str, device: str):
        folder = self.ctx.evidence_dir("screens", "journeys", safe_filename(journey))
        return lambda name: folder / f"{engine}-{device}-{safe_filename(name)}.png"

    async def journey(self, task: JourneyTask, first_failure: FirstFailure | None = None) -> Attempt:
        journey, engine = task.journey, task.profile.engine
        device = self.devices[task.profile.device]
        tags = {"journey": journey.name, **profile_tags(engine, device)}
        subject = f"{journey.name}|{engine}|{device.name}"
        result = Attempt(tags=tags, subject=subject, form_factor=device.form_factor)
        shot_path = self._shot_path(journey.name, engine, device.name)
        recording = self.traces.recording(engine, subject, "journeys", journey.name, device.name)
        session = await self._session(engine, device, None, recording)
        return await self._traced(session, recording, result,
                                  self._run_journey(session, result, task, first_failure, shot_path))

    async def _run_journey(self, session, result: Attempt, task: JourneyTask, first_failure: FirstFailure | None,
                           shot_path) -> None:
        journey, tags, subject = task.journey, result.tags, result.subject
        if journey.python:
            function = load_python_journey(journey.python, config_dir(self.ctx.config))
            outcome = await run_python(session, function, base_url=self.base_url, secrets=self.ctx.secrets,
                                       screenshot_path=shot_path)
        else:
            outcome = await run_steps(session, journey, base_url=self.base_url, secrets=self.ctx.secrets,
                                      default_timeout_s=self.settings.step_timeout_s, screenshot_path=shot_path,
                                      first_failure=first_failure)
        if outcome.passed and task.saves_state:
            result.state = await session.capture_state()
        if outcome.passed:
            outcome.page_errors = await session.page_errors()
        result.emulation = list(session.emulation_limits)
        if getattr(session, "inp_supported", True) is False:
            result.unsupported["inp_ms"] = f"{task.profile.engine}: no Event Timing interactions (INP)"

        for step in outcome.steps:
            step_tags = {**tags, "step": f"{step.index}. {step.label}"}
            result.records.append(Measurement(stage=STAGE, subject=f"{subject}#{step.index}", tags=step_tags,
                                              metric="step_ms", unit="ms", samples=[round(step.ms, 1)],
                                              data={"started": round(step.started, 3)} if step.started else {}))
            if step.inp_ms is not None:
                result.records.append(Measurement(stage=STAGE, subject=f"{subject}#{step.index}", tags=step_tags,
                                                  metric="inp_ms", unit="ms", samples=[round(step.inp_ms, 1)]))
        for mark, ms in outcome.marks.items():
            result.records.append(Measurement(stage=STAGE, subject=f"{subject}@{mark}", tags={**tags, "step": mark},
                                              metric="mark_ms", unit="ms", samples=[round(ms, 1)]))
        for name, path in outcome.screenshots:
            result.records.append(Artifact(stage=STAGE, subject=subject, tags={**tags, "step": name},
                                           role="screenshot", path=self.ctx.relative(path), media_type="image/png"))
        if outcome.passed:
            result.records.append(Measurement(stage=STAGE, subject=subject, tags=tags, metric="journey_ms",
                                              unit="ms", samples=[round(outcome.total_ms, 1)]))
            if (inp := journey_inp([step.inp_ms for step in outcome.steps])) is not None:
                result.records.append(Measurement(stage=STAGE, subject=subject, tags=tags, metric="inp_ms",
                                                  unit="ms", samples=[round(inp, 1)]))
            message = f"{len(outcome.steps)} step(s) passed in {outcome.total_ms / 1000:.1f} s"
            result.records.append(Finding(stage=STAGE, subject=subject, tags=tags, check="journey",
                                          status="pass", message=message, severity="critical",
                                          data={"steps": len(outcome.steps)}))
        else:
            result.ok = False
            result.error = f"step {outcome.failed_step}: {outcome.error}"
            result.first_failure, result.repeated = first_failure_of(outcome), outcome.repeated
            evidence = [self.ctx.relative(outcome.failure_screenshot)] if outcome.failure_screenshot else []
            if outcome.failure_screenshot:
                result.records.append(Artifact(stage=STAGE, subject=subject, tags={**tags, "step": "failed"},
                                               role="screenshot", path=evidence[0], media_type="image/png"))
            result.records.append(journey_failure(outcome, subject, tags, evidence))
        result.records.extend(uncaught_findings(outcome.page_errors, subject, tags))
