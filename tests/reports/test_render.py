"""render_run / compare_runs on runs built from records in a temp store."""

from __future__ import annotations

import json
from html import unescape
import xml.etree.ElementTree as ET

import pytest
from rich.console import Console

from report_records import artifact, budget, finding, latency, measurement
from reports import compare_runs, render_run
from siteward.errors import UsageError

OUTPUTS = {"report.html", "summary.json", "junit.xml", "summary.md"}


def _summary(outcome) -> dict:
    return json.loads(outcome.paths["summary.json"].read_text(encoding="utf-8"))


def _passing_records(seed=1, shift=0.0):
    return [
        measurement(samples=latency(seed, shift=shift), engine="chromium", device="desktop", page="home"),
        budget(400, 1500, engine="chromium", device="desktop", page="home"),
        measurement("p95_ms", latency(seed + 50, median=150), stage="loadtests", subject="GET /", route="/"),
        budget(150, 300, metric="p95_ms", stage="loadtests", subject="GET /", check="threshold", route="/"),
        finding("pass", "overflow"),
    ]


def test_passing_run_writes_four_outputs_and_records_the_verdict(store, runs):
    run_id = runs.run(_passing_records())
    outcome = render_run(store, run_id)
    assert (outcome.verdict, outcome.exit_code) == ("pass", 0)
    assert set(outcome.paths) == OUTPUTS and all(p.is_file() and p.parent == outcome.run_dir for p in outcome.paths.values())
    info = store.run(run_id)
    assert (info.verdict, info.exit_code) == ("pass", 0) and info.finished is not None
    assert outcome.baseline_id is None and outcome.regressions == [] and outcome.failed == []


def test_summary_json_has_the_documented_schema(store, runs):
    run_id = runs.run(_passing_records())
    summary = _summary(render_run(store, run_id))
    for key in ("schema", "run_id", "verdict", "exit_code", "target", "started", "finished", "complete",
                "budgets", "regressions", "findings", "stages", "counts", "failed", "trends", "tool_versions"):
        assert key in summary, key
    assert summary["run_id"] == run_id and summary["target"] == "demo" and summary["finished"]
    first = summary["budgets"][0]
    assert {"name", "limit", "value", "unit", "passed", "subject", "stage"} <= set(first)
    assert (first["name"], first["limit"], first["value"], first["unit"], first["passed"]) == ("fcp_ms", 1500, 400, "ms", True)
    loads = summary["stages"]["loadtests"]["measurements"]
    assert loads[0]["metric"] == "p95_ms" and loads[0]["n"] == 20 and loads[0]["tags"] == {"route": "/"}
    assert summary["counts"]["budgets"] == {"total": 2, "passed": 2, "failed": 0}
    assert summary["outputs"]["junit_xml"] == "junit.xml"


def _clean_history(runs, n=5, seed=1) -> list[str]:
    """n passing runs: the least that makes a pooled baseline (min_baseline_runs = 5)."""
    return [runs.run(_passing_records(seed=seed + 10 * i), verdict="pass") for i in range(n)]


def test_regression_against_the_pooled_passing_runs_fails(store, runs):
    pooled = _clean_history(runs)
    runs.run(_passing_records(seed=3), verdict="fail")  # not a baseline: it failed
    slow = runs.run(_passing_records(seed=4, shift=0.4))
    outcome = render_run(store, slow)
    assert outcome.baseline_id == pooled[-1]
    assert (outcome.verdict, outcome.exit_code) == ("fail", 1)
    assert [(c.metric, c.subject) for c in outcome.regressions] == [("fcp_ms", "home|chromium|desktop")]
    summary = _summary(outcome)
    assert summary["baseline_run_id"] == pooled[-1] and summary["baseline_run_ids"] == pooled[::-1]
    found = summary["regressions"][0]
    assert found["state"] == "regression" and found["change_pct"] > 20
    assert (found["baseline_runs"], found["n_baseline"], found["n_current"]) == (5, 100, 20)
    assert found["q_value"] <= 0.01 and found["ci_low"] > 0 and found["ci_high"] > found["ci_low"]
    assert any(line.startswith("REGRESSION") for line in summary["failed"])
    assert [t["run_ids"][-1] for t in summary["trends"]][0] == slow and len(summary["trends"][0]["values"]) == 7


def test_too_few_baseline_runs_say_how_many_more_are_needed(store, runs):
    _clean_history(runs, n=3)
    outcome = render_run(store, runs.run(_passing_records(seed=3, shift=0.5)))
    summary = _summary(outcome)
    assert outcome.verdict == "pass" and summary["baseline_runs_needed"] == 2
    assert "2 more needed" in summary["baseline_note"]
    assert {c.state for c in outcome.comparisons} == {"insufficient"}
    assert "2 more needed" in outcome.paths["summary.md"].read_text(encoding="utf-8")


