"""The sweep time of this checkout against another commit's, side by side in one run: what a
change to the browsers stage costs (web-vitals in place of the hand-written paint collection,
axe-core on every page, traces kept on failure).

    flock /tmp/siteward-heavy.lock .venv/bin/python benchmarks/bench_checkouts.py --other REF [--this REF]
        [--rounds 3] [--engines chromium,firefox,webkit] [--devices desktop,pixel-7] [--journeys checkout]

Each REF is checked out into a temporary git worktree (--this defaults to this working tree) (node_modules and the storefront bundle are
this checkout's). Each round runs `siteward sweep` of the demo shop's first six pages (and the
named journeys) from both checkouts against one demo shop, the order flipped every round (this
machine's speed drifts over minutes); it prints each round's wall times, the ratio this / other
per round and its median.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from siteward.shop import APP_PASSWORD, APP_PASSWORD_ENV, DEMO_PASSWORD_DEFAULT, DEMO_PASSWORD_ENV  # noqa: E402
from siteward.shop import start_shop  # noqa: E402

PAGES = ["home", "category", "search", "product", "cart", "checkout"]
MAX_ROUNDS = 20


def worktree(ref: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(where), ref], check=True)
    (where / "node_modules").symlink_to(ROOT / "node_modules")
    bundle = ROOT / "siteward" / "shop" / "static" / "app"
    if bundle.is_dir() and not (where / "siteward" / "shop" / "static" / "app").exists():
        shutil.copytree(bundle, where / "siteward" / "shop" / "static" / "app")
    return where


def sweep(checkout: Path, url: str, results: Path, args) -> float:
    command = [sys.executable, "-m", "siteward.cli", "sweep", "--target", url, "--results", str(results), "-q",
               *(x for e in args.engines.split(",") for x in ("--engine", e)),
               *(x for d in args.devices.split(",") for x in ("--device", d)),
               *(x for p in PAGES for x in ("--page", p))]
    command += [x for j in args.journeys.split(",") if j for x in ("--journey", j)] or ["--no-journeys"]
    env = {**os.environ, "PYTHONPATH": str(checkout), APP_PASSWORD_ENV: APP_PASSWORD,
           DEMO_PASSWORD_ENV: DEMO_PASSWORD_DEFAULT}
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True, timeout=1800)
    took = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"sweep from {checkout} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--other", required=True, help="the git ref to compare with")
    parser.add_argument("--this", default=None, help="a git ref in place of this working tree")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--engines", default="chromium,firefox,webkit")
    parser.add_argument("--devices", default="desktop,pixel-7")
    parser.add_argument("--journeys", default="checkout", help="comma-separated; empty for pages only")
    args = parser.parse_args()
    rounds = max(1, min(args.rounds, MAX_ROUNDS))
    with tempfile.TemporaryDirectory(prefix="siteward-bench-") as tmp, start_shop() as shop:
        other = worktree(args.other, Path(tmp) / "other")
        this = worktree(args.this, Path(tmp) / "this") if args.this else ROOT
        name = args.this or "this"
        try:
            ratios = []
            for number in range(1, rounds + 1):
                order = [("this", this), ("other", other)]
                if number % 2 == 0:
                    order.reverse()
                took = {name: sweep(path, shop.url, Path(tmp) / f"results-{name}", args) for name, path in order}
                ratios.append(took["this"] / took["other"])
                print(f"round {number}: {name} {took['this']:.1f} s, {args.other} {took['other']:.1f} s, "
                      f"ratio {ratios[-1]:.3f}", flush=True)
            print(f"sweep time {name} / {args.other}: median ratio {statistics.median(ratios):.3f} over {rounds} "
                  f"round(s) (min {min(ratios):.3f}, max {max(ratios):.3f})")
        finally:
            for made in {other, this} - {ROOT}:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(made)], check=False)


if __name__ == "__main__":
    main()
