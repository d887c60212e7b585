"""Time a browsers sweep of the demo shop, side by side with a bare reference loop.

    .venv/bin/python benchmarks/bench_sweep.py [--engines chromium,firefox,webkit]
        [--devices desktop,iphone-13] [--concurrency N] [--no-reference] [--journeys]

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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browsers"))

from browsers.devices import resolve_device  # noqa: E402
from browsers.plan import auto_concurrency  # noqa: E402
from browsers.stage import run_stage  # noqa: E402
from browsers.webkit_driver import WebKitEngine  # noqa: E402
from conftest import demo_config, make_ctx  # noqa: E402
from siteward.shop import start_shop  # noqa: E402

RELAXED_BUDGETS = {"global": {"response_ms": 60_000}, "mobile": {"fcp_ms": 60_000}}


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def siteward_sweep(url: str, engines: list[str], devices: list[str], journeys: bool,
                   concurrency: int) -> tuple[float, int, dict]:
    config = demo_config(url, budgets=RELAXED_BUDGETS, browsers={"concurrency": concurrency})
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as root:
        options = {"engines": engines, "devices": devices, "quiet": True}
        if not journeys:
            options["no_journeys"] = True
        ctx = make_ctx(config, Path(root), **options)
        started = time.perf_counter()
        run_stage(ctx)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="chromium,firefox,webkit")
    parser.add_argument("--devices", default="desktop,iphone-13")
    parser.add_argument("--concurrency", type=int, default=0, help="0 = auto (one per core, up to 4)")
    parser.add_argument("--journeys", action="store_true", help="include the demo journeys")
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    engines, devices = args.engines.split(","), args.devices.split(",")

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