def test_other_targets_and_configs_are_not_baselines(store, runs):
    runs.run(_passing_records(seed=1), verdict="pass", target="other")
    runs.run(_passing_records(seed=2), verdict="pass", fingerprint="other-config")
    outcome = render_run(store, runs.run(_passing_records(seed=3, shift=0.5)))
    assert outcome.baseline_id is None and outcome.verdict == "pass"
    assert "0 complete passing run(s)" in _summary(outcome)["baseline_note"]


def test_explicit_baseline_is_used_and_cannot_be_the_run_itself(store, runs):
    chosen = runs.run(_passing_records(seed=1), verdict="fail")
    run_id = runs.run(_passing_records(seed=2))
    assert render_run(store, run_id, baseline_id=chosen).baseline_id == chosen
    with pytest.raises(UsageError, match="own baseline"):
        render_run(store, run_id, baseline_id=run_id)
    with pytest.raises(UsageError, match="no run"):
        render_run(store, run_id, baseline_id="nope")


def test_run_killed_halfway_renders_with_error_verdict(store, runs):
    # browsers recorded; the process died before audits and loadtests: finished stays NULL.
    run_id = runs.run([measurement(samples=latency(1)), budget(400, 1500)], stages=["browsers", "audits", "loadtests"])
    assert store.run(run_id).finished is None
    outcome = render_run(store, run_id)
    assert (outcome.verdict, outcome.exit_code) == ("error", 3)
    summary = _summary(outcome)
    assert summary["complete"] is False and summary["silent_stages"] == ["audits", "loadtests"]
    assert store.run(run_id).verdict == "error"
    assert "incomplete" in outcome.paths["summary.md"].read_text(encoding="utf-8")


def test_truncated_and_missing_screenshots_are_named_and_the_run_is_never_a_pass(store, runs):
    """A results disk that filled mid-sweep left truncated PNGs, and the re-render said PASS."""
    run_id = runs.run([measurement(samples=latency(1)), budget(400, 1500)], stages=["browsers"], verdict="pass")
    whole = runs.image(run_id, "screens/home/chromium-desktop.png")
    cut = runs.image(run_id, "screens/cart/chromium-desktop.png")
    path = runs.root / run_id / cut
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    for rel in (whole, cut, "screens/gone/chromium-desktop.png"):
        store.add(run_id, artifact("screenshot", rel))
    outcome = render_run(store, run_id)
    assert (outcome.verdict, outcome.exit_code) == ("error", 3)
    problems = [line for line in outcome.failed if "screenshot file" in line]
    assert len(problems) == 2, outcome.failed
    assert any(cut in line and "truncated" in line for line in problems)
    assert any("gone" in line and "missing" in line for line in problems)


def test_run_without_records_is_an_error(store, runs):
    outcome = render_run(store, runs.run([], stages=["browsers"]))
    assert (outcome.verdict, outcome.exit_code) == ("error", 3)
    assert any("recorded nothing" in line for line in outcome.failed)
    junit = ET.parse(outcome.paths["junit.xml"]).getroot()
    assert int(junit.get("errors")) >= 1


def test_rerender_keeps_the_first_finish_time_when_the_verdict_holds(store, runs):
    run_id = runs.run(_passing_records())
    render_run(store, run_id)
    finished = store.run(run_id).finished
    (store.run(run_id).run_dir / "report.html").unlink()
    again = render_run(store, run_id)
    assert store.run(run_id).finished == finished
    assert again.paths["report.html"].is_file()


def test_junit_xml_is_valid_and_counts_failures_and_errors(store, runs):
    records = [
        budget(1800, 1500, engine="chromium", device="desktop"),
        finding("error", "stage", stage="audits", subject="audits", message="lighthouse \x1b[31mtimed out\x1b[0m"),
        finding("fail", "console-errors", message="Uncaught <b>TypeError</b> & more", evidence=["shots/home.png"]),
        finding("warn", "fonts", message="slow font"),
        finding("skip", "visual-diff", message="no approved baseline"),
        finding("pass", "overflow"),
    ]
    outcome = render_run(store, runs.run(records))
    root = ET.fromstring(outcome.paths["junit.xml"].read_bytes())
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("6", "2", "1", "1")
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"siteward.browsers", "siteward.audits"}
    for suite in suites.values():
        assert int(suite.get("tests")) == len(suite.findall("testcase"))
    failure = next(c for c in root.iter("testcase") if c.get("classname") == "siteward.browsers.console-errors").find("failure")
    assert failure.get("message") == "Uncaught <b>TypeError</b> & more" and "shots/home.png" in failure.text
    error = root.find(".//error")
    assert error.get("message") == "lighthouse [31mtimed out[0m"  # control characters dropped, not the XML
    budget_case = next(c for c in root.iter("testcase") if c.get("classname") == "siteward.browsers.budget")
    assert budget_case.get("name").endswith("fcp_ms") and "limit: 1500" in budget_case.find("failure").text


