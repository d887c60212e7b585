"""Three Lighthouse runs of one page: raw samples in run order, the median run, lhci assertions."""

from __future__ import annotations

import json
import statistics

import pytest

from audits.lhr import extract_metrics, median_run_index
from stage_helpers import run_stage
from audits.tools import PROJECT_ROOT
from audit_support import demo_config, make_ctx, records

pytestmark = [pytest.mark.lighthouse, pytest.mark.browser]

LIGHTHOUSERC = {"ci": {"assert": {"assertions": {
    "categories:accessibility": ["error", {"minScore": 0.5}],  # the shop is accessible: passes
    "first-contentful-paint": ["error", {"maxNumericValue": 1}],  # no page paints in 1 ms: fails
    "resource-summary:document:size": ["warn", {"maxNumericValue": 10}],  # warn level: a warning
}}}}


@pytest.fixture(scope="module")
def three_runs(shop, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    rc = root / "lighthouserc.json"
    rc.write_text(json.dumps(LIGHTHOUSERC))
    config = demo_config(shop.url, audits={"page_audits": False})
    ctx = make_ctx(config, root, runs=3, pages=["product"], presets=["desktop"], lighthouserc=str(rc))
    run_stage(ctx)
    return ctx


def _run_jsons(ctx) -> list[dict]:
    artifacts = sorted((a for a in records(ctx, "artifact") if a.role == "lighthouse-json"),
                       key=lambda a: int(a.tags["run"]))
    assert [a.tags["run"] for a in artifacts] == ["1", "2", "3"]
    return [json.loads((ctx.run_dir / a.path).read_text()) for a in artifacts]


def test_samples_are_every_run_in_order_and_equal_the_json(three_runs):
    lhrs = _run_jsons(three_runs)
    assert [lhr["fetchTime"] for lhr in lhrs] == sorted(lhr["fetchTime"] for lhr in lhrs)
    measured = {m.metric: m for m in records(three_runs, "measurement")}
    assert measured["lcp_ms"].samples == [lhr["audits"]["largest-contentful-paint"]["numericValue"] for lhr in lhrs]
    assert measured["performance_score"].samples == [lhr["categories"]["performance"]["score"] for lhr in lhrs]
    for name, m in measured.items():
        assert len(m.samples) == 3, name
        assert m.value == statistics.median(extract_metrics(lhr)[name] for lhr in lhrs)


def test_median_run_is_lighthouse_cis_choice_and_is_marked(three_runs):
    lhrs = _run_jsons(three_runs)
    summary = next(f for f in records(three_runs, "finding") if f.check == "lighthouse")
    assert summary.status == "pass"
    assert summary.data["median_run"] == median_run_index(lhrs) + 1
    assert summary.data["runs"] == [1, 2, 3]
    marked = [a.tags["run"] for a in records(three_runs, "artifact") if a.tags.get("median") == "yes"]
    assert set(marked) == {str(summary.data["median_run"])}
    assert summary.evidence == [f"lighthouse/product-desktop/run-{summary.data['median_run']}.html"]
    pinned = json.loads((PROJECT_ROOT / "node_modules/lighthouse/package.json").read_text())["version"]
    assert summary.data["lighthouse_version"] == pinned  # lhci runs the pinned Lighthouse, not its own


def test_lighthouserc_assertions_become_findings(three_runs):
    asserted = {f.tags["assertion"]: f for f in records(three_runs, "finding") if f.check == "lhci-assert"}
    assert asserted["categories.accessibility"].status == "pass"
    fcp = asserted["first-contentful-paint"]
    assert fcp.status == "fail"
    assert "maxNumericValue" in fcp.message and "expected <=1" in fcp.message
    assert fcp.limit == 1 and fcp.value > 1
    document = asserted["resource-summary.document.size"]
    assert document.status == "warn"  # failed, but at "warn" level: lhci itself would not fail the build
    assert document.value > 10
