"""summary.json (machine-readable, schema in reports/SCHEMA.md) and summary.md (PR comment)."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from typing import Any

from reports.analysis import RunAnalysis
from reports.safety import json_number, md_text
from reports.verdict import status_counts

SCHEMA_ID = "siteward.summary/1"
OUTPUT_NAMES = {
    "report_html": "report.html",
    "summary_json": "summary.json",
    "junit_xml": "junit.xml",
    "summary_md": "summary.md",
}
MD_MAX_FAILING = 15
MD_MAX_REGRESSIONS = 8


def _clean(value: Any) -> Any:
    """Replace NaN/inf (not JSON) by null, recursively."""
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def measurement_stats(samples: list[float]) -> dict[str, float]:
    return {
        "median": float(statistics.median(samples)), "min": min(samples), "max": max(samples),
        "mean": float(statistics.fmean(samples)), "n": len(samples),
    }


def build_summary(a: RunAnalysis) -> dict[str, Any]:
    stages: dict[str, dict[str, Any]] = defaultdict(lambda: {"measurements": [], "findings": {}, "artifacts": []})
    for m in a.measurements:
        stages[m.stage]["measurements"].append({
            "subject": m.subject, "metric": m.metric, "unit": m.unit,
            "higher_is_better": m.higher_is_better, "tags": dict(m.tags), **measurement_stats(m.samples),
        })
    for stage in {f.stage for f in a.findings}:
        stages[stage]["findings"] = status_counts(f for f in a.findings if f.stage == stage)
    for art in a.artifacts:
        stages[art.stage]["artifacts"].append(
            {"role": art.role, "path": art.path, "subject": art.subject, "media_type": art.media_type, "tags": dict(art.tags)}
        )
    budgets_failed = sum(1 for b in a.budgets if b.status == "fail")
    summary = {
        "schema": SCHEMA_ID,
        "run_id": a.info.id,
        "verdict": a.verdict,
        "exit_code": a.exit_code,
        "target": a.info.target,
        "fingerprint": a.info.fingerprint,
        "started": a.info.started,
        "finished": a.info.finished,
        "complete": a.complete,
        "stages_run": list(a.info.stages),
        "silent_stages": list(a.silent_stages),
        "unfinished_stages": list(a.unfinished_stages),
        "branch": a.info.branch,
        "commit": a.info.commit,
        "baseline_run_id": a.baseline.id if a.baseline else None,
        "baseline_run_ids": [r.id for r in a.baseline_runs],
        "baseline_runs_needed": a.baseline_runs_needed,
        "baseline_note": a.baseline_note,
        "counts": {
            "findings": status_counts(a.findings),
            "budgets": {"total": len(a.budgets), "passed": sum(b.passed for b in a.budgets), "failed": budgets_failed},
            "regressions": len(a.regressions),
            "comparisons": dict(Counter(c.state for c in a.comparisons)),
            "measurements": len(a.measurements),
            "artifacts": len(a.artifacts),
            "confirmation_records": a.confirmation_records,
        },
        "failed": list(a.failed),
        "budgets": [b.as_dict() for b in a.budgets],
        "regressions": [c.as_dict() for c in a.regressions],
        "findings": [
            {
                "stage": f.stage, "subject": f.subject, "check": f.check, "status": f.status,
                "severity": f.severity, "message": f.message, "evidence": list(f.evidence),
                "limit": f.limit, "value": f.value, "unit": f.unit, "tags": dict(f.tags), "created": f.created,
                "data": dict(f.data),
            }
            for f in a.findings
        ],
        "stages": dict(stages),
        "trends": [t.as_dict() for t in a.trends],
        "tool_versions": dict(a.info.tool_versions),
        "outputs": dict(OUTPUT_NAMES),
    }
    return _clean(summary)


# ---------------------------------------------------------------------- Markdown

_BADGE = {"pass": "✅ PASS", "fail": "❌ FAIL", "error": "⚠️ ERROR"}


def _num(value: float | None, unit: str) -> str:
    return "?" if value is None else f"{value:.4g} {unit}".strip()


def _q(value: float | None) -> str:
    return "–" if value is None else f"{value:.2g}"


def build_markdown(a: RunAnalysis, *, report_link: str = "report.html") -> str:
    counts = status_counts(a.findings)
    budgets_failed = sum(1 for b in a.budgets if b.status == "fail")
    lines = [
        f"## siteward: {_BADGE[a.verdict]} (exit {a.exit_code})",
        "",
        f"Target {md_text(a.info.target)} · run `{a.info.id}` · {md_text(a.baseline_note)}",
        "",
        "| budgets | failed | regressions | checks failed | errors | warnings |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {len(a.budgets)} | {budgets_failed} | {len(a.regressions)} | {counts['fail']} | {counts['error']} | {counts['warn']} |",
    ]
    if not a.complete:
        lines += ["", "_The run is incomplete: " + md_text(", ".join(a.silent_stages) or "no records") + " recorded nothing._"]
    if a.failed:
        lines += ["", f"### Not passing ({len(a.failed)})", ""]
        lines += [f"- {md_text(line)}" for line in a.failed[:MD_MAX_FAILING]]
        if len(a.failed) > MD_MAX_FAILING:
            lines.append(f"- … and {len(a.failed) - MD_MAX_FAILING} more in the report")
    if a.regressions:
        lines += ["", "### Top regressions", "",
                  "| metric | subject | baseline (samples, runs) | current (samples) | change | q | 95 % CI of the difference | confirmed by |",
                  "|---|---|---:|---:|---:|---:|---:|---:|"]
        for c in a.regressions[:MD_MAX_REGRESSIONS]:
            change = "?" if c.change is None else f"{c.change * 100:+.1f} %"
            ci = "–" if c.ci_low is None else f"{_num(c.ci_low, c.unit)} .. {_num(c.ci_high, c.unit)}"
            confirmed = f"{c.confirmations} re-measurements" if c.confirmations else "–"
            lines.append(
                f"| {md_text(c.metric)} | {md_text(c.subject)} | {_num(c.baseline_median, c.unit)} ({c.n_baseline}, {c.baseline_runs}) "
                f"| {_num(c.current_median, c.unit)} ({c.n_current}) | {change} | {_q(c.q_value)} | {ci} | {confirmed} |"
            )
    # A plain path, not a link: in a pull-request comment a relative link would not resolve.
    lines += ["", f"Full report: `{a.info.run_dir.name}/{report_link}` in the results directory"
                  " (screenshots, charts, evidence; published as the CI artifact)", ""]
    return "\n".join(lines)
