"""Accessibility without a browser: axe's answer parsed into records, acceptance, approval, budgets, config."""

from __future__ import annotations

import tomllib

import pytest

from browsers import a11y
from browsers.a11y import a11y_records, parse_result
from browsers.a11y_baseline import approve, list_acceptances
from reports.budgets import Limits, judge
from reports.regressions import Settings, compare
from siteward.config import builtin_config_text, parse_config
from siteward.errors import ConfigError, UsageError
from siteward.records import Finding, Measurement
from sweep_helpers import demo_config
from test_baseline import new_run

TAGS = {"page": "home", "engine": "firefox", "device": "desktop", "form_factor": "desktop"}
SUBJECT = "home|firefox|desktop"
RULE_TAGS = ["wcag2a", "wcag2aa"]


def violation(rule: str, impact: str, targets: list[str], count: int | None = None) -> dict:
    return {"id": rule, "impact": impact, "help": f"help of {rule}", "helpUrl": f"https://rules/{rule}",
            "count": len(targets) if count is None else count, "targets": targets,
            "html": [f"<x id={t}>" for t in targets[:5]]}


RAW = {"version": "4.14.0", "rules": 3, "violations": [
    violation("image-alt", "critical", ["img.logo", "img.hero"]),
    violation("color-contrast", "serious", ["span.faint"]),
    violation("region", "moderate", ["div.promo"]),
]}


def records(raw=RAW, accepted=None):
    return a11y_records(parse_result(raw), accepted or {}, SUBJECT, TAGS, ["screens/home/firefox.png"], RULE_TAGS)


def counts(found) -> dict[str, float]:
    return {m.metric: m.value for m in found if isinstance(m, Measurement)}


def test_one_finding_per_violated_rule_with_impact_elements_and_link():
    found = records()
    rules = [f for f in found if isinstance(f, Finding)]
    assert [(f.data["rule"], f.status, f.severity) for f in rules] == [
        ("image-alt", "warn", "critical"), ("color-contrast", "warn", "major"), ("region", "warn", "minor")]
    first = rules[0]
    assert first.data["targets"] == ["img.logo", "img.hero"] and first.data["elements"] == 2
    assert first.data["help_url"] == "https://rules/image-alt" and "https://rules/image-alt" in first.message
    assert first.tags["rule"] == "image-alt" and first.check == "a11y"
    assert counts(found) == {"a11y_critical": 1, "a11y_serious": 1, "a11y_moderate": 1, "a11y_minor": 0}


def test_a_clean_page_passes_with_zero_counts():
    found = records({"version": "4.14.0", "rules": 0, "violations": []})
    [finding] = [f for f in found if isinstance(f, Finding)]
    assert finding.status == "pass" and "wcag2a, wcag2aa" in finding.message
    assert set(counts(found).values()) == {0}


@pytest.mark.parametrize("raw, expected", [
    ({"__error": "axe did not finish within 20000 ms"}, "axe did not finish"),
    (None, "not a result"),
    ({"violations": [{"impact": "critical"}]}, "without a list of violations"),
])
def test_a_failed_axe_run_is_an_error_never_a_pass(raw, expected):
    found = records(raw)
    assert len(found) == 1 and found[0].status == "error" and expected in found[0].message
    assert not counts(found)  # no counts: no budget line can pass for an unchecked page


def test_accepted_elements_pass_and_count_for_no_budget_new_ones_do():
    accepted = {"image-alt": {"img.logo": "run-1", "img.hero": "run-1"}, "color-contrast": {"span.old": "run-1"}}
    found = records(accepted=accepted)
    by_rule = {f.data["rule"]: f for f in found if isinstance(f, Finding)}
    assert by_rule["image-alt"].status == "pass" and by_rule["image-alt"].message.startswith("accepted:")
    assert by_rule["image-alt"].data["baseline_runs"] == ["run-1"]
    assert by_rule["color-contrast"].status == "warn" and by_rule["color-contrast"].data["new_targets"] == ["span.faint"]
    assert counts(found)["a11y_critical"] == 0 and counts(found)["a11y_serious"] == 1


def test_elements_past_the_listed_ones_need_a_whole_rule_acceptance():
    many = violation("link-name", "serious", [f"a:nth-child({i})" for i in range(a11y.MAX_TARGETS)], count=80)
    listed = {t: "run-1" for t in many["targets"]}
    assert a11y.new_targets(many, listed)  # 30 elements nobody saw are not accepted
    assert a11y.approval_targets(many) == [a11y.WHOLE_RULE]
    assert a11y.new_targets(many, {a11y.WHOLE_RULE: "run-1"}) == []


def test_parsing_bounds_what_a_page_can_store():
    huge = {"version": "x", "rules": 500, "violations": [
        {**violation(f"rule-{i}", "nonsense", [f"#e{j}" for j in range(200)]), "html": ["<p>" * 1000] * 50}
        for i in range(300)]}
    result = parse_result(huge)
    assert len(result.violations) == a11y.MAX_RULES and result.rules == 500
    first = result.violations[0]
    assert first["impact"] == "minor"  # an unknown impact is not dropped
    assert len(first["targets"]) == a11y.MAX_TARGETS and len(first["html"]) == a11y.MAX_SNIPPETS
    assert all(len(h) <= a11y.MAX_HTML_CHARS + 1 for h in first["html"])
    found = a11y_records(result, {}, SUBJECT, TAGS, [], RULE_TAGS)
    assert any("500 rules violated" in f.message for f in found if isinstance(f, Finding))


