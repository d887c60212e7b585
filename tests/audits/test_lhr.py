"""Pure LHR functions; the median-run port is checked against Lighthouse CI's own JS."""

from __future__ import annotations

import json
import random
import shutil
import subprocess

import pytest

from audits.lhr import extract_metrics, median_run_index, metric_specs, runtime_error
from audits.tools import PROJECT_ROOT


def lhr(fcp: float, tti: float, **extra) -> dict:
    return {"audits": {"first-contentful-paint": {"numericValue": fcp}, "interactive": {"numericValue": tti}}, **extra}


def test_metric_names_are_the_contract():
    names = {s.name for s in metric_specs()}
    for name in ("performance_score", "accessibility_score", "best_practices_score", "seo_score", "fcp_ms", "lcp_ms",
                 "speed_index_ms", "tbt_ms", "tti_ms", "server_response_ms", "cls", "bytes_total", "requests_total",
                 "bytes_image", "requests_script", "bytes_third_party"):
        assert name in names
    units = {s.name: (s.unit, s.higher_is_better) for s in metric_specs()}
    assert units["seo_score"] == ("score", True)
    assert units["cls"] == ("score", False)
    assert units["bytes_image"] == ("bytes", False)
    assert units["requests_total"] == ("count", False)


def test_extract_reads_scores_audits_and_resource_summary():
    data = {
        "categories": {"performance": {"score": 0.91}, "seo": {"score": None}},
        "audits": {
            "largest-contentful-paint": {"numericValue": 1234.5},
            "cumulative-layout-shift": {"numericValue": 0.25},
            "resource-summary": {"details": {"items": [
                {"resourceType": "total", "requestCount": 7, "transferSize": 9000},
                {"resourceType": "third-party", "requestCount": 2, "transferSize": 100},
            ]}},
        },
    }
    values = extract_metrics(data)
    assert values["performance_score"] == 0.91
    assert values["seo_score"] is None  # Lighthouse gave no score: no sample, not a zero
    assert values["lcp_ms"] == 1234.5
    assert values["cls"] == 0.25
    assert values["bytes_total"] == 9000 and values["requests_total"] == 7
    assert values["bytes_third_party"] == 100
    assert values["bytes_image"] is None


def test_runtime_error_is_code_and_message():
    assert runtime_error({"runtimeError": {"code": "NO_FCP", "message": "The page did not paint"}}) == (
        "NO_FCP", "The page did not paint")
    assert runtime_error({}) is None


def test_median_of_three_is_the_middle_run():
    runs = [lhr(900, 2000), lhr(700, 1500), lhr(1200, 2600)]
    assert median_run_index(runs) == 0


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_median_run_matches_lighthouse_ci_representative_run():
    module = PROJECT_ROOT / "node_modules/@lhci/utils/src/representative-runs.js"
    if not module.exists():
        pytest.skip("node_modules not installed (npm ci)")
    rng = random.Random(7)
    cases = []
    for _ in range(40):
        n = rng.randint(1, 7)
        cases.append([lhr(rng.choice([rng.uniform(300, 3000), 1000.0]), rng.uniform(500, 6000)) for _ in range(n)])
    script = (
        "const {computeRepresentativeRuns} = require(process.argv[1]);"
        "const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(cases.map(c => computeRepresentativeRuns([c.map((l, i) => [i, l])])[0])));"
    )
    done = subprocess.run(["node", "-e", script, str(module)], input=json.dumps(cases), capture_output=True,
                          text=True, timeout=60, check=True)
    theirs = json.loads(done.stdout)
    ours = [median_run_index(c) for c in cases]
    assert ours == theirs


def test_median_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        median_run_index([])
