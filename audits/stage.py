"""The audits stage: Lighthouse CI per page x preset, lhci assertions, and the page audits.

The stage contract (siteward.stage): `plan(config, AuditOptions)` -> AuditPlan, `run(ctx, plan)`.
Pages with `journey_state` are audited with that journey's cookies: from the browsers
stage's "storage-state" artifact of this run when there is one, else by replaying the
journey here with the spine's journey interpreter (audits/state.py).
"""

from __future__ import annotations

import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from audits.lighthouse import LighthouseJob, run_job
from audits.page_audits import run_page_audits
from audits.state import JourneyStateError, extra_headers_for, record_journey_state
from audits.tools import NodeTools, find_node_tools
from siteward.errors import ConfigError, UsageError
from siteward.records import Artifact, Finding
from siteward.schema import PageConfig
from siteward.stage import CoreConfig, StageContext
from siteward.target import require_target

NAME = "audits"
PRESETS = ("mobile", "desktop")


@dataclass(frozen=True)
class AuditOptions:
    """`siteward audit` flags; empty = what the config says."""

    presets: tuple[str, ...] = ()
    runs: int | None = None
    pages: tuple[str, ...] = ()
    lighthouserc: str | None = None


Options = AuditOptions


@dataclass(frozen=True)
class AuditPlan:
    pages: list[PageConfig]
    presets: list[str]
    runs: int
    lighthouserc: Path | None


def plan(config: CoreConfig, options: AuditOptions) -> AuditPlan:
    """Pages, presets, runs and the lighthouserc, checked (exit 2) before anything runs."""
    return AuditPlan(
        pages=selected_pages(config, list(options.pages)),
        presets=selected_presets(config, list(options.presets)),
        runs=run_count(config, options.runs),
        lighthouserc=lighthouserc_path(config, options.lighthouserc),
    )


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


def journey_headers(ctx: StageContext, pages: list[PageConfig], state_dir: Path) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Cookie headers per page that needs a journey's state; and per page why it could not get one.

    The browsers stage's "storage-state" artifact of this run is used when there is one; else
    the journey is replayed here into `state_dir` (a temp dir: the state holds a live session
    cookie, not evidence).
    """
    recorded = recorded_states(ctx)
    headers: dict[str, dict[str, str]] = {}
    failures: dict[str, str] = {}
    states: dict[str, Path | str] = {}
    for page in pages:
        journey = page.journey_state
        if not journey:
            continue
        if journey not in states:
            if journey in recorded:
                states[journey], source, how = recorded[journey], "browsers-stage", "from the browsers stage"
            else:
                config = next(j for j in ctx.config.journeys if j.name == journey)
                source, how = "replay", "replayed in Chromium (no browsers-stage state in this run)"
                try:
                    states[journey] = record_journey_state(
                        config, base_url=ctx.config.target.base_url, out_path=state_dir / f"{journey}.json",
                        secrets=ctx.secrets, chrome_path=ctx.config.audits.chrome_path,
                        timeout_s=ctx.config.browsers.timeout_s)
                except JourneyStateError as exc:
                    states[journey] = str(exc)
            if not isinstance(states[journey], str):
                ctx.emit(Finding(stage="audits", subject=f"{journey}|journey-state", check="journey-state",
                                 status="pass", severity="info", message=f"browser state of journey {journey!r} {how}",
                                 tags={"journey": journey}, data={"source": source}))
        state = states[journey]
        if isinstance(state, str):
            failures[page.name] = state
        else:
            headers[page.name] = extra_headers_for(state, ctx.config.url(page.path))
    return headers, failures


def recorded_states(ctx: StageContext) -> dict[str, Path]:
    """Journey name -> storage-state file the browsers stage recorded in this run (the latest wins)."""
    states: dict[str, Path] = {}
    for record in ctx.records(kind="artifact", stage="browsers"):
        if isinstance(record, Artifact) and record.role == "storage-state" and record.tags.get("journey"):
            path = ctx.run_dir / record.path
            if path.is_file():
                states[record.tags["journey"]] = path
    return states


def run(ctx: StageContext, plan: AuditPlan) -> None:
    cfg = ctx.config.audits
    tools = find_node_tools(cfg.chrome_path) if cfg.lighthouse else None
    require_target(ctx.config.target.base_url, timeout_s=cfg.http_timeout_s)

    state_dir = Path(tempfile.mkdtemp(prefix="siteward-state-"))
    try:
        _run_checks(ctx, plan.pages, plan.presets, plan.runs, plan.lighthouserc, tools, state_dir)
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def _run_checks(ctx: StageContext, pages: list[PageConfig], presets: list[str], runs: int,
                rc_path: Path | None, tools: NodeTools | None, state_dir: Path) -> None:
    config, cfg = ctx.config, ctx.config.audits
    headers, failures = journey_headers(ctx, pages, state_dir)
    for page_name, why in failures.items():
        page = config.page(page_name)
        ctx.emit(Finding(stage="audits", subject=f"{page_name}|journey-state", check="journey-state", status="error",
                         message=f"cannot prepare {page.journey_state!r} state for page {page_name}: {why}",
                         tags={"page": page_name, "journey": page.journey_state or ""}))

    if tools is not None:
        jobs = [LighthouseJob(page=p.name, url=config.url(p.path), preset=preset, runs=runs,
                              extra_headers=headers.get(p.name) or None)
                for p in pages if p.name not in failures for preset in presets]
        with ctx.progress("Lighthouse", total=len(jobs) * runs) as bar:
            def one(job: LighthouseJob) -> None:
                bar.label(f"{job.page} {job.preset}")
                run_job(ctx, tools, job, rc_path=rc_path, on_run_done=lambda: bar.advance(f"{job.page} {job.preset}"))

            with ThreadPoolExecutor(max_workers=cfg.parallel) as pool:
                list(pool.map(one, jobs))

    if cfg.page_audits:
        with ctx.progress("Page audits", total=len(pages)) as bar:
            run_page_audits(ctx, pages, headers_for=headers, on_page_done=bar.advance)
