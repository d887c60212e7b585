"""The HTML the page audits read: what the shopper's browser rendered, not a client-rendered shell.

The browsers stage keeps each page's rendered DOM (an Artifact of role "rendered-dom",
Chromium's first). Without one (the audits stage run alone), a page whose server HTML is
an empty shell that scripts fill in is rendered here in headless Chromium, with the
journey state it needs; other pages are audited on their server HTML. Each page says
which it was.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from audits.state import browsers_artifacts
from siteward.browser_state import BrowserState
from siteward.stage import StageContext, run_async

SERVER_HTML = "server HTML"
MAX_DOM_CHARS = 5_000_000
_SCRIPT_OR_STYLE = re.compile(r"<(script|style|noscript|template)\b.*?</\1\s*>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")
_SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc=", re.I)
SHELL_TEXT_CHARS = 40  # a page with scripts and less visible text than this is rendered by them


def looks_client_rendered(html: str) -> bool:
    """Scripts, and next to no text outside them: the page is built in the browser."""
    if not _SCRIPT_SRC.search(html):
        return False
    body = html.split("<body", 1)[-1]
    text = _TAG.sub(" ", _SCRIPT_OR_STYLE.sub(" ", body))
    return len(" ".join(text.split())) < SHELL_TEXT_CHARS


def browsers_stage_doms(ctx: StageContext) -> dict[str, tuple[str, str]]:
    """Page -> (rendered DOM, where it came from), from this run's browsers stage: Chromium's first."""
    return {page: ((ctx.run_dir / a.path).read_text(encoding="utf-8", errors="replace"),
                   f"rendered DOM ({a.tags.get('engine', '')}, browsers stage)")
            for page, a in browsers_artifacts(ctx, "rendered-dom", "page").items()}


async def _render(jobs: dict[str, tuple[str, Path | None]], chrome_path: str, timeout_s: float,
                  context_options: dict[str, Any]) -> dict[str, str]:
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import async_playwright

    from siteward.page_session import CHROMIUM_ARGS

    rendered: dict[str, str] = {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chrome_path, headless=True, args=CHROMIUM_ARGS)
        try:
            for page_name, (url, state) in jobs.items():
                options = dict(context_options)  # TLS trust, basic auth (TargetAccess)
                if state:
                    options["storage_state"] = BrowserState.read(state).playwright_state()
                context = await browser.new_context(**options)
                try:
                    page = await context.new_page()
                    await page.goto(url, wait_until="load", timeout=timeout_s * 1000)
                    try:
                        await page.wait_for_load_state("networkidle", timeout=min(timeout_s, 10) * 1000)
                    except PlaywrightError:
                        pass  # long-polling pages never go idle: audit what is there
                    rendered[page_name] = (await page.content())[:MAX_DOM_CHARS]
                except PlaywrightError:
                    pass  # the server HTML is audited instead, and says so
                finally:
                    await context.close()
        finally:
            await browser.close()
    return rendered


def render_pages(jobs: dict[str, tuple[str, Path | None]], chrome_path: str, timeout_s: float,
                 context_options: dict[str, Any] | None = None) -> dict[str, str]:
    """Page -> its DOM after headless Chromium ran its scripts (pages that failed to render are left out)."""
    if not jobs:
        return {}
    found: dict[str, str] = {}

    async def render() -> None:
        found.update(await _render(jobs, chrome_path, timeout_s, context_options or {}))
    run_async(render())
    return found
