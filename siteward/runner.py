"""Run orchestration (the roof): config -> plan every stage -> run them -> records -> reports -> exit code.

Every requested stage is planned before the run directory exists (bad usage is exit 2
before a single request). Each stage then runs in turn; a stage that breaks becomes an
error record and the next stage still runs. SIGINT/SIGTERM stop the stages, and the
report is still rendered from everything measured so far.
"""

from __future__ import annotations

import signal
import traceback
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from audits import stage as audits_stage
from browsers import stage as browsers_stage
from loadtests import ingest as load_ingest
from loadtests import stage as loadtests_stage
from reports import Limits, render_run, screen_run
from reports.analysis import regressions_config
from reports.live import compare_paired, is_look, undecided
from reports.regressions import Settings, is_confirmation
from siteward.config import SitewardConfig
from siteward.errors import CannotMeasure, SitewardError, TargetUnreachable, UsageError
from siteward import under_load
from siteward.identity import detect_identity
from siteward.records import Finding
from siteward.secrets import REFERENCE, Secrets
from siteward.shards import Shard, shard_group
from siteward.stage import StageContext, StageModule
from siteward.store import Store, new_run_id
from siteward.target import require_target
from siteward.tools import tool_versions

# The static registry: every stage by name, in the order `siteward run` runs them.
STAGES: dict[str, StageModule] = {
    browsers_stage.NAME: browsers_stage, audits_stage.NAME: audits_stage, loadtests_stage.NAME: loadtests_stage,
}


