"""WebKit (the Safari engine) through WebDriver: Selenium + WebKitWebDriver + MiniBrowser.

The sessions themselves are in ``browsers.webdriver_session``.

What WebDriver can and cannot do here, said in the records rather than hidden:
- user agent: only per browser launch (MiniBrowser ``--user-agent``), so sessions are
  pooled per device profile and reused with cookies and storage cleared;
- viewport: only the window size; the GTK window has a minimum width (~450 px), the
  checks measure the real viewport and report the difference;
- no device pixel ratio, touch or mobile emulation, no console or network events, no
  response status (taken from a plain HTTP request instead).
"""

from __future__ import annotations

import asyncio
import glob
import os
import platform
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil
from selenium import webdriver
from selenium.webdriver.remote.client_config import ClientConfig
from selenium.webdriver.remote.remote_connection import RemoteConnection
from selenium.webdriver.webkitgtk.options import Options
from selenium.webdriver.webkitgtk.service import Service

from browsers.devices import DESKTOP_VIEWPORT, DeviceProfile
from browsers.webdriver_session import WebDriverSession, fit_viewport
from browsers.xvfb import Xvfb
from siteward.browser_state import BrowserState
from siteward.journeys import BrowserGone
from siteward.target import TargetAccess

WEBDRIVER_PATH = "/usr/bin/WebKitWebDriver"
MINIBROWSER_GLOB = "/usr/lib/*/webkit2gtk-4.1/MiniBrowser"
# Where Debian puts MiniBrowser: what a remote WebKitWebDriver is asked to start when this machine has none.
DEBIAN_MINIBROWSER = f"/usr/lib/{platform.machine().replace('_', '-')}-linux-gnu/webkit2gtk-4.1/MiniBrowser"
INSTALL_HINT = "apt-get install -y webkit2gtk-driver xvfb"
DESKTOP_PROBE = DeviceProfile(name="desktop", kind="desktop", descriptor=None, viewport=dict(DESKTOP_VIEWPORT))


def minibrowser_path() -> str | None:
    found = sorted(glob.glob(MINIBROWSER_GLOB))
    return found[0] if found else None


def webdriver_answers(endpoint: str, timeout_s: float) -> bool:
    """Does the WebDriver server at `endpoint` answer its status request (any HTTP answer counts)?"""
    try:
        with urllib.request.urlopen(f"{endpoint.rstrip('/')}/status", timeout=timeout_s):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def missing_parts() -> list[str]:
    """What WebKit automation needs and is not installed."""
    missing = []
    if not Path(WEBDRIVER_PATH).is_file() and not shutil.which("WebKitWebDriver"):
        missing.append("WebKitWebDriver")
    if minibrowser_path() is None:
        missing.append("MiniBrowser (webkit2gtk)")
    if not shutil.which("Xvfb"):
        missing.append("Xvfb")
    return missing


