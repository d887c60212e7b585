"""Chromium and Firefox through Playwright's async API, on the Debian browser builds.

One browser per engine, reused; every check gets a fresh context (own cookies and
storage) on it. A browser that crashed or was killed is relaunched on the next
``new_session`` so the other checks go on (the stage retries the broken one).
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, Playwright
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from browsers.devices import DeviceProfile
from browsers.scripts import COLLECT_PAGE_FACTS
from browsers.vitals import READ_NEW_INP, install_script as vitals_script, step_interaction
from browsers.traces import Recording
from siteward.browser_state import BrowserState, same_page
from siteward.page_session import CHROMIUM_ARGS, PlaywrightPageSession, quietly

CHROMIUM_PATH = "/usr/bin/chromium"
FIREFOX_PATH = "/usr/bin/firefox-esr"
INSTALL_HINTS = {
    "chromium": "apt-get install -y chromium",
    "firefox": "apt-get install -y firefox-esr",
}
# Playwright's Firefox (WebDriver BiDi) accepts these options but has no effect for them.
FIREFOX_CANNOT = ["is_mobile (mobile viewport behaviour) not emulated by Playwright's Firefox"]
# Request failures that are our own doing (navigation away, closed context), not the site's.
_ABORTED = ("net::ERR_ABORTED", "NS_BINDING_ABORTED", "NS_ERROR_ABORT")


def executable_for(engine: str) -> str | None:
    """The browser binary for an engine, or None when it is not installed."""
    path = CHROMIUM_PATH if engine == "chromium" else FIREFOX_PATH
    return path if Path(path).is_file() else shutil.which(Path(path).name)


class PlaywrightEngine:
    """One launched browser of one engine, relaunched when it dies."""

    def __init__(self, playwright: Playwright, engine: str, *, launch_timeout_s: float = 60,
                 context_options: dict[str, Any] | None = None):
        self.playwright = playwright
        self.engine = engine
        self.context_options = dict(context_options or {})  # TLS trust, basic auth (TargetAccess)
        self.launch_timeout_s = launch_timeout_s
        self.restarts = 0
        self._browser: Browser | None = None
        self._lock = asyncio.Lock()

    async def _launch(self) -> Browser:
        executable = executable_for(self.engine)
        if executable is None:
            raise FileNotFoundError(f"{self.engine} is not installed (install: {INSTALL_HINTS[self.engine]})")
        timeout = self.launch_timeout_s * 1000
        if self.engine == "chromium":
            return await self.playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                                         timeout=timeout)
        return await self.playwright.firefox.launch(channel="moz-firefox", executable_path=executable,
                                                    timeout=timeout)

    async def browser(self) -> Browser:
        async with self._lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            if self._browser is not None:
                self.restarts += 1
                await quietly(self._browser.close())
            self._browser = await self._launch()
            return self._browser

    async def start(self) -> str:
        """Launch now (so a missing or broken engine shows up before any check); its version."""
        return (await self.browser()).version

    def connected(self) -> bool:
        return self._browser is not None and self._browser.is_connected()

    async def new_session(self, device: DeviceProfile, *, state: BrowserState | None = None,
                          timeout_s: float = 30, recording: Recording | None = None) -> "PlaywrightSession":
        browser = await self.browser()
        options = {**device.playwright_context_options(), **self.context_options,
                   **(recording.context_options() if recording else {})}
        if self.engine == "firefox":
            # Passing is_mobile to Firefox raises in some Playwright versions and is ignored in others.
            options.pop("is_mobile", None)
        if state is not None:
            options["storage_state"] = state.playwright_state()
        context = await browser.new_context(**options)
        # web-vitals observes every document of the session from its first byte (browsers/vitals.py)
        await context.add_init_script(script=vitals_script())
        if recording is not None:
            await recording.start(context, f"{self.engine} {device.name}")
        page = await context.new_page()
        limits = list(FIREFOX_CANNOT) if self.engine == "firefox" and device.is_mobile else []
        session = PlaywrightSession(self.engine, device, context, page, limits)
        if state is not None:
            try:
                await session.apply_session_storage(state, timeout_s)
            except BaseException:
                await session.close()
                raise
        return session

    async def close(self) -> None:
        if self._browser is not None:
            await quietly(self._browser.close())
            self._browser = None


class PlaywrightSession(PlaywrightPageSession):
    """A journey session plus the page-check half: console errors, failed requests, facts."""

    def __init__(self, engine: str, device: DeviceProfile, context: BrowserContext, page: Page,
                 emulation_limits: list[str]):
        super().__init__(engine, device, context, page, emulation_limits)
        self._failed: list[dict[str, Any]] = []
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)

    # ----------------------------------------------------------- observers
    def _on_request_failed(self, request) -> None:
        failure = request.failure or "failed"
        if not any(marker in failure for marker in _ABORTED):
            self._failed.append({"url": request.url, "error": failure})

    def _on_response(self, response) -> None:
        if response.status >= 400:
            self._failed.append({"url": response.url, "status": response.status})

    def console_errors(self) -> tuple[list[str] | None, str]:
        return list(self._console), ""

    def failed_requests(self) -> tuple[list[dict[str, Any]] | None, str]:
        return list(self._failed), ""

    async def settle(self, settle_ms: int) -> None:
        try:
            await self.page.wait_for_load_state("networkidle", timeout=max(settle_ms * 4, 2000))
        except PlaywrightTimeout:
            pass  # long-polling pages never go idle; measure anyway
        await self.page.wait_for_timeout(settle_ms)

    async def facts(self) -> dict[str, Any]:
        return await self.page.evaluate(COLLECT_PAGE_FACTS)

    def cut_document(self, facts: dict[str, Any]) -> str | None:
        """How much of the promised document arrived, when less than promised."""
        navigation = facts.get("navigation") or {}
        received = navigation.get("bodyBytes")
        if not self.landed_url or not same_page(str(navigation.get("url", "")), self.landed_url):
            return None  # the page has moved on to another document since
        if isinstance(received, (int, float)) and self.declared_length and 0 < received < self.declared_length:
            return f"received {int(received)} of {self.declared_length} bytes"
        return None

    async def page_source(self) -> str:
        return await self.page.content()

    async def new_interaction_latency(self) -> float | None:
        """The worst interaction web-vitals saw since the last call (a journey step's INP)."""
        try:
            return step_interaction(await self.page.evaluate(READ_NEW_INP))
        except PlaywrightError:
            return None  # the page navigated away mid-read: its interaction went with it

    async def run_in_page(self, source: str, function: str, arg: Any, timeout_s: float) -> Any:
        """Evaluate a library's source, then an async arrow function with arg. Evaluation over
        CDP/BiDi is not subject to the page's Content-Security-Policy."""
        async def both() -> Any:
            await self.page.evaluate(source)
            return await self.page.evaluate(function, arg)
        return await asyncio.wait_for(both(), timeout_s + 5)
