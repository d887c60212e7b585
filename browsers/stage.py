"""The browsers stage: journeys and page checks on every engine x device, in parallel.

The stage contract (siteward.stage): `plan(config, Options)` -> SweepPlan, `run(ctx, plan)`.
Order of work: start the engines (a missing one becomes error records, all missing
raises ToolMissing); then every journey and page check with bounded concurrency, a
per-check timeout and retries (a retry that meets the same failure again stops them);
then the timing profiles' extra page loads (browsers/samples.py).
A page that needs a journey's browser state gets it fresh on its own engine
(browsers/state.py; each recording is a "storage-state" Artifact the audits stage reads
from the store). Records of a check are emitted when its last attempt ends, so the
history never holds half an attempt.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import async_playwright

from browsers.checks import STAGE
from browsers.devices import DeviceProfile, resolve_device
from browsers.execute import ENGINE_LIMITED_CHECKS, Attempt, Executor, profile_tags
from browsers.plan import (
    JourneyTask, PageTask, Profile, SweepOptions, SweepPlan, auto_concurrency, build_plan, interleave,
    journey_profiles,
)
from browsers.playwright_driver import INSTALL_HINTS, PlaywrightEngine
from browsers.pool import LOCAL, EnginePool, Host, Member, lost_host_findings, remote_members, track_served
from browsers.samples import TimingSamples
from browsers.state import StateKeeper, StateUnavailable
from browsers.visual import compare_with_baseline
from browsers.vitals import install_script as vitals_script
from browsers.webkit_driver import INSTALL_HINT as WEBKIT_HINT, WebKitEngine
from siteward.errors import ToolMissing, UsageError
from siteward.journeys import FirstFailure, config_dir, load_python_journey, secret_problem
from siteward.records import Finding
from siteward.stage import StageContext, run_async
from siteward.target import require_target

NAME = STAGE
Options = SweepOptions
ENGINE_HINTS = {**INSTALL_HINTS, "webkit": WEBKIT_HINT}


def plan(config, options: SweepOptions) -> SweepPlan:
    """What the sweep will check; bad names and a bad Python journey are exit 2 before any browser."""
    sweep = build_plan(config, options)
    if not sweep.pages and not sweep.journeys:
        raise UsageError("the browsers stage has nothing to check: no [[pages]] or [[journeys]] selected "
                         "(add some, or leave \"browsers\" out of `stages` / use --stage)")
    for journey in sweep.journeys:
        if journey.python:
            load_python_journey(journey.python, config_dir(config))
    return sweep


def run(ctx: StageContext, plan: SweepPlan) -> None:
    require_target(ctx.config.target.base_url, access=ctx.access)
    vitals_script()  # web-vitals missing from node_modules: ToolMissing (exit 3) before any browser
    if plan.shard_keys is not None:
        total = len(plan.all_tasks())
        ctx.emit(Finding(stage=STAGE, subject=f"shard {plan.shard}", check="shard", status="pass", severity="info",
                         data={"shard": str(plan.shard), "checks": len(plan.shard_keys), "of": total},
                         message=f"shard {plan.shard}: {len(plan.shard_keys)} of {total} browser checks"))
        if not plan.shard_keys:
            return
    run_async(Sweep(ctx, plan).run(), run=_run_interruptible)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _run_interruptible(coroutine) -> None:
    """asyncio.run where SIGINT/SIGTERM cancel the sweep, then reach the handler installed before.

    A Python signal handler that raises (siteward.runner's Interrupted) would raise inside
    whatever task runs at that moment, e.g. Playwright's connection reader, and the sweep
    would wait forever for answers that never come. Cancelling the main task instead lets
    every check end, closes the browsers, and keeps the records already emitted.
    """
    if threading.current_thread() is not threading.main_thread():
        asyncio.run(coroutine)
        return
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    received: list[int] = []

    async def main() -> None:
        loop, task = asyncio.get_running_loop(), asyncio.current_task()

        def on_signal(signum: int) -> None:
            received.append(signum)
            task.cancel()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, on_signal, sig)
        await coroutine

    try:
        asyncio.run(main())
    except asyncio.CancelledError:
        if not received:
            raise
    finally:
        for sig, handler in previous.items():  # remove_signal_handler restores SIG_DFL, not these
            signal.signal(sig, handler)
    if received:
        handler = previous[received[0]]
        if callable(handler):
            handler(received[0], None)  # e.g. raises siteward.runner.Interrupted
        raise KeyboardInterrupt(signal.Signals(received[0]).name)


def _describe_error(exc: BaseException, engine: Any) -> str:
    text = str(exc).strip().split("\nCall log:")[0].strip() or type(exc).__name__
    text = text.splitlines()[0][:300]
    if hasattr(engine, "connected") and not engine.connected():
        text += " (the browser crashed or was killed; it is restarted for the next check)"
    return text


@dataclass
class Sweep:
    ctx: StageContext
    plan: SweepPlan
    engines: dict[str, Any] = field(default_factory=dict)
    devices: dict[str, DeviceProfile] = field(default_factory=dict)
    said_once: set[tuple[str, ...]] = field(default_factory=set)
    emulation: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    slots: int = 1  # checks at once: this machine's concurrency plus the remote endpoints' slots
    retired: int = 0  # slots of lost remote hosts taken out of the semaphore
    retiring: list = field(default_factory=list)  # the acquisitions that take them

    def __post_init__(self) -> None:
        self.samples = TimingSamples(self.ctx, self.plan)

    @property
    def settings(self):
        return self.ctx.config.browsers

    async def run(self) -> None:
        async with async_playwright() as playwright:
            self.devices = {name: resolve_device(name, playwright.devices)
                            for name in dict.fromkeys([*self.plan.devices, "desktop"])}
            try:
                await self.start_engines(playwright)
                await self.sweep()
            finally:
                self.emit_restarts()
                await asyncio.gather(*(e.close() for e in self.engines.values()), return_exceptions=True)

    def emit_restarts(self) -> None:
        for finding in lost_host_findings(self.engines.values()):
            self.ctx.emit(finding)
        for name, engine in self.engines.items():
            if engine.restarts:
                self.ctx.emit(Finding(
                    stage=STAGE, subject=name, tags={"engine": name}, check="browser-restart", status="warn",
                    severity="minor", data={"restarts": engine.restarts},
                    message=f"{name} crashed or was killed and was restarted {engine.restarts} time(s);"
                            " the checks it broke were retried"))

    # ------------------------------------------------------------- engines
    async def start_engines(self, playwright) -> None:
        wanted = [e for e in self.plan.engines
                  if self.plan.shard_keys is None or any(t.profile.engine == e and self.plan.in_shard(t)
                                                         for t in self.plan.all_tasks())]
        access = self.ctx.access
        local = Host(LOCAL, auto_concurrency(self.settings.concurrency))
        remote = remote_members(playwright, self.settings.remote, access, self.settings.timeout_s)

        async def start(name: str):
            engine = WebKitEngine(page_timeout_s=self.settings.timeout_s, access=access) \
                if name == "webkit" else PlaywrightEngine(playwright, name, context_options=access.browser_context_options())
            pool = EnginePool(name, [Member(engine, local), *remote.get(name, [])])
            return name, pool, await pool.start()

        results = await asyncio.gather(*(start(n) for n in wanted), return_exceptions=True)
        self.slots = local.slots + sum(m.host.slots for pool in results if not isinstance(pool, BaseException)
                                       for m in pool[1].alive() if m.remote)
        for name, result in zip(wanted, results):
            if isinstance(result, BaseException):
                message = str(result).strip().splitlines()[0] if str(result).strip() else type(result).__name__
                self.ctx.emit(Finding(
                    stage=STAGE, subject=name, tags={"engine": name}, check="engine", status="error",
                    severity="critical", message=f"{name} cannot run: {message} (install: {ENGINE_HINTS[name]})",
                ))
                continue
            self.engines[name] = result[1]
        if not self.engines:
            hints = "; ".join(f"{e}: {ENGINE_HINTS[e]}" for e in self.plan.engines)
            raise ToolMissing(f"no browser engine could start ({', '.join(self.plan.engines)})",
                              hint=f"install with apt-get ({hints})")

    # --------------------------------------------------------------- tasks
    def _journey_tasks(self) -> list[JourneyTask]:
        tasks = []
        for journey in self.plan.journeys:
            problem = secret_problem(journey, self.ctx.secrets)
            if problem:
                self.ctx.emit(Finding(stage=STAGE, subject=journey.name, tags={"journey": journey.name},
                                      check="journey", status="skip", severity="info",
                                      message=f"not run: {problem}"))
                continue
            tasks += [JourneyTask(journey, p) for p in journey_profiles(journey, self.plan) if p.engine in self.engines]
        return [task for task in tasks if self.plan.in_shard(task)]

    def _page_tasks(self) -> list[PageTask]:
        return [task for page in self.plan.pages for profile in self.plan.profiles
                if profile.engine in self.engines and self.plan.in_shard(task := PageTask(page, profile))]

    async def sweep(self) -> None:
        tasks = interleave([*self._journey_tasks(), *self._page_tasks()])
        executor = Executor(self.ctx, self.engines, self.devices)
        self.keeper = StateKeeper(self.ctx, self.engines, lambda task: self.final_attempt(executor, task))
        semaphore = asyncio.Semaphore(self.slots)
        try:
            with self.ctx.progress("browsers", len(tasks)) as bar:
                async def run(task) -> None:
                    async with semaphore:
                        await self.run_with_retries(executor, task)
                    self.retire_lost_slots(semaphore)
                    bar.advance(task.label)

                await asyncio.gather(*(run(t) for t in tasks))
            await self.sample(executor, semaphore)
        finally:
            self.samples.flush()  # what was measured is kept, interrupted or not
        self.emit_emulation()

    def retire_lost_slots(self, semaphore: asyncio.Semaphore) -> None:
        """A lost remote host's slots stop counting: their permits are taken for good, so this
        machine is not handed the lost host's share of parallel checks on top of its own."""
        lost = sum(m.host.slots for pool in self.engines.values() for m in pool.members if m.lost and m.remote)
        for _ in range(lost - self.retired):
            self.retiring.append(asyncio.ensure_future(semaphore.acquire()))
        self.retired = max(self.retired, lost)

    async def sample(self, executor: Executor, semaphore: asyncio.Semaphore) -> None:
        """The timing profiles' extra loads (browsers/samples.py), bounded like the checks."""
        loads = self.samples.rounds()
        if not loads:
            return
        with self.ctx.progress("timing samples", len(loads)) as bar:
            async def load(task: PageTask) -> None:
                async with semaphore:
                    try:
                        state = (await self.keeper.state_for(task.page.journey_state, task.profile.engine)
                                 if task.page.journey_state else None)
                        measured = await asyncio.wait_for(executor.timing_load(task, state),
                                                          timeout=self.settings.timeout_s)
                        self.samples.add(task, measured)
                    except asyncio.TimeoutError:
                        self.samples.failed(task, f"timed out after {self.settings.timeout_s:g} s")
                    except Exception as exc:  # noqa: BLE001 - a lost sample never sinks the sweep
                        self.samples.failed(task, _describe_error(exc, self.engines[task.profile.engine]))
                bar.advance(task.label)

            await asyncio.gather(*(load(t) for t in loads))

    # ----------------------------------------------------- attempts, retry
    def _error_attempt(self, task, message: str) -> Attempt:
        device = self.devices[task.profile.device]
        name = task.page.name if isinstance(task, PageTask) else task.journey.name
        key = "page" if isinstance(task, PageTask) else "journey"
        tags = {key: name, **profile_tags(task.profile.engine, device)}
        subject = f"{name}|{task.profile.engine}|{device.name}"
        check = "page-load" if isinstance(task, PageTask) else "journey"
        finding = Finding(stage=STAGE, subject=subject, tags=tags, check=check, status="error",
                          severity="critical", message=message)
        return Attempt(records=[finding], ok=False, error=message, tags=tags, subject=subject,
                       form_factor=device.form_factor, page=name if key == "page" else None)

    async def attempt(self, executor: Executor, task, first_failure: FirstFailure | None = None) -> Attempt:
        engine = self.engines[task.profile.engine]
        if isinstance(task, JourneyTask) and task.journey.python and task.profile.engine == "webkit":
            result = self._error_attempt(task, "")
            result.records = [Finding(
                stage=STAGE, subject=result.subject, tags=result.tags, check="journey", status="skip",
                severity="info", message="Python journeys drive a Playwright page; WebKit runs through WebDriver",
            )]
            result.ok, result.error = True, None
            return result
        state = None
        if isinstance(task, PageTask) and task.page.journey_state:  # outside the check's timeout: its journey has its own
            try:
                state = await self.keeper.state_for(task.page.journey_state, task.profile.engine)
            except StateUnavailable as exc:
                return self._blocked(task, str(exc))
        for _ in range(len(engine.members)):  # a check that broke on a lost remote host runs again elsewhere
            served = track_served()
            call = executor.page(task, state) if isinstance(task, PageTask) else executor.journey(task, first_failure)
            try:
                result = await asyncio.wait_for(call, timeout=self.settings.timeout_s)
            except asyncio.TimeoutError:
                result = self._error_attempt(task, f"timed out after {self.settings.timeout_s:g} s")
            except Exception as exc:  # noqa: BLE001 - one broken check never sinks the sweep
                result = self._error_attempt(task, _describe_error(exc, engine))
            result.add_traces(executor.claim(result.subject))  # of an attempt that raised
            member = served.get("member")
            if result.ok or not await engine.lost_during(member, task.label):
                result.where = member.tags() if member and len(engine.members) > 1 else {}
                return result
        return result

    def _blocked(self, task: PageTask, why: str) -> Attempt:
        """A page whose state could not be recorded is not checked: one error, nothing to retry."""
        result = self._error_attempt(task, f"page {task.page.name!r} needs the browser state of journey "
                                           f"{task.page.journey_state!r}, which is not available: {why}; the page was not checked")
        result.records = [r.model_copy(update={"check": "journey-state"}) for r in result.records]
        result.ok = True
        return result

    async def attempts(self, executor: Executor, task) -> list[Attempt]:
        """The first attempt and its retries; a retry that meets the same failure again stops them."""
        attempts = [await self.attempt(executor, task)]
        while not attempts[-1].ok and len(attempts) <= self.settings.retries and not attempts[-1].repeated:
            attempts.append(await self.attempt(executor, task, attempts[-1].first_failure))
        return attempts

    async def final_attempt(self, executor: Executor, task) -> Attempt:
        return (await self.attempts(executor, task))[-1]

    async def run_with_retries(self, executor: Executor, task) -> Attempt:
        attempts = await self.attempts(executor, task)
        self.finish(task, attempts[-1], attempts)
        return attempts[-1]

    # ---------------------------------------------------------------- emit
    def finish(self, task, final: Attempt, attempts: list[Attempt]) -> None:
        flaky = final.ok and len(attempts) > 1
        first_error = attempts[0].error
        earlier = [a for attempt in attempts[:-1] for a in attempt.traces]  # the failed attempts' traces
        records = []
        for record in [*final.records, *earlier]:
            if isinstance(record, Finding) and record.check in ("journey", "page-load"):
                record = self._annotate(record, flaky, len(attempts), first_error, [a.path for a in earlier])
            if final.where:
                record = record.model_copy(update={"tags": {**record.tags, **final.where}})
            if record.kind == "measurement" and final.screenshot:
                record = record.model_copy(update={"evidence": [self.ctx.relative(final.screenshot)]})
            records.append(record)
        for record in self.samples.hold(task, records):
            self.ctx.emit(record)
        if flaky and isinstance(task, PageTask):
            self.ctx.emit(Finding(stage=STAGE, subject=final.subject, tags=final.tags, check="flaky", status="warn",
                                  message=f"passed on retry; first attempt: {first_error}",
                                  evidence=[a.path for a in earlier],
                                  data={"flaky": True, "attempts": len(attempts), "first_error": first_error}))
        self.say_once(task.profile, final)
        if isinstance(task, PageTask) and final.screenshot:
            key = f"visual:{task.page.name}|{task.profile.engine}|{task.profile.device}"
            try:
                compare_with_baseline(self.ctx, key, final.screenshot, dict(final.tags))
            except Exception as exc:  # noqa: BLE001 - one broken comparison never sinks the sweep
                self.ctx.emit(Finding(stage=STAGE, subject=key.removeprefix("visual:"), tags=final.tags,
                                      check="visual-diff", status="error", message=f"visual diff crashed: {exc}"))

    @staticmethod
    def _annotate(record: Finding, flaky: bool, attempts: int, first_error: str | None,
                  traces: list[str]) -> Finding:
        data = {**record.data, "attempts": attempts}
        if flaky:  # the failed attempt's trace is the evidence of a flaky check
            return record.model_copy(update={
                "status": "warn", "message": f"{record.message} (flaky: passed on retry; first attempt: {first_error})",
                "data": {**data, "flaky": True}, "evidence": [*record.evidence, *traces],
            })
        if attempts > 1:
            return record.model_copy(update={"message": f"{record.message} (failed on all {attempts} attempts)",
                                             "data": {**data, "flaky": False}})
        return record.model_copy(update={"data": data})

    def say_once(self, profile: Profile, final: Attempt) -> None:
        """Engine limits are facts about the engine: one record each, not one per page."""
        gaps = self.emulation.setdefault((profile.engine, profile.device), [])
        gaps.extend(g for g in final.emulation if g not in gaps)
        for what, reason in final.unsupported.items():
            if ("support", profile.engine, what) in self.said_once:
                continue
            self.said_once.add(("support", profile.engine, what))
            kind = "check" if what in ENGINE_LIMITED_CHECKS else "metric"
            verb = "checked" if kind == "check" else "measured"
            self.ctx.emit(Finding(
                stage=STAGE, subject=profile.engine, tags={"engine": profile.engine, kind: what},
                check="engine-support", status="skip", severity="info",
                message=f"{what} not {verb} on {reason}", data={kind: what},
            ))

    def emit_emulation(self) -> None:
        """One warning per engine x device naming what was asked for and not emulated."""
        for (engine, device_name), gaps in self.emulation.items():
            if not gaps:
                continue
            device = self.devices[device_name]
            self.ctx.emit(Finding(
                stage=STAGE, subject=f"{engine}|{device_name}", tags=profile_tags(engine, device),
                check="emulation", status="warn", severity="minor",
                message=f"{engine} cannot fully emulate {device_name}: {'; '.join(gaps)}",
                data={"not_emulated": gaps},
            ))
