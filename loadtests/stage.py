"""The load stage: Locust against the target, then measurements, series and evidence.

The stage contract (siteward.stage): `plan(config, LoadOptions)` -> LoadStagePlan (the shape,
the worker count and the safety checks, all before a request), `run(ctx, plan)`.

Records (stage "loadtests"):
- Artifacts: role "locust-csv" (Locust's stats, stats history, failures, exceptions),
  "load-series" (load/series.json: {"t", "users", "rps", "p50_ms", "p95_ms", "p99_ms",
  "errors_per_s", "target_rps"}, one entry per second of run time, percentiles null in a
  second without requests), "locust-log", "load-spec".
- Measurements per route (subject "GET /product/{slug}", tags route/method/group/profile),
  per group (subject "group:api", tags group) and overall (subject "all", group "all"):
    response_ms   samples: the response times, or up to 2000 evenly spaced quantiles of
                  them (regression analysis compares these distributions); value = p50
    p50_ms, p95_ms, p99_ms, error_ratio   one sample: the exact value over the whole run
    achieved_rps  (overall only) samples: requests per second over the hold window (higher is better)
    requests      one sample: the request count
    rate_ratio    (overall, with a rate target) achieved / target rate over the hold window
  reports/ judges [load.thresholds] against these (check "threshold").
- Findings: "abort"
  (the run stopped early on errors), "generator-saturated" (pass/warn/fail from the CPU
  of the Locust processes), "dropped-arrivals" (open model could not keep the rate),
  "load-run" (error: Locust failed, or nothing was measured).
Ctrl-C or SIGTERM stop Locust cleanly, the records above are still written, then the
interruption (KeyboardInterrupt, or siteward.runner's Interrupted) is raised again.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from loadtests import runner
from loadtests.model import TrafficModel, route_placeholders, samples_from_catalog, shop_routes
from loadtests.ingest import emit_results
from loadtests.safety import check_target
from loadtests.shapes import LoadPlan, make_plan
from siteward.errors import UsageError
from siteward.records import LOAD_WINDOW, Artifact, Finding
from siteward.stage import CoreConfig, StageContext
from siteward.target import require_target

NAME = "loadtests"
DEFAULT_MASTER_PORT = 5557  # Locust's own default, so plain `locust --worker` finds it
MAX_WORKERS = 64  # the config's own cap; one unbounded --workers once filled the machine's memory


@dataclass(frozen=True)
class LoadOptions:
    """`siteward load` flags; None/empty = what the config says."""

    peak_rps: float | None = None
    multiplier: float | None = None
    duration_s: float | None = None
    profile: str | None = None
    workers: int | None = None
    master: bool = False
    worker: bool = False
    master_host: str | None = None
    expect_workers: int | None = None
    master_port: int | None = None
    allow_hosts: tuple[str, ...] = ()
    confirm_host: bool = False


Options = LoadOptions


@dataclass(frozen=True)
class LoadStagePlan:
    options: LoadOptions
    shape: LoadPlan | None  # None for a worker: the master decides the shape
    workers: int  # local Locust worker processes


def plan(config: CoreConfig, options: LoadOptions) -> LoadStagePlan:
    """Refuse, before any request, a target off the allow list, a plan beyond the caps, bad flags."""
    if options.master and options.worker:
        raise UsageError("--master and --worker exclude each other")
    if options.worker and not options.master_host:
        raise UsageError("--worker needs --master-host HOST (the machine running `siteward load --master`)")
    if options.profile is not None and options.profile not in ("peak", "open", "steady"):
        raise UsageError(f"--profile {options.profile}: expected peak, open or steady")
    workers = worker_count(config, options)
    if options.worker:
        return LoadStagePlan(options, None, workers)
    check_target(config.target.base_url, [*config.load.allow_hosts, *options.allow_hosts],
                 confirmed=options.confirm_host)
    return LoadStagePlan(options, resolve_plan(config, options), workers)


def resolve_plan(config: CoreConfig, options: LoadOptions) -> LoadPlan:
    load = config.load
    peak_rps, peak_users = load.peak_rps, load.peak_users
    if options.peak_rps is not None:
        peak_rps, peak_users = float(options.peak_rps), None
    multiplier = float(options.multiplier or load.multiplier)
    try:
        return make_plan(
            profile=options.profile or load.profile, peak_rps=peak_rps, peak_users=peak_users,
            multiplier=multiplier,
            duration_s=float(options.duration_s or load.duration_s), think_time_s=load.think_time_s,
            spike_factor=load.spike_factor, open_pool_s=load.open_pool_s, max_users=load.max_users,
            max_rps=load.max_rps, max_duration_s=load.max_duration_s)
    except OverflowError:  # e.g. --multiplier 1e307: users and rate are no longer finite numbers
        raise UsageError(f"peak {peak_rps or peak_users:g} x multiplier {multiplier:g} is beyond any load",
                         hint=f"load.max_users ({load.max_users}) and load.max_rps ({load.max_rps:g}) cap a plan; "
                              "lower --peak-rps or --multiplier") from None


def worker_count(config: CoreConfig, options: LoadOptions) -> int:
    """Local Locust worker processes: --workers, else load.workers; 0 means one per core."""
    wanted = config.load.workers if options.workers is None else options.workers
    if not 0 <= int(wanted) <= MAX_WORKERS:
        raise UsageError(f"--workers must be between 0 and {MAX_WORKERS}, got {wanted}",
                         hint="for more load generators, start workers on other machines (--worker --master-host)")
    return int(wanted) or psutil.cpu_count(logical=True) or 1


def build_model(ctx: StageContext) -> TrafficModel:
    """The configured routes (or the shop defaults), with samples discovered if needed."""
    load = ctx.config.load
    routes = load.routes or shop_routes()
    samples = dict(load.samples)
    if route_placeholders(routes) - set(samples):
        samples = {**discover_samples(ctx.config.target.base_url, access=ctx.access.httpx_options()), **samples}
    return TrafficModel.from_routes(routes, samples, ctx.config.secrets)


CATALOG_BUDGET_S = 20.0  # all attempts together: httpx's timeouts are per read, a trickle never trips them
CATALOG_MAX_BYTES = 8 * 1024 * 1024


def discover_samples(base_url: str, attempts: int = 10, budget_s: float = CATALOG_BUDGET_S,
                     access: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """Product slugs, ids, categories and search words from the shop's /api/products.

    Retried: a shop under an error fault (or briefly overloaded) still gets its samples.
    Bounded as a whole: an API that answers slowly forever yields no samples, not a hang.
    `access`: httpx options of the target (TLS trust, basic auth).
    """
    deadline = time.monotonic() + budget_s
    for _ in range(attempts):
        if time.monotonic() >= deadline:
            break
        products = _catalog_products(base_url + "/api/products", deadline, access or {})
        if isinstance(products, list) and products:
            return samples_from_catalog([p for p in products if isinstance(p, dict)])
    return {}


def _catalog_products(url: str, deadline: float, access: dict[str, Any]) -> Any:
    body = bytearray()
    try:
        with httpx.Client(timeout=max(0.1, deadline - time.monotonic()), **access) as client, \
                client.stream("GET", url) as response:
            if response.status_code != 200:
                return None
            for chunk in response.iter_bytes():
                body += chunk
                if time.monotonic() > deadline or len(body) > CATALOG_MAX_BYTES:
                    return None
        return json.loads(body).get("products")
    except (httpx.HTTPError, ValueError, AttributeError):
        return None


def write_spec(path: Path, ctx: StageContext, model: TrafficModel, plan: LoadPlan) -> None:
    """What every Locust process needs; secret *names* only, never values."""
    thresholds = ctx.config.load.thresholds
    spec: dict[str, Any] = {
        "target": ctx.config.target.base_url,  # checked: workers refuse any other host
        "model": model.to_spec(), "plan": plan.to_spec(),
        "think_time_s": list(ctx.config.load.think_time_s),
        "abort": {"ratio": thresholds.abort_error_ratio, "window_s": thresholds.abort_window_s},
        # TLS trust and basic auth as the config has them: secret references, never values
        "access": {"verify": ctx.access.verify, "ca_bundle": str(ctx.access.ca_bundle) if ctx.access.ca_bundle else None,
                   "auth": ctx.config.target.auth.model_dump() if ctx.config.target.auth else None},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec, indent=1), encoding="utf-8")


def run(ctx: StageContext, stage_plan: LoadStagePlan) -> None:
    opts, out_dir = stage_plan.options, ctx.evidence_dir("load")
    if opts.worker:
        return _run_as_worker(ctx, stage_plan, out_dir)
    plan, workers = stage_plan.shape, stage_plan.workers
    base_url = ctx.config.target.base_url
    require_target(base_url, what="load target", access=ctx.access)
    model = build_model(ctx)
    spec_path = out_dir / "spec.json"
    write_spec(spec_path, ctx, model, plan)
    ctx.emit(Artifact(stage="loadtests", subject="load", role="load-spec", path=ctx.relative(spec_path),
                      media_type="application/json"))

    master = opts.master
    local_workers = int(opts.workers or 0) if master else (workers if workers > 1 else 0)
    port = int(opts.master_port or DEFAULT_MASTER_PORT)
    if master:
        ctx.console.print(
            f"load: master waiting on port {port} for {opts.expect_workers or max(local_workers, 1)} worker(s);"
            f" on each load machine run\n  siteward load --worker --master-host THIS_HOST\n"
            f"or\n  locust -f {runner.LOCUSTFILE} --worker --master-host THIS_HOST --master-port {port}")
    label = f"load: {plan.profile} x{plan.multiplier:g}" if plan.profile == "peak" else f"load: {plan.profile}"
    with ctx.progress(label, total=int(plan.duration_s)) as bar, _stop_on_sigterm():
        done = {"s": 0}

        def on_second(elapsed: float) -> None:
            step = min(int(elapsed), int(plan.duration_s)) - done["s"]
            if step > 0:
                bar.advance(f"{elapsed:.0f} s", step)
                done["s"] += step

        if not master:
            emit_window(ctx, plan)
        result = runner.run_locust(
            host=base_url, spec=spec_path, out_dir=out_dir, workers=local_workers,
            duration_s=plan.duration_s, bind_host="*" if master else "127.0.0.1",
            bind_port=port if master else None,
            expect_workers=int(opts.expect_workers or (max(local_workers, 1) if master else 0)),
            wait_workers_s=600.0 if master else 120.0, on_second=on_second)
    emit_results(ctx, plan, model, result)
    if result.interruption is not None:
        raise result.interruption


def emit_window(ctx: StageContext, plan: LoadPlan) -> None:
    """When the load starts and when it holds its target, for what runs beside it (a journey
    measured under load, siteward/under_load.py): a record, as stages share nothing else.
    Locust's own start-up (about a second, more with workers) comes on top of these times."""
    hold_start, hold_end = plan.hold_window()
    ctx.emit(Finding(stage="loadtests", subject="load", check=LOAD_WINDOW, status="pass", severity="info",
                     message=f"load started; it holds its target from {hold_start:g} s to {hold_end:g} s",
                     data={"started": time.time(), "hold": [hold_start, hold_end], "duration_s": plan.duration_s}))


