"""Everything the outputs need about one run, read from the store's records only.

`analyse` is the one place that touches the store; what it computes comes from the
pure functions in reports.regressions and reports.verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from siteward.errors import UsageError
from siteward.records import Artifact, Finding, Measurement
from siteward.store import RunInfo, Store

from reports import regressions as rg
from reports import verdict as vd
from reports.budgets import Limits, judge

TREND_RUNS = 10  # how many past runs of the same target+config the trends span
TREND_KEYS = 24  # at most this many metrics get a trend line


@dataclass
class RunAnalysis:
    info: RunInfo
    measurements: list[Measurement]
    findings: list[Finding]
    artifacts: list[Artifact]
    baseline: RunInfo | None
    baseline_note: str
    comparisons: list[rg.Comparison]
    regressions: list[rg.Comparison]
    budgets: list[vd.BudgetLine]
    silent_stages: list[str]
    verdict: str
    exit_code: int
    failed: list[str]
    trends: list[rg.Trend] = field(default_factory=list)

    @property
    def has_records(self) -> bool:
        return bool(self.measurements or self.findings or self.artifacts)

    @property
    def complete(self) -> bool:
        """False when a stage of the run recorded nothing (killed halfway, or it measured nothing)."""
        return self.has_records and not self.silent_stages


def find_baseline(store: Store, info: RunInfo, baseline_id: str | None) -> tuple[RunInfo | None, str]:
    """The explicit baseline, else the latest passing run of the same target and config."""
    if baseline_id is not None:
        base = store.run(baseline_id)
        if base.id == info.id:
            raise UsageError(f"run {info.id} cannot be its own baseline")
        note = f"baseline {base.id} (chosen)"
        if base.fingerprint != info.fingerprint:
            note += "; its config differs from this run's, so some metrics may not match"
        elif base.target != info.target:
            note += f"; it measured another target ({base.target})"
        return base, note
    base = store.latest_passing(info)
    if base is None:
        return None, "no earlier passing run of this target and config: no regression analysis"
    return base, f"baseline {base.id}, the latest passing run of this target and config"


def trend_keys(analysis_budgets: list[vd.BudgetLine], measurements: list[Measurement],
               regressions: list[rg.Comparison]) -> list[rg.MetricKey]:
    """Key metrics: regressed ones, then the ones a budget covers, then the first measured."""
    measured = {(m.stage, m.subject, m.metric) for m in measurements}
    keys: list[rg.MetricKey] = [c.key for c in regressions]
    keys += [(b.stage, b.subject, b.name) for b in analysis_budgets if (b.stage, b.subject, b.name) in measured]
    keys += [(m.stage, m.subject, m.metric) for m in measurements]
    seen: dict[rg.MetricKey, None] = {}
    for key in keys:
        seen.setdefault(key, None)
    return list(seen)[:TREND_KEYS]


def analyse(store: Store, run_id: str, *, baseline_id: str | None = None,
            limits: Limits | None = None) -> RunAnalysis:
    """`limits`: judge budgets against these instead of the run's stored config (re-judging)."""
    info = store.run(run_id)
    records = store.records(info.id)
    measurements = [r for r in records if isinstance(r, Measurement)]
    artifacts = [r for r in records if isinstance(r, Artifact)]
    judged = judge(measurements, limits or Limits.from_snapshot(info.config))
    findings = [r for r in records if isinstance(r, Finding)] + judged

    baseline, baseline_note = find_baseline(store, info, baseline_id)
    comparisons: list[rg.Comparison] = []
    if baseline is not None:
        comparisons = rg.compare_measurements(store.records(baseline.id, kind="measurement"), measurements)
    regressions = rg.regressions_of(comparisons)

    budgets = vd.budget_lines(findings)
    silent = vd.silent_stages(info.stages, records)
    has_records = bool(records)
    verdict, exit_code = vd.decide(findings, regressions, has_records=has_records, silent=silent)
    failed = vd.failing_lines(findings, regressions, has_records=has_records, silent=silent)

    # Trend: earlier runs of the same target+config (any verdict), then this one.
    past = store.runs(target=info.target, fingerprint=info.fingerprint, before=info.id, limit=TREND_RUNS - 1)
    history = [(r.id, store.records(r.id, kind="measurement")) for r in reversed(past)]
    history.append((info.id, measurements))
    trends = rg.build_trends(history, trend_keys(budgets, measurements, regressions)) if len(history) > 1 else []

    return RunAnalysis(
        info=info, measurements=measurements, findings=findings, artifacts=artifacts,
        baseline=baseline, baseline_note=baseline_note, comparisons=comparisons,
        regressions=regressions, budgets=budgets, silent_stages=silent, verdict=verdict,
        exit_code=exit_code, failed=failed, trends=trends,
    )
