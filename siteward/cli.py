"""The `siteward` command line: a thin layer over runner, stages and reports.

Errors siteward raises on purpose print one message and exit with their code
(2 usage/config, 3 cannot measure); nothing the user does prints a traceback.
"""

from __future__ import annotations

import errno

import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from siteward import __version__, cli_a11y as a11y_commands, cli_history as history_commands, processes
from siteward.config import BUILTIN_SOURCE, load_config
from siteward.errors import EXIT_CANNOT_MEASURE, EXIT_USAGE, SitewardError, UsageError

console = Console(stderr=True)
app = typer.Typer(
    name="siteward", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Synthetic testing and performance audits: real browsers, Lighthouse CI and Locust in one run.",
)
baseline_app = typer.Typer(no_args_is_help=True, help="Approve and list visual baselines.")
app.add_typer(baseline_app, name="baseline")

from siteward.cli_options import (  # noqa: E402  (shared with the sub-command modules)
    BaselineOpt, BranchOpt, CommitOpt, ConfigOpt, PagesOpt, QuietOpt, ResultsOpt, ShardGroupOpt, ShardOpt, TargetOpt,
)


def _load_for_run(config_path, target, results, pages: list[str] | None):
    """The config with the demo's secrets defaulted; a --page it does not have is a usage error."""
    config = load_config(config_path, target=target, results=str(results) if results else None)
    _prepare_demo_secrets(config)
    known = {p.name for p in config.pages}
    unknown = sorted(set(pages or []) - known)
    if unknown:
        raise UsageError(f"--page {unknown[0]}: no such page in {config.source} (pages: {', '.join(sorted(known))})")
    return config


def _execute(config_path, target, results, stages: list[str], options: dict | None = None, *,
             baseline=None, quiet: bool = False, pages: list[str] | None = None,
             branch: str | None = None, commit: str | None = None, shard: str | None = None,
             shard_group: str | None = None) -> None:
    """Load the config, then hand the typed options of each stage to the runner (it plans, then runs)."""
    from siteward.runner import RunRequest, execute
    from siteward.shards import Shard

    if shard_group is not None and shard is None:
        raise UsageError("--shard-group needs --shard i/n")
    config = _load_for_run(config_path, target, results, pages)
    request = RunRequest(config, stages, options or {}, baseline_id=baseline, quiet=quiet, branch=branch, commit=commit,
                         shard=Shard.parse(shard) if shard is not None else None, shard_group=shard_group)
    raise typer.Exit(execute(request, console))


def _prepare_demo_secrets(config) -> None:
    """The built-in config logs into the demo shop; its public test password is the default."""
    if config.source == BUILTIN_SOURCE:
        from siteward.shop import APP_PASSWORD, APP_PASSWORD_ENV
        from siteward.shop.db import DEMO_PASSWORD_DEFAULT, DEMO_PASSWORD_ENV

        os.environ.setdefault(DEMO_PASSWORD_ENV, DEMO_PASSWORD_DEFAULT)
        os.environ.setdefault(APP_PASSWORD_ENV, APP_PASSWORD)


@app.command()
def run(
    config: ConfigOpt = None, target: TargetOpt = None, results: ResultsOpt = None,
    stage: Annotated[Optional[list[str]], typer.Option("--stage", "-s", help="browsers | audits | loadtests (repeatable; default: the config's stages)")] = None,
    baseline: BaselineOpt = None, quiet: QuietOpt = False, branch: BranchOpt = None, commit: CommitOpt = None,
    shard: ShardOpt = None, shard_group: ShardGroupOpt = None,
) -> None:
    """Run every configured stage, then report and gate (exit 0 pass, 1 fail, 2 usage, 3 could not measure)."""
    cfg = load_config(config, target=target, results=str(results) if results else None)
    _execute(config, target, results, list(stage or cfg.stages), baseline=baseline, quiet=quiet,
             branch=branch, commit=commit, shard=shard, shard_group=shard_group)


