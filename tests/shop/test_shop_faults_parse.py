"""Fault strings and the Faults state, without a network."""

from __future__ import annotations

import pytest

from siteward.shop.faults import FAULT_NAMES, Faults, format_fault, parse_fault


@pytest.mark.parametrize(("text", "expected"), [
    ("latency=250", ("latency", ("/", 250))),
    ("latency=/api/search:200", ("latency", ("/api/search", 200))),
    (" Latency = /product:5 ", ("latency", ("/product", 5))),
    ("errors=0.5", ("errors", 0.5)),
    ("errors=1", ("errors", 1.0)),
    ("overflow", ("overflow", True)),
    ("console-error", ("console-error", True)),
    ("broken-image", ("broken-image", True)),
    ("layout-shift", ("layout-shift", True)),
    ("heavy-image", ("heavy-image", True)),
    ("checkout-fail", ("checkout-fail", True)),
])
def test_parse_fault_accepts_each_documented_form(text, expected):
    assert parse_fault(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty fault"),
    ("slowness=3", "unknown fault 'slowness'"),
    ("latency", "needs a value"),
    ("latency=fast", "whole milliseconds"),
    ("latency=-5", "between 0 and"),
    ("latency=api/search:200", "starting with '/'"),
    ("latency=/api:abc", "whole milliseconds"),
    ("errors=1.5", "between 0 and 1"),
    ("errors=half", "ratio between 0 and 1"),
    ("errors", "needs a value"),
    ("overflow=1", "takes no value"),
])
def test_parse_fault_rejects_bad_strings_with_a_message(text, message):
    with pytest.raises(ValueError, match=message):
        parse_fault(text)


def test_unknown_fault_message_lists_the_known_names():
    with pytest.raises(ValueError) as info:
        parse_fault("bogus")
    for name in FAULT_NAMES:
        assert name in str(info.value)


@pytest.mark.parametrize("text", ["latency=100", "latency=/api/search:200", "errors=0.25",
                                  "overflow", "checkout-fail"])
def test_format_fault_round_trips(text):
    assert format_fault(*parse_fault(text)) == text


def test_latency_longest_route_prefix_wins_and_other_routes_get_none():
    faults = Faults(["latency=/api/search:300", "latency=/api:50"])
    assert faults.latency_ms("/api/search") == 300
    assert faults.latency_ms("/api/products") == 50
    assert faults.latency_ms("/product/canvas-sneaker") == 0
    assert Faults(["latency=40"]).latency_ms("/anything") == 40


def test_errors_never_hit_health_or_admin():
    faults = Faults(["errors=1"])
    assert faults.should_fail("/")
    assert not faults.should_fail("/healthz")
    assert not faults.should_fail("/__admin/faults")


def test_replace_is_all_or_nothing():
    faults = Faults(["overflow", "errors=0.1"])
    with pytest.raises(ValueError):
        faults.replace(["layout-shift", "nonsense"])
    assert faults.as_strings() == ["errors=0.1", "overflow"]
    faults.replace([])
    assert faults.as_strings() == []
    assert not faults.active("overflow")
    assert not faults.active("errors")


def test_faults_combine():
    faults = Faults(["overflow", "latency=/product:10", "heavy-image", "errors=0.2"])
    assert faults.active("overflow") and faults.active("heavy-image")
    assert faults.active("latency") and faults.active("errors")
    assert faults.as_strings() == ["latency=/product:10", "errors=0.2", "overflow", "heavy-image"]


@pytest.mark.parametrize(("text", "expected"), [
    ("slow-paint=300", ("slow-paint", ("/", 300))),
    ("slow-paint=/product:40", ("slow-paint", ("/product", 40))),
])
def test_slow_paint_takes_ms_per_route_prefix_like_latency(text, expected):
    assert parse_fault(text) == expected
    assert format_fault(*expected) == text


@pytest.mark.parametrize(("text", "message"), [
    ("slow-paint", "slow-paint=MS or slow-paint=ROUTE:MS"),
    ("slow-paint=product:40", "slow-paint route must be a path"),
    ("slow-paint=/product:soon", "slow-paint needs whole milliseconds"),
])
def test_slow_paint_rejects_bad_values(text, message):
    with pytest.raises(ValueError, match=message):
        parse_fault(text)


def test_slow_paint_is_per_page_and_apart_from_latency():
    faults = Faults(["slow-paint=/product:40", "slow-paint=90", "latency=/api:5"])
    assert faults.slow_paint_ms("/product/canvas-sneaker") == 40 and faults.slow_paint_ms("/") == 90
    assert faults.latency_ms("/product/canvas-sneaker") == 0 and faults.active("slow-paint")
    assert faults.as_strings() == ["latency=/api:5", "slow-paint=90", "slow-paint=/product:40"]
