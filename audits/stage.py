"""The audits stage: Lighthouse CI per page x preset, lhci assertions, and the page audits.

The stage contract (siteward.stage): `plan(config, AuditOptions)` -> AuditPlan, `run(ctx, plan)`.
Pages with `journey_state` are audited with that journey's cookies: from the browsers
stage's "storage-state" artifact of this run when there is one, else by replaying the
journey here with the spine's journey interpreter (audits/state.py).
"""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from audits import lhci
from audits.lighthouse import LighthouseJob, run_job
from audits.page_audits import run_page_audits
from audits.state import JourneyStateError, browsers_artifacts, extra_headers_for, record_journey_state
from audits.tools import NodeTools, find_node_tools
from siteward import processes
from siteward.browser_state import BrowserState
from siteward.errors import ConfigError, UsageError
from siteward.journeys import secret_problem
from siteward.records import Finding
from siteward.schema import PageConfig
from siteward.shards import Shard
from siteward.stage import CoreConfig, StageContext
from siteward.target import require_target

NAME = "audits"
STATE_MARGIN_S = 60.0  # a state's cookies must outlive the Lighthouse job that uses them by this much
PRESETS = ("mobile", "desktop")


@dataclass(frozen=True)
class AuditOptions:
    """`siteward audit` flags; empty = what the config says."""

    presets: tuple[str, ...] = ()
    runs: int | None = None
    pages: tuple[str, ...] = ()
    lighthouserc: str | None = None
    shard: Shard | None = None  # `siteward run --shard i/n`: this share of the audits only


Options = AuditOptions


@dataclass(frozen=True)
class AuditPlan:
    pages: list[PageConfig]
    presets: list[str]
    runs: int
    lighthouserc: Path | None
    shard: Shard | None = None
    shard_keys: frozenset[str] | None = None  # the audits of this shard; None: all

    def all_keys(self, config: CoreConfig) -> list[str]:
        """Every audit of the plan: Lighthouse page x preset, the page audits, the site's TLS audit."""
        keys = [f"lighthouse:{p.name}|{preset}" for p in self.pages for preset in self.presets] \
            if config.audits.lighthouse else []
        if config.audits.page_audits:
            keys += [f"page-audit:{p.name}" for p in self.pages] + ["site:tls"]
        return keys

    def takes(self, key: str) -> bool:
        return self.shard_keys is None or key in self.shard_keys


def plan(config: CoreConfig, options: AuditOptions) -> AuditPlan:
    """Pages, presets, runs and the lighthouserc, checked (exit 2) before anything runs."""
    audit_plan = AuditPlan(
        pages=selected_pages(config, list(options.pages)),
        presets=selected_presets(config, list(options.presets)),
        runs=run_count(config, options.runs),
        lighthouserc=lighthouserc_path(config, options.lighthouserc),
        shard=options.shard,
    )
    if options.shard is not None:
        return replace(audit_plan, shard_keys=options.shard.take(audit_plan.all_keys(config)))
    return audit_plan


def selected_pages(config: CoreConfig, names: list[str] | None) -> list[PageConfig]:
    if not names:
        return list(config.pages)
    known = {p.name: p for p in config.pages}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown page {', '.join(map(repr, unknown))}; configured pages: {', '.join(known) or 'none'}")
    return [known[n] for n in dict.fromkeys(names)]


def selected_presets(config: CoreConfig, presets: list[str] | None) -> list[str]:
    chosen = list(dict.fromkeys(presets or config.audits.presets))
    bad = [p for p in chosen if p not in PRESETS]
    if bad:
        raise UsageError(f"unknown preset {', '.join(map(repr, bad))}; expected mobile or desktop")
    return chosen


def run_count(config: CoreConfig, runs) -> int:
    if runs is None:
        return config.audits.runs
    try:
        value = int(runs)
    except (TypeError, ValueError):
        raise UsageError(f"--runs needs a whole number, got {runs!r}") from None
    if not 1 <= value <= 25:
        raise UsageError(f"--runs must be between 1 and 25, got {value}")
    return value


