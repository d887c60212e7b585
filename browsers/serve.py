"""`siteward browsers serve`: this machine's Chromium and Firefox as Playwright browser servers,
for the [[browsers.remote]] of a sweep on another machine.

One `playwright launch-server` (the driver the Python package ships) per engine, on the Debian
builds with the same launch options as a local sweep (browsers/pool.py), each on its own port
(`--port`, the next one for the second engine) at ws://HOST:PORT/ENGINE. It binds 127.0.0.1
unless `--host` says otherwise: a browser server runs whatever its clients ask, so expose it
only on a network you trust. It runs until SIGINT/SIGTERM, then ends the servers it started.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from browsers.playwright_driver import INSTALL_HINTS, executable_for
from browsers.pool import launch_config
from siteward import processes
from siteward.errors import ToolMissing, UsageError

SERVED_ENGINES = ("chromium", "firefox")
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 10


@dataclass
class Served:
    engine: str
    endpoint: str
    process: subprocess.Popen


def check_engines(engines: list[str]) -> list[str]:
    chosen = list(dict.fromkeys(engines or SERVED_ENGINES))
    for engine in chosen:
        if engine not in SERVED_ENGINES:
            raise UsageError(f"--engine {engine}: a browser server serves chromium or firefox"
                             " (WebKit runs through WebDriver on the sweeping machine)")
        if executable_for(engine) is None:
            raise ToolMissing(f"{engine} is not installed", hint=INSTALL_HINTS[engine])
    return chosen


def _read_endpoint(process: subprocess.Popen, engine: str) -> str:
    """launch-server prints its ws:// endpoint on its first line once the browser is up."""
    deadline = time.monotonic() + START_TIMEOUT_S
    line = b""
    while time.monotonic() < deadline and process.poll() is None:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            break
    text = line.decode(errors="replace").strip()
    if not text.startswith("ws"):
        raise ToolMissing(f"the {engine} browser server did not start: {text or 'no endpoint within'} "
                          f"{'' if text else f'{START_TIMEOUT_S} s'}".strip())
    return text


def start_servers(engines: list[str], host: str, port: int, config_dir: Path) -> list[Served]:
    served: list[Served] = []
    try:
        for offset, engine in enumerate(engines):
            config = config_dir / f"{engine}.json"
            config.write_text(launch_config(engine, host, port + offset if port else 0))
            process = subprocess.Popen([sys.executable, "-m", "playwright", "launch-server", "--browser", engine,
                                        "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                       start_new_session=True)
            served.append(Served(engine, "", process))
            served[-1].endpoint = _read_endpoint(process, engine)
    except BaseException:
        stop_servers(served)
        raise
    return served


def stop_servers(served: list[Served]) -> None:
    """End the servers we started (their process groups: the browser each launched goes too)."""
    for server in served:
        if server.process.poll() is None:
            os.killpg(server.process.pid, signal.SIGTERM)
    for server in served:
        try:
            server.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(STOP_TIMEOUT_S)


def serve(engines: list[str], host: str, port: int, slots: int, say) -> None:
    """Start, print the endpoints and the TOML that uses them, wait for a signal, stop."""
    chosen = check_engines(engines)
    if not 0 <= port <= 65_535 - len(chosen):
        raise UsageError(f"--port {port}: out of range")
    stop = {"signal": None}

    def on_signal(signum, _frame):
        stop["signal"] = signum

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    config_dir = processes.temp_dir("serve")
    try:
        served = start_servers(chosen, host, port, config_dir)
        try:
            say("serving (add to the sweeping machine's siteward.toml; replace the host with this machine's name):")
            for server in served:
                say(f'[[browsers.remote]]\nengine = "{server.engine}"\nendpoint = "{server.endpoint}"\nslots = {slots}\n')
            while stop["signal"] is None and all(s.process.poll() is None for s in served):
                time.sleep(0.2)
            ended = [s.engine for s in served if s.process.poll() is not None]
            if ended and stop["signal"] is None:
                say(f"siteward: the {', '.join(ended)} browser server ended; stopping the others")
        finally:
            stop_servers(served)
    finally:
        shutil.rmtree(config_dir, ignore_errors=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
