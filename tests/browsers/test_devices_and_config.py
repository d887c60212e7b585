"""Device registry and the [browsers] config validation (exit 2 with the valid names)."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from browsers.config import check_engine_name
from browsers.devices import REGISTRY, device_names, resolve_device
from siteward.config import load_config
from siteward.errors import EXIT_USAGE, ConfigError

FAKE_DESCRIPTORS = {
    "iPhone 13": {"viewport": {"width": 390, "height": 664}, "device_scale_factor": 3, "is_mobile": True,
                  "has_touch": True, "user_agent": "iPhone UA"},
}


def test_short_names_map_to_profiles():
    phone = resolve_device("iphone-13", FAKE_DESCRIPTORS)
    assert (phone.viewport, phone.device_scale_factor, phone.user_agent) == ({"width": 390, "height": 664}, 3.0,
                                                                             "iPhone UA")
    assert phone.form_factor == "mobile" and phone.playwright_context_options()["has_touch"] is True
    desktop = resolve_device("desktop", {})
    assert desktop.form_factor == "desktop" and desktop.user_agent is None
    assert "user_agent" not in desktop.playwright_context_options()  # each engine keeps its own UA


def test_every_registered_device_exists_in_this_playwright():
    with sync_playwright() as p:
        for name in device_names():
            profile = resolve_device(name, p.devices)
            assert profile.viewport["width"] > 0, name
    assert {"desktop", "iphone-13", "pixel-7", "galaxy-s9", "ipad-mini", "fold"} <= set(REGISTRY)
    assert REGISTRY["ipad-mini"][1] == "tablet" and REGISTRY["fold"][1] == "foldable"


def _write(tmp_path, browsers: str):
    path = tmp_path / "siteward.toml"
    path.write_text(f'[target]\nbase_url = "http://127.0.0.1:9"\n\n[browsers]\n{browsers}\n')
    return path


def test_unknown_device_is_a_config_error_listing_the_valid_names(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, 'devices = ["desktop", "iphone13"]'))
    assert err.value.exit_code == EXIT_USAGE
    message = str(err.value)
    assert "browsers.devices" in message and "'iphone13'" in message and "did you mean 'iphone-13'" in message
    assert all(name in message for name in device_names())


def test_edge_is_refused_with_the_reason(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, 'engines = ["chromium", "edge"]'))
    assert "Edge is Chromium-based" in str(err.value) and '"chromium"' in str(err.value)
    with pytest.raises(ValueError, match="valid engines: chromium, firefox, webkit"):
        check_engine_name("opera")


def test_journey_devices_are_validated_too(tmp_path):
    path = tmp_path / "siteward.toml"
    path.write_text('[target]\nbase_url = "http://127.0.0.1:9"\n[[journeys]]\nname = "j"\n'
                    'devices = ["nokia-3310"]\nsteps = [{ goto = "/" }]\n')
    with pytest.raises(ConfigError, match="unknown device 'nokia-3310'"):
        load_config(path)