def lighthouserc_path(config: CoreConfig, option: str | None) -> Path | None:
    """--lighthouserc (relative to the working dir) or [audits] lighthouserc (relative to the config file)."""
    if option:
        path, where = Path(option), "--lighthouserc"
    elif config.audits.lighthouserc:
        path, where = Path(config.audits.lighthouserc), f"{config.source}: audits.lighthouserc"
        if not path.is_absolute() and Path(config.source).is_file():
            path = Path(config.source).parent / path
    else:
        return None
    if not path.is_file():
        raise ConfigError(f"{where}: file not found: {path}")
    return path


class JourneyStates:
    """Each journey's browser state for the pages that need it, fresh when asked for.

    The browsers stage's "storage-state" artifact of this run is used while it is fresh
    (Chromium's first); otherwise the journey is replayed here into `state_dir` (a temp dir:
    the state holds a live session cookie, not evidence), and again once that goes stale.
    """

    def __init__(self, ctx: StageContext, state_dir: Path):
        self.ctx = ctx
        self.state_dir = state_dir
        self.recorded = recorded_states(ctx)
        self.replayed: dict[str, Path] = {}
        self.failed: dict[str, str] = {}
        self.said: set[tuple[str, str]] = set()
        self.lock = threading.Lock()

    def _stale(self, path: Path) -> str | None:
        return BrowserState.read(path).staleness(max_age_s=self.ctx.config.browsers.state_max_age_s,
                                                 margin_s=STATE_MARGIN_S)

    def path_for(self, journey: str) -> Path:
        """A fresh state file of `journey`, or JourneyStateError saying why there is none."""
        with self.lock:  # Lighthouse jobs may run in parallel threads
            return self._path_for(journey)

    def _path_for(self, journey: str) -> Path:
        if journey in self.failed:
            raise JourneyStateError(self.failed[journey])
        for source, path in (("browsers-stage", self.recorded.get(journey)), ("replay", self.replayed.get(journey))):
            if path is not None and self._stale(path) is None:
                self._say(journey, source)
                return path
        config = next(j for j in self.ctx.config.journeys if j.name == journey)
        problem = secret_problem(config, self.ctx.secrets)
        if problem:
            self.failed[journey] = f"journey {journey!r} cannot run: {problem}"
            raise JourneyStateError(self.failed[journey])
        try:
            path = record_journey_state(
                config, base_url=self.ctx.config.target.base_url,
                out_path=self.state_dir / f"{journey}-{len(self.replayed)}.json", secrets=self.ctx.secrets,
                chrome_path=self.ctx.config.audits.chrome_path, timeout_s=self.ctx.config.browsers.timeout_s,
                context_options=self.ctx.access.browser_context_options())
        except JourneyStateError as exc:
            self.failed[journey] = str(exc)
            raise
        self.replayed[journey] = path
        self._say(journey, "replay")
        return path

    def _say(self, journey: str, source: str) -> None:
        if (journey, source) in self.said:
            return
        self.said.add((journey, source))
        how = "from the browsers stage" if source == "browsers-stage" else \
            "replayed in Chromium (no fresh browsers-stage state in this run)"
        self.ctx.emit(Finding(stage="audits", subject=f"{journey}|journey-state", check="journey-state",
                              status="pass", severity="info", message=f"browser state of journey {journey!r} {how}",
                              tags={"journey": journey}, data={"source": source}))


def page_states(states: JourneyStates, pages: list[PageConfig]) -> tuple[dict[str, Path], dict[str, str]]:
    """State file per page that needs one; and per page why it could not get one."""
    found: dict[str, Path] = {}
    failures: dict[str, str] = {}
    for page in pages:
        if page.journey_state:
            try:
                found[page.name] = states.path_for(page.journey_state)
            except JourneyStateError as exc:
                failures[page.name] = str(exc)
    return found, failures


