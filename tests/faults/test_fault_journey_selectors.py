"""A journey whose selectors never match fails that journey with a clear finding, not a hang.

The real demo shop and Chromium; a 2 s step timeout (browsers.step_timeout_s) and a much
longer per-check timeout, so a step that waited past its own limit would show up as the
check's timeout message instead of the step's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fault_support import assert_run_kept_and_reportable, findings, only_run, run_cli

pytestmark = pytest.mark.browser

NEVER = "[data-testid=no-such-button]"
JOURNEYS = f"""
[[journeys]]
name = "lost-click"
steps = [
  {{ goto = "/" }},
  {{ click = "{NEVER}", name = "press the missing button" }},
  {{ goto = "/cart" }},
]

[[journeys]]
name = "lost-fill"
steps = [
  {{ goto = "/login" }},
  {{ fill = "input[name=no-such-field]", value = "x" }},
]

[[journeys]]
name = "lost-text"
steps = [
  {{ goto = "/" }},
  {{ expect_visible = "#never-rendered", timeout_ms = 1000 }},
]
"""


def test_selectors_that_never_match_fail_their_journey_at_that_step(own_shop, tmp_path):
    demo = (Path(__file__).parents[2] / "siteward" / "demo.toml").read_text()
    demo = demo.replace("[browsers]\n", "[browsers]\nstep_timeout_s = 2\ntimeout_s = 120\nretries = 0\n")
    config = tmp_path / "siteward.toml"
    config.write_text(demo + JOURNEYS)
    results = tmp_path / "results"
    code, _, err = run_cli("sweep", "-c", str(config), "--target", own_shop.url, "--results", str(results),
                           "--engine", "chromium", "--device", "desktop", "--page", "home",
                           "--journey", "lost-click", "--journey", "lost-fill", "--journey", "lost-text",
                           "--journey", "fill-cart", "-q", out_dir=tmp_path / "cli")
    assert "Traceback" not in err
    history = results / "history.sqlite"
    journeys = {f["subject"].split("|")[0]: f for f in findings(history, only_run(history)["id"])
                if f["check"] == "journey"}
    assert journeys["fill-cart"]["status"] == "pass", "the other journeys are unaffected"
    expected = {"lost-click": ("2. press the missing button", NEVER),
                "lost-fill": ("2. fill input[name=no-such-field]", "input[name=no-such-field]"),
                "lost-text": ("2. expect_visible #never-rendered", "#never-rendered")}
    for name, (step, selector) in expected.items():
        finding = journeys[name]
        assert finding["status"] == "fail", finding
        message = finding["message"]
        assert step in message and selector in message, message
        assert "timed out after 120" not in message  # the step's own limit ended it, not the check's
        assert finding["evidence"], "a failure screenshot is kept"
    assert code == 1
    assert_run_kept_and_reportable(results, tmp_path)
