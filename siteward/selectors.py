"""Journey selectors: one syntax in the config, translated for each driver.

Config selectors are CSS (``[data-testid=add-to-cart]``), text (``text=Add to cart``
matches case-insensitively anywhere in the element's text; ``text="Add to cart"`` is
exact), or XPath (``xpath=//button`` or starting with ``//``). Playwright understands
all three natively; WebDriver gets CSS or an XPath built here that mimics Playwright's
text engine: the innermost element whose whitespace-normalised text matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import cssselect

# Playwright-only syntax a WebDriver cannot be given as CSS.
_PLAYWRIGHT_ONLY = (">>", ":has-text(", ":text(", ":text-is(", ":visible", ":nth-match(", "internal:")

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"


# A Playwright selector engine prefix (text=, xpath=, id=, data-testid=, role=, ...): not CSS.
_ENGINE_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*=")


def selector_problem(selector: str) -> str | None:
    """Why a config selector can never match, checked when the config loads (CSS syntax; text,
    XPath and Playwright-only selectors are left to the engine), or None."""
    text = selector.strip()
    if not text:
        return "an empty selector"
    if text.startswith("css="):
        text = text[4:]
    elif text.startswith(("//", "(//")) or _ENGINE_PREFIX.match(text):
        return None
    if any(token in text for token in _PLAYWRIGHT_ONLY):
        return None
    try:
        cssselect.parse(text)
    except cssselect.SelectorError as exc:
        return f"invalid CSS selector {selector!r}: {exc}"
    return None


class UnsupportedSelector(ValueError):
    """A selector WebDriver cannot express (Playwright-only syntax)."""


@dataclass(frozen=True)
class WebDriverSelector:
    by: Literal["css selector", "xpath"]
    value: str


def xpath_literal(text: str) -> str:
    """An XPath 1.0 string literal for any text (XPath has no escape character)."""
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    parts = text.split("'")
    return "concat(" + ", \"'\", ".join(f"'{p}'" for p in parts) + ")"


def _normalise(text: str) -> str:
    return " ".join(text.split())


def text_xpath(text: str) -> str:
    """XPath for Playwright's ``text=`` engine: exact if quoted, else case-insensitive substring."""
    exact = len(text) >= 2 and text[0] == text[-1] and text[0] in "'\""
    if exact:
        wanted = _normalise(text[1:-1])
        own = f"normalize-space(.) = {xpath_literal(wanted)}"
        child = f"normalize-space(.) = {xpath_literal(wanted)}"
    else:
        wanted = _normalise(text).lower()
        folded = f"translate(normalize-space(.), '{_UPPER}', '{_LOWER}')"
        own = f"contains({folded}, {xpath_literal(wanted)})"
        child = own
    # The innermost match: no element child matches too (as Playwright picks it).
    return f"//*[not(self::script or self::style or self::head)][{own}][not(*[{child}])]"


def for_webdriver(selector: str) -> WebDriverSelector:
    """Translate a config selector into a WebDriver locator strategy."""
    sel = selector.strip()
    if sel.startswith("text="):
        return WebDriverSelector("xpath", text_xpath(sel[len("text="):].strip()))
    if sel.startswith("xpath="):
        return WebDriverSelector("xpath", sel[len("xpath="):].strip())
    if sel.startswith("//") or sel.startswith("(//"):
        return WebDriverSelector("xpath", sel)
    if sel.startswith("css="):
        sel = sel[len("css="):].strip()
    for marker in _PLAYWRIGHT_ONLY:
        if marker in sel:
            raise UnsupportedSelector(
                f"selector {selector!r} uses Playwright-only syntax ({marker.strip()}) that WebDriver "
                "(WebKit) cannot run; use CSS, text=... or xpath=..."
            )
    return WebDriverSelector("css selector", sel)


def for_playwright(selector: str) -> str:
    """Playwright takes the config syntax as is; ``//x`` is already XPath to it."""
    return selector.strip()
