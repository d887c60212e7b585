"""The sweep plan and the journey helpers that need no browser."""

from __future__ import annotations

import pytest

from siteward.journeys import JourneyConfig
from siteward.journeys import absolute_url, load_python_journey, secret_problem, url_matches
from browsers.plan import Profile, auto_concurrency, build_plan, interleave, journey_profiles
from stage_helpers import stage_options
from siteward.selectors import UnsupportedSelector, for_webdriver, text_xpath, xpath_literal
from sweep_helpers import make_ctx
from siteward.config import load_config
from siteward.errors import ConfigError, UsageError
from siteward.secrets import Secrets


@pytest.fixture()
def demo():
    return load_config(None, target="http://127.0.0.1:9")


def options_of(flags: dict):
    return stage_options("browsers", flags)


def test_options_narrow_the_config(demo):
    plan = build_plan(demo, options_of({"engines": ["webkit"], "devices": ["pixel-7", "fold"],
                                        "pages": ["home", "checkout"], "journeys": ["checkout"]}))
    assert plan.engines == ["webkit"] and plan.devices == ["pixel-7", "fold"]
    assert [p.name for p in plan.pages] == ["home", "checkout"]
    assert [j.name for j in plan.journeys] == ["checkout"]
    assert plan.state_journeys == ["fill-cart"]  # the checkout page needs the cart
    assert build_plan(demo, options_of({"no_journeys": True})).journeys == []
    journeys_only = build_plan(demo, options_of({"no_pages": True, "journeys": ["checkout"]}))
    assert journeys_only.pages == [] and [j.name for j in journeys_only.journeys] == ["checkout"]
    assert journeys_only.state_journeys == []  # no page needs a journey's state


@pytest.mark.parametrize("options, message", [
    ({"engines": ["edge"]}, "Edge is Chromium-based"),
    ({"devices": ["iphone-99"]}, "valid devices: desktop"),
    ({"pages": ["nope"]}, "unknown page 'nope'; valid pages: home, category"),
    ({"journeys": ["nope"]}, "valid journeys: fill-cart, checkout, login"),
])
def test_unknown_names_on_the_command_line_are_usage_errors(demo, options, message):
    with pytest.raises(UsageError, match=message):
        build_plan(demo, options_of(options))


def test_journeys_restrict_their_profiles(demo):
    plan = build_plan(demo, options_of({"engines": ["chromium", "webkit"], "devices": ["desktop", "pixel-7"]}))
    only_phone_webkit = JourneyConfig(name="j", steps=[{"goto": "/"}], engines=["webkit"], devices=["pixel-7"])
    assert journey_profiles(only_phone_webkit, plan) == [Profile("webkit", "pixel-7")]
    assert len(journey_profiles(JourneyConfig(name="all", steps=[{"goto": "/"}]), plan)) == 4


def test_concurrency_and_interleave():
    assert auto_concurrency(3) == 3 and 1 <= auto_concurrency(0) <= 4

    class T:
        def __init__(self, engine, n):
            self.profile, self.n = Profile(engine, "desktop"), n
    tasks = [T("chromium", 1), T("chromium", 2), T("webkit", 1), T("firefox", 1)]
    assert [(t.profile.engine, t.n) for t in interleave(tasks)] == [
        ("chromium", 1), ("webkit", 1), ("firefox", 1), ("chromium", 2)]


@pytest.mark.parametrize("current, expected, ok", [
    ("http://h/account", "/account", True),
    ("http://h/account/", "/account", True),
    ("http://h/account?x=1", "/account", True),
    ("http://h/account?x=1", "/account?x=2", False),
    ("http://h/order/17", "/order/*", True),
    ("http://h/login", "/account", False),
    ("http://h/account", "http://h/account", True),
])
def test_expect_url_semantics(current, expected, ok):
    assert url_matches(current, expected, "http://h") is ok


def test_absolute_url():
    assert absolute_url("/cart", "http://h:1") == "http://h:1/cart"
    assert absolute_url("https://other/x", "http://h:1") == "https://other/x"


def test_a_journey_needing_an_unset_secret_says_which_variable():
    journey = JourneyConfig(name="login", steps=[{"fill": "#pw", "value": "${secrets.pw}"}])
    missing = Secrets({"pw": "SHOP_PW"}, environ={})
    assert "SHOP_PW" in secret_problem(journey, missing)
    assert secret_problem(journey, Secrets({"pw": "SHOP_PW"}, environ={"SHOP_PW": "hunter22"})) is None


def test_python_journeys_must_be_async(tmp_path):
    (tmp_path / "unit_journeys_mod.py").write_text("def sync_one(page, base_url, secrets):\n    pass\n"
                                             "async def good(page, base_url, secrets):\n    pass\n")
    assert load_python_journey("unit_journeys_mod:good", tmp_path).__name__ == "good"
    with pytest.raises(ConfigError, match="must be `async def sync_one"):
        load_python_journey("unit_journeys_mod:sync_one", tmp_path)
    with pytest.raises(ConfigError, match="has no missing"):
        load_python_journey("unit_journeys_mod:missing", tmp_path)
    with pytest.raises(ConfigError, match="cannot import"):
        load_python_journey("no_such_module_xyz:f", tmp_path)


def test_selectors_for_webdriver():
    assert for_webdriver("[data-testid=x]").by == "css selector"
    assert for_webdriver("css=.a").value == ".a"
    assert for_webdriver("xpath=//a").value == "//a" and for_webdriver("//b").by == "xpath"
    text = for_webdriver("text=Add to cart")
    assert text.by == "xpath" and "'add to cart'" in text.value
    assert "normalize-space(.) = 'Add to cart'" in text_xpath('"Add to cart"')
    assert xpath_literal("it's") == '"it\'s"'
    assert xpath_literal("it's \"x\"") == "concat('it', \"'\", 's \"x\"')"
    with pytest.raises(UnsupportedSelector, match="Playwright-only"):
        for_webdriver("button:has-text('Buy')")


def test_a_bad_python_journey_is_a_config_error_before_any_browser_starts(tmp_path):
    from stage_helpers import run_stage

    path = tmp_path / "siteward.toml"
    path.write_text('[target]\nbase_url = "http://127.0.0.1:9"\n[[journeys]]\nname = "p"\n'
                    'python = "not_a_module_anywhere:journey"\n')
    ctx = make_ctx(load_config(path), tmp_path / "out")
    with pytest.raises(ConfigError, match="cannot import not_a_module_anywhere"):
        run_stage(ctx)  # the target (port 9) is never even asked
