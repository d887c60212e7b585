"""Browser state: freshness, what each engine is given, and cookie conversions (pure)."""

from __future__ import annotations

from siteward.browser_state import (
    BrowserState, from_webdriver_cookie, merge_storage, same_page, to_webdriver_cookie,
)
from siteward.journeys import same_text

NOW = 1_000_000.0


def cookie(name: str, expires: float = -1) -> dict:
    return {"name": name, "value": "v", "domain": "127.0.0.1", "path": "/", "expires": expires,
            "httpOnly": False, "secure": False, "sameSite": "Lax"}


def test_state_is_stale_when_old_or_when_a_cookie_expires_within_the_margin():
    fresh = BrowserState(cookies=[cookie("session", NOW + 600)], captured=NOW - 10)
    assert fresh.staleness(max_age_s=300, margin_s=15, now=NOW) is None
    assert "10 s old" in fresh.staleness(max_age_s=5, margin_s=15, now=NOW)
    assert "expires in 10 s" in fresh.staleness(max_age_s=3600, margin_s=15, now=NOW + 590)
    assert "expired" in fresh.staleness(max_age_s=3600, margin_s=15, now=NOW + 700)
    assert BrowserState(cookies=[cookie("s")], captured=NOW).staleness(max_age_s=300, margin_s=15, now=NOW) is None


def test_engines_never_get_an_expired_cookie_and_session_storage_travels_apart():
    state = BrowserState(cookies=[cookie("old", NOW - 1), cookie("live", NOW + 60), cookie("session")],
                         origins=[{"origin": "http://h", "localStorage": [{"name": "cart", "value": "[1]"}],
                                   "sessionStorage": [{"name": "tab", "value": "1"}]}], captured=NOW)
    playwright = state.playwright_state(now=NOW)
    assert [c["name"] for c in playwright["cookies"]] == ["live", "session"]
    assert playwright["origins"] == [{"origin": "http://h", "localStorage": [{"name": "cart", "value": "[1]"}]}]
    assert state.session_storage() == {"http://h": [{"name": "tab", "value": "1"}]}
    assert state.storage("http://h")["localStorage"] == [{"name": "cart", "value": "[1]"}]
    assert state.summary() == "3 cookie(s), 1 localStorage and 1 sessionStorage item(s)"


def test_webdriver_cookies_keep_their_expiry_both_ways():
    wd = to_webdriver_cookie(cookie("s", NOW + 60.7))
    assert wd["expiry"] == int(NOW + 60.7) and "domain" not in wd
    assert "expiry" not in to_webdriver_cookie(cookie("s"))
    back = from_webdriver_cookie({"name": "s", "value": "v", "expiry": 123, "path": "/", "domain": "h"})
    assert back["expires"] == 123.0 and back["sameSite"] == "Lax"
    assert from_webdriver_cookie({"name": "s", "value": "v"})["expires"] == -1


def test_session_storage_read_on_the_page_joins_playwright_origins():
    origins = merge_storage({"origins": [{"origin": "http://h", "localStorage": [{"name": "a", "value": "1"}]}]},
                            {"origin": "http://h", "localStorage": [], "sessionStorage": [{"name": "t", "value": "2"}]})
    assert origins == [{"origin": "http://h", "localStorage": [{"name": "a", "value": "1"}],
                        "sessionStorage": [{"name": "t", "value": "2"}]}]
    assert merge_storage({}, {"origin": "null", "sessionStorage": [{"name": "x", "value": "y"}]}) == []


def test_same_page_and_typed_values():
    assert same_page("http://h/app/cart/", "http://h/app/cart#top")
    assert not same_page("http://h/app/login", "http://h/app/cart")
    assert not same_page("http://h/search?q=a", "http://h/search?q=b")
    assert same_text("4242 4242 4242 4242", "4242424242424242") and same_text("12 / 30", "12/30")
    assert not same_text("", "Ada") and not same_text("Ad", "Ada")
