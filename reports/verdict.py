"""Budget lines and the run's verdict: pure functions over records.

Verdict rules (DESIGN.md): "fail" (exit 1) if any finding failed or a regression was
found; else "error" (exit 3) if any check could not measure, or the run recorded
nothing at all, or a stage it ran recorded nothing or never reached its end (killed);
else "pass" (exit 0). Warnings never fail a run. An incomplete run is never a PASS,
so it is never a baseline either.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from siteward.errors import EXIT_CANNOT_MEASURE, EXIT_FAIL, EXIT_PASS
from siteward.records import AnyRecord, Finding

from reports.regressions import Comparison

# Checks that compare a measured value with a promised limit.
LIMIT_CHECKS = ("budget", "threshold", "visual-diff", "lhci-assert")
# Stages whose silence means they measured nothing (reports/run emit nothing by design).
MEASURING_STAGES = ("browsers", "audits", "loadtests")


@dataclass(frozen=True)
class BudgetLine:
    """One promised limit and what was measured: a pass/fail line of the verdict."""

    name: str
    check: str
    stage: str
    subject: str
    status: str
    limit: float | None
    value: float | None
    unit: str | None
    message: str
    tags: dict[str, str]
    evidence: list[str]

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def as_dict(self) -> dict:
        return {
            "name": self.name, "check": self.check, "stage": self.stage, "subject": self.subject,
            "status": self.status, "passed": self.passed, "limit": self.limit, "value": self.value,
            "unit": self.unit, "message": self.message, "tags": dict(self.tags), "evidence": list(self.evidence),
        }


def is_budget(finding: Finding) -> bool:
    """A limit that was checked (or could not be): a skipped comparison promised nothing."""
    return finding.status != "skip" and (finding.check in LIMIT_CHECKS or finding.limit is not None)


def budget_lines(findings: Iterable[Finding]) -> list[BudgetLine]:
    return [
        BudgetLine(
            name=f.tags.get("budget") or f.check, check=f.check, stage=f.stage, subject=f.subject,
            status=f.status, limit=f.limit, value=f.value, unit=f.unit, message=f.message,
            tags=dict(f.tags), evidence=list(f.evidence),
        )
        for f in findings if is_budget(f)
    ]


def silent_stages(run_stages: Sequence[str], records: Iterable[AnyRecord]) -> list[str]:
    """Stages the run was asked to run that left no record (killed, or measured nothing)."""
    seen = {r.stage for r in records}
    return [s for s in run_stages if s in MEASURING_STAGES and s not in seen]


def decide(
    findings: Sequence[Finding], regressions: Sequence[Comparison], *,
    has_records: bool, silent: Sequence[str] = (), unfinished: Sequence[str] = (),
) -> tuple[str, int]:
    """(verdict, exit code) from the rules in the module docstring."""
    if any(f.status == "fail" for f in findings) or regressions:
        return "fail", EXIT_FAIL
    if not has_records or silent or unfinished or any(f.status == "error" for f in findings):
        return "error", EXIT_CANNOT_MEASURE
    return "pass", EXIT_PASS


def _fmt(value: float | None, unit: str | None) -> str:
    if value is None:
        return "?"
    return f"{value:g} {unit}" if unit else f"{value:g}"


def failing_lines(
    findings: Sequence[Finding], regressions: Sequence[Comparison], *,
    has_records: bool = True, silent: Sequence[str] = (), unfinished: Sequence[str] = (),
) -> list[str]:
    """One line per reason the run did not pass: failures, regressions, then errors."""
    lines: list[str] = []
    for f in findings:
        if f.status == "fail":
            lines.append(f"FAIL [{f.stage}/{f.check}] {f.subject}: {f.message or _fmt(f.value, f.unit)}")
    for c in regressions:
        lines.append(regression_line(c))
    for f in findings:
        if f.status == "error":
            lines.append(f"ERROR [{f.stage}/{f.check}] {f.subject}: {f.message or 'could not measure'}")
    if not has_records:
        lines.append("ERROR the run recorded nothing (killed before measuring, or target unreachable)")
    # A run-level error (target unreachable, interrupted) already says why stages are silent.
    explained = any(f.stage == "run" and f.status == "error" for f in findings)
    for stage in () if explained else silent:
        lines.append(f"ERROR [{stage}] the stage recorded nothing (interrupted, or nothing to measure)")
    for stage in () if explained else [s for s in unfinished if s not in silent]:
        lines.append(f"ERROR [{stage}] the stage never reached its end (killed?): the run is incomplete")
    return lines


def regression_line(c: Comparison) -> str:
    """REGRESSION [stage] subject metric: baseline -> current (+x %), q, CI, confirmation."""
    change = f" ({c.change * 100:+.1f} %)" if c.change is not None else ""
    q = f", q={c.q_value:.2g}" if c.q_value is not None else ""
    ci = f", 95 % CI of the difference [{c.ci_low:+.4g}, {c.ci_high:+.4g}] {c.unit}" \
        if c.ci_low is not None and c.ci_high is not None else ""
    base = f"{_fmt(c.baseline_median, c.unit)} ({c.n_baseline} samples, {c.baseline_runs} run(s))"
    confirmed = f", confirmed by {c.confirmations} re-measurement(s)" if c.confirmations else ""
    return (f"REGRESSION [{c.stage}] {c.subject} {c.metric}: {base} -> {_fmt(c.current_median, c.unit)}"
            f" ({c.n_current} samples){change}{q}{ci}{confirmed}")


def status_counts(findings: Iterable[Finding]) -> dict[str, int]:
    counts = Counter(f.status for f in findings)
    return {s: counts.get(s, 0) for s in ("pass", "fail", "warn", "error", "skip")}