SHARDED_STAGES = (browsers_stage.NAME, audits_stage.NAME)


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived: stop measuring, keep what was measured."""


@contextmanager
def _interrupts_raise() -> Iterator[None]:
    def handler(signum, _frame):
        raise Interrupted(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@dataclass
class RunRequest:
    config: SitewardConfig
    stages: list[str]
    options: dict[str, Any] = field(default_factory=dict)  # stage name -> that stage's Options
    baseline_id: str | None = None
    quiet: bool = False
    branch: str | None = None  # None: from the CI's environment, else git
    commit: str | None = None
    shard: Shard | None = None  # --shard i/n: this share of the browser and audit checks
    shard_group: str | None = None  # None: from the CI's run id, else the commit


def plan_stages(request: RunRequest) -> dict[str, Any]:
    """Every stage's plan, or UsageError: before the run directory, before a single request to
    the target (a load target off the allow list must never see one)."""
    for stage in request.stages:
        if stage not in STAGES:
            raise UsageError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
    plans = {}
    for name in request.stages:
        options = request.options.get(name) or STAGES[name].Options()
        if request.shard is not None:
            options = replace(options, shard=request.shard)
        plans[name] = STAGES[name].plan(request.config, options)
    return plans


def sharded_stages(request: RunRequest, console: Console) -> RunRequest:
    """A sharded run leaves the load test out: Locust scales out by its own workers."""
    if request.shard is None:
        return request
    unsharded = [s for s in request.stages if s not in SHARDED_STAGES]
    kept = [s for s in request.stages if s in SHARDED_STAGES]
    if not kept:
        raise UsageError(f"--shard splits the {' and '.join(SHARDED_STAGES)} stages; this run has only "
                         f"{', '.join(request.stages)}", hint="run `siteward load` in a job of its own")
    if unsharded:
        console.print(f"siteward: --shard {request.shard}: {', '.join(unsharded)} left out (not sharded: run "
                      f"`siteward load` in a job of its own; `siteward merge` takes its run too)", markup=False)
    return replace(request, stages=kept)


def needed_secrets(config: SitewardConfig, plans: dict[str, Any]) -> dict[str, str]:
    """Secret name -> what needs it, for the work the plans will do (skipped journeys need none)."""
    journeys = {j.name: j for j in config.journeys}
    wanted = [j.name for j in getattr(plans.get("browsers"), "journeys", [])]
    for plan in plans.values():
        wanted += [p.journey_state for p in getattr(plan, "pages", []) if p.journey_state]
    needed: dict[str, str] = {}
    for name in dict.fromkeys(wanted):
        for step in journeys[name].steps:
            for _, ref in step.secret_references():
                needed.setdefault(ref, f"journey {name!r}")
    if "loadtests" in plans:
        for ref in REFERENCE.findall(config.load.model_dump_json(include={"routes"})):
            needed.setdefault(ref, "load.routes")
    if config.target.auth is not None:
        for ref in REFERENCE.findall(config.target.auth.model_dump_json()):
            needed.setdefault(ref, "target.auth")
    return needed


def check_secrets(config: SitewardConfig, plans: dict[str, Any], secrets: Secrets) -> None:
    """Every secret the run will use is set and maskable, else exit 2 before anything runs."""
    problems = []
    for name, user in needed_secrets(config, plans).items():
        try:
            secrets.value(name)
        except SitewardError as exc:
            problems.append(f"{exc.message.removeprefix(config.source + ': ')} (used by {user})")
    if problems:
        raise UsageError(f"{config.source}: " + "; ".join(problems),
                         hint="export the variables, or leave out what uses them (--no-journeys, --stage)")


def execute(request: RunRequest, console: Console) -> int:
    """Run the requested stages into a new run directory and return the exit code."""
    request = sharded_stages(request, console)
    config = request.config
    plans = plan_stages(request)
    secrets = Secrets(config.secrets, source=config.source)
    check_secrets(config, plans, secrets)
    store = Store.for_config(config)
    if request.baseline_id:  # an unknown --baseline is exit 2 now, not after the whole run
        try:
            store.run(request.baseline_id)
        except UsageError as exc:
            raise UsageError(f"--baseline {request.baseline_id}: {exc}") from None
    identity = detect_identity(request.branch, request.commit)
    group = shard_group(request.shard_group, commit=identity.commit) if request.shard else ""
    run_id, run_dir = new_run_dir(config)
    store.create_run(
        run_id=run_id, target=config.target.name or config.target.base_url, fingerprint=config.fingerprint(),
        config=config.snapshot(), stages=request.stages, run_dir=run_dir.resolve(),
        branch=identity.branch, commit=identity.commit, track_stages=True,
        shard=str(request.shard or ""), shard_group=group,
    )
    ctx = StageContext(
        config=config, run_id=run_id, run_dir=run_dir.resolve(), store=store, secrets=secrets,
        console=console, quiet=request.quiet,
    )
    on = f" ({identity.branch or 'unknown branch'}{' @ ' + identity.commit[:12] if identity.commit else ''}" \
         + (f", shard {request.shard} of group {group or '(none)'})" if request.shard else ")")
    console.print(f"siteward: run [bold]{run_id}[/] against {escape(config.target.base_url + on)} -> {run_dir}",
                  soft_wrap=True)
    with _interrupts_raise():
        try:
            store.set_tool_versions(run_id, tool_versions())
            if _run_stages(ctx, plans):
                confirm_regressions(ctx, request)
        except Interrupted as why:
            ctx.emit(Finding(stage="run", subject="run", check="interrupted", status="error",
                             message=f"run interrupted by {why}; the report shows what was measured"))
            console.print(f"[yellow]interrupted by {why}: writing the report of what was measured")
    return finish(store, run_id, console, baseline_id=request.baseline_id)


def _run_stages(ctx: StageContext, plans: dict[str, Any]) -> bool:
    """Run every planned stage; False when the target was unreachable (nothing ran)."""
    if not ctx.config.target.tls_verify:
        ctx.emit(Finding(stage="run", subject="target", check="tls-verify", status="warn", severity="major",
                         message=f"TLS certificate verification is off for {ctx.config.target.base_url} "
                                 "(target.tls_verify = false): a certificate problem of the site would not be seen"))
    try:
        require_target(ctx.config.target.base_url, access=ctx.access)
        unreachable = None
    except TargetUnreachable as exc:
        unreachable = f"{exc.message}; {exc.hint}" if exc.hint else exc.message
    if unreachable:
        ctx.emit(Finding(stage="run", subject="target", check="target-reachable", status="error",
                         message=unreachable, severity="critical"))
        ctx.console.print(f"[red]{unreachable}")
        return False
    journey_under_load = under_load.wanted(ctx, plans)
    for stage, plan in plans.items():
        if stage == loadtests_stage.NAME and journey_under_load:
            under_load.run_load_with_journey(ctx, plans, journey_under_load, run_stage)
        else:
            run_stage(ctx, stage, plan)
    return True


def run_stage(ctx: StageContext, stage: str, plan: Any) -> None:
    """One stage through its contract; a stage that breaks becomes an error record, never the run's end."""
    try:
        STAGES[stage].run(ctx, plan)
    except Interrupted:
        raise
    except (CannotMeasure, SitewardError) as exc:
        if not isinstance(exc, CannotMeasure):
            raise  # bad usage/config discovered by the stage: exit 2, as DESIGN.md says
        ctx.emit(Finding(stage=stage, subject=stage, check="stage", status="error",
                         message=str(exc), severity="critical"))
        ctx.console.print(f"[red]{stage}: {exc}")
    except Exception as exc:  # one broken stage never sinks the run
        trace = ctx.run_dir / "errors" / f"{stage}.txt"
        trace.parent.mkdir(parents=True, exist_ok=True)
        trace.write_text(ctx.secrets.redact(traceback.format_exc()), encoding="utf-8")
        ctx.emit(Finding(stage=stage, subject=stage, check="stage", status="error", severity="critical",
                         message=f"{stage} stage broke: {type(exc).__name__}: {exc}",
                         evidence=[ctx.relative(trace)]))
        ctx.console.print(f"[red]{stage} stage broke: {exc} (details: {trace})")
    ctx.store.mark_stage_done(ctx.run_id, stage)  # a stage that ended, even in error; a killed one never is


