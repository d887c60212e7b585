"""Remote browser pools: a sweep over this machine's Chromium and a Playwright browser server on a
second host (`siteward browsers serve` in a network namespace of the test's own, tests/netns_host.py)
checks what a local sweep checks; a server killed mid-sweep loses no check, and the sweep says
which checks moved. The shop listens on this side of the veth pair, where both hosts reach it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from netns_host import second_host
from siteward.shop import start_shop
from stage_helpers import run_stage
from sweep_helpers import demo_config, findings, make_ctx, records

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]

PAGES = ["home", "category", "product", "cart"]
DEVICES = ["desktop", "pixel-7"]
CHECKS = len(PAGES) * len(DEVICES)


@pytest.fixture(scope="module")
def host():
    with second_host() as made:
        yield made


@pytest.fixture(scope="module")
def lan_shop(host):
    """The demo shop on this side of the veth pair."""
    with start_shop(host=host.here) as process:
        yield process


@contextmanager
def browser_server(host, engine: str = "chromium"):
    """`siteward browsers serve` on the second host, in its own process group: its endpoint, then it is stopped."""
    process = subprocess.Popen(host.command([sys.executable, "-m", "siteward.cli", "browsers", "serve", "--engine",
                                             engine, "--host", host.there, "--port", "0", "--slots", "1"]),
                               stderr=subprocess.PIPE, text=True, start_new_session=True, cwd=ROOT)
    endpoint, seen = None, []
    deadline = time.monotonic() + 90
    while endpoint is None and time.monotonic() < deadline and process.poll() is None:
        line = process.stderr.readline()
        seen.append(line)
        found = re.search(r'"((?:ws|http)://[^"]+)"', line)
        endpoint = found.group(1) if found else None
    assert endpoint, "".join(seen)
    try:
        yield process, endpoint
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)


# What says where and how a check ran, not what it checked: the pool's notes, and the trace and
# HAR a failing check keeps (the shop on the veth address is no secure origin, so Chromium logs a
# console error about its COOP header on every page and every check keeps them). A HAR of a
# remote browser is sometimes not saved when its context closes: a "trace" note says so.
NOT_CHECKS = ("browser-host", "emulation", "browser-restart", "trace")
EVIDENCE_ROLES = ("har", "playwright-trace")


def _checks(ctx) -> set[tuple[str, str, str]]:
    return {(r.kind, r.subject, getattr(r, "metric", None) or getattr(r, "check", None) or r.role)
            for r in records(ctx)
            if getattr(r, "check", None) not in NOT_CHECKS and getattr(r, "role", None) not in EVIDENCE_ROLES}


def _sweep(url: str, tmp_path, remote: list[dict], engine: str = "chromium"):
    config = demo_config(url, browsers={"engines": [engine], "devices": DEVICES, "concurrency": 1,
                                        "settle_ms": 100, "remote": remote},
                         budgets={"global": {"response_ms": 60_000}, "mobile": {"fcp_ms": 60_000}})
    ctx = make_ctx(config, tmp_path, pages=PAGES, no_journeys=True)
    run_stage(ctx)
    return ctx


@pytest.mark.parametrize("engine", ["chromium", "webkit"])
def test_a_sweep_over_this_machine_and_a_browser_server_checks_what_a_local_sweep_checks(lan_shop, host, tmp_path, engine):
    local = _sweep(lan_shop.url, tmp_path / "local", [], engine)
    with browser_server(host, engine) as (_, endpoint):
        assert host.there in endpoint
        slots = 1 if engine == "webkit" else 2  # a WebKitWebDriver holds one session
        pooled = _sweep(lan_shop.url, tmp_path / "pooled", [{"engine": engine, "endpoint": endpoint, "slots": slots}],
                        engine)
    assert _checks(pooled) == _checks(local) and len(_checks(local)) >= CHECKS * 5
    loads = findings(pooled, "http-status")
    assert len(loads) == CHECKS and all(f.status == "pass" for f in loads), [f.message for f in loads]
    hosts = {f.tags["host"] for f in loads}
    assert "local" in hosts and len(hosts) == 2, hosts  # both took checks
    assert all(re.fullmatch(r"\d+(\.\d+){1,3}", f.tags["browser_version"]) for f in loads)
    assert not findings(pooled, "browser-host")


def test_a_browser_server_killed_mid_sweep_loses_no_check(lan_shop, host, tmp_path):
    lan_shop.set_faults(["latency=/:2000"])  # every page takes 2 s: the kill lands mid-check
    with browser_server(host) as (server, endpoint):
        config = demo_config(lan_shop.url, browsers={"engines": ["chromium"], "devices": DEVICES, "concurrency": 1,
                                                        "settle_ms": 100,
                                                        "remote": [{"engine": "chromium", "endpoint": endpoint, "slots": 2}]},
                             budgets={"global": {"response_ms": 60_000}, "mobile": {"fcp_ms": 60_000}})
        ctx = make_ctx(config, tmp_path, pages=PAGES, no_journeys=True)

        def kill_when_busy() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                done = [r for r in records(ctx, "finding") if r.check == "http-status"]
                if any(r.tags.get("host") != "local" for r in done):
                    time.sleep(0.7)  # the remote's next check is inside its 2 s page load now
                    os.killpg(server.pid, signal.SIGKILL)  # the host goes away, browser and all
                    return
                time.sleep(0.1)


        killer = threading.Thread(target=kill_when_busy, daemon=True)
        killer.start()
        try:
            run_stage(ctx)
        finally:
            lan_shop.set_faults([])
        killer.join(5)
    assert server.poll() is not None, "the server was never killed: the test proves nothing"
    loads = findings(ctx, "http-status")
    assert len(loads) == CHECKS, sorted(f.subject for f in loads)
    assert all(f.status == "pass" for f in loads), [f.message for f in loads if f.status != "pass"]
    assert not any(f.data.get("flaky") for f in loads)  # moving a check is not the site's flakiness
    [lost] = findings(ctx, "browser-host")
    assert lost.status == "warn" and "lost mid-sweep" in lost.message
    # The checks the kill broke (0-2: it can land between two checks): each ran again, here, and passed.
    moved = lost.data["moved"]
    assert len(moved) <= 2 and ("ran again elsewhere" in lost.message) == bool(moved), lost.message
    assert {f.subject for f in loads if f.tags["host"] == "local"} >= \
        {f"{label.split()[0]}|chromium|{label.split()[1].split('/')[1]}" for label in moved}
    assert {f.tags["host"] for f in loads} >= {"local"}
