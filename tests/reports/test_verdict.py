"""Verdict rules and budget lines (DESIGN.md exit codes)."""

from __future__ import annotations

from report_records import budget, finding, latency, measurement
from reports.regressions import compare_measurements, regressions_of
from reports.verdict import budget_lines, decide, failing_lines, silent_stages, status_counts


def _regression():
    return regressions_of(compare_measurements([measurement(samples=latency(1))],
                                               [measurement(samples=latency(2, shift=0.5))]))


def test_all_met_passes():
    findings = [budget(400, 500), finding("pass"), finding("warn", message="slow font"), finding("skip")]
    assert decide(findings, [], has_records=True) == ("pass", 0)


def test_a_failed_budget_fails_even_with_errors():
    findings = [budget(600, 500), finding("error", message="lighthouse timed out")]
    assert decide(findings, [], has_records=True) == ("fail", 1)


def test_a_regression_alone_fails():
    regressions = _regression()
    assert len(regressions) == 1
    assert decide([budget(400, 500)], regressions, has_records=True) == ("fail", 1)


def test_errors_without_failures_mean_could_not_measure():
    assert decide([budget(400, 500), finding("error")], [], has_records=True) == ("error", 3)


def test_no_records_or_a_silent_stage_is_an_error():
    assert decide([], [], has_records=False) == ("error", 3)
    assert decide([finding("pass")], [], has_records=True, silent=["audits"]) == ("error", 3)


def test_silent_stages_are_measuring_stages_without_records():
    records = [finding("pass"), finding("pass", stage="run", subject="run")]
    assert silent_stages(["browsers", "audits", "loadtests"], records) == ["audits", "loadtests"]
    assert silent_stages(["browsers"], records) == []


def test_budget_lines_carry_limit_value_unit_and_name():
    findings = [budget(0.002, 0.001, metric="visual_diff_ratio", unit="ratio", check="visual-diff"),
                budget(1800, 1500, page="home"), finding("fail", "overflow"),
                finding("skip", "visual-diff", message="no approved baseline")]
    lines = budget_lines(findings)
    assert [(b.name, b.check, b.limit, b.value, b.unit, b.passed) for b in lines] == [
        ("visual_diff_ratio", "visual-diff", 0.001, 0.002, "ratio", False),
        ("fcp_ms", "budget", 1500, 1800, "ms", False),
    ]
    assert lines[1].as_dict()["passed"] is False and lines[1].as_dict()["subject"] == "home|chromium|desktop"


def test_failing_lines_list_failures_regressions_then_errors():
    findings = [finding("error", message="browser crashed"), budget(1800, 1500), finding("warn")]
    lines = failing_lines(findings, _regression(), silent=["loadtests"])
    assert lines[0].startswith("FAIL [browsers/budget]") and "1800 ms (budget <= 1500 ms)" in lines[0]
    assert lines[1].startswith("REGRESSION [browsers] home|chromium|desktop fcp_ms")
    assert lines[2] == "ERROR [browsers/console-errors] home|chromium|desktop: browser crashed"
    assert lines[3].startswith("ERROR [loadtests]")
    assert len(lines) == 4  # the warning is not a reason to fail


def test_status_counts_has_every_status():
    assert status_counts([finding("pass"), finding("fail"), finding("fail")]) == {
        "pass": 1, "fail": 2, "warn": 0, "error": 0, "skip": 0}


def test_a_run_level_error_explains_silent_stages():
    unreachable = finding("error", "target-reachable", stage="run", subject="target",
                          message="http://127.0.0.1:9 is unreachable: ConnectError")
    lines = failing_lines([unreachable], [], silent=["browsers", "audits"])
    assert lines == ["ERROR [run/target-reachable] target: http://127.0.0.1:9 is unreachable: ConnectError"]
    assert decide([unreachable], [], has_records=True, silent=["browsers", "audits"]) == ("error", 3)
