"""Running the shop: serve() in this process, or start_shop() as a subprocess.

A subprocess, never a thread: a load test against a shop sharing the test
runner's GIL would measure the runner. The child prints one line,
"siteward shop: serving on http://HOST:PORT (faults: ...)", which is how the
parent learns a port chosen by the OS.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import httpx

from siteward import processes
from siteward.shop.faults import parse_fault

READY_LINE = re.compile(r"siteward shop: serving on (http://\S+)")
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the directory holding `siteward/`


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on accepted
    # sockets whose proto says TCP, and without it every keep-alive response
    # waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def serve(host: str = "127.0.0.1", port: int = 0, faults: Iterable[str] = (),
          db_path: str | os.PathLike[str] | None = None) -> None:
    """Serve the shop until interrupted. Port 0 picks a free port.

    Raises ValueError for a bad fault string and OSError if the port is taken,
    both before anything is printed.
    """
    import uvicorn  # imported here so `import siteward.shop` stays light

    from siteward.shop.app import create_app

    faults = list(faults)
    sock = _bind(host, port)  # first: a taken port must not leave a seeded temp db behind
    try:
        app = create_app(faults, db_path)
    except BaseException:
        sock.close()
        raise
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    active = app.state.shop.faults.as_strings()
    print(f"siteward shop: serving on http://{shown_host}:{bound_port} "
          f"(faults: {', '.join(active) or 'none'})", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=5)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


class ShopStartError(RuntimeError):
    """The shop subprocess died or did not answer /healthz in time."""


class ShopProcess:
    """A demo shop running in a child process: `with start_shop() as shop: shop.url`."""

    def __init__(self, faults: Iterable[str] = (), port: int | None = None,
                 db_path: str | os.PathLike[str] | None = None, *, host: str = "127.0.0.1",
                 startup_timeout: float = 30.0) -> None:
        self.faults = list(faults)
        for text in self.faults:  # fail here, with the real message, not in the child
            parse_fault(text)
        self.host, self.port, self.db_path = host, port or 0, db_path
        self.startup_timeout = startup_timeout
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None
        self._work_dir: str | None = None

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "siteward.shop", "--host", self.host,
               "--port", str(self.port)]
        for text in self.faults:
            cmd += ["--fault", text]
        # Without a given db the child's fresh database lives in our log dir, so
        # stop() removes it even if the child had to be killed.
        db_path = self.db_path if self.db_path is not None else self._path("shop.sqlite3")
        return cmd + ["--db", str(db_path)]

    def start(self) -> "ShopProcess":
        if self.process is not None:
            raise RuntimeError("shop process already started")
        self._work_dir = str(processes.temp_dir("shop-run"))
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        # The child must import this very package even when it is not installed.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
        with open(self._path("stdout"), "wb") as out, open(self._path("stderr"), "wb") as err:
            self.process = subprocess.Popen(self.command(), stdout=out, stderr=err,
                                            stdin=subprocess.DEVNULL, env=env)
        atexit.register(self.stop)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _path(self, name: str) -> str:
        assert self._work_dir is not None
        return os.path.join(self._work_dir, name)

    def _read(self, name: str) -> str:
        try:
            with open(self._path(name), encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return ""

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise ShopStartError(
                        f"shop process exited with code {self.process.returncode} before it "
                        f"was ready; stderr:\n{self._read('stderr')[-4000:]}")
                if not self.url:
                    match = READY_LINE.search(self._read("stdout"))
                    if match:
                        self.url = match.group(1)
                if self.url:
                    try:
                        if client.get(self.url + "/healthz").status_code == 200:
                            return
                    except httpx.HTTPError:
                        pass
                time.sleep(0.05)
        raise ShopStartError(
            f"shop did not answer /healthz within {self.startup_timeout:.0f} s "
            f"(url: {self.url or 'not printed'}); stderr:\n{self._read('stderr')[-4000:]}")

    @property
    def stderr(self) -> str:
        return self._read("stderr") if self._work_dir else ""

    def get_faults(self) -> list[str]:
        response = httpx.get(self.url + "/__admin/faults", timeout=10)
        response.raise_for_status()
        return response.json()["faults"]

    def set_faults(self, faults: Iterable[str]) -> list[str]:
        """Replace the running shop's faults ([] clears). Bad strings: ValueError."""
        response = httpx.post(self.url + "/__admin/faults", json={"faults": list(faults)},
                              timeout=10)
        if response.status_code == 400:
            raise ValueError(response.json().get("error", response.text))
        response.raise_for_status()
        self.faults = response.json()["faults"]
        return self.faults

    def stop(self) -> None:
        """Terminate the child (SIGTERM, then SIGKILL after 10 s). Safe to call twice."""
        atexit.unregister(self.stop)
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._work_dir:
            shutil.rmtree(self._work_dir, ignore_errors=True)
            self._work_dir = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> "ShopProcess":
        return self if self.process is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"ShopProcess(url={self.url!r}, faults={self.faults!r}, running={self.running})"


def start_shop(faults: Iterable[str] = (), port: int | None = None,
               db_path: str | os.PathLike[str] | None = None, *, host: str = "127.0.0.1",
               timeout: float = 30.0) -> ShopProcess:
    """Start the shop in a subprocess and wait until /healthz answers."""
    return ShopProcess(faults, port, db_path, host=host, startup_timeout=timeout).start()
