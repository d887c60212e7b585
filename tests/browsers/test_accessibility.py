"""axe-core in real browsers: the demo shop's a11y fault is caught on all three engines, then accepted.

One shop with the fault, one sweep of the home page on Chromium, Firefox and WebKit (desktop),
`siteward a11y approve` on that run, and one more sweep that passes on the accepted violations.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from sweep_helpers import demo_config, findings, make_ctx
from stage_helpers import run_stage

pytestmark = pytest.mark.browser

ENGINES = ("chromium", "firefox", "webkit")
FAULT_RULES = {"image-alt": "critical", "button-name": "critical", "color-contrast": "serious"}


def sweep(shop_url: str, root):
    config = demo_config(shop_url, browsers={"engines": list(ENGINES), "devices": ["desktop"],
                                             "accessibility": True})
    ctx = make_ctx(config, root, pages=("home",), no_journeys=True)
    run_stage(ctx)
    return ctx


def a11y_by_engine(ctx) -> dict[str, dict[str, object]]:
    """{engine: {rule: finding}} of the run's axe findings."""
    found: dict[str, dict[str, object]] = {engine: {} for engine in ENGINES}
    for f in findings(ctx, "a11y"):
        found[f.tags["engine"]][f.data.get("rule", "")] = f
    return found


def budget_values(ctx) -> dict[tuple[str, str], tuple[str, float]]:
    return {(f.tags["engine"], f.tags["budget"]): (f.status, f.value) for f in findings(ctx, "budget")
            if f.tags["budget"].startswith("a11y_")}


def test_the_a11y_fault_is_caught_on_every_engine_and_accepted_after_approval(faulty_shop, tmp_path):
    faulty_shop.set_faults(["a11y"])
    first = sweep(faulty_shop.url, tmp_path)

    for engine, rules in a11y_by_engine(first).items():
        for rule, impact in FAULT_RULES.items():
            assert rule in rules, f"{engine}: axe did not report {rule}: {sorted(rules)}"
            finding = rules[rule]
            assert (finding.status, finding.data["impact"]) == ("warn", impact), (engine, finding.message)
            assert finding.data["help_url"].startswith("https://dequeuniversity.com/rules/axe/")
            # the elements axe names are the fault's: its image, its button, its faint text
            assert any(marker in html for html in finding.data["html"]
                       for marker in ("favicon.ico", 'data-fault="a11y-icon-button"', "fault-a11y-faint")), \
                finding.data["html"]
        assert not [f for f in findings(first, "a11y", "error") if f.tags["engine"] == engine]
    budgets = budget_values(first)
    for engine in ENGINES:
        assert budgets[engine, "a11y_critical"] == ("fail", 2.0)
        assert budgets[engine, "a11y_serious"] == ("fail", 1.0)

    approved = subprocess.run(
        [sys.executable, "-m", "siteward.cli", "a11y", "approve", first.run_id, "--results", str(tmp_path)],
        capture_output=True, text=True, timeout=120)
    assert approved.returncode == 0, approved.stderr
    assert "on 3 page check(s)" in approved.stderr
    assert "a11y:home|webkit|desktop|button-name|" in approved.stderr

    second = sweep(faulty_shop.url, tmp_path)
    for engine, rules in a11y_by_engine(second).items():
        for rule in FAULT_RULES:
            assert rules[rule].status == "pass" and rules[rule].message.startswith("accepted:"), rules[rule].message
            assert rules[rule].data["baseline_runs"] == [first.run_id]
    assert not findings(second, "a11y", "warn") and not findings(second, "a11y", "error")
    assert {value for value in budget_values(second).values()} == {("pass", 0.0)}
    assert len(budget_values(second)) == 2 * len(ENGINES)
