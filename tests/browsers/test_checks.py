"""The compatibility rules and timing extraction, on observations written by hand."""

from __future__ import annotations

import pytest

from browsers.checks import (
    PageObservation, check_console, check_failed_requests, check_http_status, check_overflow, check_required,
    compat_findings, emulation_gaps, page_console_errors, timing_measurements, timing_values,
    unsupported_metric_reasons,
)
from browsers.devices import DeviceProfile

SUBJECT, TAGS, EVIDENCE = "home|chromium|pixel-7", {"page": "home"}, ["screens/home/chromium-pixel-7.png"]
PHONE = DeviceProfile(name="pixel-7", kind="phone", descriptor="Pixel 7", viewport={"width": 412, "height": 839},
                      device_scale_factor=2.625, user_agent="UA-Pixel", is_mobile=True, has_touch=True)


VITALS = {"TTFB": "ttfb", "FCP": "fcp", "LCP": "lcp", "CLS": "cls"}  # web-vitals' names -> these overrides'


def facts(**overrides):
    """Page facts as COLLECT_PAGE_FACTS returns them; ttfb/fcp/lcp/cls go into web-vitals' report."""
    reported = {"TTFB": 20.0, "FCP": 110.0, "LCP": 150.0, "CLS": 0.02}
    for name, key in VITALS.items():
        if key in overrides:
            reported[name] = overrides.pop(key)
    base = {
        "supported": ["navigation", "paint", "largest-contentful-paint", "layout-shift"],
        "navigation": {"responseStart": 20.0, "responseEnd": 25.5, "domContentLoaded": 90.0, "load": 140.0},
        "fp": 100.0, "vitals": {k: v for k, v in reported.items() if v is not None},
        "viewport": {"width": 412, "height": 839, "clientWidth": 412},
        "devicePixelRatio": 2.625, "userAgent": "UA-Pixel", "touch": True,
        "scrollWidth": 412, "overflowing": [], "brokenImages": [],
    }
    base.update(overrides)
    return base


def test_a_clean_observation_passes_every_check():
    obs = PageObservation(url="http://x/", status=200, facts=facts(), required={"#a": True})
    found = compat_findings(obs, SUBJECT, TAGS, EVIDENCE)
    assert [f.check for f in found] == ["http-status", "console-errors", "failed-requests", "broken-images",
                                        "overflow", "required-visible"]
    assert {f.status for f in found} == {"pass"}
    assert all(f.evidence == [] for f in found)  # evidence only where something is wrong


@pytest.mark.parametrize("status, expected", [(200, "pass"), (302, "pass"), (404, "fail"), (503, "fail"),
                                              (None, "error")])
def test_http_status(status, expected):
    finding = check_http_status(PageObservation(url="u", status=status), SUBJECT, TAGS, EVIDENCE)
    assert finding.status == expected
    assert finding.evidence == ([] if expected == "pass" else EVIDENCE)


def test_console_errors_fail_with_the_messages_but_ignore_network_noise():
    obs = PageObservation(url="u", console_errors=[
        "Failed to load resource: the server responded with a status of 404 (Not Found)",
        "checkout widget failed", "Uncaught Error: boom",
    ])
    finding = check_console(obs, SUBJECT, TAGS, EVIDENCE)
    assert finding.status == "fail"
    assert finding.data["errors"] == ["checkout widget failed", "Uncaught Error: boom"]
    assert "2 console error" in finding.message and finding.evidence == EVIDENCE
    only_noise = PageObservation(url="u", console_errors=["Failed to load resource: 404"])
    assert check_console(only_noise, SUBJECT, TAGS, EVIDENCE).status == "pass"
    assert page_console_errors(["Failed to load resource: x"]) == []


def test_an_engine_that_cannot_watch_the_console_skips_unless_it_saw_errors():
    blind = PageObservation(url="u", console_errors=[], console_note="no console access")
    assert check_console(blind, SUBJECT, TAGS, EVIDENCE).status == "skip"
    saw = PageObservation(url="u", console_errors=["Uncaught late"], console_note="only after load")
    finding = check_console(saw, SUBJECT, TAGS, EVIDENCE)
    assert finding.status == "fail" and "only after load" in finding.message


def test_failed_requests():
    failed = PageObservation(url="u", failed_requests=[{"url": "http://x/a.png", "status": 404}])
    finding = check_failed_requests(failed, SUBJECT, TAGS, EVIDENCE)
    assert finding.status == "fail" and "404 http://x/a.png" in finding.message
    assert check_failed_requests(PageObservation(url="u", failed_requests=None, requests_note="n/a"),
                                 SUBJECT, TAGS, EVIDENCE).status == "skip"


