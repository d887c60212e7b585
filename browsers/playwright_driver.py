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

from playwright.async_api import Browser, BrowserContext, Error as PlaywrightError, Page, Playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout

from browsers.devices import DeviceProfile
from browsers.scripts import COLLECT_PAGE_FACTS, MASK_COLOR
from browsers.selectors import for_playwright
from browsers.session import StepFailed

CHROMIUM_PATH = "/usr/bin/chromium"
FIREFOX_PATH = "/usr/bin/firefox-esr"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-gpu",
]
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

    def __init__(self, playwright: Playwright, engine: str, *, launch_timeout_s: float = 60):
        self.playwright = playwright
        self.engine = engine
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
                await _quietly(self._browser.close())
            self._browser = await self._launch()
            return self._browser

    async def start(self) -> str:
        """Launch now (so a missing or broken engine shows up before any check); its version."""
        return (await self.browser()).version

    def connected(self) -> bool:
        return self._browser is not None and self._browser.is_connected()

    async def new_session(self, device: DeviceProfile, *, storage_state: str | None = None) -> "PlaywrightSession":
        browser = await self.browser()
        options = device.playwright_context_options()
        if self.engine == "firefox":
            # Passing is_mobile to Firefox raises in some Playwright versions and is ignored in others.
            options.pop("is_mobile", None)
        if storage_state:
            options["storage_state"] = storage_state
        context = await browser.new_context(**options)
        page = await context.new_page()
        limits = list(FIREFOX_CANNOT) if self.engine == "firefox" and device.is_mobile else []
        return PlaywrightSession(self.engine, device, context, page, limits)

    async def close(self) -> None:
        if self._browser is not None:
            await _quietly(self._browser.close())
            self._browser = None


async def _quietly(awaitable) -> None:
    try:
        await awaitable
    except Exception:  # noqa: BLE001 - closing something already gone
        pass


_ROUTINE_LOG = ("waiting", "retrying", "scrolling", "done scrolling", "element is visible", "attempting",
                "performing", "navigating", "locator resolved")


def _short(error: Exception) -> str:
    """Playwright's first message line, plus the call log's last telling line (why it waited)."""
    text = str(error).strip()
    if not text:
        return type(error).__name__
    head, _, log = text.partition("Call log:")
    first = head.strip().splitlines()[0] if head.strip() else type(error).__name__
    telling = [line.strip().lstrip("- ").strip() for line in log.splitlines()]
    telling = [line for line in telling if line and not line.startswith(_ROUTINE_LOG)]
    return f"{first} ({telling[-1]})" if telling else first


class PlaywrightSession:
    def __init__(self, engine: str, device: DeviceProfile, context: BrowserContext, page: Page,
                 emulation_limits: list[str]):
        self.engine = engine
        self.device = device
        self.context = context
        self.page = page
        self.emulation_limits = emulation_limits
        self._console: list[str] = []
        self._failed: list[dict[str, Any]] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self._console.append(f"Uncaught {exc}"))
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)

    # ----------------------------------------------------------- observers
    def _on_console(self, message) -> None:
        if message.type == "error":
            self._console.append(message.text)

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

    # -------------------------------------------------------------- actions
    def _locator(self, selector: str):
        return self.page.locator(for_playwright(selector)).first

    async def _do(self, what: str, action) -> Any:
        try:
            return await action
        except PlaywrightTimeout as exc:
            raise StepFailed(f"{what}: timed out ({_short(exc)})") from None
        except PlaywrightError as exc:
            if not self.page.is_closed() and self.context.browser and self.context.browser.is_connected():
                raise StepFailed(f"{what}: {_short(exc)}") from None
            raise

    async def goto(self, url: str, timeout_s: float) -> int | None:
        response = await self._do(f"goto {url}", self.page.goto(url, wait_until="load", timeout=timeout_s * 1000))
        return response.status if response is not None else None

    async def click(self, selector: str, timeout_s: float) -> None:
        await self._do(f"click {selector}", self._locator(selector).click(timeout=timeout_s * 1000))

    async def fill(self, selector: str, value: str, timeout_s: float) -> None:
        await self._do(f"fill {selector}", self._locator(selector).fill(value, timeout=timeout_s * 1000))

    async def select(self, selector: str, value: str, timeout_s: float) -> None:
        await self._do(f"select {selector}", self._locator(selector).select_option(value, timeout=timeout_s * 1000))

    async def check(self, selector: str, timeout_s: float) -> None:
        await self._do(f"check {selector}", self._locator(selector).check(timeout=timeout_s * 1000))

    async def press(self, selector: str | None, key: str, timeout_s: float) -> None:
        target = self._locator(selector) if selector else self.page.keyboard
        if selector:
            await self._do(f"press {key} in {selector}", target.press(key, timeout=timeout_s * 1000))
        else:
            await self._do(f"press {key}", target.press(key))

    async def wait_visible(self, selector: str, timeout_s: float) -> None:
        await self._do(f"wait for {selector} to be visible",
                       self._locator(selector).wait_for(state="visible", timeout=timeout_s * 1000))

    async def wait_text(self, selector: str, text: str, timeout_s: float) -> None:
        await self.wait_visible(selector, timeout_s)
        locator = self.page.locator(for_playwright(selector)).filter(has_text=text).first
        try:
            await locator.wait_for(state="visible", timeout=timeout_s * 1000)
        except PlaywrightTimeout:
            actual = (await self._locator(selector).inner_text(timeout=1000)).strip()
            raise StepFailed(f"{selector} does not contain {text!r} (it reads {actual[:120]!r})") from None

    async def current_url(self) -> str:
        return self.page.url

    async def is_visible(self, selector: str, timeout_s: float) -> bool:
        try:
            await self._locator(selector).wait_for(state="visible", timeout=timeout_s * 1000)
            return True
        except PlaywrightTimeout:
            return False

    async def settle(self, settle_ms: int) -> None:
        try:
            await self.page.wait_for_load_state("networkidle", timeout=max(settle_ms * 4, 2000))
        except PlaywrightTimeout:
            pass  # long-polling pages never go idle; measure anyway
        await self.page.wait_for_timeout(settle_ms)

    async def facts(self) -> dict[str, Any]:
        return await self.page.evaluate(COLLECT_PAGE_FACTS)

    async def screenshot(self, path: Path, *, mask: list[str], full_page: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(
            path=str(path), full_page=full_page, animations="disabled", caret="hide",
            mask=[self.page.locator(for_playwright(s)) for s in mask], mask_color=MASK_COLOR, timeout=30_000,
        )

    async def storage_state(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        await self.context.storage_state(path=str(path))

    async def close(self) -> None:
        await _quietly(self.context.close())