def _run_as_worker(ctx: StageContext, stage_plan: LoadStagePlan, out_dir: Path) -> None:
    master_host, workers = stage_plan.options.master_host, stage_plan.workers
    port = int(stage_plan.options.master_port or DEFAULT_MASTER_PORT)
    ctx.console.print(f"load: {workers} Locust worker(s) joining the master at {master_host}:{port}")
    with _stop_on_sigterm():
        codes = runner.run_workers(master_host=master_host, master_port=port, workers=workers, log_dir=out_dir)
    for name in codes:
        log = out_dir / f"locust-{name}.log"
        ctx.emit(Artifact(stage="loadtests", subject=name, role="locust-log", path=ctx.relative(log),
                          media_type="text/plain"))
    bad = {n: c for n, c in codes.items() if c not in (0, None)}
    ctx.emit(Finding(stage="loadtests", subject="load", check="load-run", status="error" if bad else "pass",
                     message=f"workers exited with {bad}" if bad else f"{len(codes)} worker(s) served the master",
                     severity="info" if not bad else "major"))


class _stop_on_sigterm:
    """SIGTERM behaves like Ctrl-C while Locust runs, so what was measured is still written."""

    def __enter__(self):
        self._old = None
        # Only when nobody else (e.g. siteward.runner) handles SIGTERM already.
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            def stop(signum, frame):
                raise runner.StopRequested()
            self._old = signal.signal(signal.SIGTERM, stop)
        return self

    def __exit__(self, *exc) -> None:
        if self._old is not None:
            signal.signal(signal.SIGTERM, self._old)

