"""What recording a trace and a HAR of every check costs a sweep that passes.

    flock /tmp/siteward-heavy.lock .venv/bin/python benchmarks/bench_traces.py [--rounds 1]
        [--engines chromium,firefox] [--devices desktop]

Runs the browsers stage on the demo config (its 8 pages and 4 journeys) against a clean demo
shop, with `[browsers] trace = "off"` and with the default "retain-on-failure" (every
Chromium/Firefox session records, a passing one discards), the order flipped every round
(this machine's speed drifts), and prints both wall times, their ratio and how many traces
were kept (0 expected: nothing fails).

    flock /tmp/siteward-heavy.lock .venv/bin/python benchmarks/bench_traces.py --parts [--rounds 6]

instead times what each part of a trace costs one engine: a short shopping path (add to cart,
three pages) in a fresh context with nothing recorded, the HAR only, HAR + DOM snapshots,
HAR + snapshots + screencast; interleaved, the first round dropped as warm-up, medians shown
as a ratio to nothing recorded (this chose Firefox's traces without the screencast).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from playwright.async_api import async_playwright  # noqa: E402

from siteward.page_session import CHROMIUM_ARGS  # noqa: E402
from siteward.shop import start_shop  # noqa: E402
from stage_helpers import demo_config, run_stage, stage_context  # noqa: E402

MODES = ("off", "retain-on-failure")


def sweep(url: str, mode: str, engines: list[str], devices: list[str]) -> tuple[float, int, int]:
    """Seconds of one sweep, the checks that did not pass, and the trace files kept."""
    config = demo_config(url, browsers={"engines": engines, "devices": devices, "trace": mode},
                         budgets={"global": {"response_ms": 60_000}, "mobile": {"fcp_ms": 60_000}})
    with tempfile.TemporaryDirectory(prefix="bench-traces-") as root:
        ctx = stage_context(config, Path(root), "browsers")
        started = time.perf_counter()
        run_stage(ctx)
        seconds = time.perf_counter() - started
        bad = [f for f in ctx.store.records(ctx.run_id, kind="finding") if f.status in ("fail", "error")]
        kept = len(list((ctx.run_dir / "traces").rglob("*.*"))) if (ctx.run_dir / "traces").is_dir() else 0
    return seconds, len(bad), kept


PARTS = {"nothing": None, "har": {}, "har+snapshots": {"screenshots": False, "snapshots": True},
         "har+snapshots+screencast": {"screenshots": True, "snapshots": True}}


async def shopping_path(page, url: str) -> None:
    await page.goto(url + "/product/canvas-sneaker")
    await page.click("[data-testid=add-to-cart]")
    await page.wait_for_selector("[data-testid=cart-line]")
    for path in ("/", "/category/shoes", "/search?q=shirt"):
        await page.goto(url + path)


async def parts(url: str, engines: list[str], rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-trace-parts-") as scratch:
        async with async_playwright() as playwright:
            for engine in engines:
                browser = await (playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                                 if engine == "chromium" else
                                 playwright.firefox.launch(channel="moz-firefox", executable_path="/usr/bin/firefox-esr"))
                times: dict[str, list[float]] = {name: [] for name in PARTS}
                for round_no in range(rounds + 1):
                    for name, tracing in PARTS.items():
                        started = time.perf_counter()
                        har = {} if tracing is None else {"record_har_path": f"{scratch}/x.har",
                                                          "record_har_content": "omit"}
                        context = await browser.new_context(**har)
                        if tracing:
                            await context.tracing.start(**tracing)
                        await shopping_path(await context.new_page(), url)
                        if tracing:
                            await context.tracing.stop()
                        await context.close()
                        if round_no:
                            times[name].append(time.perf_counter() - started)
                base = statistics.median(times["nothing"])
                print(engine + ": " + ", ".join(f"{name} {statistics.median(v):.2f} s (x{statistics.median(v) / base:.2f})"
                                                for name, v in times.items()), flush=True)
                await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--engines", default="chromium,firefox")
    parser.add_argument("--devices", default="desktop")
    parser.add_argument("--parts", action="store_true", help="the cost of each part of a trace, per engine")
    args = parser.parse_args()
    engines, devices = args.engines.split(","), args.devices.split(",")
    if args.parts:
        with start_shop() as shop:
            asyncio.run(parts(shop.url, engines, args.rounds if args.rounds > 1 else 6))
        return
    ratios = []
    with start_shop() as shop:
        for round_no in range(args.rounds):
            order = MODES if round_no % 2 == 0 else MODES[::-1]
            times = {}
            for mode in order:
                seconds, bad, kept = sweep(shop.url, mode, engines, devices)
                times[mode] = seconds
                print(f"round {round_no + 1}: trace={mode:<18} {seconds:6.1f} s  not passing: {bad}  kept files: {kept}",
                      flush=True)
            ratios.append(times["retain-on-failure"] / times["off"])
            print(f"round {round_no + 1}: ratio retain-on-failure / off = {ratios[-1]:.2f}", flush=True)
    print(f"median ratio over {len(ratios)} round(s): {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