@app.command()
def sweep(
    config: ConfigOpt = None, target: TargetOpt = None, results: ResultsOpt = None,
    engine: Annotated[Optional[list[str]], typer.Option("--engine", help="chromium | firefox | webkit (repeatable)")] = None,
    device: Annotated[Optional[list[str]], typer.Option("--device", help="device profile, e.g. desktop, iphone-13, pixel-7 (repeatable)")] = None,
    page: PagesOpt = None,
    journey: Annotated[Optional[list[str]], typer.Option("--journey", help="only this journey (repeatable)")] = None,
    no_journeys: Annotated[bool, typer.Option("--no-journeys", help="pages only")] = False,
    baseline: BaselineOpt = None, quiet: QuietOpt = False, branch: BranchOpt = None, commit: CommitOpt = None,
    shard: ShardOpt = None, shard_group: ShardGroupOpt = None,
) -> None:
    """Browser compatibility sweep: engines x devices, journeys, checks, screenshots, visual diffs."""
    from browsers.stage import Options

    options = Options(engines=tuple(engine or ()), devices=tuple(device or ()), pages=tuple(page or ()),
                      journeys=tuple(journey or ()), no_journeys=no_journeys)
    _execute(config, target, results, ["browsers"], {"browsers": options}, baseline=baseline, quiet=quiet,
             pages=page, branch=branch, commit=commit, shard=shard, shard_group=shard_group)


@app.command()
def audit(
    config: ConfigOpt = None, target: TargetOpt = None, results: ResultsOpt = None,
    preset: Annotated[Optional[list[str]], typer.Option("--preset", help="mobile | desktop (repeatable)")] = None,
    runs: Annotated[Optional[int], typer.Option("--runs", min=1, max=25, help="Lighthouse runs per page and preset")] = None,
    page: PagesOpt = None,
    lighthouserc: Annotated[Optional[Path], typer.Option("--lighthouserc", help="an existing lighthouserc whose assertions to run")] = None,
    baseline: BaselineOpt = None, quiet: QuietOpt = False, branch: BranchOpt = None, commit: CommitOpt = None,
    shard: ShardOpt = None, shard_group: ShardGroupOpt = None,
) -> None:
    """Lighthouse (through Lighthouse CI) per page, mobile and desktop, plus cheap page audits."""
    from audits.stage import Options

    options = Options(presets=tuple(preset or ()), runs=runs, pages=tuple(page or ()),
                      lighthouserc=str(lighthouserc) if lighthouserc else None)
    _execute(config, target, results, ["audits"], {"audits": options}, baseline=baseline, quiet=quiet, pages=page,
             branch=branch, commit=commit, shard=shard, shard_group=shard_group)


