"""Time a browsers sweep of the demo shop, side by side with a bare reference loop.

    .venv/bin/python benchmarks/bench_sweep.py [--engines chromium,firefox,webkit]
        [--devices desktop,iphone-13] [--concurrency N] [--no-reference] [--journeys]
    .venv/bin/python benchmarks/bench_sweep.py --storefront [--engines ...] [--devices ...]

--storefront: the React storefront's checkout journey and its two logged-in pages, clean and
with the checkout fault `app-render-error` (the product list throws during render: the
journey waits for the list until its step timeout, while the error boundary says what broke),
each with fail-fast (a retry that meets the same
failure waits 3 s at that step and stops) and without it (the retry waits the full step
timeout again, as before fail-fast), on the same matrix in one run; it prints the four
times and the ratios.

Default: the demo shop's 6 pages on 6 profiles (3 engines x desktop and iphone-13), pages
only (journeys add a fixed cost per profile; --journeys includes them).

What siteward does per page check: a fresh context, navigation, a settle wait, the
timing/layout script, required-element checks, a masked full-page screenshot and the
records. The reference does the least a script could: one browser per engine, a fresh
context, goto and a full-page screenshot, sequentially, with no checks and no records. The
ratio says what the checks, the settle wait and the parallelism cost or save.
The visual diff's own timing is benchmarks/bench_visual.py.
The machine is shared: run it once, not in a loop; it prints CPU time too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from browsers.devices import resolve_device  # noqa: E402
from browsers.plan import auto_concurrency  # noqa: E402
from browsers import execute as browsers_execute  # noqa: E402
from browsers import stage as browsers_stage  # noqa: E402
from browsers.webkit_driver import WebKitEngine  # noqa: E402
from siteward.config import builtin_config_text, parse_config  # noqa: E402
from siteward.secrets import Secrets  # noqa: E402
from siteward.shop import APP_PASSWORD, APP_PASSWORD_ENV, start_shop  # noqa: E402
from siteward.stage import StageContext  # noqa: E402
from siteward.store import Store  # noqa: E402

RELAXED_BUDGETS = {"global": {"response_ms": 60_000}, "mobile": {"fcp_ms": 60_000}}


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def demo_config(url: str, **sections):
    data = tomllib.loads(builtin_config_text())
    data["target"]["base_url"] = url
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    return parse_config(data, "<bench config>")


def run_sweep(config, root: Path, options: browsers_stage.Options) -> StageContext:
    """The browsers stage through its contract (plan, run) into a fresh history under root."""
    store = Store(root / "history.sqlite")
    run_dir = root / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    run_id = store.create_run(target=config.target.base_url, fingerprint="bench", config=config.snapshot(),
                              stages=["browsers"], run_dir=run_dir)
    environ = {APP_PASSWORD_ENV: APP_PASSWORD, **os.environ}
    ctx = StageContext(config=config, run_id=run_id, run_dir=run_dir, store=store, quiet=True,
                       secrets=Secrets(config.secrets, environ=environ))
    browsers_stage.run(ctx, browsers_stage.plan(config, options))
    return ctx


def siteward_sweep(url: str, engines: list[str], devices: list[str], journeys: bool,
                   concurrency: int) -> tuple[float, int, dict]:
    config = demo_config(url, budgets=RELAXED_BUDGETS, browsers={"concurrency": concurrency, "samples": 1})
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as root:
        options = browsers_stage.Options(engines=tuple(engines), devices=tuple(devices), no_journeys=not journeys)
        started = time.perf_counter()
        ctx = run_sweep(config, Path(root), options)
        elapsed = time.perf_counter() - started
        records = ctx.store.records(ctx.run_id)
        checks = sum(1 for r in records if r.kind == "finding" and r.check == "http-status")
        statuses: dict = {}
        for r in records:
            if r.kind == "finding":
                statuses[r.status] = statuses.get(r.status, 0) + 1
        ctx.store.close()
    return elapsed, checks, statuses


async def reference_loop(url: str, engines: list[str], devices: list[str], paths: list[str]) -> tuple[float, int]:
    """Bare Playwright/Selenium: goto + full-page screenshot, one at a time."""
    from playwright.async_api import async_playwright

    from browsers.playwright_driver import PlaywrightEngine

    done = 0
    with tempfile.TemporaryDirectory(prefix="bench-ref-") as root:
        started = time.perf_counter()
        async with async_playwright() as playwright:
            profiles = {d: resolve_device(d, playwright.devices) for d in devices}
            for engine_name in engines:
                engine = WebKitEngine() if engine_name == "webkit" else PlaywrightEngine(playwright, engine_name)
                await engine.start()
                try:
                    for device in profiles.values():
                        for index, path in enumerate(paths):
                            shot = Path(root) / f"{engine_name}-{device.name}-{index}.png"
                            session = await engine.new_session(device)
                            try:
                                await session.goto(url + path, 60)
                                await session.screenshot(shot, mask=[], full_page=True)
                            finally:
                                await session.close()
                            done += 1
                finally:
                    await engine.close()
        return time.perf_counter() - started, done


def storefront_sweep(shop, engines: list[str], devices: list[str], fault: str | None,
                     fail_fast: bool) -> tuple[float, dict]:
    """Seconds and {journey status: count} of the storefront's checkout and pages, one sweep."""
    config = demo_config(shop.url, budgets=RELAXED_BUDGETS, browsers={"samples": 1})
    options = browsers_stage.Options(engines=tuple(engines), devices=tuple(devices),
                                     pages=("app-products", "app-cart"), journeys=("app-checkout",))
    shop.set_faults([fault] if fault else [])
    real_first_failure = browsers_execute.first_failure_of
    if not fail_fast:  # before fail-fast: a retry knows nothing of the first failure
        browsers_execute.first_failure_of = lambda outcome: None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-storefront-") as root:
            started = time.perf_counter()
            ctx = run_sweep(config, Path(root), options)
            elapsed = time.perf_counter() - started
            statuses: dict = {}
            for f in ctx.store.records(ctx.run_id, kind="finding"):
                if f.check == "journey":
                    statuses[f.status] = statuses.get(f.status, 0) + 1
            ctx.store.close()
    finally:
        browsers_execute.first_failure_of = real_first_failure
        shop.set_faults([])
    return elapsed, statuses


