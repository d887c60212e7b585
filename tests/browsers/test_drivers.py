"""Driver details: WebDriver's text XPath agrees with Playwright's text engine; error messages."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import sync_playwright

from browsers.playwright_driver import CHROMIUM_PATH
from siteward.page_session import CHROMIUM_ARGS, short_error as _short
from siteward.selectors import text_xpath
from browsers.xvfb import Xvfb

HTML = """<html><body>
<div id="outer"><p id="p1">Add  to
   cart</p><button id="b1">ADD TO CART now</button></div>
<span id="s1">It's "quoted"</span>
<a id="a1">Checkout</a><a id="a2">Go to checkout page</a>
<script>var hidden = "Add to cart";</script>
</body></html>"""

CASES = ["Add to cart", "add to cart", '"Add to cart"', "Checkout", '"Checkout"', "It's", "checkout page"]


@pytest.mark.browser
def test_text_xpath_finds_what_playwright_text_finds():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_content(HTML)
            for text in CASES:
                ours = page.locator("xpath=" + text_xpath(text)).evaluate_all("els => els.map(e => e.id)")
                theirs = page.locator("text=" + text).evaluate_all("els => els.map(e => e.id)")
                assert ours == theirs, (text, ours, theirs)
                assert ours, text
        finally:
            browser.close()


def test_playwright_errors_keep_the_telling_line_of_the_call_log():
    error = Exception("Locator.click: Timeout 15000ms exceeded.\nCall log:\n  - waiting for locator('#buy')\n"
                      "    - element is visible, enabled and stable\n    - <img class=\"hero\"> intercepts pointer events\n"
                      "  - retrying click action\n    - waiting 500ms\n")
    assert _short(error) == 'Locator.click: Timeout 15000ms exceeded. (<img class="hero"> intercepts pointer events)'
    assert _short(Exception("Target closed")) == "Target closed"


def test_xvfb_picks_a_free_display_and_stays_up():
    with Xvfb() as first, Xvfb() as second:
        assert first.display != second.display
        time.sleep(0.5)  # a server that dies after reporting its display dies at once
        assert first.process.poll() is None and second.process.poll() is None
    assert first.process is None and second.process is None
