"""Config that used to be accepted and then silently did the wrong thing (issue 14, item 7).

Each case is a ConfigError (exit 2) naming the key and what is expected, before anything runs.
"""

from __future__ import annotations

import copy

import pytest

from browsers import stage as browsers_stage
from config_schema import full_demo_document, set_at
from siteward.config import parse_config
from siteward.errors import ConfigError, UsageError

DOCUMENT = full_demo_document()


def _with(path: tuple, value) -> dict:
    document = copy.deepcopy(DOCUMENT)
    set_at(document, path, value)
    return document


CASES = [
    # (what, path, value, fragments the message must hold)
    ("misspelt budget metric", ("budgets", "global", "respnse_ms"), 100, ["budgets.global.respnse_ms", "response_ms"]),
    ("score on a 0-100 scale", ("budgets", "global", "performance_score"), 90, ["performance_score", "0 and 1"]),
    ("boolean budget", ("budgets", "mobile", "fcp_ms"), True, ["budgets.mobile.fcp_ms", "number"]),
    ("page budget unknown metric", ("budgets", "pages", "home"), {"lcpms": 1}, ["budgets.pages.home.lcpms", "lcp_ms"]),
    ("no engines", ("browsers", "engines"), [], ["browsers.engines", "at least 1"]),
    ("no devices", ("browsers", "devices"), [], ["browsers.devices", "at least 1"]),
    ("no stages", ("stages",), [], ["stages", "at least 1"]),
    ("no presets", ("audits", "presets"), [], ["audits.presets", "at least 1"]),
    ("base URL with a query", ("target", "base_url"), "http://127.0.0.1:8000/?utm=x", ["target.base_url", "?query"]),
    ("base URL with a fragment", ("target", "base_url"), "http://127.0.0.1:8000/#top", ["target.base_url", "#fragment"]),
    # resource caps a config could raise without end
    ("a billion users", ("load", "max_users"), 10**9, ["load.max_users", "20000"]),
    ("a billion requests/s", ("load", "max_rps"), 1e9, ["load.max_rps", "50000"]),
    ("a year of load", ("load", "max_duration_s"), 3.2e7, ["load.max_duration_s", "86400"]),
    ("a year-long duration", ("load", "duration_s"), 3.2e7, ["load.duration_s", "86400"]),
    ("page name of 5000 characters", ("pages", 0, "name"), "p" * 5000, ["pages[0].name", "80"]),
    # selectors that can never match used to surface as page-load errors (exit 3) mid-run
    ("invalid CSS in required", ("pages", 0, "required"), ["main", "a[href"], ["pages[0].required", "invalid CSS selector 'a[href'"]),
    ("invalid CSS in a page mask", ("pages", 0, "mask"), ["..banner"], ["pages[0].mask", "'..banner'"]),
    ("invalid CSS in visual.mask", ("visual", "mask"), ["div)"], ["visual.mask", "'div)'"]),
    ("invalid CSS in a journey step", ("journeys", 0, "steps", 0), {"click": "button[type=submit"},
     ["journeys[0].steps[0]", "step 'click' needs a selector that can match", "'button[type=submit'"]),
    ("an empty selector", ("journeys", 0, "steps", 0), {"expect_visible": "  "}, ["journeys[0].steps[0]", "an empty selector"]),
]


@pytest.mark.parametrize("what, path, value, fragments", CASES, ids=[c[0] for c in CASES])
def test_silently_wrong_config_is_refused_naming_the_key(what, path, value, fragments):
    with pytest.raises(ConfigError) as info:
        parse_config(_with(path, value), "shop.toml")
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message


def test_text_xpath_and_playwright_only_selectors_are_left_to_the_engine():
    document = copy.deepcopy(DOCUMENT)
    document["pages"][0]["required"] = ["text=Add to cart", "xpath=//main", "//footer", "button:has-text('Pay')",
                                        "form >> nth=0", "data-testid=basket", "css=main > h1", "[data-x='a)b']"]
    assert parse_config(document, "shop.toml").pages[0].required[-1] == "[data-x='a)b']"


def test_two_journeys_with_one_name_are_refused():
    document = copy.deepcopy(DOCUMENT)
    document["journeys"].append(copy.deepcopy(document["journeys"][0]))
    with pytest.raises(ConfigError, match="journey names must be unique; repeated: " + document["journeys"][0]["name"]):
        parse_config(document, "shop.toml")


def test_an_undeclared_secret_in_any_step_field_is_refused():
    document = copy.deepcopy(DOCUMENT)
    document["journeys"][0]["steps"][0] = {"goto": "/account?token=${secrets.undeclared}"}
    with pytest.raises(ConfigError, match=r"steps\[0\]\.goto: .*\$\{secrets\.undeclared\}.*not declared"):
        parse_config(document, "shop.toml")


def test_a_sweep_with_nothing_to_check_is_a_usage_error_not_a_pass():
    document = copy.deepcopy(DOCUMENT)
    document["pages"], document["journeys"] = [], []
    document["budgets"].pop("pages", None)
    document.get("load", {}).pop("under_load", None)  # it names the checkout journey just removed
    config = parse_config(document, "shop.toml")
    with pytest.raises(UsageError, match="nothing to check"):
        browsers_stage.plan(config, browsers_stage.Options())
    with pytest.raises(UsageError, match="unknown journey 'nope'"):
        browsers_stage.plan(parse_config(DOCUMENT, "shop.toml"), browsers_stage.Options(journeys=("nope",)))


def test_every_metric_the_stages_measure_can_have_a_budget():
    from audits.lhr import metric_specs
    from browsers.checks import timing_values
    from siteward.schema import BUDGET_METRICS

    measured = {s.name for s in metric_specs()} | set(timing_values({}))
    assert measured - set(BUDGET_METRICS) == set()


def test_a_config_path_that_is_no_regular_file_or_too_big_is_refused_without_reading(tmp_path):
    import os

    from siteward.config import MAX_CONFIG_BYTES, load_config

    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)  # reading it would block forever: no writer
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(fifo)
    device = tmp_path / "zero.toml"
    device.symlink_to("/dev/zero")  # reading it would fill the memory
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(device)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(tmp_path)
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (MAX_CONFIG_BYTES + 1))
    with pytest.raises(ConfigError, match="limit"):
        load_config(big)
