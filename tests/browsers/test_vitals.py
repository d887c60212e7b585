"""Core Web Vitals from web-vitals (browsers/vitals.py): the pure parts, then INP on real engines.

The demo storefront's `app-slow-click=MS` fault blocks the main thread in the add-to-cart
click handler: the journey step that clicks must carry that INP and fail the 200 ms budget;
clean, the same step stays under it.
"""

from __future__ import annotations

import pytest

from browsers.vitals import install_script, journey_inp, step_interaction, vital_values
from stage_helpers import run_stage
from sweep_helpers import demo_config, findings, make_ctx, records
from siteward.shop import APP_PASSWORD, APP_PASSWORD_ENV

ENV = {APP_PASSWORD_ENV: APP_PASSWORD}
GENEROUS = {"global": {"response_ms": 60_000, "step_ms": 60_000}, "mobile": {"fcp_ms": 60_000}}
ADD_TO_CART = "7. add to cart"  # the step of the built-in app-fill-cart journey that clicks
BLOCK_MS = 500


def test_vital_values_take_what_web_vitals_reported_and_nothing_else():
    values = vital_values({"TTFB": 12.5, "FCP": 100, "LCP": 180.0, "CLS": 0.25, "INP": 40})
    assert values == {"ttfb_ms": 12.5, "fcp_ms": 100.0, "lcp_ms": 180.0, "cls": 0.25}
    assert vital_values(None) == {"ttfb_ms": None, "fcp_ms": None, "lcp_ms": None, "cls": None}
    assert vital_values({"FCP": "soon", "CLS": -1})["fcp_ms"] is None


def test_a_step_has_an_inp_only_when_the_engine_can_tell_and_reported_one():
    assert step_interaction({"installed": True, "supported": True, "inp": 312}) == 312.0
    assert step_interaction({"installed": True, "supported": True, "inp": None}) is None
    assert step_interaction({"installed": True, "supported": False, "inp": 312}) is None
    assert step_interaction({"installed": False}) is None
    assert step_interaction(None) is None


def test_a_journeys_inp_is_its_worst_interaction():
    assert journey_inp([None, 24.0, 480.0, 16.0]) == 480.0
    assert journey_inp([None, None]) is None


def test_the_injected_script_is_the_libraries_build_guarded_to_run_once_per_document():
    script = install_script()
    assert "onINP" in script and "reportAllChanges" in script
    assert script.startswith("(() => { if (window.top !== window || window.__sitewardVitals) return;")


def _inp_sweep(shop_url, tmp_path, engines):
    config = demo_config(shop_url, budgets=GENEROUS)
    ctx = make_ctx(config, tmp_path, environ=ENV, engines=engines, devices=["desktop"], no_pages=True,
                   journeys=["app-fill-cart"])
    run_stage(ctx)
    return ctx


def _step_inp(ctx) -> dict[str, float]:
    return {m.tags["engine"]: m.value for m in records(ctx, "measurement")
            if m.metric == "inp_ms" and m.tags.get("step") == ADD_TO_CART}


@pytest.mark.browser
def test_a_click_handler_that_blocks_fails_the_inp_budget_of_its_step_and_clean_it_passes(faulty_shop, tmp_path):
    faulty_shop.set_faults([f"app-slow-click={BLOCK_MS}"])
    slow = _inp_sweep(faulty_shop.url, tmp_path / "slow", ["chromium", "firefox", "webkit"])
    assert all(f.status == "pass" for f in findings(slow, "journey")), [f.message for f in findings(slow, "journey")]
    inp = _step_inp(slow)
    assert set(inp) == {"chromium", "firefox"} and all(v >= BLOCK_MS * 0.9 for v in inp.values()), inp
    breaches = {(f.tags["engine"], f.tags.get("step")): f.value for f in findings(slow, "budget", "fail")
                if f.tags.get("budget") == "inp_ms"}
    # The step and the journey (its worst interaction) on both engines that can measure INP. (Other
    # steps may breach too: Firefox's first keystrokes on the freshly loaded React login page were
    # measured at 216 ms once, a real "needs improvement" interaction on this 2-core machine.)
    for engine in ("chromium", "firefox"):
        assert breaches.get((engine, ADD_TO_CART), 0) >= BLOCK_MS * 0.9, breaches
        assert breaches.get((engine, None)) == breaches[(engine, ADD_TO_CART)], breaches
    # WebKit over WebDriver has no Event Timing interactions: said once, never a pass by silence.
    support = [f for f in findings(slow, "engine-support") if f.tags.get("metric") == "inp_ms"]
    assert [f.tags["engine"] for f in support] == ["webkit"], [f.message for f in support]

    faulty_shop.set_faults([])
    clean = _inp_sweep(faulty_shop.url, tmp_path / "clean", ["chromium", "firefox"])
    assert all(v < 200 for v in _step_inp(clean).values()), _step_inp(clean)
    assert not [f for f in findings(clean, "budget", "fail")
                if f.tags.get("budget") == "inp_ms" and f.tags.get("step") == ADD_TO_CART]