def recorded_states(ctx: StageContext) -> dict[str, Path]:
    """Journey name -> the state file the browsers stage recorded in this run: Chromium's, the latest."""
    return {journey: ctx.run_dir / a.path for journey, a in browsers_artifacts(ctx, "storage-state", "journey").items()}


def run(ctx: StageContext, plan: AuditPlan) -> None:
    cfg = ctx.config.audits
    tools = find_node_tools(cfg.chrome_path) if cfg.lighthouse else None
    require_target(ctx.config.target.base_url, timeout_s=cfg.http_timeout_s, access=ctx.access)

    if plan.shard_keys is not None:
        total = len(plan.all_keys(ctx.config))
        ctx.emit(Finding(stage="audits", subject=f"shard {plan.shard}", check="shard", status="pass", severity="info",
                         data={"shard": str(plan.shard), "checks": len(plan.shard_keys), "of": total},
                         message=f"shard {plan.shard}: {len(plan.shard_keys)} of {total} audits"))
    state_dir = processes.temp_dir("state")
    try:
        _run_checks(ctx, plan, tools, state_dir)
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def _run_checks(ctx: StageContext, plan: AuditPlan, tools: NodeTools | None, state_dir: Path) -> None:
    config, cfg = ctx.config, ctx.config.audits
    runs, rc_path = plan.runs, plan.lighthouserc
    jobs = [LighthouseJob(page=p.name, url=config.url(p.path), preset=preset, runs=runs)
            for p in plan.pages for preset in plan.presets if plan.takes(f"lighthouse:{p.name}|{preset}")]
    audited = [p for p in plan.pages if cfg.page_audits and plan.takes(f"page-audit:{p.name}")]
    pages = [p for p in plan.pages if p in audited or any(job.page == p.name for job in jobs)]
    states = JourneyStates(ctx, state_dir)
    found, failures = page_states(states, pages)
    for page_name, why in failures.items():
        page = config.page(page_name)
        ctx.emit(Finding(stage="audits", subject=f"{page_name}|journey-state", check="journey-state", status="error",
                         message=f"cannot prepare {page.journey_state!r} state for page {page_name}: {why}",
                         tags={"page": page_name, "journey": page.journey_state or ""}))

    if tools is not None and jobs:
        jobs = [job for job in jobs if job.page not in failures]
        with ctx.progress("Lighthouse", total=len(jobs) * runs) as bar:
            def one(job: LighthouseJob) -> None:
                bar.label(f"{job.page} {job.preset}")
                journey = config.page(job.page).journey_state
                if journey:  # asked right before the job: a state that went stale meanwhile is replayed
                    try:
                        job = replace(job, state=states.path_for(journey))
                    except JourneyStateError as exc:
                        ctx.emit(Finding(stage="audits", subject=job.subject, check="journey-state", status="error",
                                         message=f"cannot prepare {journey!r} state for page {job.page}: {exc}",
                                         tags={**job.tags, "journey": journey}))
                        bar.advance(f"{job.page} {job.preset}", n=job.runs)
                        return
                run_job(ctx, tools, job, rc_path=rc_path, on_run_done=lambda: bar.advance(f"{job.page} {job.preset}"))

            lhci.allow_runs()
            pool = ThreadPoolExecutor(max_workers=cfg.parallel)
            try:
                for future in [pool.submit(one, job) for job in jobs]:
                    future.result()
            except BaseException:  # SIGINT/SIGTERM (or a bug): end running collects, start no other
                lhci.stop_all()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            pool.shutdown(wait=True)

    if audited or (cfg.page_audits and plan.takes("site:tls")):
        with ctx.progress("Page audits", total=len(audited)) as bar:
            headers = {name: extra_headers_for(path, config.url(config.page(name).path)) for name, path in found.items()}
            run_page_audits(ctx, audited, headers_for=headers, states=found, on_page_done=bar.advance,
                            tls=plan.takes("site:tls"))