# ------------------------------------------------------------------ confirmation


@dataclass(frozen=True)
class Remeasure:
    """One re-measurement job: a stage, its narrowed options, how many times to run it."""

    stage: str
    options: Any
    rounds: int
    label: str


def remeasure_jobs(flagged: list, stages: list[str], confirm_runs: int) -> list[Remeasure]:
    """Flagged browsers pages (per engine and device) and Lighthouse audits (per preset), narrowed
    through each stage's own Options. A page load gives one sample per round; Lighthouse takes
    `runs` samples in one round."""
    pages_by_profile: dict[tuple[str, str], set[str]] = defaultdict(set)
    pages_by_preset: dict[str, set[str]] = defaultdict(set)
    for c in flagged:
        if c.stage == "browsers" and "browsers" in stages:
            pages_by_profile[(c.tags["engine"], c.tags["device"])].add(c.tags["page"])
        elif c.stage == "audits" and "audits" in stages:
            pages_by_preset[c.tags["preset"]].add(c.tags["page"])
    jobs = [Remeasure("browsers", browsers_stage.Options(engines=(engine,), devices=(device,), pages=tuple(sorted(pages)),
                                                         no_journeys=True), confirm_runs,
                      f"{', '.join(sorted(pages))} on {engine}/{device}")
            for (engine, device), pages in sorted(pages_by_profile.items())]
    jobs += [Remeasure("audits", audits_stage.Options(presets=(preset,), pages=tuple(sorted(pages)), runs=confirm_runs),
                       1, f"Lighthouse {', '.join(sorted(pages))} ({preset})")
             for preset, pages in sorted(pages_by_preset.items())]
    return jobs


def confirm_regressions(ctx: StageContext, request: RunRequest) -> None:
    """Re-measure what screening flags, through the same stage contract, tagged as confirmation.

    reports/ then keeps a flagged page or audit as a regression only if these fresh samples
    confirm it (reports/regressions.py). A broken re-measurement is reported and skipped: the
    metric then stays unconfirmed unless its screening evidence alone is strong enough."""
    confirm_runs = ctx.config.regressions.confirm_runs
    if not confirm_runs:
        return
    try:
        flagged = screen_run(ctx.store, ctx.run_id, baseline_id=request.baseline_id)
    except Exception as exc:  # noqa: BLE001 - screening that breaks leaves the run unconfirmed, not lost
        ctx.console.print(f"[yellow]regression screening failed, nothing re-measured: {escape(str(exc))}")
        return
    jobs = remeasure_jobs(flagged, list(request.stages), confirm_runs)
    if not jobs:
        return
    ctx.console.print(f"siteward: {len(flagged)} metric(s) flagged; re-measuring to confirm: "
                      + "; ".join(escape(j.label) for j in jobs))
    for job in jobs:
        for round_number in range(1, job.rounds + 1):
            tag = f"{job.stage}-{round_number}"
            sub = replace(ctx, record_tags={"confirmation": tag}, evidence_subdir=f"confirmation/{tag}", quiet=True)
            try:
                STAGES[job.stage].run(sub, STAGES[job.stage].plan(ctx.config, job.options))
            except Interrupted:
                raise
            except Exception as exc:  # noqa: BLE001 - a re-measurement never sinks the run
                ctx.console.print(f"[yellow]re-measuring {escape(job.label)} failed: {escape(str(exc))}")
                break


# ------------------------------------------------------------------ live A/B


@dataclass
class LiveRequest:
    """`siteward compare --live`: the request's config targets B; A is `baseline_url`."""

    request: RunRequest
    baseline_url: str
    max_rounds: int = 20


def new_run_dir(config: SitewardConfig) -> tuple[str, Path]:
    run_id = new_run_id()
    run_dir = config.results_root() / run_id
    try:
        run_dir.mkdir(parents=True, exist_ok=False)
    except OSError as exc:
        raise UsageError(f"cannot create the run directory {run_dir}: {exc.strerror or exc}") from None
    return run_id, run_dir


def _live_run(store: Store, config: SitewardConfig, request: RunRequest, name: str, branch: str, commit: str):
    run_id, run_dir = new_run_dir(config)
    store.create_run(run_id=run_id, target=name, fingerprint=config.fingerprint(), config=config.snapshot(),
                     stages=request.stages, run_dir=run_dir.resolve(), branch=branch, commit=commit,
                     track_stages=True)
    return run_id, run_dir.resolve()


