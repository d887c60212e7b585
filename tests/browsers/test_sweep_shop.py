"""The browsers stage against the real demo shop with real Chromium, Firefox and WebKit."""

from __future__ import annotations

import json

import pytest

from stage_helpers import run_stage
from sweep_helpers import demo_config, findings, make_ctx, records

pytestmark = pytest.mark.browser

# The machine is shared and slow; these tests are about correctness, not speed.
GENEROUS_BUDGETS = {"global": {"response_ms": 60_000, "cls": 0.1}, "mobile": {"fcp_ms": 60_000}}
PASSWORD_ENV = "SITEWARD_SHOP_DEMO_PASSWORD"


def sweep(shop_url, tmp_path, *, environ=None, budgets=GENEROUS_BUDGETS, **options):
    config = demo_config(shop_url, budgets=budgets)
    ctx = make_ctx(config, tmp_path, environ=environ, **options)
    run_stage(ctx)
    return ctx


def assert_failing_with_screenshot(ctx, check, subject):
    failing = [f for f in findings(ctx, check, "fail") if f.subject == subject]
    assert failing, f"no failing {check} finding for {subject}: {[f.message for f in findings(ctx, check)]}"
    for finding in failing:
        assert finding.evidence, finding
        assert all((ctx.run_dir / path).is_file() for path in finding.evidence)
        assert finding.evidence[0].endswith(".png")
    return failing[0]


def test_clean_shop_checkout_on_three_engines_and_two_phones(shop, tmp_path):
    ctx = sweep(shop.url, tmp_path, engines=["chromium", "firefox", "webkit"], devices=["iphone-13", "pixel-7"],
                pages=["home", "checkout"], journeys=["checkout", "login"],
                environ={PASSWORD_ENV: "demo-password-123"})
    journeys = findings(ctx, "journey")
    checkout = {f.subject: f.status for f in journeys if f.tags.get("journey") == "checkout"}
    assert checkout == {f"checkout|{e}|{d}": "pass" for e in ("chromium", "firefox", "webkit")
                        for d in ("iphone-13", "pixel-7")}
    assert {f.status for f in journeys if f.tags.get("journey") == "login"} == {"pass"}

    # Nothing on the clean shop fails or errors.
    bad = [f"{f.check} {f.subject}: {f.message}" for f in findings(ctx) if f.status in ("fail", "error")]
    assert bad == []
    # Every page check ran on every profile, and screenshots exist.
    shots = [a for a in records(ctx, "artifact") if a.role == "screenshot" and a.tags.get("page")]
    assert len(shots) == 2 * 3 * 2 and all((ctx.run_dir / a.path).is_file() for a in shots)

    # Every step is timed, with journey/step/engine/device tags.
    steps = [m for m in records(ctx, "measurement") if m.metric == "step_ms" and m.tags["journey"] == "checkout"]
    assert len(steps) == 22 * 6
    assert steps[0].tags["step"].startswith("1. ") and {"engine", "device", "form_factor"} <= set(steps[0].tags)

    # Engine limits are said once, not hidden: Firefox and WebKit cannot emulate everything.
    emulation = {f.subject: f for f in findings(ctx, "emulation")}
    assert "is_mobile" in emulation["firefox|iphone-13"].message
    assert "touch" in emulation["webkit|pixel-7"].message and emulation["webkit|pixel-7"].status == "warn"
    assert not any(s.startswith("chromium|") for s in emulation)
    support = {(f.subject, f.data.get("metric") or f.data.get("check")) for f in findings(ctx, "engine-support")}
    assert {("firefox", "fp_ms"), ("firefox", "cls"), ("webkit", "lcp_ms"), ("webkit", "console-errors")} <= support
    assert not any(subject == "chromium" for subject, _ in support)

    # Timings: Chromium has all of them; CLS only Chromium.
    metrics = {(m.tags["engine"], m.metric) for m in records(ctx, "measurement") if m.tags.get("page") == "home"}
    assert {("chromium", m) for m in ("ttfb_ms", "response_ms", "fp_ms", "fcp_ms", "lcp_ms", "dcl_ms", "load_ms",
                                      "cls")} <= metrics
    assert ("firefox", "fcp_ms") in metrics and ("firefox", "fp_ms") not in metrics
    assert ("webkit", "fcp_ms") in metrics and ("webkit", "cls") not in metrics
    budgets = findings(ctx, "budget")
    assert any(f.tags.get("budget") == "fcp_ms" and f.tags["form_factor"] == "mobile" for f in budgets)

    # The fill-cart state is recorded on each engine, right before its pages (a record the audits stage reads too).
    states = [a for a in records(ctx, "artifact") if a.role == "storage-state"]
    assert sorted((a.tags["journey"], a.tags["engine"]) for a in states) == [
        ("fill-cart", "chromium"), ("fill-cart", "firefox"), ("fill-cart", "webkit")]
    cookies = json.loads((ctx.run_dir / states[0].path).read_text())["cookies"]
    assert any(c["name"] == "sw_session" for c in cookies)
    checkout_status = [f for f in findings(ctx, "http-status") if f.tags["page"] == "checkout"]
    assert len(checkout_status) == 6 and all(f.status == "pass" for f in checkout_status)

    # The secret was used (login passed) and never stored.
    stored = "\n".join(r.model_dump_json() for r in records(ctx))
    assert "demo-password-123" not in stored


FAULTS = [
    # fault, engine, device, page or journey, check
    ("overflow", "chromium", "iphone-13", "home", "overflow"),
    ("console-error", "firefox", "pixel-7", "product", "console-errors"),
    ("broken-image", "webkit", "desktop", "home", "broken-images"),
    ("layout-shift", "chromium", "desktop", "home", "budget"),
    ("checkout-fail", "firefox", "desktop", "checkout", "journey"),
]


@pytest.mark.parametrize("fault, engine, device, target, check", FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_is_a_failing_finding_with_a_screenshot(faulty_shop, tmp_path, fault, engine, device, target,
                                                            check):
    faulty_shop.set_faults([fault])
    is_journey = check == "journey"
    options = {"engines": [engine], "devices": [device]}
    options.update({"pages": ["home"], "journeys": [target]} if is_journey else {"pages": [target],
                                                                                  "no_journeys": True})
    ctx = sweep(faulty_shop.url, tmp_path, **options)
    finding = assert_failing_with_screenshot(ctx, check, f"{target}|{engine}|{device}")
    if fault == "layout-shift":
        assert finding.tags["budget"] == "cls" and finding.value > 0.1 and finding.limit == 0.1
    if fault == "checkout-fail":
        assert "place order" in finding.data["step"] or "Thank you" in finding.message
        assert finding.data["flaky"] is False and finding.data["attempts"] == 2
    if fault == "overflow":
        assert "fault-overflow" in finding.message
    if fault == "console-error":
        assert "siteward fault" in finding.message
