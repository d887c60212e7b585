"""The audits stage against the real demo shop: every page, mobile and desktop, one run each.

One Lighthouse sweep (module fixture) feeds several assertions: every metric recorded,
values equal to the Lighthouse JSON, HTML reports kept, budgets met, checkout audited
with a filled cart, page audits clean.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audits.lhr import metric_specs
from stage_helpers import run_stage

from audit_support import demo_config, make_ctx, records

pytestmark = [pytest.mark.lighthouse, pytest.mark.browser]

# Budgets the faults must breach and the clean shop must meet (see test_lighthouse_faults.py).
FAULT_BUDGETS = {"global": {"response_ms": 2000.0, "cls": 0.1, "bytes_image": 1_000_000.0, "lcp_ms": 4000.0}}
PRESETS = ("mobile", "desktop")

# Where each metric sits in the raw LHR, read here independently of audits.lhr.
RAW_PATHS = {
    "performance_score": ("categories", "performance", "score"),
    "accessibility_score": ("categories", "accessibility", "score"),
    "best_practices_score": ("categories", "best-practices", "score"),
    "seo_score": ("categories", "seo", "score"),
    "fcp_ms": ("audits", "first-contentful-paint", "numericValue"),
    "lcp_ms": ("audits", "largest-contentful-paint", "numericValue"),
    "speed_index_ms": ("audits", "speed-index", "numericValue"),
    "tbt_ms": ("audits", "total-blocking-time", "numericValue"),
    "tti_ms": ("audits", "interactive", "numericValue"),
    "server_response_ms": ("audits", "server-response-time", "numericValue"),
    "cls": ("audits", "cumulative-layout-shift", "numericValue"),
}


def raw_value(lhr: dict, metric: str) -> float:
    if metric in RAW_PATHS:
        node = lhr
        for key in RAW_PATHS[metric]:
            node = node[key]
        return node
    kind, _, resource = metric.partition("_")
    rows = {row["resourceType"]: row for row in lhr["audits"]["resource-summary"]["details"]["items"]}
    row = rows[resource.replace("_", "-")]
    return row["transferSize"] if kind == "bytes" else row["requestCount"]


# The static home and product pages, checkout (needs its cart) and the logged-in React pages: every
# kind of page the demo has, not all eight (each is two Lighthouse runs, ~18 s each, of CI's budget).
SWEPT = ["home", "product", "checkout", "app-products", "app-cart"]


@pytest.fixture(scope="module")
def sweep(shop, tmp_path_factory):
    config = demo_config(shop.url, budgets=FAULT_BUDGETS)
    ctx = make_ctx(config, tmp_path_factory.mktemp("sweep"), runs=1, pages=SWEPT)
    run_stage(ctx)
    return ctx


def test_every_page_and_preset_has_every_metric(sweep):
    measured = {(m.tags["page"], m.tags["preset"], m.metric): m for m in records(sweep, "measurement")}
    specs = {s.name: s for s in metric_specs()}
    for page in (sweep.config.page(name) for name in SWEPT):
        for preset in PRESETS:
            for name, spec in specs.items():
                m = measured.get((page.name, preset, name))
                assert m is not None, f"{page.name} {preset}: {name} not recorded"
                assert m.subject == f"{page.name}|lighthouse|{preset}"
                assert m.tags["form_factor"] == preset
                assert (m.unit, m.higher_is_better) == (spec.unit, spec.higher_is_better)
                assert len(m.samples) == 1
    errors = [f.message for f in records(sweep, "finding") if f.status == "error"]
    assert errors == []


def test_recorded_values_equal_the_lighthouse_json(sweep):
    measured = {(m.subject, m.metric): m for m in records(sweep, "measurement")}
    jsons = [a for a in records(sweep, "artifact") if a.role == "lighthouse-json"]
    assert len(jsons) == len(SWEPT) * len(PRESETS)
    for artifact in jsons:
        lhr = json.loads((sweep.run_dir / artifact.path).read_text())
        assert lhr["configSettings"]["formFactor"] == artifact.tags["preset"]
        for spec in metric_specs():
            assert measured[(artifact.subject, spec.name)].samples == [raw_value(lhr, spec.name)], spec.name


def test_html_reports_are_kept_as_evidence(sweep):
    htmls = [a for a in records(sweep, "artifact") if a.role == "lighthouse-html"]
    assert {(a.tags["page"], a.tags["preset"]) for a in htmls} == {
        (p.name, preset) for p in map(sweep.config.page, SWEPT) for preset in PRESETS}
    for artifact in htmls:
        assert not Path(artifact.path).is_absolute()
        text = (sweep.run_dir / artifact.path).read_text(encoding="utf-8")
        assert "<!doctype html>" in text[:1000].lower()
        # The report embeds the LHR it renders: the same run as the JSON artifact beside it.
        embedded = text.split("window.__LIGHTHOUSE_JSON__ = ", 1)[1].split(";</script>", 1)[0]
        lhr = json.loads((sweep.run_dir / artifact.path).with_suffix(".json").read_text())
        assert json.loads(embedded)["fetchTime"] == lhr["fetchTime"]
        assert artifact.tags["median"] == "yes"


def test_clean_shop_meets_layout_image_and_lcp_budgets(sweep):
    budgets = [f for f in records(sweep, "finding") if f.check == "budget"]
    by_metric = {}
    for finding in budgets:
        by_metric.setdefault(finding.tags["budget"], []).append(finding)
    for metric in ("cls", "bytes_image", "lcp_ms"):
        assert len(by_metric[metric]) == len(SWEPT) * len(PRESETS)
        failed = [f.message for f in by_metric[metric] if f.status != "pass"]
        assert failed == [], failed
    # The default mobile FCP budget applies to mobile only.
    assert {f.tags["preset"] for f in by_metric["fcp_ms"]} == {"mobile"}


def test_checkout_is_audited_with_an_item_in_the_cart(sweep):
    runs = [f for f in records(sweep, "finding") if f.check == "lighthouse" and f.tags["page"] == "checkout"]
    assert {f.tags["preset"] for f in runs} == set(PRESETS)
    for finding in runs:
        assert finding.status == "pass"
        assert all(url.endswith("/checkout/address") for url in finding.data["final_urls"]), finding.data
    for artifact in records(sweep, "artifact"):
        if artifact.role == "lighthouse-json" and artifact.tags["page"] == "checkout":
            lhr = json.loads((sweep.run_dir / artifact.path).read_text())
            requests = lhr["audits"]["network-requests"]["details"]["items"]
            document = next(r for r in requests if r["resourceType"] == "Document")
            assert document["url"].endswith("/checkout/address") and document["statusCode"] == 200
            assert not any(r["url"].endswith("/cart") for r in requests)  # no redirect to the empty cart
            # Lighthouse ran in a Chrome prepared with the journey's state, which it did not reset.
            assert lhr["configSettings"]["disableStorageReset"] is True
            assert not lhr["configSettings"].get("extraHeaders")
    state = {f.subject: (f.status, f.data["source"]) for f in records(sweep, "finding") if f.check == "journey-state"}
    assert state["fill-cart|journey-state"] == ("pass", "replay")  # no browsers-stage handoff


def test_clean_shop_passes_the_page_audits(sweep):
    checks = ("security-headers", "caching", "compression", "image-formats", "broken-links", "seo")
    findings = [f for f in records(sweep, "finding") if f.check in checks]
    assert len(findings) == len(checks) * len(SWEPT)
    bad = [(f.subject, f.status, f.message) for f in findings if f.status not in ("pass", "skip")]
    assert bad == []
    tls = [f for f in records(sweep, "finding") if f.check == "tls-expiry"]
    assert [f.status for f in tls] == ["skip"]  # plain http target
    assert all(f.evidence for f in findings)


def test_client_rendered_pages_are_audited_logged_in(sweep):
    """The React pages read their session from document.cookie and the cart from localStorage:
    Lighthouse must audit them in a Chrome holding that state, not the login page they fall back to."""
    for page in ("app-products", "app-cart"):
        runs = [f for f in records(sweep, "finding") if f.check == "lighthouse" and f.tags["page"] == page]
        assert {f.tags["preset"] for f in runs} == set(PRESETS)
        for finding in runs:
            assert finding.status == "pass", finding.message
        path = sweep.config.page(page).path
        for artifact in records(sweep, "artifact"):
            if artifact.role == "lighthouse-json" and artifact.tags["page"] == page:
                lhr = json.loads((sweep.run_dir / artifact.path).read_text())
                assert lhr["finalDisplayedUrl"].endswith(path), lhr["finalDisplayedUrl"]
                snippets = json.dumps(lhr["audits"].get("largest-contentful-paint-element", {}))
                assert "login" not in snippets.lower()