def execute_live(live: LiveRequest, console: Console) -> int:
    """Measure A and B alternately (A B, B A, ...) until every metric is decided or the round cap,
    then write B's report with A as its baseline (reports/live.py judges round by round).

    The two runs get their own target name ("... (live A/B)"), so they never become baselines
    of ordinary runs."""
    request = live.request
    config_b = request.config
    config_a = config_b.model_copy(deep=True)
    try:
        config_a.target = config_b.target.model_validate({**config_b.target.model_dump(), "base_url": live.baseline_url})
    except ValidationError as exc:
        raise UsageError(f"--baseline-url: {exc.errors()[0]['msg'].removeprefix('Value error, ')}") from None
    if config_a.target.base_url == config_b.target.base_url:
        raise UsageError("--baseline-url and --target name the same site: nothing to compare")
    plans = {"A": plan_stages(replace(request, config=config_a)), "B": plan_stages(request)}
    configs = {"A": config_a, "B": config_b}
    secrets = Secrets(config_b.secrets, source=config_b.source)
    check_secrets(config_b, plans["B"], secrets)
    store = Store.for_config(config_b)
    identity = detect_identity(request.branch, request.commit)
    name = f"{config_b.target.name or config_b.target.base_url} (live A/B)"
    runs = {side: _live_run(store, configs[side], request, name, identity.branch if side == "B" else "",
                            identity.commit if side == "B" else "") for side in ("A", "B")}
    settings = Settings.from_config(regressions_config(config_b.snapshot()))
    console.print(f"siteward: live A/B, A = {escape(config_a.target.base_url)} (run {runs['A'][0]}), "
                  f"B = {escape(config_b.target.base_url)} (run {runs['B'][0]}), up to {live.max_rounds} rounds")
    with _interrupts_raise():
        try:
            for round_number in range(1, live.max_rounds + 1):
                for side in ("A", "B") if round_number % 2 else ("B", "A"):
                    run_id, run_dir = runs[side]
                    ctx = StageContext(config=configs[side], run_id=run_id, run_dir=run_dir, store=store,
                                       secrets=secrets, console=console, quiet=True,
                                       record_tags={"round": str(round_number), "round_cap": str(live.max_rounds)},
                                       evidence_subdir=f"round-{round_number}")
                    if not _run_stages(ctx, plans[side]):
                        raise Interrupted(f"{side} unreachable")
                if not is_look(round_number, live.max_rounds):
                    continue
                measured = [[m for m in store.records(runs[side][0], kind="measurement") if not is_confirmation(m)]
                            for side in ("A", "B")]
                comparisons = compare_paired(measured[0], measured[1], settings)
                left = undecided(comparisons)
                found = sum(c.state == "regression" for c in comparisons)
                console.print(f"round {round_number}: {found} regression(s), {len(left)} metric(s) undecided")
                if not left:
                    break
        except Interrupted as why:
            store.add(runs["B"][0], Finding(stage="run", subject="run", check="interrupted", status="error",
                                            message=f"live A/B stopped: {why}; the report shows what was measured"))
    finish(store, runs["A"][0], Console(quiet=True))
    return finish(store, runs["B"][0], console, baseline_id=runs["A"][0])


def recover_load_results(store: Store, run_id: str, console: Console) -> None:
    """A run whose load stage never recorded what Locust measured gets it from load/raw.json
    (nothing measured is lost); the run stays incomplete, so this never makes it a PASS."""
    info = store.run(run_id)
    if "loadtests" not in info.stages or store.records(run_id, kind="measurement", stage="loadtests"):
        return
    recovered = load_ingest.recovered_records(info.run_dir / "load", lambda p: str(p.relative_to(info.run_dir)))
    try:
        for record in recovered:
            store.add(run_id, record)
    except (OSError, *store.db.errors) as exc:  # a read-only history: render what is stored
        console.print(f"siteward: warning: load/raw.json holds results the history lacks, and they could not be "
                      f"added: {exc}", markup=False)
        return
    if recovered:
        console.print(f"siteward: recovered {len(recovered) - 1} load measurement(s) from load/raw.json")


def finish(store: Store, run_id: str, console: Console, *, baseline_id: str | None = None,
           rejudge: SitewardConfig | None = None) -> int:
    """Render the reports for a run (also used by `siteward report`) and print the verdict.

    Budgets are judged from the run's stored config, or from `rejudge`'s limits when given."""
    limits = Limits.from_snapshot(rejudge.snapshot(), rejudge.source) if rejudge is not None else None
    recover_load_results(store, run_id, console)
    outcome = render_run(store, run_id, baseline_id=baseline_id, console=console, limits=limits)
    colour = {"pass": "green", "fail": "red"}.get(outcome.verdict, "yellow")
    console.print(f"verdict: [bold {colour}]{outcome.verdict.upper()}[/] (exit {outcome.exit_code})")
    report = outcome.paths.get("report.html")
    if report:
        console.print(f"report: {report}", soft_wrap=True)
    return outcome.exit_code

