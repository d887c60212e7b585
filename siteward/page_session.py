"""Journey actions on a Playwright page: the Session half the journey interpreter needs.

The browsers stage extends it with page checks (console, failed requests, facts); the
audits stage replays journeys on it to prepare Lighthouse's state. Both therefore click,
fill and wait in exactly the same way.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Error as PlaywrightError, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from siteward.browser_state import READ_STORAGE, STATE_PAGE, STATE_PATH, WRITE_STORAGE, BrowserState, merge_storage
from siteward.journeys import StepFailed
from siteward.selectors import for_playwright

# Chromium flags every Playwright launch gets: no sandbox (containers, root), and no
# background traffic (the machines' closed network refuses it, and it would pollute timings).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-gpu"]
MASK_COLOR = "#FF00FF"
MAX_INTERRUPTIONS = 10  # dialogs or popups kept per page
MAX_DIALOG_TEXT = 200
POPUP_WAIT_MS = 2000

# What the page itself shows as an error: alerts, live regions, elements whose id, class or
# test id says "error". Visible ones only, innermost text first, at most five, each bounded.
VISIBLE_ERRORS = r"""
() => {
  const selector = '[role=alert], [aria-live=assertive], [aria-live=polite], [id*=error i], [class*=error i],'
    + ' [data-test*=error i], [data-testid*=error i]';
  const texts = [];
  for (const el of document.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility === 'hidden' || style.display === 'none') continue;
    const text = (el.innerText || '').replace(/\s+/g, ' ').trim().slice(0, 200);
    if (text && !texts.includes(text)) texts.push(text);
    if (texts.length >= 20) break;
  }
  return texts.filter((t) => !texts.some((o) => o !== t && t.includes(o))).slice(0, 5);
}
"""
# Did the engine's fill reach the page as trusted input? Firefox over WebDriver BiDi fills with
# one untrusted `input` event, which React's onChange never sees.
WATCH_INPUT = ("el => { el.__swInputs = []; if (!el.__swWatched) { el.__swWatched = true;"
               " el.addEventListener('input', (e) => el.__swInputs.push(e.isTrusted), true); } }")
READ_INPUT = "el => el.__swInputs || []"

_ROUTINE_LOG = ("waiting", "retrying", "scrolling", "done scrolling", "element is visible", "attempting",
                "performing", "navigating", "locator resolved")


async def quietly(awaitable) -> None:
    try:
        await awaitable
    except Exception:  # noqa: BLE001 - closing something already gone
        pass


def short_error(error: Exception) -> str:
    """Playwright's first message line, plus the call log's last telling line (why it waited)."""
    text = str(error).strip()
    if not text:
        return type(error).__name__
    head, _, log = text.partition("Call log:")
    first = head.strip().splitlines()[0] if head.strip() else type(error).__name__
    telling = [line.strip().lstrip("- ").strip() for line in log.splitlines()]
    telling = [line for line in telling if line and not line.startswith(_ROUTINE_LOG)]
    return f"{first} ({telling[-1]})" if telling else first


class PlaywrightPageSession:
    """The journey actions of a Session on one Playwright page in its own context."""

    def __init__(self, engine: str, device: Any, context: BrowserContext, page: Page,
                 emulation_limits: list[str] | None = None):
        self.engine = engine
        self.device = device
        self.context = context
        self.page = page
        self.emulation_limits = emulation_limits or []
        self.screenshot_fallback: str | None = None  # why the last screenshot is the viewport only
        self._console: list[str] = []  # console errors and uncaught exceptions, in order
        self.dialogs: list[str] = []  # alert/confirm/prompt the page opened (each dismissed)
        self.popups: list[str] = []  # windows the page opened (each closed)
        self.declared_length: int | None = None  # Content-Length of the last document loaded
        self.landed_url: str | None = None  # where the last goto's response came from
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)
        page.on("dialog", self._on_dialog)
        page.on("popup", self._on_popup)

    def _on_console(self, message) -> None:
        if message.type == "error":
            self._console.append(message.text)

    def _on_page_error(self, error) -> None:
        # Firefox over BiDi also reports Content-Security-Policy violations as page errors:
        # a blocked resource is a console error, not an uncaught exception of the page's code.
        text = str(error)
        csp = "directive" in text and ("violates" in text or "Content-Security-Policy" in text)
        self._console.append(f"CSP: {text}" if csp else f"Uncaught {text}")

    async def _on_dialog(self, dialog) -> None:
        # Dismissed, as a shopper closing it would; a page that opens dialogs without end keeps
        # only the first few.
        if len(self.dialogs) < MAX_INTERRUPTIONS:
            self.dialogs.append(f"{dialog.type}: {dialog.message[:MAX_DIALOG_TEXT]!r}")
        await quietly(dialog.dismiss())

    async def _on_popup(self, popup) -> None:
        # Firefox opens every popup at about:blank first, then navigates it.
        await quietly(popup.wait_for_url(lambda url: url != "about:blank", wait_until="commit", timeout=POPUP_WAIT_MS))
        if len(self.popups) < MAX_INTERRUPTIONS:
            self.popups.append(popup.url[:MAX_DIALOG_TEXT])
        await quietly(popup.close())

    async def responsive(self, timeout_s: float) -> bool:
        """Does the page's main thread still run a script? (A page stuck in a loop does not.)"""
        try:
            await asyncio.wait_for(self.page.evaluate("1"), timeout_s)
            return True
        except (asyncio.TimeoutError, PlaywrightError):
            return False

    async def page_errors(self) -> list[str]:
        return list(self._console)

    async def visible_errors(self) -> list[str]:
        return await self.page.evaluate(VISIBLE_ERRORS)

    def _locator(self, selector: str):
        return self.page.locator(for_playwright(selector)).first

    async def _do(self, what: str, action) -> Any:
        try:
            return await action
        except PlaywrightTimeout as exc:
            raise StepFailed(f"{what}: timed out ({short_error(exc)})") from None
        except PlaywrightError as exc:
            if not self.page.is_closed() and self.context.browser and self.context.browser.is_connected():
                raise StepFailed(f"{what}: {short_error(exc)}") from None
            raise

    async def goto(self, url: str, timeout_s: float) -> int | None:
        response = await self._do(f"goto {url}", self.page.goto(url, wait_until="load", timeout=timeout_s * 1000))
        if response is None:
            return None
        self.landed_url = response.url  # after server redirects, before the page's own scripts move it
        headers = response.headers
        length = headers.get("content-length", "")
        # The length the server promised, to tell a response cut short (Firefox renders what came).
        self.declared_length = int(length) if length.isdigit() and "content-encoding" not in headers else None
        return response.status

    async def click(self, selector: str, timeout_s: float) -> None:
        await self._do(f"click {selector}", self._locator(selector).click(timeout=timeout_s * 1000))

    async def fill(self, selector: str, value: str, timeout_s: float) -> None:
        """Playwright's fill; where it reached the page only as untrusted input, type key by key."""
        locator = self._locator(selector)
        await self._do(f"fill {selector}", locator.evaluate(WATCH_INPUT, timeout=timeout_s * 1000))
        await self._do(f"fill {selector}", locator.fill(value, timeout=timeout_s * 1000))
        trusted = await self._do(f"fill {selector}", locator.evaluate(READ_INPUT, timeout=timeout_s * 1000))
        if trusted and not any(trusted):
            await self.type_text(selector, value, timeout_s)

    async def type_text(self, selector: str, value: str, timeout_s: float) -> None:
        """Clear and type key by key: trusted keyboard input every framework handler sees."""
        locator = self._locator(selector)
        await self._do(f"type into {selector}", locator.select_text(timeout=timeout_s * 1000))
        await self._do(f"type into {selector}", self.page.keyboard.press("Backspace"))
        await self._do(f"type into {selector}", locator.press_sequentially(value, timeout=timeout_s * 1000))

    async def input_value(self, selector: str, timeout_s: float) -> str:
        return await self._do(f"read {selector}", self._locator(selector).input_value(timeout=timeout_s * 1000))

    async def select(self, selector: str, value: str, timeout_s: float) -> None:
        await self._do(f"select {selector}", self._locator(selector).select_option(value, timeout=timeout_s * 1000))

    async def check(self, selector: str, timeout_s: float) -> None:
        await self._do(f"check {selector}", self._locator(selector).check(timeout=timeout_s * 1000))

    async def press(self, selector: str | None, key: str, timeout_s: float) -> None:
        if selector:
            await self._do(f"press {key} in {selector}", self._locator(selector).press(key, timeout=timeout_s * 1000))
        else:
            await self._do(f"press {key}", self.page.keyboard.press(key))

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

    async def screenshot(self, path: Path, *, mask: list[str], full_page: bool) -> None:
        """A full-page screenshot, or the viewport where the engine cannot take the whole page
        (Firefox answers "unsupported operation" when page height x device scale is past its
        limit, e.g. a long product list at iPhone's scale 3); `screenshot_fallback` says so."""
        path.parent.mkdir(parents=True, exist_ok=True)
        masks = [self.page.locator(for_playwright(s)) for s in mask]
        try:
            await self.page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide",
                                       mask=masks, mask_color=MASK_COLOR, timeout=30_000)
        except PlaywrightError as exc:
            if not full_page or "unsupported operation" not in str(exc):
                raise
            await self.page.screenshot(path=str(path), full_page=False, animations="disabled", caret="hide",
                                       mask=masks, mask_color=MASK_COLOR, timeout=30_000)
            self.screenshot_fallback = ("a full-page screenshot is past this engine's limit here "
                                        "(\"unsupported operation\"): the viewport was captured")

    async def capture_state(self) -> BrowserState:
        """Cookies and localStorage (Playwright's storage_state) plus the page origin's sessionStorage."""
        state = await self.context.storage_state()
        try:
            read = await self.page.evaluate(READ_STORAGE)
        except PlaywrightError:
            read = None
        return BrowserState(cookies=state.get("cookies") or [], origins=merge_storage(state, read), engine=self.engine)

    async def apply_session_storage(self, state: BrowserState, timeout_s: float) -> None:
        """sessionStorage is per tab, not per context: write it on a blank page of each origin,
        answered here (no request reaches the shop). Cookies and localStorage came with the context."""
        for origin, items in state.session_storage().items():
            url = origin + STATE_PATH

            async def blank(route) -> None:
                await route.fulfill(body=STATE_PAGE, content_type="text/html")
            await self.page.route(url, blank)
            try:
                await self._do("apply browser state", self.page.goto(url, timeout=timeout_s * 1000))
                await self._do("apply browser state", self.page.evaluate(WRITE_STORAGE, {"sessionStorage": items}))
            finally:
                await self.page.unroute(url, blank)

    async def close(self) -> None:
        await quietly(self.context.close())
