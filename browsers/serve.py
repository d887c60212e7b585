"""`siteward browsers serve`: this machine's browsers for the [[browsers.remote]] of a sweep on
another machine.

Chromium and Firefox: one `playwright launch-server` (the driver the Python package ships) per
engine, on the Debian builds with the same launch options as a local sweep (browsers/pool.py),
at ws://HOST:PORT/ENGINE. WebKit: an Xvfb and one WebKitWebDriver per slot (a WebKitWebDriver
holds one session), at http://HOST:PORT. Ports count up from `--port` (0: any free ones). It
binds 127.0.0.1 unless `--host` says otherwise: a browser server runs whatever its clients ask,
so expose it only on a network you trust. It runs until SIGINT/SIGTERM, then ends what it started.
"""

from __future__ import annotations

import os
import select
import socket
import signal
import subprocess
import sys
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from browsers.playwright_driver import INSTALL_HINTS, executable_for
from browsers.pool import launch_config
from browsers.webkit_driver import INSTALL_HINT as WEBKIT_HINT
from browsers.webkit_driver import WEBDRIVER_PATH, missing_parts, webdriver_answers
from browsers.xvfb import Xvfb
from siteward import processes
from siteward.errors import ToolMissing, UsageError

SERVED_ENGINES = ("chromium", "firefox", "webkit")
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 10


@dataclass
class Served:
    engine: str
    endpoint: str
    process: subprocess.Popen
    slots: int = 0  # 0: as --slots says (a WebKitWebDriver: 1)


def check_engines(engines: list[str]) -> list[str]:
    chosen = list(dict.fromkeys(engines or SERVED_ENGINES))
    for engine in chosen:
        if engine not in SERVED_ENGINES:
            raise UsageError(f"--engine {engine}: expected chromium, firefox or webkit")
        if engine == "webkit":
            missing = missing_parts()
            if missing:
                raise ToolMissing(f"webkit needs {', '.join(missing)}", hint=WEBKIT_HINT)
        elif executable_for(engine) is None:
            raise ToolMissing(f"{engine} is not installed", hint=INSTALL_HINTS[engine])
    return chosen


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_webdrivers(served: list[Served], host: str, port: int, slots: int, display: str) -> None:
    """One WebKitWebDriver per slot on `display`, each answering its status request (into `served`)."""
    for offset in range(slots):
        chosen = port + offset if port else _free_port(host)
        process = subprocess.Popen([shutil.which("WebKitWebDriver") or WEBDRIVER_PATH, f"--port={chosen}",
                                    f"--host={host}"], env={**os.environ, "DISPLAY": display},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        served.append(Served("webkit", f"http://{host}:{chosen}", process, slots=1))
        deadline = time.monotonic() + START_TIMEOUT_S
        while not webdriver_answers(served[-1].endpoint, 2):
            if process.poll() is not None or time.monotonic() > deadline:
                raise ToolMissing(f"WebKitWebDriver on port {chosen} did not start")
            time.sleep(0.2)


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


def start_servers(engines: list[str], host: str, port: int, slots: int, config_dir: Path, xvfb: Xvfb) -> list[Served]:
    served: list[Served] = []
    try:
        for engine in engines:
            next_port = port + len(served) if port else 0
            if engine == "webkit":
                start_webdrivers(served, host, next_port, slots, xvfb.start())
                continue
            config = config_dir / f"{engine}.json"
            config.write_text(launch_config(engine, host, next_port))
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
    if not 0 <= port <= 65_535 - len(chosen) - slots:
        raise UsageError(f"--port {port}: out of range")
    stop = {"signal": None}

    def on_signal(signum, _frame):
        stop["signal"] = signum

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    config_dir = processes.temp_dir("serve")
    xvfb = Xvfb()
    try:
        served = start_servers(chosen, host, port, slots, config_dir, xvfb)
        try:
            say("serving (add to the sweeping machine's siteward.toml; replace the host with this machine's name):")
            for server in served:
                say(f'[[browsers.remote]]\nengine = "{server.engine}"\nendpoint = "{server.endpoint}"\n'
                    f'slots = {server.slots or slots}\n')
            while stop["signal"] is None and all(s.process.poll() is None for s in served):
                time.sleep(0.2)
            ended = [s.engine for s in served if s.process.poll() is not None]
            if ended and stop["signal"] is None:
                say(f"siteward: the {', '.join(ended)} browser server ended; stopping the others")
        finally:
            stop_servers(served)
    finally:
        xvfb.stop()
        shutil.rmtree(config_dir, ignore_errors=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
