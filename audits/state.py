"""Browser state for pages audited "inside" a journey (e.g. checkout with a filled cart).

The browsers stage records a Playwright storage_state file per journey (an Artifact of
role "storage-state"). When the audits stage runs alone there is none, so
`record_journey_state` replays the journey's declarative steps in headless Chromium
with the spine's journey interpreter, on the same Playwright actions the browsers
stage uses. Lighthouse gets the state as a Cookie header (settings.extraHeaders):
cookies are what server-side state (cart, session) hangs on. localStorage cannot travel
in a header; pages that need it are audited without it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from siteward.journeys import JourneyConfig, run_steps
from siteward.secrets import Secrets
from siteward.records import Artifact
from siteward.stage import StageContext, run_async


def browsers_artifacts(ctx: StageContext, role: str, by: str) -> dict[str, Artifact]:
    """The browsers stage's artifacts of `role` in this run, one per value of tag `by`
    (a journey, a page) whose file exists: Chromium's where there is one, else any; the latest."""
    ranked: dict[str, tuple[tuple[bool, int], Artifact]] = {}
    for order, record in enumerate(ctx.records(kind="artifact", stage="browsers")):
        key = record.tags.get(by) if isinstance(record, Artifact) and record.role == role else None
        if key and (ctx.run_dir / record.path).is_file():
            rank = (record.tags.get("engine") == "chromium", order)
            if key not in ranked or rank > ranked[key][0]:
                ranked[key] = (rank, record)
    return {key: record for key, (_, record) in ranked.items()}


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


async def _replay(journey: JourneyConfig, *, base_url: str, out_path: Path, secrets: Secrets,
                  chrome_path: str, timeout_s: float, context_options: dict[str, Any]) -> None:
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import async_playwright

    from siteward.page_session import CHROMIUM_ARGS, PlaywrightPageSession

    async with async_playwright() as p:
        try:
            browser = await p.chromium.launch(executable_path=chrome_path, headless=True, args=CHROMIUM_ARGS)
        except PlaywrightError as exc:
            raise JourneyStateError(f"cannot start Chromium for journey {journey.name!r}: "
                                    f"{str(exc).strip().splitlines()[0]}") from None
        try:
            context = await browser.new_context(**context_options)
            session = PlaywrightPageSession("chromium", None, context, await context.new_page())
            outcome = await run_steps(
                session, journey, base_url=base_url, secrets=secrets, default_timeout_s=timeout_s,
                screenshot_path=lambda name: out_path.parent / f"{out_path.stem}-{name}.png")
            if not outcome.passed:
                raise JourneyStateError(f"journey {journey.name!r} step {secrets.redact(outcome.failed_step or '?')}:"
                                        f" {secrets.redact(outcome.error or '')}")
            (await session.capture_state()).write(out_path)
        finally:
            await browser.close()


def record_journey_state(journey: JourneyConfig, *, base_url: str, out_path: Path, secrets: Secrets,
                         chrome_path: str = "/usr/bin/chromium", timeout_s: float = 60,
                         context_options: dict[str, Any] | None = None) -> Path:
    """Replay `journey` in headless Chromium and save its browser state (siteward.browser_state) to out_path."""
    if not journey.steps:
        raise JourneyStateError(f"journey {journey.name!r} has no declarative steps to replay (python journeys need the browsers stage)")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    run_async(_replay(journey, base_url=base_url, out_path=out_path, secrets=secrets, chrome_path=chrome_path,
                      timeout_s=timeout_s, context_options=context_options or {}))
    return out_path
