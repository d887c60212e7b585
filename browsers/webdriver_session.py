"""One WebKit browsing session over WebDriver, behind the same interface as Playwright's.

Selenium is synchronous: every call runs in a worker thread (``asyncio.to_thread``) so the
stage's event loop keeps driving the Playwright engines meanwhile. A call still running
when its check timed out marks the session as not reusable.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
from selenium import webdriver
from selenium.common.exceptions import (
    InvalidSessionIdException, NoAlertPresentException, NoSuchElementException, TimeoutException,
    UnexpectedAlertPresentException, WebDriverException,
)
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from browsers.devices import DeviceProfile
from browsers.scripts import (
    COLLECT_PAGE_FACTS, INJECT_FREEZE, INSTALL_ERROR_HOOKS, MASK_COLOR, PAINT_MASKS, READ_ERROR_HOOKS,
    READ_INTERRUPTIONS, REMOVE_MASKS, as_webdriver_async,
)
from browsers.vitals import READ_NEW_INP, step_interaction
from browsers.vitals import install_script as install_vitals
from browsers.xvfb import SCREEN
from siteward.browser_state import (
    READ_STORAGE, STATE_PATH, WRITE_STORAGE, BrowserState, from_webdriver_cookie, merge_storage, origin_of,
    to_webdriver_cookie,
)
from siteward.journeys import BrowserGone, StepFailed
from siteward.page_session import MAX_DIALOG_TEXT, MAX_INTERRUPTIONS, VISIBLE_ERRORS
from siteward.selectors import UnsupportedSelector, for_webdriver

MAX_WINDOW_HEIGHT = int(SCREEN.split("x")[1])
CONSOLE_NOTE = "WebKitWebDriver has no console access; only errors after load were watched"
REQUESTS_NOTE = "WebKitWebDriver reports no network events or response status"
MAX_STATUS_BODY = 20 * 1024 * 1024  # the status request reads at most this much of a page


def page_hooks() -> str:
    """What each new document gets: the error and dialog hooks, then web-vitals (after load, as
    WebDriver cannot run a script first; its buffered observers still see the load's entries)."""
    return INSTALL_ERROR_HOOKS + ";\n" + install_vitals()


def _gone(exc: Exception) -> bool:
    text = str(exc).lower()
    return isinstance(exc, InvalidSessionIdException) or any(
        marker in text for marker in ("invalid session", "connection refused", "max retries", "session deleted",
                                      "no such window", "failed to establish")
    )


def with_credentials(url: str, credentials: tuple[str, str], origin: str) -> str:
    """https://user:password@host/... for a URL on the target's origin (basic auth over WebDriver)."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != origin:
        return url
    user, password = (quote(value, safe="") for value in credentials)
    return urlunsplit((parts.scheme, f"{user}:{password}@{parts.netloc}", parts.path, parts.query, parts.fragment))


def without_userinfo(url: str) -> str:
    """The URL as the shopper would see it: credentials of basic auth (with_credentials) dropped."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, parts.fragment))


def fit_viewport(driver: webdriver.Remote, width: int, height: int) -> None:
    """Size the window so the page viewport is width x height (as far as GTK allows)."""
    driver.set_window_size(width, height)
    inner_w, inner_h = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    chrome_w, chrome_h = max(0, width - inner_w), max(0, height - inner_h)
    if chrome_w or chrome_h:
        driver.set_window_size(width + chrome_w, height + chrome_h)


class WebDriverSession:
    def __init__(self, owner: Any, device: DeviceProfile, driver: webdriver.Remote):
        self.engine = "webkit"
        self.device = device
        self.owner = owner
        self.driver = driver
        self.healthy = True
        self.emulation_limits = []
        if device.device_scale_factor != 1:
            self.emulation_limits.append("device pixel ratio not emulated (WebDriver sets only the window size)")
        if device.has_touch:
            self.emulation_limits.append("touch not emulated")
        if device.is_mobile:
            self.emulation_limits.append("is_mobile (mobile viewport behaviour) not emulated")
        self._errors: list[dict[str, str]] = []
        self.inp_supported = True  # until the engine says it has no Event Timing interactions
        self.dialogs: list[str] = []  # alert/confirm/prompt the page opened (each dismissed)
        self.popups: list[str] = []  # windows the page opened (each closed)
        self.landed_url: str | None = None  # where the last goto ended, before the page's scripts ran on
        self._cut: str | None = None  # how the document's plain request ended early, if it did
        self._busy = 0  # calls still running in a worker thread (a timed-out check leaves one)

    async def _call(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        self._busy += 1
        try:
            result = await asyncio.to_thread(fn, *args)
        except asyncio.CancelledError:
            raise  # the thread still runs: _busy stays up, so close() discards this session
        except BaseException as exc:
            self._busy -= 1
            raise self._translate(what, exc) from None
        self._busy -= 1
        return result

    def _translate(self, what: str, exc: BaseException) -> BaseException:
        if isinstance(exc, (TimeoutException, NoSuchElementException)):
            return StepFailed(f"{what}: timed out ({(exc.msg or type(exc).__name__).strip()})")
        if isinstance(exc, UnsupportedSelector):
            return StepFailed(str(exc))
        if isinstance(exc, WebDriverException):
            if _gone(exc):
                self.healthy = False
                return BrowserGone(f"webkit session lost: {(exc.msg or str(exc)).strip()[:200]}")
            return StepFailed(f"{what}: {(exc.msg or str(exc)).strip()[:300]}")
        if isinstance(exc, OSError):  # the driver's HTTP connection broke
            self.healthy = False
            return BrowserGone(f"webkit session lost: {exc}")
        return exc

    def _wait(self, timeout_s: float, condition) -> Any:
        return WebDriverWait(self.driver, timeout_s, poll_frequency=0.1).until(condition)

    def _element(self, selector: str, timeout_s: float, condition=EC.visibility_of_element_located):
        locator = for_webdriver(selector)
        return self._wait(timeout_s, condition((locator.by, locator.value)))

    # -------------------------------------------------------------- actions
    def _goto(self, url: str, timeout_s: float) -> None:
        self.driver.set_page_load_timeout(timeout_s)
        access = self.owner.access
        address = with_credentials(url, access.auth, access.origin) if access.auth else url
        self._past_dialogs(lambda: self.driver.get(address), again=False)
        self.landed_url = without_userinfo(self._past_dialogs(lambda: self.driver.current_url) or "")
        self._past_dialogs(lambda: self.driver.execute_script(page_hooks()))

    def _keep(self, found: list[str], text: str) -> None:
        if len(found) < MAX_INTERRUPTIONS:
            found.append(text)

    def _past_dialogs(self, command: Callable[[], Any], *, again: bool = True) -> Any:
        """Run a command; dialogs the page opened before our hooks are recorded and dismissed
        (WebDriver dismisses the first and says so on the next command; the next may be open
        already), and the command is sent again unless it was a navigation."""
        for _ in range(MAX_INTERRUPTIONS):
            try:
                return command()
            except UnexpectedAlertPresentException as exc:
                self._keep(self.dialogs, f"dialog: {(exc.alert_text or '')[:MAX_DIALOG_TEXT]!r}")
                self._dismiss_open_dialogs()
                if not again:
                    return None
        return command()

    def _dismiss_open_dialogs(self) -> None:
        for _ in range(MAX_INTERRUPTIONS):
            try:
                alert = self.driver.switch_to.alert
                self._keep(self.dialogs, f"dialog: {(alert.text or '')[:MAX_DIALOG_TEXT]!r}")
                alert.dismiss()
            except NoAlertPresentException:
                return

    def _interruptions(self) -> None:
        """Dialogs and popups the page's scripts opened after load (hooks), and windows left open."""
        dialogs, popups = self.driver.execute_script(READ_INTERRUPTIONS) or ([], [])
        for text in dialogs:
            self._keep(self.dialogs, text)
        for url in popups:
            self._keep(self.popups, url)
        main = self.driver.current_window_handle
        for handle in [h for h in self.driver.window_handles if h != main][:MAX_INTERRUPTIONS]:
            self.driver.switch_to.window(handle)
            self._keep(self.popups, self.driver.current_url[:MAX_DIALOG_TEXT])
            self.driver.close()
        self.driver.switch_to.window(main)

    async def goto(self, url: str, timeout_s: float) -> int | None:
        await self._call(f"goto {url}", self._goto, url, timeout_s)
        return None  # WebDriver has no response status; see fetch_status

    def _click(self, selector: str, timeout_s: float) -> None:
        element = self._element(selector, timeout_s, EC.element_to_be_clickable)
        element.click()
        self._hook_after_navigation()

    def _hook_after_navigation(self) -> None:
        try:
            self.driver.execute_script(page_hooks())
        except WebDriverException:
            pass  # mid-navigation; the next page may simply go unwatched

    async def click(self, selector: str, timeout_s: float) -> None:
        await self._call(f"click {selector}", self._click, selector, timeout_s)

    def _fill(self, selector: str, value: str, timeout_s: float) -> None:
        element = self._element(selector, timeout_s)
        element.clear()
        element.send_keys(value)

    async def fill(self, selector: str, value: str, timeout_s: float) -> None:
        await self._call(f"fill {selector}", self._fill, selector, value, timeout_s)

    def _type_text(self, selector: str, value: str, timeout_s: float) -> None:
        from selenium.webdriver.common.keys import Keys

        element = self._element(selector, timeout_s)
        self.driver.execute_script("arguments[0].focus(); arguments[0].select();", element)
        element.send_keys(Keys.BACKSPACE)
        for char in value:  # one key event at a time, as a person types
            element.send_keys(char)

    async def type_text(self, selector: str, value: str, timeout_s: float) -> None:
        await self._call(f"type into {selector}", self._type_text, selector, value, timeout_s)

    def _input_value(self, selector: str, timeout_s: float) -> str:
        element = self._element(selector, timeout_s, EC.presence_of_element_located)
        return element.get_property("value") or ""

    async def input_value(self, selector: str, timeout_s: float) -> str:
        return await self._call(f"read {selector}", self._input_value, selector, timeout_s)

    async def visible_errors(self) -> list[str]:
        return await self._call("read visible errors", self.driver.execute_script,
                                f"return ({VISIBLE_ERRORS})();") or []

    async def page_errors(self) -> list[str]:
        self._errors = await self._call("read errors", self.driver.execute_script, READ_ERROR_HOOKS) or []
        return self.console_errors()[0]

    def _select(self, selector: str, value: str, timeout_s: float) -> None:
        choice = Select(self._element(selector, timeout_s))
        try:
            choice.select_by_value(value)
        except NoSuchElementException:
            choice.select_by_visible_text(value)

    async def select(self, selector: str, value: str, timeout_s: float) -> None:
        await self._call(f"select {selector}", self._select, selector, value, timeout_s)

    def _check(self, selector: str, timeout_s: float) -> None:
        element = self._element(selector, timeout_s)
        if not element.is_selected():
            element.click()

    async def check(self, selector: str, timeout_s: float) -> None:
        await self._call(f"check {selector}", self._check, selector, timeout_s)

    def _press(self, selector: str | None, key: str, timeout_s: float) -> None:
        from selenium.webdriver.common.keys import Keys

        keys = getattr(Keys, key.upper(), key)
        if selector:
            self._element(selector, timeout_s).send_keys(keys)
        else:
            self.driver.switch_to.active_element.send_keys(keys)
        self._hook_after_navigation()

    async def press(self, selector: str | None, key: str, timeout_s: float) -> None:
        await self._call(f"press {key}", self._press, selector, key, timeout_s)

    async def wait_visible(self, selector: str, timeout_s: float) -> None:
        await self._call(f"wait for {selector} to be visible", self._element, selector, timeout_s)

    def _wait_text(self, selector: str, text: str, timeout_s: float) -> None:
        locator = for_webdriver(selector)
        try:
            self._wait(timeout_s, EC.text_to_be_present_in_element((locator.by, locator.value), text))
        except TimeoutException:
            found = self.driver.find_elements(locator.by, locator.value)
            actual = found[0].text.strip()[:120] if found else None
            reason = f"it reads {actual!r}" if found else "no such element"
            raise StepFailed(f"{selector} does not contain {text!r} ({reason})") from None

    async def wait_text(self, selector: str, text: str, timeout_s: float) -> None:
        await self._call(f"expect text in {selector}", self._wait_text, selector, text, timeout_s)

    async def current_url(self) -> str:
        return without_userinfo(await self._call("read url", lambda: self.driver.current_url))

    def _is_visible(self, selector: str, timeout_s: float) -> bool:
        try:
            self._element(selector, timeout_s)
            return True
        except TimeoutException:
            return False

    async def is_visible(self, selector: str, timeout_s: float) -> bool:
        return await self._call(f"visible {selector}", self._is_visible, selector, timeout_s)

    async def settle(self, settle_ms: int) -> None:
        await asyncio.sleep(settle_ms / 1000)

    async def facts(self) -> dict[str, Any]:
        facts = await self._call("collect page facts", self.driver.execute_async_script,
                                 as_webdriver_async(COLLECT_PAGE_FACTS))
        if isinstance(facts, dict) and "__error" in facts:
            raise StepFailed(f"collect page facts: {facts['__error']}")
        self._errors = await self._call("read errors", self.driver.execute_script, READ_ERROR_HOOKS) or []
        await self._call("read dialogs and popups", self._interruptions)
        return facts

    @property
    def stuck(self) -> bool:
        """A call still hangs in the driver (a page stuck in a script) or the session is gone."""
        return bool(self._busy) or not self.healthy

    async def responsive(self, timeout_s: float) -> bool:
        """Does the page's main thread still run a script? (A page stuck in a loop does not.)"""
        try:
            await asyncio.wait_for(self._call("probe", self.driver.execute_script, "return 1"), timeout_s)
            return True
        except (asyncio.TimeoutError, StepFailed, BrowserGone):
            return False

    def _screenshot(self, path: Path, mask: list[str], full_page: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        driver = self.driver
        driver.execute_script(INJECT_FREEZE)
        if mask:
            driver.execute_script(PAINT_MASKS, mask, MASK_COLOR)
        size = driver.get_window_size()
        try:
            if full_page:
                inner_h, doc_h = driver.execute_script(
                    "return [window.innerHeight, document.documentElement.scrollHeight]")
                if doc_h > inner_h:
                    chrome = size["height"] - inner_h
                    driver.set_window_size(size["width"], min(doc_h + chrome, MAX_WINDOW_HEIGHT))
                    time.sleep(0.2)  # let GTK resize and WebKit relayout before the capture
            driver.get_screenshot_as_file(str(path))
        finally:
            driver.set_window_size(size["width"], size["height"])
            if mask:
                driver.execute_script(REMOVE_MASKS)

    async def screenshot(self, path: Path, *, mask: list[str], full_page: bool) -> None:
        await self._call("screenshot", self._screenshot, path, mask, full_page)

    def console_errors(self) -> tuple[list[str] | None, str]:
        return [f"{'Uncaught ' if e.get('kind') == 'exception' else ''}{e.get('text', '')}" for e in self._errors], \
            CONSOLE_NOTE

    def failed_requests(self) -> tuple[list[dict[str, Any]] | None, str]:
        return None, REQUESTS_NOTE

    def apply_state(self, base_url: str, state: BrowserState) -> None:
        """Cookies (with their expiry), then the origin's localStorage and sessionStorage, written on
        a page of the shop's origin (WebDriver cannot answer a URL itself: the shop's own 404 will do)."""
        origin = origin_of(base_url)
        self.driver.get(origin + STATE_PATH)
        for cookie in state.live_cookies():
            self.driver.add_cookie(to_webdriver_cookie(cookie))
        items = state.storage(origin)
        if items["localStorage"] or items["sessionStorage"]:
            self.driver.execute_script(f"return ({WRITE_STORAGE})(arguments[0]);", items)

    def _capture_state(self) -> BrowserState:
        cookies = [from_webdriver_cookie(c) for c in self.driver.get_cookies()]
        read = self.driver.execute_script(f"return ({READ_STORAGE})();")
        return BrowserState(cookies=cookies, origins=merge_storage({}, read), engine=self.engine)

    async def capture_state(self) -> BrowserState:
        return await self._call("read browser state", self._capture_state)

    async def fetch_status(self, url: str, timeout_s: float) -> int | None:
        """The status of the URL from a plain HTTP request carrying this session's cookies."""
        cookies = await self._call("read cookies", self.driver.get_cookies)
        jar = {c["name"]: c["value"] for c in cookies}

        def get() -> int:
            with httpx.Client(cookies=jar, timeout=timeout_s, follow_redirects=True, **self.owner.access.httpx_options(),
                              headers={"User-Agent": self.device.user_agent or "siteward"}) as client:
                with client.stream("GET", url) as response:
                    received = 0
                    try:  # read (bounded) to the end: a response cut short is said as such
                        for chunk in response.iter_raw():
                            received += len(chunk)
                            if received > MAX_STATUS_BODY:
                                break
                    except httpx.RemoteProtocolError as exc:
                        self._cut = str(exc).split(":")[-1].strip() or "the body ended early"
                    return response.status_code
        try:
            return await asyncio.to_thread(get)
        except httpx.HTTPError:
            return None

    def cut_document(self, facts: dict[str, Any]) -> str | None:
        """What the plain request of fetch_status saw when the server hung up mid-body."""
        return self._cut

    async def run_in_page(self, source: str, function: str, arg: Any, timeout_s: float) -> Any:
        """Run a library's source, then an async arrow function with arg (execute_async_script)."""
        await asyncio.wait_for(self._call("inject script", self.driver.execute_script, source), timeout_s)
        return await asyncio.wait_for(self._call("run script", self.driver.execute_async_script,
                                                 as_webdriver_async(function, with_argument=True), arg), timeout_s + 5)

    async def page_source(self) -> str:
        return await self._call("read the page", lambda: self.driver.page_source)

    async def new_interaction_latency(self) -> float | None:
        """A journey step's INP as web-vitals saw it; asked no more once the engine cannot tell."""
        if not self.inp_supported:
            return None
        try:
            read = await self._call("read interactions", self.driver.execute_async_script,
                                    as_webdriver_async(READ_NEW_INP))
        except StepFailed:
            return None  # mid-navigation: the interaction's document is gone
        if isinstance(read, dict) and read.get("installed") and not read.get("supported"):
            self.inp_supported = False
        return step_interaction(read)

    async def close(self) -> None:
        if self.healthy and not self._busy:
            await asyncio.to_thread(self.owner._give_back, self.device, self.driver)
        else:
            await asyncio.to_thread(self.owner._discard, self.driver)
            self.owner.restarts += 1