def test_overflow_names_the_wide_element():
    obs = PageObservation(url="u", facts=facts(scrollWidth=640, overflowing=[
        {"element": "div.fault-overflow", "right": 652}]))
    finding = check_overflow(obs, SUBJECT, TAGS, EVIDENCE)
    assert finding.status == "fail"
    assert "640px wide in a 412px viewport" in finding.message and "div.fault-overflow" in finding.message
    assert check_overflow(PageObservation(url="u", facts=facts()), SUBJECT, TAGS, EVIDENCE).status == "pass"


def test_broken_images_and_required_visible():
    obs = PageObservation(url="u", facts=facts(brokenImages=["http://x/missing.png"]),
                          required={"#title": True, "#buy": False})
    found = {f.check: f for f in compat_findings(obs, SUBJECT, TAGS, EVIDENCE)}
    assert found["broken-images"].status == "fail" and "missing.png" in found["broken-images"].message
    assert found["required-visible"].status == "fail" and found["required-visible"].data["missing"] == ["#buy"]
    assert check_required(PageObservation(url="u"), SUBJECT, TAGS, EVIDENCE) is None


def test_timings_become_measurements_with_units():
    measured, missing = timing_measurements(facts(), SUBJECT, TAGS)
    by_metric = {m.metric: m for m in measured}
    assert missing == []
    assert by_metric["ttfb_ms"].value == 20.0 and by_metric["ttfb_ms"].unit == "ms"
    assert by_metric["cls"].unit == "score" and by_metric["cls"].value == pytest.approx(0.02)
    assert all(m.subject == SUBJECT and m.tags == TAGS for m in measured)


def test_missing_timings_are_blamed_on_the_engine_only_when_it_lacks_the_api():
    firefox = facts(fp=None, cls=None, supported=["navigation", "paint", "largest-contentful-paint"])
    _, missing = timing_measurements(firefox, SUBJECT, TAGS)
    assert missing == ["fp_ms", "cls"]
    reasons = unsupported_metric_reasons("firefox", firefox, missing)
    assert reasons == {"fp_ms": "firefox: no first-paint entry",
                       "cls": "firefox: no Layout Instability API (layout-shift entries)"}
    # A page without any paint yet is the page's matter, not an engine limit.
    unpainted = facts(fp=None, fcp=None, lcp=None)
    assert unsupported_metric_reasons("chromium", unpainted, ["fp_ms", "fcp_ms", "lcp_ms"]) == {}


def test_zero_or_negative_timings_count_as_not_reported():
    values = timing_values(facts(navigation={"responseStart": 0, "responseEnd": -3, "domContentLoaded": 5,
                                             "load": 9}, ttfb=-1, lcp=-5))
    assert values["ttfb_ms"] is None and values["response_ms"] is None and values["dcl_ms"] == 5
    assert values["lcp_ms"] is None and values["fcp_ms"] == 110.0


def test_web_vitals_times_of_webkit_count_from_the_fetch_and_cls_is_never_shifted():
    """WebKitGTK's time origin starts after the fetch (timeOriginShift); CLS is a score."""
    values = timing_values(facts(timeOriginShift=7.5))
    assert values["ttfb_ms"] == 27.5 and values["fcp_ms"] == 117.5 and values["lcp_ms"] == 157.5
    assert values["cls"] == pytest.approx(0.02)


def test_a_page_where_web_vitals_did_not_run_reports_no_vital():
    """No web-vitals in the page (its install failed): the vitals are missing, never guessed."""
    values = timing_values(facts(vitals=None))
    assert values["fcp_ms"] is values["lcp_ms"] is values["cls"] is values["ttfb_ms"] is None
    assert values["fp_ms"] == 100.0 and values["load_ms"] == 140.0


def test_emulation_gaps_come_from_engine_limits_and_from_the_page():
    assert emulation_gaps(PHONE, facts(), []) == []
    seen = facts(viewport={"width": 447}, devicePixelRatio=1, userAgent="MiniBrowser", touch=False)
    gaps = emulation_gaps(PHONE, seen, ["touch not emulated (engine)"])
    assert gaps == ["touch not emulated (engine)", "viewport width 447px instead of 412px",
                    "device pixel ratio 1 instead of 2.625", "user agent not set"]