def test_junit_has_a_testcase_per_compared_metric(store, runs):
    _clean_history(runs)
    outcome = render_run(store, runs.run(_passing_records(seed=2, shift=0.5)))
    root = ET.parse(outcome.paths["junit.xml"]).getroot()
    (suite,) = [s for s in root.iter("testsuite") if s.get("name") == "siteward.regressions"]
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    assert suite.find("testcase/failure").get("type") == "regression"


def test_summary_md_is_short_and_names_the_failures(store, runs):
    records = [finding("fail", "console-errors", subject=f"page{i}|chromium|desktop", message="x" * 500) for i in range(200)]
    outcome = render_run(store, runs.run(records))
    text = outcome.paths["summary.md"].read_text(encoding="utf-8")
    assert text.startswith("## siteward: ❌ FAIL (exit 1)")
    assert "page0\\|chromium\\|desktop" in text and "… and 185 more in the report" in text
    assert f"Full report: `{outcome.run_id}/report.html`" in text
    assert len(text) < 8000  # fits a pull-request comment comfortably (GitHub's limit is 65536)


def test_compare_runs_prints_the_table_and_rewrites_b_against_a(store, runs):
    a = runs.run(_passing_records(seed=1), verdict="pass")
    b = runs.run(_passing_records(seed=2, shift=0.5), verdict="pass")
    console = Console(record=True, width=160)
    outcome = compare_runs(store, a, b, console)
    text = console.export_text()
    for column in ("metric", "subject", "A median", "B median", "change %", "q-value", "verdict"):
        assert column in text
    assert "fcp_ms" in text and "regression" in text and "1 regression(s)" in text
    assert outcome.run_id == b and outcome.baseline_id == a and outcome.verdict == "fail"
    assert _summary(outcome)["baseline_run_id"] == a
    assert store.run(b).verdict == "fail"


def test_report_html_has_every_section_and_escapes_target_text(store, runs):
    evil = "<script>alert('title')</script>"
    records = [finding("fail", "console-errors", message=evil, page=evil), *_passing_records()]
    html = render_run(store, runs.run(records)).paths["report.html"].read_text(encoding="utf-8")
    for section in ("verdict", "failures", "regressions", "budgets", "matrix", "visual", "lighthouse", "load",
                    "findings", "trends", "config"):
        assert f'id="{section}"' in html, section
    assert evil not in html and "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in html
    assert "http://" not in html.replace("http://127.0.0.1:1", "").split("<script>")[0]
    # Defense in depth: only our own inline scripts (by hash) may run.
    csp = unescape(html.split('http-equiv="Content-Security-Policy" content="', 1)[1].split('"', 1)[0])
    script_src = csp.split("script-src", 1)[1].split(";", 1)[0]
    assert "unsafe-inline" not in script_src and script_src.count("'sha256-") == 2
    assert "default-src 'none'" in csp


def test_silent_stages_are_junit_errors_by_name(store, runs):
    outcome = render_run(store, runs.run([finding("pass")], stages=["browsers", "audits", "loadtests"]))
    root = ET.parse(outcome.paths["junit.xml"]).getroot()
    (suite,) = [s for s in root.iter("testsuite") if s.get("name") == "siteward.completeness"]
    assert [c.get("name") for c in suite.iter("testcase")] == ["audits", "loadtests"]
    assert suite.get("errors") == "2" and root.get("errors") == "2"


def test_a_run_whose_stage_never_ended_is_incomplete_never_a_pass_nor_a_baseline(store, runs, tmp_path):
    # As the runner leaves a run killed with SIGKILL during its second stage: both stages recorded
    # something, only the first was marked done. Re-rendered later, it must not pass.
    run_dir = tmp_path / "results" / "killed"
    killed = store.create_run(target="demo", fingerprint="fp1", config={}, stages=["browsers", "audits"],
                              run_dir=run_dir, run_id="killed", branch="main", track_stages=True)
    for record in (measurement(samples=latency(1)), measurement("lcp_ms", [1800.0] * 5, stage="audits",
                                                              subject="home|lighthouse|mobile")):
        store.add(killed, record)
    store.mark_stage_done(killed, "browsers")
    outcome = render_run(store, killed)
    summary = _summary(outcome)
    assert (outcome.verdict, outcome.exit_code) == ("error", 3)
    assert summary["complete"] is False and summary["unfinished_stages"] == ["audits"]
    assert any("never reached its end" in line for line in summary["failed"])
    later = runs.run([measurement(samples=latency(2))])
    assert "killed" not in _summary(render_run(store, later))["baseline_run_ids"]
