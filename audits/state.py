"""Browser state for pages audited "inside" a journey (e.g. checkout with a filled cart).

The browsers stage hands over a Playwright storage_state file per journey
(ctx.handoff["storage_state"][journey]). When the audits stage runs alone there is
none, so `record_journey_state` replays the journey's declarative steps in headless
Chromium itself. Lighthouse gets the state as a Cookie header (settings.extraHeaders):
cookies are what server-side state (cart, session) hangs on. localStorage cannot travel
in a header; pages that need it are audited without it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from browsers.config import JourneyConfig, Step
from siteward.secrets import Secrets

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


class JourneyStateError(Exception):
    """Replaying a journey to get its browser state failed; the message says at which step."""


def _domain_matches(host: str, cookie_domain: str) -> bool:
    domain = cookie_domain.lstrip(".").lower()
    host = host.lower()
    return host == domain or host.endswith("." + domain)


def cookie_header(storage_state: dict, url: str, *, now: float | None = None) -> str | None:
    """The Cookie header a browser with this storage state would send to `url`."""
    parts = urlsplit(url)
    host, path = parts.hostname or "", parts.path or "/"
    now = time.time() if now is None else now
    pairs = []
    for cookie in storage_state.get("cookies", []):
        expires = cookie.get("expires", -1)
        if expires not in (-1, None) and expires < now:
            continue
        if not _domain_matches(host, cookie.get("domain", "")):
            continue
        cookie_path = cookie.get("path") or "/"
        if not (path == cookie_path or path.startswith(cookie_path.rstrip("/") + "/") or cookie_path == "/"):
            continue
        if cookie.get("secure") and parts.scheme != "https":
            continue
        pairs.append(f"{cookie['name']}={cookie['value']}")
    return "; ".join(pairs) or None


def extra_headers_for(storage_state_path: Path, url: str) -> dict[str, str]:
    state = json.loads(Path(storage_state_path).read_text(encoding="utf-8"))
    header = cookie_header(state, url)
    return {"Cookie": header} if header else {}


def _run_step(page, step: Step, base_url: str, secrets: Secrets, timeout_ms: float) -> None:
    timeout = step.timeout_ms or timeout_ms
    action, target = step.action, step.target
    if action == "goto":
        page.goto(urljoin(base_url + "/", target.lstrip("/")) if not target.startswith("http") else target,
                  timeout=timeout, wait_until="load")
    elif action == "click":
        page.locator(target).first.click(timeout=timeout)
    elif action == "fill":
        page.locator(target).first.fill(secrets.substitute(step.value or ""), timeout=timeout)
    elif action == "select":
        page.locator(target).first.select_option(secrets.substitute(step.value or ""), timeout=timeout)
    elif action == "check":
        page.locator(target).first.check(timeout=timeout)
    elif action == "press":
        page.locator(target).first.press(step.key or "Enter", timeout=timeout)
    elif action in ("wait_for", "expect_visible"):
        page.locator(target).first.wait_for(state="visible", timeout=timeout)
    elif action == "expect_text":
        page.locator(target).first.wait_for(state="visible", timeout=timeout)
        text = page.locator(target).first.inner_text(timeout=timeout)
        if (step.text or "") not in text:
            raise JourneyStateError(f"expected {target} to contain {step.text!r}, found {text[:120]!r}")
    elif action == "expect_url":
        page.wait_for_url(lambda u: target in u, timeout=timeout)
    # "screenshot" and "mark" only matter to the browsers stage.


def record_journey_state(journey: JourneyConfig, *, base_url: str, out_path: Path, secrets: Secrets,
                         chrome_path: str = "/usr/bin/chromium", timeout_s: float = 60) -> Path:
    """Replay `journey` in headless Chromium and save its Playwright storage_state to out_path."""
    if not journey.steps:
        raise JourneyStateError(f"journey {journey.name!r} has no declarative steps to replay (python journeys need the browsers stage)")
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    out_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chrome_path, headless=True, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context()
                page = context.new_page()
                for index, step in enumerate(journey.steps, 1):
                    try:
                        _run_step(page, step, base_url, secrets, timeout_s * 1000)
                    except (PlaywrightError, JourneyStateError) as exc:
                        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                        raise JourneyStateError(
                            f"journey {journey.name!r} step {index} ({secrets.redact(step.label)}): {secrets.redact(first_line)}"
                        ) from None
                context.storage_state(path=str(out_path))
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise JourneyStateError(f"cannot start Chromium for journey {journey.name!r}: {str(exc).splitlines()[0]}") from None
    return out_path
