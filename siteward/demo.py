"""`siteward demo`: the main job on the embedded default, start to finish.

Starts the demo shop, runs the sweep, the Lighthouse audits and a short load test,
prints the verdict and where the report is, and stops the shop. With --fault it
first makes sure the history holds a clean run of the same config (running one if
not), then injects the fault and compares with that clean run (`--baseline`), so the report
shows the regression being caught without the five clean runs a pooled baseline needs.
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console

from siteward.config import SitewardConfig, load_config
from siteward.errors import UsageError
from siteward.runner import RunRequest, execute
from siteward.store import Store

# Sized so the whole demo stays well under 10 minutes on a 2-core machine.
DEMO_DEVICES = ["desktop", "iphone-13", "pixel-7"]
DEMO_LIGHTHOUSE_RUNS = 1
DEMO_TIMING_SAMPLES = 3  # on Chromium desktop only: the demo shows each stage once, it is no baseline
DEMO_LOAD_SECONDS = 40


def demo_config(results: Path | None, shop_url: str) -> SitewardConfig:
    config = load_config(None, target=shop_url, results=str(results) if results else None)
    config.browsers.devices = DEMO_DEVICES
    config.audits.runs = DEMO_LIGHTHOUSE_RUNS
    config.audits.presets = ["mobile"]  # 10 pages x 2 presets took the demo past 10 minutes
    config.browsers.samples = DEMO_TIMING_SAMPLES
    config.browsers.timing_profiles = ["chromium/desktop"]
    config.load.duration_s = DEMO_LOAD_SECONDS
    return config


def _clean_run(config: SitewardConfig) -> str | None:
    """The latest complete passing run of the demo config, if any."""
    store = Store.for_config(config)
    target = config.target.name or config.target.base_url
    found = [r for r in store.runs(target=target, fingerprint=config.fingerprint(), verdict="pass", limit=20)
             if not r.unfinished_stages]
    return found[0].id if found else None


def run_demo(faults: list[str], *, results: Path | None, quiet: bool, console: Console) -> int:
    from siteward.shop import APP_PASSWORD, APP_PASSWORD_ENV
    from siteward.shop.db import DEMO_PASSWORD_DEFAULT, DEMO_PASSWORD_ENV
    from siteward.shop.faults import parse_fault
    from siteward.shop.server import ShopStartError, start_shop

    for fault in faults:
        try:
            parse_fault(fault)
        except ValueError as exc:
            raise UsageError(f"--fault {fault}: {exc}") from None
    os.environ.setdefault(DEMO_PASSWORD_ENV, DEMO_PASSWORD_DEFAULT)
    os.environ.setdefault(APP_PASSWORD_ENV, APP_PASSWORD)
    try:
        shop = start_shop()
    except ShopStartError as exc:
        from siteward.errors import CannotMeasure

        raise CannotMeasure(f"the demo shop did not start: {exc}") from None
    with shop:
        console.print(f"siteward demo: the demo shop is serving on {shop.url}")
        config = demo_config(results, shop.url)
        stages = list(config.stages)
        baseline = None
        if faults:
            baseline = _clean_run(config)
            if baseline is None:
                console.print("siteward demo: no clean run in the history yet; running the clean shop first")
                execute(RunRequest(config, stages, quiet=quiet), console)
                baseline = _clean_run(config)
            shop.set_faults(faults)
            console.print(f"siteward demo: injected fault(s): {', '.join(faults)}")
        code = execute(RunRequest(config, stages, quiet=quiet, baseline_id=baseline), console)
    console.print("siteward demo: the demo shop has stopped")
    return code
