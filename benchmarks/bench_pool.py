"""Sweep throughput on one browser host and on two: this machine alone, and this machine plus a
Playwright browser server (`siteward browsers serve`) on a second host, a network namespace of
our own joined by a veth pair (tests/netns_host.py; root and iproute2 needed).

    flock /tmp/siteward-heavy.lock .venv/bin/python benchmarks/bench_pool.py [--rounds 3]
        [--pages 6] [--devices desktop,pixel-7,iphone-13,iphone-se] [--slots 2]

Each round runs `siteward sweep` (Chromium, pages only, one load per page) both ways, the
order flipped every round (this machine's speed drifts over minutes), and prints checks per
minute, the per-round ratio two hosts / one host and their median. Both "hosts" share this
machine's CPU, so the ratio here says what the pool costs or saves when the second host has
no cores of its own (its figures bound the overhead); on a real second machine the extra
slots are extra cores. It ends with the estimate the README quotes: wall time of a monthly
sweep of 5,000 checks on N machines, from the one-host rate measured here.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from netns_host import can_make_hosts, second_host  # noqa: E402
from siteward.shop import start_shop  # noqa: E402

PAGES = [("home", "/"), ("category", "/category/shoes"), ("search", "/search?q=shoe"),
         ("product", "/product/canvas-sneaker"), ("cart", "/cart"), ("checkout", "/checkout")]


def config_text(url: str, results: Path, pages: int, devices: list[str], remote: str | None, slots: int) -> str:
    lines = [f'[target]\nbase_url = "{url}"\nname = "bench-pool"\n[results]\nroot = "{results}"\n']
    for name, path in PAGES[:pages]:
        lines.append(f'[[pages]]\nname = "{name}"\npath = "{path}"\n')
    lines.append(f'[browsers]\nengines = ["chromium"]\ndevices = {devices!r}\nsamples = 1\nsettle_ms = 100\n'.replace("'", '"'))
    lines.append('[budgets.global]\nresponse_ms = 60000\n[budgets.mobile]\nfcp_ms = 60000\n')
    if remote:
        lines.append(f'[[browsers.remote]]\nengine = "chromium"\nendpoint = "{remote}"\nslots = {slots}\n')
    return "\n".join(lines)


def sweep(config: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "siteward.cli", "sweep", "-c", str(config), "-q", "--no-journeys"],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stderr[-2000:])
    return time.perf_counter() - started


def start_server(host) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(host.command([sys.executable, "-m", "siteward.cli", "browsers", "serve", "--engine",
                                             "chromium", "--host", host.there, "--port", "0"]),
                               stderr=subprocess.PIPE, text=True, start_new_session=True, cwd=ROOT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        found = re.search(r'"(ws://[^"]+)"', process.stderr.readline())
        if found:
            return process, found.group(1)
    process.kill()
    raise RuntimeError("the browser server did not print its endpoint")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pages", type=int, default=6, choices=range(1, len(PAGES) + 1))
    parser.add_argument("--devices", default="desktop,pixel-7,iphone-13,iphone-se")
    parser.add_argument("--slots", type=int, default=2, help="the second host's parallel checks")
    args = parser.parse_args()
    why_not = can_make_hosts()
    if why_not:
        sys.exit(f"bench_pool: cannot make a second host: {why_not}")
    devices = args.devices.split(",")
    checks = args.pages * len(devices)
    with tempfile.TemporaryDirectory(prefix="bench-pool-") as tmp, second_host() as host, \
            start_shop(host=host.here) as shop:
        server, endpoint = start_server(host)
        try:
            configs = {}
            for way, remote in (("one host", None), ("two hosts", endpoint)):
                path = Path(tmp) / f"{way.replace(' ', '-')}.toml"
                path.write_text(config_text(shop.url, Path(tmp) / "results", args.pages, devices, remote, args.slots))
                configs[way] = path
            sweep(configs["one host"])  # warm-up: caches, the shop's first requests
            times: dict[str, list[float]] = {"one host": [], "two hosts": []}
            for round_no in range(args.rounds):
                order = ["one host", "two hosts"] if round_no % 2 == 0 else ["two hosts", "one host"]
                for way in order:
                    times[way].append(sweep(configs[way]))
                print(f"round {round_no + 1}: one host {times['one host'][-1]:.1f} s, "
                      f"two hosts {times['two hosts'][-1]:.1f} s ({checks} checks each)", flush=True)
        finally:
            server.kill()
            server.wait(30)
    ratios = [one / two for one, two in zip(times["one host"], times["two hosts"])]
    one_rate = checks / statistics.median(times["one host"]) * 60
    two_rate = checks / statistics.median(times["two hosts"]) * 60
    print(f"\none host:  {one_rate:.1f} checks/min (median of {args.rounds}, incl. browser start)")
    print(f"two hosts: {two_rate:.1f} checks/min (this machine + {args.slots} slots on the namespace host)")
    print(f"throughput two hosts / one host: median {statistics.median(ratios):.2f}x "
          f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
    per_check = 60 / one_rate
    print(f"\n5,000 checks at {per_check:.2f} s per check per 2-core machine:")
    for machines in (1, 2, 4, 8):
        print(f"  {machines} machine(s): {5000 * per_check / machines / 60:.0f} min (5,000 x {per_check:.2f} s / {machines})")


if __name__ == "__main__":
    main()