def storefront_main(engines: list[str], devices: list[str]) -> None:
    with start_shop() as shop:
        print(f"machine: {os.cpu_count()} cores; React storefront: checkout journey + 2 logged-in pages on "
              f"{', '.join(engines)} x {', '.join(devices)}")
        times = {}
        for fault in (None, "app-render-error"):
            for fail_fast in (True, False):
                elapsed, statuses = storefront_sweep(shop, engines, devices, fault, fail_fast)
                times[(fault, fail_fast)] = elapsed
                print(f"{fault or 'clean':17} fail-fast {'on ' if fail_fast else 'off'}: {elapsed:6.1f} s   "
                      f"journeys {dict(sorted(statuses.items()))}")
        fault = "app-render-error"
        print(f"(the fault `app-broken-input` fails at once, at the field's read-back, with or without fail-fast)")
        print(f"checkout fault / clean: {times[(fault, True)] / times[(None, True)]:.2f}x with fail-fast, "
              f"{times[(fault, False)] / times[(None, False)]:.2f}x without; "
              f"fail-fast saves {1 - times[(fault, True)] / times[(fault, False)]:.0%} of the faulty sweep")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="chromium,firefox,webkit")
    parser.add_argument("--devices", default="desktop,iphone-13")
    parser.add_argument("--concurrency", type=int, default=0, help="0 = auto (one per core, up to 4)")
    parser.add_argument("--journeys", action="store_true", help="include the demo journeys")
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--storefront", action="store_true", help="the React storefront, clean vs checkout fault")
    args = parser.parse_args()
    engines, devices = args.engines.split(","), args.devices.split(",")
    if args.storefront:
        storefront_main(engines, devices)
        return

    with start_shop() as shop:
        config = demo_config(shop.url)
        paths = [p.path for p in config.pages]
        print(f"machine: {os.cpu_count()} cores; concurrency {auto_concurrency(args.concurrency)}; "
              f"{len(paths)} pages x {len(engines) * len(devices)} profiles ({', '.join(engines)} x {', '.join(devices)})")

        cpu0 = cpu_seconds()
        elapsed, checks, statuses = siteward_sweep(shop.url, engines, devices, args.journeys, args.concurrency)
        cpu = cpu_seconds() - cpu0
        print(f"siteward sweep : {elapsed:7.1f} s wall, {cpu:7.1f} s CPU, {checks} page checks, "
              f"{elapsed / max(checks, 1):5.2f} s/check, {checks / elapsed * 60:5.1f} checks/min")
        print(f"                 findings by status: {dict(sorted(statuses.items()))}")

        if not args.no_reference:
            cpu0 = cpu_seconds()
            ref_elapsed, loads = asyncio.run(reference_loop(shop.url, engines, devices, paths))
            ref_cpu = cpu_seconds() - cpu0
            print(f"reference loop : {ref_elapsed:7.1f} s wall, {ref_cpu:7.1f} s CPU, {loads} loads (goto + "
                  f"full-page screenshot, sequential, no checks)")
            print(f"ratio siteward/reference: wall {elapsed / ref_elapsed:4.2f}x, CPU {cpu / max(ref_cpu, 1e-9):4.2f}x")


if __name__ == "__main__":
    main()
