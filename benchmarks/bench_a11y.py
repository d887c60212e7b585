"""Time a browsers sweep of the demo shop with and without axe-core, side by side, once each.

    .venv/bin/python benchmarks/bench_a11y.py [--engines chromium,firefox,webkit]
        [--devices desktop,iphone-13] [--concurrency N] [--fault a11y]

The same sweep (the demo's 8 pages, pages only: the state journeys the logged-in pages need
still run) with `[browsers] accessibility = true`, then `false`. Prints both wall times, their
ratio, CPU time, and axe's own time per page check per engine (injecting axe.min.js and
running it, measured around browsers.a11y.audit), plus what axe found (the clean demo shop
should have no critical or serious violation). The machine is shared: run it once, not in a loop.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sweep import RELAXED_BUDGETS, cpu_seconds, demo_config, run_sweep  # noqa: E402
from browsers import a11y  # noqa: E402
from browsers import stage as browsers_stage  # noqa: E402
from siteward.shop import start_shop  # noqa: E402

AXE_MS: dict[str, list[float]] = defaultdict(list)
_real_audit = a11y.audit


async def timed_audit(session, tags, timeout_s):
    started = time.perf_counter()
    try:
        return await _real_audit(session, tags, timeout_s)
    finally:
        AXE_MS[session.engine].append((time.perf_counter() - started) * 1000)


def sweep(url: str, engines: list[str], devices: list[str], concurrency: int, axe: bool) -> tuple[float, float, dict]:
    config = demo_config(url, budgets=RELAXED_BUDGETS,
                         browsers={"concurrency": concurrency, "samples": 1, "accessibility": axe})
    options = browsers_stage.Options(engines=tuple(engines), devices=tuple(devices), no_journeys=True)
    with tempfile.TemporaryDirectory(prefix="bench-a11y-") as root:
        wall, cpu = time.perf_counter(), cpu_seconds()
        ctx = run_sweep(config, Path(root), options)
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        found: dict = defaultdict(int)
        for r in ctx.store.records(ctx.run_id, kind="finding"):
            if r.check == "a11y":
                found[(r.status, r.data.get("impact", "-"), r.data.get("rule", "-"))] += 1
            elif r.check == "http-status":
                found["page checks"] += 1
        ctx.store.close()
    return wall, cpu, dict(found)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engines", default="chromium,firefox,webkit")
    parser.add_argument("--devices", default="desktop,iphone-13")
    parser.add_argument("--concurrency", type=int, default=0)
    parser.add_argument("--fault", action="append", default=[], help="demo shop fault, e.g. a11y")
    args = parser.parse_args()
    engines, devices = args.engines.split(","), args.devices.split(",")
    a11y.audit = timed_audit  # the executor calls a11y.audit through the module
    with start_shop(args.fault) as shop:
        with_axe = sweep(shop.url, engines, devices, args.concurrency, True)
        without = sweep(shop.url, engines, devices, args.concurrency, False)
    print(f"sweep of the demo shop: {', '.join(engines)} x {', '.join(devices)}, 8 pages, faults: "
          f"{', '.join(args.fault) or 'none'}; {with_axe[2].get('page checks', 0)} page checks")
    print(f"{'':16}{'wall s':>10}{'CPU s':>10}")
    print(f"{'with axe':16}{with_axe[0]:10.1f}{with_axe[1]:10.1f}")
    print(f"{'without axe':16}{without[0]:10.1f}{without[1]:10.1f}")
    print(f"ratio with/without: wall {with_axe[0] / without[0]:.2f}, CPU {with_axe[1] / without[1]:.2f}")
    for engine, times in sorted(AXE_MS.items()):
        print(f"axe per page check on {engine}: median {statistics.median(times):.0f} ms, "
              f"max {max(times):.0f} ms ({len(times)} checks)")
    print("axe findings (status, impact, rule): count")
    for key, count in sorted((k, v) for k, v in with_axe[2].items() if isinstance(k, tuple)):
        print(f"  {key}: {count}")


if __name__ == "__main__":
    main()