class WebKitEngine:
    """Xvfb plus a pool of WebDriver sessions, one pool per device profile."""

    engine = "webkit"

    def __init__(self, *, launch_timeout_s: float = 60, page_timeout_s: float = 60, access: TargetAccess | None = None):
        self.launch_timeout_s = launch_timeout_s
        self.page_timeout_s = page_timeout_s
        # TLS trust and basic auth of the target. WebDriver cannot be handed a CA file (a bundle was
        # verified by require_target) nor answer an auth challenge (navigations carry the credentials).
        self.access = access or TargetAccess(base_url="")
        self.restarts = 0
        self.version = ""
        self._xvfb = Xvfb()
        self._idle: dict[str, list[webdriver.Remote]] = {}
        self._lock = threading.Lock()
        self._services: set[Service] = set()

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> str:
        missing = missing_parts()
        if missing:
            raise FileNotFoundError(f"webkit needs {', '.join(missing)} (install: {INSTALL_HINT})")
        await asyncio.to_thread(self._xvfb.start)
        # One desktop session now: a broken WebKit shows up before any check, and we learn its version.
        session = await self.new_session(DESKTOP_PROBE)
        await session.close()
        return self.version

    def _options(self, device: DeviceProfile) -> Options:
        options = Options()
        options.binary_location = minibrowser_path() or DEBIAN_MINIBROWSER
        options.add_argument("--automation")
        if self.access.browsers_accept_any_certificate:
            options.accept_insecure_certs = True
        if device.user_agent:
            options.add_argument(f"--user-agent={device.user_agent}")
        return options

    def _launch(self, device: DeviceProfile, starting: list[Service]) -> webdriver.Remote:
        options = self._options(device)
        if not self.connected():  # Xvfb died (or was never up): a new one, on a free display
            self._xvfb.stop()
            self._xvfb.start()
        # MiniBrowser needs the whole environment (HOME, XDG dirs), with our display. We start
        # the service ourselves so a hung launch can be ended by stopping it.
        service = Service(executable_path=shutil.which("WebKitWebDriver") or WEBDRIVER_PATH,
                          env={**os.environ, "DISPLAY": self._xvfb.display or ""})
        service.start()
        starting.append(service)
        with self._lock:
            self._services.add(service)
        try:
            driver = self._driver(service.service_url, options, device)
        except BaseException:
            self._stop_service(service)
            raise
        driver._siteward_service = service  # type: ignore[attr-defined]
        return driver

    def _driver(self, address: str, options: Options, device: DeviceProfile) -> webdriver.Remote:
        """A WebDriver session at `address`, sized for `device`, warmed up."""
        # An HTTP timeout on every WebDriver command: a wedged MiniBrowser cannot hang a thread forever.
        # A few pooled connections: an abandoned call may still hold one while the session is discarded.
        connection = RemoteConnection(client_config=ClientConfig(
            remote_server_addr=address, timeout=int(self.page_timeout_s + 60),
            init_args_for_pool_manager={"init_args_for_pool_manager": {"maxsize": 4}}))
        driver = webdriver.Remote(command_executor=connection, options=options)
        try:
            driver.set_page_load_timeout(self.page_timeout_s)
            driver.set_script_timeout(30)
            fit_viewport(driver, device.viewport["width"], device.viewport["height"])
            # A first navigation pays for starting WebKit's web process; keep that out of
            # the first measured page's timings.
            driver.get("data:text/html,<title>siteward warm-up</title><p>warm-up</p>")
        except BaseException:
            self._abandon(driver)
            raise
        self.version = driver.capabilities.get("browserVersion", self.version)
        return driver

    def _abandon(self, driver: webdriver.Remote) -> None:
        """A session that broke while it was set up (here: stopping its service ends it)."""

    def _take(self, device: DeviceProfile, starting: list[Service]) -> webdriver.Remote:
        with self._lock:
            pool = self._idle.setdefault(device.name, [])
            driver = pool.pop() if pool else None
        return driver or self._launch(device, starting)

    def _stop_service(self, service: Service) -> None:
        """Stop a WebKitWebDriver and whatever MiniBrowser it left behind."""
        with self._lock:
            self._services.discard(service)
        process = getattr(service, "process", None)
        children = []
        if process is not None:
            try:
                children = psutil.Process(process.pid).children(recursive=True)
            except psutil.Error:
                children = []
        try:
            service.stop()
        except Exception:  # noqa: BLE001 - already gone
            pass
        for child in children:
            try:
                child.kill()
            except psutil.Error:
                pass

    def _discard(self, driver: webdriver.Remote) -> None:
        try:
            driver.quit()
        except Exception:  # noqa: BLE001 - already dead
            pass
        service = getattr(driver, "_siteward_service", None)
        if service is not None:
            self._stop_service(service)

    def _give_back(self, device: DeviceProfile, driver: webdriver.Remote) -> None:
        try:
            driver.delete_all_cookies()
            driver.execute_script("try { localStorage.clear(); sessionStorage.clear(); } catch (e) {}")
            driver.get("about:blank")
            fit_viewport(driver, device.viewport["width"], device.viewport["height"])
        except Exception:  # noqa: BLE001 - a session that cannot be cleaned is not reused
            self._discard(driver)
            self.restarts += 1
            return
        with self._lock:
            self._idle.setdefault(device.name, []).append(driver)

    async def new_session(self, device: DeviceProfile, *, state: BrowserState | None = None,
                          base_url: str | None = None, timeout_s: float = 30) -> "WebDriverSession":
        starting: list[Service] = []
        try:
            driver = await asyncio.wait_for(asyncio.to_thread(self._take, device, starting), self.launch_timeout_s)
        except asyncio.TimeoutError:
            for service in starting:  # unblocks the launching thread
                await asyncio.to_thread(self._stop_service, service)
            self.restarts += 1
            raise BrowserGone(f"webkit did not start within {self.launch_timeout_s:g} s") from None
        session = WebDriverSession(self, device, driver)
        if state is not None and base_url:
            try:
                await session._call("apply browser state", session.apply_state, base_url, state)
            except BaseException:
                await session.close()
                raise
        return session

    def connected(self) -> bool:
        return self._xvfb.process is not None and self._xvfb.process.poll() is None

    async def close(self) -> None:
        def shutdown() -> None:
            with self._lock:
                idle = [d for pool in self._idle.values() for d in pool]
                self._idle.clear()
            for driver in idle:
                self._discard(driver)
            for service in list(self._services):  # sessions still busy or hung
                self._stop_service(service)
            self._xvfb.stop()
        await asyncio.to_thread(shutdown)


