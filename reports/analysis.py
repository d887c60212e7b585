"""Everything the outputs need about one run, read from the store's records only.

`analyse` is the one place that touches the store; what it computes comes from the
pure functions in reports.regressions and reports.verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from siteward.errors import ConfigError, UsageError
from siteward.records import Artifact, Finding, Measurement
from siteward.schema import RegressionsConfig
from siteward.store import RunInfo, Store

from reports import live
from reports import regressions as rg
from reports import verdict as vd
from reports.baselines import BaselineChoice, choose_baseline, explicit_baseline
from reports.budgets import Limits, judge
from reports.trends import Trend, build_trends
from reports.under_load import hold_span, is_phased, under_load_config, under_load_findings

TREND_RUNS = 10  # how many past runs of the same target+config the trends span
TREND_KEYS = 24  # at most this many metrics get a trend line
CANDIDATE_RUNS = 500  # earlier runs looked at when choosing the baseline


class _RegressionsSnapshot(BaseModel):
    model_config = ConfigDict(extra="ignore")
    regressions: RegressionsConfig = Field(default_factory=RegressionsConfig)


def regressions_config(snapshot: Mapping[str, Any], source: str = "the run's stored config") -> RegressionsConfig:
    """[regressions] of a run's stored config (defaults for runs stored before it existed)."""
    try:
        return _RegressionsSnapshot.model_validate(dict(snapshot)).regressions
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"{source}: cannot judge regressions: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None


@dataclass
class RunAnalysis:
    info: RunInfo
    measurements: list[Measurement]
    findings: list[Finding]
    artifacts: list[Artifact]
    baseline: RunInfo | None  # the newest baseline run
    baseline_note: str
    comparisons: list[rg.Comparison]
    regressions: list[rg.Comparison]
    budgets: list[vd.BudgetLine]
    silent_stages: list[str]
    verdict: str
    exit_code: int
    failed: list[str]
    trends: list[Trend] = field(default_factory=list)
    baseline_runs: list[RunInfo] = field(default_factory=list)
    baseline_runs_needed: int = 0
    confirmation_records: int = 0

    @property
    def has_records(self) -> bool:
        return bool(self.measurements or self.findings or self.artifacts)

    @property
    def unfinished_stages(self) -> list[str]:
        return self.info.unfinished_stages

    @property
    def complete(self) -> bool:
        """False when a stage of the run recorded nothing or never reached its end (killed halfway)."""
        return self.has_records and not self.silent_stages and not self.unfinished_stages


PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # every complete PNG ends with this IEND chunk


def damaged_artifacts(run_dir, artifacts: list[Artifact]) -> list[Finding]:
    """Evidence files that are gone or cut short (a disk that filled mid-run leaves truncated
    PNGs): an error each, so such a run is never a PASS. PNGs are checked by their last bytes."""
    found = []
    for artifact in artifacts:
        path = run_dir / artifact.path
        try:
            if not path.is_file():
                problem = "is missing"
            elif path.suffix.lower() == ".png" and not _ends_like_png(path):
                problem = "is truncated (no PNG end chunk: was the disk full?)"
            else:
                continue
        except OSError as exc:
            problem = f"cannot be read: {exc.strerror or exc}"
        found.append(Finding(stage=artifact.stage, subject=artifact.subject, tags=artifact.tags, check="artifact",
                             status="error", severity="major", message=f"{artifact.role} file {artifact.path} {problem}"))
    return found


def _ends_like_png(path) -> bool:
    with open(path, "rb") as file:
        size = file.seek(0, 2)
        if size < len(PNG_END):
            return False
        file.seek(size - len(PNG_END))
        return file.read() == PNG_END


def find_baseline(store: Store, info: RunInfo, baseline_id: str | None,
                  settings: RegressionsConfig) -> BaselineChoice:
    """The explicit baseline run, else the pooled baseline of reports.baselines."""
    if baseline_id is not None:
        base = store.run(baseline_id)
        if base.id == info.id:
            raise UsageError(f"run {info.id} cannot be its own baseline")
        return explicit_baseline(base, info)
    candidates = store.runs(target=info.target, fingerprint=info.fingerprint, verdict="pass", before=info.id,
                            limit=CANDIDATE_RUNS)
    return choose_baseline(candidates, info, settings)