@app.command()
def load(
    config: ConfigOpt = None, target: TargetOpt = None, results: ResultsOpt = None,
    peak_rps: Annotated[Optional[float], typer.Option("--peak-rps", min=0.01, max=50_000, help="observed peak requests/s (at most 50000)")] = None,
    multiplier: Annotated[Optional[float], typer.Option("--multiplier", min=0.01, max=1000, help="times the peak (default 10, at most 1000)")] = None,
    duration: Annotated[Optional[float], typer.Option("--duration", min=1, max=86_400, help="seconds (at most load.max_duration_s)")] = None,
    profile: Annotated[Optional[str], typer.Option("--profile", help="peak (ramp to 10x, hold, spike) | open (arrival rate) | steady (constant users)")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", min=0, max=64, help="local worker processes (0 = one per core, at most 64)")] = None,
    master: Annotated[bool, typer.Option("--master", help="be the master of a distributed load test")] = False,
    worker: Annotated[bool, typer.Option("--worker", help="be a worker of a distributed load test")] = False,
    master_host: Annotated[Optional[str], typer.Option("--master-host", help="with --worker: the master's host")] = None,
    expect_workers: Annotated[Optional[int], typer.Option("--expect-workers", min=1, max=256, help="with --master: wait for N workers (at most 256)")] = None,
    master_port: Annotated[Optional[int], typer.Option("--master-port", min=1, max=65535, help="Locust master port (default 5557)")] = None,
    allow_host: Annotated[Optional[list[str]], typer.Option("--allow-host", help="allow load on this host (repeatable; needs --i-own-this-host)")] = None,
    i_own_this_host: Annotated[bool, typer.Option("--i-own-this-host", help="confirm load against a non-loopback allowed host")] = False,
    baseline: BaselineOpt = None, quiet: QuietOpt = False, branch: BranchOpt = None, commit: CommitOpt = None,
) -> None:
    """Load test with Locust: a shop traffic model at 10x the observed peak, with thresholds."""
    from loadtests.stage import Options

    options = Options(peak_rps=peak_rps, multiplier=multiplier, duration_s=duration, profile=profile,
                      workers=workers, master=master, worker=worker, master_host=master_host,
                      expect_workers=expect_workers, master_port=master_port, allow_hosts=tuple(allow_host or ()),
                      confirm_host=i_own_this_host)
    _execute(config, target, results, ["loadtests"], {"loadtests": options}, baseline=baseline, quiet=quiet,
             branch=branch, commit=commit)


def _store_for(config_path, results):
    from siteward.store import Store

    cfg = load_config(config_path, results=str(results) if results else None)
    return cfg, Store.for_config(cfg)


@app.command()
def report(
    run_id: Annotated[str, typer.Argument(help="run id (a unique prefix is enough), or 'latest'")],
    config: Annotated[Optional[Path], typer.Option("-c", "--config", help="judge budgets against this config's limits instead of the run's own (and find the history through it)")] = None,
    results: ResultsOpt = None, baseline: BaselineOpt = None,
) -> None:
    """Re-render the reports of a stored run (also one that was killed halfway), judged as the run was."""
    from siteward.runner import finish

    cfg, store = _store_for(config, results)
    run_info = _resolve_run(store, run_id)
    raise typer.Exit(finish(store, run_info.id, console, baseline_id=baseline,
                            rejudge=cfg if config is not None else None))


def _resolve_run(store, run_id: str):
    if run_id == "latest":
        runs = store.runs(limit=1)
        if not runs:
            raise UsageError(f"no runs yet in {store.where}")
        return runs[0]
    return store.run(run_id)


@app.command()
def compare(
    run_a: Annotated[Optional[str], typer.Argument(help="the baseline run")] = None,
    run_b: Annotated[Optional[str], typer.Argument(help="the run to judge")] = None,
    config: ConfigOpt = None, results: ResultsOpt = None,
    live: Annotated[bool, typer.Option("--live", help="measure two deployments now, alternately, instead of comparing stored runs")] = False,
    baseline_url: Annotated[Optional[str], typer.Option("--baseline-url", help="with --live: deployment A, the baseline")] = None,
    target: TargetOpt = None,
    stage: Annotated[Optional[list[str]], typer.Option("--stage", "-s", help="with --live: browsers (default) | audits (repeatable)")] = None,
    engine: Annotated[Optional[list[str]], typer.Option("--engine", help="with --live: only this engine (repeatable)")] = None,
    device: Annotated[Optional[list[str]], typer.Option("--device", help="with --live: only this device profile (repeatable)")] = None,
    page: PagesOpt = None,
    max_rounds: Annotated[int, typer.Option("--max-rounds", min=4, max=100, help="with --live: stop after this many A/B rounds")] = 20,
    branch: BranchOpt = None, commit: CommitOpt = None, quiet: QuietOpt = False,
) -> None:
    """Compare two stored runs (A B), or two live deployments (--live --baseline-url A --target B)."""
    if live:
        if run_a or run_b:
            raise UsageError("compare --live measures two deployments: give --baseline-url and --target, not runs")
        if not baseline_url:
            raise UsageError("compare --live needs --baseline-url (deployment A) and --target (deployment B)")
        raise typer.Exit(_compare_live(config, target, results, baseline_url, list(stage or ["browsers"]), engine,
                                       device, page, max_rounds, branch, commit, quiet))
    if baseline_url or target or stage or engine or device or page:
        raise UsageError("--baseline-url, --target, --stage, --engine, --device and --page go with --live")
    if not (run_a and run_b):
        raise UsageError("compare needs two runs (compare A B), or --live --baseline-url A --target B")
    from reports import compare_runs

    _, store = _store_for(config, results)
    a, b = _resolve_run(store, run_a), _resolve_run(store, run_b)
    outcome = compare_runs(store, a.id, b.id, console)
    raise typer.Exit(outcome.exit_code)


def _compare_live(config_path, target, results, baseline_url, stages, engines, devices, pages, max_rounds,
                  branch, commit, quiet) -> int:
    """Only the measuring stages that can alternate quickly: browsers and audits (no load)."""
    from audits.stage import Options as AuditOptions
    from browsers.stage import Options as SweepOptions
    from siteward.runner import LiveRequest, RunRequest, execute_live

    bad = [s for s in stages if s not in ("browsers", "audits")]
    if bad:
        raise UsageError(f"compare --live --stage {bad[0]}: only browsers and audits alternate (load is not live-compared)")
    config = _load_for_run(config_path, target, results, pages)
    options = {"browsers": SweepOptions(engines=tuple(engines or ()), devices=tuple(devices or ()),
                                        pages=tuple(pages or ()), no_journeys=True),
               "audits": AuditOptions(pages=tuple(pages or ()))}
    request = RunRequest(config, stages, options, quiet=quiet, branch=branch, commit=commit)
    return execute_live(LiveRequest(request, baseline_url, max_rounds=max_rounds), console)


@baseline_app.command("approve")
def baseline_approve(
    run_id: Annotated[str, typer.Argument(help="run whose screenshots become the baselines")] = "latest",
    page: PagesOpt = None,
    profile: Annotated[Optional[list[str]], typer.Option("--profile", help="engine or device name (repeatable)")] = None,
    config: ConfigOpt = None, results: ResultsOpt = None,
) -> None:
    """Promote a run's screenshots to approved visual baselines."""
    from browsers.baseline import approve

    cfg, store = _store_for(config, results)
    run_info = _resolve_run(store, run_id)
    keys = approve(store, run_info, cfg.results_root(), pages=page or [], profiles=profile or [])
    console.print(f"approved {len(keys)} baseline(s) from run {run_info.id}")
    for key in keys:
        console.print(f"  {key}")


@baseline_app.command("list")
def baseline_list(config: ConfigOpt = None, results: ResultsOpt = None) -> None:
    """List approved baselines."""
    from browsers.baseline import list_baselines

    _, store = _store_for(config, results)
    for b in list_baselines(store):
        console.print(f"{b.key}  run {b.run_id}  approved {b.approved}  {b.path}")


history_commands.register(app, _store_for, console)
a11y_commands.register(app, _store_for, _resolve_run, console)
browsers_app = typer.Typer(no_args_is_help=True, help="This machine's browsers for sweeps on other machines.")
app.add_typer(browsers_app, name="browsers")


@browsers_app.command("serve")
def browsers_serve(
    engine: Annotated[Optional[list[str]], typer.Option("--engine", help="chromium | firefox | webkit (repeatable; default all three)")] = None,
    host: Annotated[str, typer.Option("--host", help="address to listen on; 0.0.0.0 for every interface (trusted networks only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65_535, help="first port (the next engine takes the next one); 0 = any free")] = 3000,
    slots: Annotated[int, typer.Option("--slots", min=1, max=16, help="parallel checks: suggested for Chromium and Firefox; WebKitWebDrivers started")] = 2,
) -> None:
    """Serve this machine's browsers ([[browsers.remote]] of a sweep elsewhere): Chromium and Firefox as
    Playwright browser servers, WebKit as WebKitWebDrivers."""
    from browsers.serve import serve

    serve(list(engine or ()), host, port, slots, lambda text: console.print(text, markup=False, soft_wrap=True))


@app.command()
def merge(
    run_ids: Annotated[Optional[list[str]], typer.Argument(help="runs to merge (ids or unique prefixes)")] = None,
    group: Annotated[Optional[str], typer.Option("--group", help="merge the shard runs of this group (the latest of each shard)")] = None,
    source: Annotated[Optional[list[Path]], typer.Option("--from", help="a shard job's results root with its own history: import its shard runs first (repeatable)")] = None,
    config: ConfigOpt = None, results: ResultsOpt = None, quiet: QuietOpt = False,
) -> None:
    """Merge the shards of a sharded run (and a load run of the same config) into one run, report and verdict."""
    from siteward.merge import MergeRequest, run_merge

    cfg = load_config(config, results=str(results) if results else None)
    request = MergeRequest(run_ids=tuple(run_ids or ()), group=group, sources=tuple(source or ()))
    raise typer.Exit(run_merge(cfg, request, Console(stderr=True, quiet=quiet)))


@app.command()
def shop(
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0 = a free port")] = 0,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    fault: Annotated[Optional[list[str]], typer.Option("--fault", help="NAME[=VALUE], e.g. latency=/api:300, errors=0.05, overflow (repeatable)")] = None,
) -> None:
    """Serve the embedded demo shop (the default target)."""
    from siteward.shop.faults import parse_fault
    from siteward.shop.server import serve

    for f in fault or []:
        try:
            parse_fault(f)
        except ValueError as exc:
            raise UsageError(f"--fault {f}: {exc}") from None
    try:
        serve(host=host, port=port, faults=list(fault or []))
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise
        raise UsageError(f"--host {host} --port {port}: cannot listen there: {exc.strerror}",
                         hint="pick another --port, or 0 for a free one") from None


@app.command()
def doctor() -> None:
    """Check every engine and tool; print versions and install commands for what is missing."""
    from siteward.doctor import run_doctor

    raise typer.Exit(run_doctor(Console()))


@app.command()
def demo(
    fault: Annotated[Optional[list[str]], typer.Option("--fault", help="inject a shop fault to see it caught (repeatable)")] = None,
    results: ResultsOpt = None, quiet: QuietOpt = False,
) -> None:
    """Start the demo shop, sweep it, audit it, load it, report, and stop it."""
    from siteward.demo import run_demo

    raise typer.Exit(run_demo(list(fault or []), results=results, quiet=quiet, console=console))


def version_callback(value: bool) -> None:
    if value:
        print(f"siteward {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True)] = False) -> None:
    pass


def main(argv: list[str] | None = None) -> int:
    """Entry point: click's standalone mode handles usage errors (exit 2) and exit codes."""
    try:
        app(args=argv, prog_name="siteward")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    except SitewardError as exc:
        console.print(f"siteward: error: {exc}", style="red", highlight=False, markup=False, soft_wrap=True)
        return exc.exit_code
    except Exception as exc:  # a bug: say so briefly, keep the trace in a file
        where = _write_crash_file(traceback.format_exc())
        console.print(f"siteward: internal error: {type(exc).__name__}: {exc} ({where})", markup=False)
        return EXIT_CANNOT_MEASURE
    return 0


def _write_crash_file(trace: str) -> str:
    """The trace in a new file of its own (mkstemp: a unique name, never following a planted link)."""
    try:
        fd, path = tempfile.mkstemp(prefix="siteward-crash-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(trace)
        return f"trace: {path}"
    except OSError as exc:
        return f"the trace could not be written: {exc.strerror or exc}"


# Commands that start processes: they get a watchdog (siteward/processes.py).
SPAWNING_COMMANDS = frozenset({"run", "sweep", "audit", "load", "compare", "shop", "demo", "baseline", "merge", "browsers"})


def console_script() -> None:
    watchdog = processes.Watchdog()
    if SPAWNING_COMMANDS.intersection(sys.argv[1:2]):
        try:
            processes.clean_stale_temp_dirs()
            watchdog.start()
        except OSError as exc:  # no watchdog is no reason not to measure
            console.print(f"siteward: warning: no watchdog for child processes: {exc}", markup=False)
    try:
        code = main()
    finally:
        watchdog.stop()
    sys.exit(code)


if __name__ == "__main__":
    console_script()