def test_budgets_fail_critical_and_serious_by_default_and_a_page_can_allow_some():
    found = records()
    measured = [m for m in found if isinstance(m, Measurement)]
    lines = {f.tags["budget"]: f for f in judge(measured, Limits.from_snapshot(demo_config("http://x").snapshot()))}
    assert lines["a11y_critical"].status == "fail" and lines["a11y_serious"].status == "fail"
    assert "a11y_moderate" not in lines  # no default budget: a moderate violation only warns
    relaxed = demo_config("http://x", budgets={"pages": {"home": {"a11y_critical": 1, "a11y_serious": "off"}}})
    lines = {f.tags["budget"]: f for f in judge(measured, Limits.from_snapshot(relaxed.snapshot()))}
    assert lines["a11y_critical"].status == "pass" and "a11y_serious" not in lines


def test_violation_counts_are_never_regressions():
    now = [m for m in records() if isinstance(m, Measurement)]
    before = [[m.model_copy(update={"samples": [0.0]}) for m in now] for _ in range(6)]
    states = {c.metric: c.state for c in compare(before, now, Settings())}
    assert states["a11y_critical"] == "excluded"


def test_config_checks_rule_tags_and_the_timeout():
    builtin = parse_config(tomllib.loads(builtin_config_text()), "<builtin>").browsers
    assert builtin.accessibility is True and builtin.accessibility_tags[:2] == ["wcag2a", "wcag2aa"]
    with pytest.raises(ConfigError, match="wcag2aa"):
        demo_config("http://x", browsers={"accessibility_tags": ["wcag2aaa", "wcag-2aa"]})
    with pytest.raises(ConfigError, match="accessibility_timeout_s"):
        demo_config("http://x", browsers={"accessibility_timeout_s": 60})
    assert demo_config("http://x", browsers={"accessibility_tags": ["cat.color", "wcag143"]})


def emit_check(ctx, page: str, engine: str, raw: dict, accepted=None) -> None:
    tags = {"page": page, "engine": engine, "device": "desktop", "form_factor": "desktop"}
    for record in a11y_records(parse_result(raw), accepted or {}, f"{page}|{engine}|desktop", tags, [], RULE_TAGS):
        ctx.emit(record)


def test_approval_replaces_the_accepted_set_per_page_and_profile(tmp_path):
    ctx = new_run(tmp_path, "run-1")
    emit_check(ctx, "home", "chromium", RAW)
    emit_check(ctx, "product", "chromium", {"version": "x", "rules": 0, "violations": []})
    approval = approve(ctx.store, ctx.store.run("run-1"))
    assert approval.profiles == [("home", "chromium", "desktop"), ("product", "chromium", "desktop")]
    assert approval.keys == sorted(f"a11y:home|chromium|desktop|{rule}|{target}" for rule, target in
                                   [("image-alt", "img.logo"), ("image-alt", "img.hero"),
                                    ("color-contrast", "span.faint"), ("region", "div.promo")])
    assert a11y.accepted_for(ctx.store, "home", "chromium", "desktop")["image-alt"] == {
        "img.logo": "run-1", "img.hero": "run-1"}
    # A later run where image-alt was fixed: approving it drops image-alt, so it cannot come back unseen.
    later = new_run(tmp_path, "run-2")
    emit_check(later, "home", "chromium", {"version": "x", "rules": 1, "violations": [RAW["violations"][1]]})
    approve(later.store, later.store.run("run-2"), rules=["color-contrast"])
    assert "image-alt" in a11y.accepted_for(later.store, "home", "chromium", "desktop")  # --rule: others kept
    approve(later.store, later.store.run("run-2"))
    assert set(a11y.accepted_for(later.store, "home", "chromium", "desktop")) == {"color-contrast"}
    assert [b.key for b in list_acceptances(later.store)] == ["a11y:home|chromium|desktop|color-contrast|span.faint"]


def test_approval_usage_errors_name_what_the_run_has(tmp_path):
    ctx = new_run(tmp_path, "run-1")
    with pytest.raises(UsageError, match="no completed accessibility checks"):
        approve(ctx.store, ctx.store.run("run-1"))
    emit_check(ctx, "home", "chromium", RAW)
    ctx.emit(Finding(stage="browsers", subject="cart|chromium|desktop", check="a11y", status="error",
                     tags={"page": "cart", "engine": "chromium", "device": "desktop"}, message="axe timed out"))
    run = ctx.store.run("run-1")
    with pytest.raises(UsageError, match=r"page 'cart' \(it has: home\)"):
        approve(ctx.store, run, pages=["cart"])  # an unchecked page is never approved
    with pytest.raises(UsageError, match="engine or device 'webkit'"):
        approve(ctx.store, run, profiles=["webkit"])
    with pytest.raises(UsageError, match="axe rule 'label'"):
        approve(ctx.store, run, rules=["label"])



def test_each_violated_rule_is_its_own_junit_test_case():
    from reports.junit import _case_for_finding

    names = [_case_for_finding(f).get("name") for f in records() if isinstance(f, Finding)]
    assert names == [f"{SUBJECT} image-alt", f"{SUBJECT} color-contrast", f"{SUBJECT} region"]