def _own_measurements(store: Store, run_id: str) -> list[Measurement]:
    """A run's measurements its history compares: no re-measurements, no journey timed under load."""
    return [m for m in store.records(run_id, kind="measurement") if not rg.is_confirmation(m) and not is_phased(m)]


def compare_run(store: Store, info: RunInfo, measurements: list[Measurement], fresh: list[Measurement],
                choice: BaselineChoice, config: RegressionsConfig) -> list[rg.Comparison]:
    """Screen, confirm with the re-measurements, and add the costly CIs to what was found."""
    settings = rg.Settings.from_config(config)
    baseline_runs = [_own_measurements(store, r.id) for r in choice.runs]
    if choice.method is None:  # too few runs: every metric "insufficient", with its medians
        return rg.compare(baseline_runs, measurements, settings) if baseline_runs else []
    if choice.method == "mann-whitney" and live.is_live(measurements) and live.is_live(baseline_runs[0]):
        return live.compare_paired(baseline_runs[0], measurements, settings)  # `siteward compare --live`
    comparisons = rg.compare(baseline_runs, measurements, settings, choice.method)
    comparisons = rg.confirm(comparisons, baseline_runs, fresh, settings)
    return rg.with_intervals(comparisons, baseline_runs, measurements)


def screen_run(store: Store, run_id: str, *, baseline_id: str | None = None) -> list[rg.Comparison]:
    """Metrics of a run that screening flags and the runner can re-measure (pages, Lighthouse audits).

    A pure reading of the store: no output is written, no verdict recorded."""
    info = store.run(run_id)
    config = regressions_config(info.config)
    if not config.confirm_runs:
        return []
    choice = find_baseline(store, info, baseline_id, config)
    if choice.method is None:
        return []
    settings = rg.Settings.from_config(config)
    baseline_runs = [_own_measurements(store, r.id) for r in choice.runs]
    comparisons = rg.compare(baseline_runs, _own_measurements(store, info.id), settings, choice.method)
    return [c for c in comparisons if c.state == "regression" and c.confirmable]


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
    all_records = store.records(info.id)
    # Re-measurements only confirm or clear a regression: they are not the run's results.
    fresh = [r for r in all_records if rg.is_confirmation(r)]
    records = [r for r in all_records if not rg.is_confirmation(r)]
    measurements = [r for r in records if isinstance(r, Measurement)]
    artifacts = [r for r in records if isinstance(r, Artifact)]
    judged = judge(measurements, limits or Limits.from_snapshot(info.config))
    findings = [r for r in records if isinstance(r, Finding)] + judged + damaged_artifacts(info.run_dir, artifacts)
    findings += under_load_findings(measurements, under_load_config(info.config), hold_span(findings))

    config = regressions_config(info.config)
    choice = find_baseline(store, info, baseline_id, config)
    # A journey timed before and under load is compared with itself (reports/under_load.py), not history.
    compared = [m for m in measurements if not is_phased(m)]
    comparisons = compare_run(store, info, compared, [m for m in fresh if isinstance(m, Measurement)],
                              choice, config)
    regressions = rg.regressions_of(comparisons)

    budgets = vd.budget_lines(findings)
    silent = vd.silent_stages(info.stages, records)
    has_records = bool(records)
    unfinished = info.unfinished_stages
    verdict, exit_code = vd.decide(findings, regressions, has_records=has_records, silent=silent,
                                   unfinished=unfinished)
    failed = vd.failing_lines(findings, regressions, has_records=has_records, silent=silent, unfinished=unfinished)

    # Trend: earlier runs of the same target+config (any verdict), then this one.
    past = store.runs(target=info.target, fingerprint=info.fingerprint, before=info.id, limit=TREND_RUNS - 1)
    history = [(r.id, _own_measurements(store, r.id)) for r in reversed(past)]
    history.append((info.id, compared))
    trends = build_trends(history, trend_keys(budgets, measurements, regressions)) if len(history) > 1 else []

    return RunAnalysis(
        info=info, measurements=measurements, findings=findings, artifacts=artifacts,
        baseline=choice.runs[0] if choice.runs else None, baseline_note=choice.note, comparisons=comparisons,
        regressions=regressions, budgets=budgets, silent_stages=silent, verdict=verdict,
        exit_code=exit_code, failed=failed, trends=trends, baseline_runs=list(choice.runs),
        baseline_runs_needed=choice.more_needed, confirmation_records=len(fresh),
    )
