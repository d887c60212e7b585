"""What recording a trace and a HAR of every check costs a sweep that passes.

    flock /tmp/siteward-heavy.lock .venv/bin/python benchmarks/bench_traces.py [--rounds 1]
        [--engines chromium,firefox] [--devices desktop]

Runs the browsers stage on the demo config (its 8 pages and 4 journeys) against a clean demo
shop, with `[browsers] trace = "off"` and with the default "retain-on-failure" (every
Chromium/Firefox session records, a passing one discards), the order flipped every round
(this machine's speed drifts), and prints both wall times, their ratio and how many traces
were kept (0 expected: nothing fails).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--engines", default="chromium,firefox")
    parser.add_argument("--devices", default="desktop")
    args = parser.parse_args()
    engines, devices = args.engines.split(","), args.devices.split(",")
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
