"""Regression findings: a run's metrics against its baseline, screened, then confirmed. Pure.

Screening (`compare`): every metric of the run against the pooled baseline with the test
of reports/stats.py (per-run medians against a pooled baseline of several runs; Mann-Whitney
against one chosen run), Benjamini-Hochberg q-values over all metrics tested, and an effect
floor (`min_change` of the baseline, never less than its run-to-run spread). A metric is
flagged when it is worse, its q-value is at most `fdr` and the change clears the floor.

Confirmation (`confirm`): the runner re-measures flagged pages and Lighthouse audits before
the run ends (records tagged "confirmation"). A flagged metric stays a regression only when
the fresh samples alone are worse too, against the same baseline, with a q-value (BH over
the re-measured metrics) at most `fdr` and a change that clears the floor; otherwise it is
"unconfirmed" and does not fail the run. A flagged metric without re-measurements - load
routes (a load test cannot be re-run for one route in seconds), journey timings, any metric
with `confirm_runs = 0`, a comparison made after the run (`siteward compare`, `--baseline`)
- needs stricter evidence instead: q <= fdr x UNCONFIRMABLE_STRICTNESS.

Out of the verdict: the load generator's health (its CPU, and the request volume and rate
it achieved) describes the generator, not the site; such metrics are "excluded" here and
stay findings of the load stage.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from siteward.records import AnyRecord, Measurement
from siteward.schema import RegressionsConfig

from reports import drift, stats

State = Literal["regression", "improvement", "unchanged", "insufficient", "new", "gone", "unconfirmed", "excluded"]
MetricKey = tuple[str, str, str]  # (stage, subject, metric)

CONFIRMATION_TAG = "confirmation"
GENERATOR_SUBJECT = "load-generator"
GENERATOR_METRICS = frozenset({"achieved_rps", "rate_ratio", "requests"})
UNCONFIRMABLE_STRICTNESS = 0.2


@dataclass(frozen=True)
class Settings:
    """[regressions] as the comparison needs it (see siteward.schema.RegressionsConfig)."""

    fdr: float = 0.05
    min_change: float = 0.10
    min_runs: int = 5
    confirm_runs: int = 3

    @classmethod
    def from_config(cls, config: RegressionsConfig) -> "Settings":
        return cls(fdr=config.fdr, min_change=config.min_change, min_runs=config.min_baseline_runs,
                   confirm_runs=config.confirm_runs)


@dataclass(frozen=True)
class Comparison:
    """One metric of one subject, baseline against current."""

    stage: str
    subject: str
    metric: str
    unit: str
    higher_is_better: bool
    state: State
    baseline_median: float | None
    current_median: float | None
    n_baseline: int
    n_current: int
    p_value: float | None = None
    tags: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    baseline_runs: int = 0
    method: str = ""
    q_value: float | None = None
    ci_low: float | None = None  # 95 % CI of current - baseline, in the metric's unit
    ci_high: float | None = None
    floor: float | None = None  # the least change that counts, in the metric's unit
    confirmable: bool = False
    confirmations: int = 0  # re-measurements (fresh samples) that were taken
    confirm_median: float | None = None
    confirm_q: float | None = None
    drift: float | None = None  # its peers' median change in this run, divided out (reports/drift.py)

    @property
    def key(self) -> MetricKey:
        return (self.stage, self.subject, self.metric)

    @property
    def abs_change(self) -> float | None:
        if self.baseline_median is None or self.current_median is None:
            return None
        return self.current_median - self.baseline_median

    @property
    def change(self) -> float | None:
        """Relative change of the median (0.3 = 30 % higher); None when the baseline is 0."""
        if self.abs_change is None or not self.baseline_median:
            return None
        return self.abs_change / abs(self.baseline_median)

    @property
    def confirmed(self) -> bool:
        return self.state == "regression" and self.confirmations > 0

    def as_dict(self) -> dict[str, Any]:
        change = self.change
        return {
            "stage": self.stage, "subject": self.subject, "metric": self.metric, "unit": self.unit,
            "state": self.state, "higher_is_better": self.higher_is_better,
            "baseline_median": self.baseline_median, "current_median": self.current_median,
            "abs_change": self.abs_change, "change_pct": None if change is None else round(change * 100, 2),
            "p_value": self.p_value, "q_value": self.q_value, "method": self.method,
            "ci_low": self.ci_low, "ci_high": self.ci_high, "floor": self.floor,
            "n_baseline": self.n_baseline, "baseline_runs": self.baseline_runs, "n_current": self.n_current,
            "confirmable": self.confirmable, "confirmations": self.confirmations,
            "confirm_median": self.confirm_median, "confirm_q": self.confirm_q, "drift": self.drift,
            "tags": dict(self.tags), "reason": self.reason,
        }


# ----------------------------------------------------------------- records in


def is_confirmation(record: AnyRecord) -> bool:
    return CONFIRMATION_TAG in record.tags


def is_violation_count(stage: str, subject: str, metric: str) -> bool:
    """axe's counts are exact, not samples of a distribution: their budgets judge them."""
    return stage == "browsers" and metric.startswith("a11y_")


def is_generator_health(stage: str, subject: str, metric: str) -> bool:
    return stage == "loadtests" and (subject == GENERATOR_SUBJECT or metric.startswith("generator_")
                                     or metric in GENERATOR_METRICS)


def is_confirmable(stage: str, tags: dict[str, str]) -> bool:
    """A page of the browsers stage or a Lighthouse audit: the runner can re-measure just that."""
    if stage == "browsers":
        return bool(tags.get("page")) and not tags.get("journey") and bool(tags.get("engine")) and bool(tags.get("device"))
    return stage == "audits" and bool(tags.get("page")) and bool(tags.get("preset"))


def pool_measurements(measurements: Iterable[Measurement]) -> dict[MetricKey, Measurement]:
    """One measurement per (stage, subject, metric); repeats (retries, batches) pool their samples."""
    pooled: dict[MetricKey, Measurement] = {}
    for m in measurements:
        key = (m.stage, m.subject, m.metric)
        if key in pooled:
            prev = pooled[key]
            pooled[key] = prev.model_copy(update={"samples": [*prev.samples, *m.samples]})
        else:
            pooled[key] = m
    return pooled


def per_run_samples(runs: Sequence[Sequence[Measurement]]) -> dict[MetricKey, list[np.ndarray]]:
    """key -> one sample array per baseline run that measured it (newest run first, as given)."""
    found: dict[MetricKey, list[np.ndarray]] = defaultdict(list)
    for run in runs:
        for key, m in pool_measurements(run).items():
            values = stats.finite(m.samples)
            if len(values):
                found[key].append(values)
    return found


# ------------------------------------------------------------------ screening


def _test(runs: list[np.ndarray], current: Sequence[float], m: Measurement, method: str,
          settings: Settings, step: float | None = None) -> stats.TestResult | str:
    """The test result, or why there is none."""
    now = stats.finite(current)
    if method == "run-medians":
        if len(runs) < settings.min_runs:
            return f"measured in {len(runs)} baseline run(s); {settings.min_runs} needed"
        if not len(now):
            return "no valid sample in this run"
        return stats.run_medians_test(runs, now, unit=m.unit, higher_is_better=m.higher_is_better, step=step)
    pooled = np.concatenate(runs) if runs else np.array([])
    need = stats.MIN_POOLED_SAMPLES
    if len(pooled) < need or len(now) < need:
        return f"need {need} samples per side, have {len(pooled)} and {len(now)}"
    return stats.pooled_test(pooled, now, higher_is_better=m.higher_is_better)


def base_comparison(key: MetricKey, m: Measurement, state: State, runs: list[np.ndarray], current: list[float],
          method: str, reason: str, result: stats.TestResult | None = None) -> Comparison:
    pooled = np.concatenate(runs) if runs else np.array([])
    baseline = result.baseline if result else (float(np.median(pooled)) if len(pooled) else None)
    now = stats.finite(current)
    return Comparison(
        *key, unit=m.unit, higher_is_better=m.higher_is_better, state=state, baseline_median=baseline,
        current_median=float(np.median(now)) if len(now) else None, n_baseline=len(pooled),
        n_current=len(now), tags={k: v for k, v in m.tags.items() if k != CONFIRMATION_TAG}, reason=reason,
        baseline_runs=len(runs), method=method if result else "", confirmable=is_confirmable(key[0], m.tags),
    )


def compare(baseline_runs: Sequence[Sequence[Measurement]], current: Iterable[Measurement], settings: Settings,
            method: str = "run-medians") -> list[Comparison]:
    """Screen every metric of the current run (its own records, not re-measurements)."""
    base = per_run_samples(baseline_runs)
    latest = pool_measurements(baseline_runs[0]) if baseline_runs else {}
    cur = pool_measurements(m for m in current if not is_confirmation(m))
    out: list[Comparison] = []
    tested: list[tuple[Comparison, stats.TestResult]] = []
    for key, m in cur.items():
        runs = base.get(key, [])
        if is_generator_health(*key):
            out.append(base_comparison(key, m, "excluded", runs, m.samples, method,
                             "the load generator's health, not the site's: a finding, never a regression"))
        elif is_violation_count(*key):
            out.append(base_comparison(key, m, "excluded", runs, m.samples, method,
                             "a count of accessibility violations: judged by its budget, never a regression"))
        elif not runs:
            out.append(base_comparison(key, m, "new", runs, m.samples, method, "not in the baseline"))
        elif key in latest and latest[key].unit != m.unit:
            out.append(base_comparison(key, m, "insufficient", runs, m.samples, method,
                             f"unit changed from {latest[key].unit} to {m.unit}"))
        else:
            result = _test(runs, m.samples, m, method, settings)
            if isinstance(result, str):
                out.append(base_comparison(key, m, "insufficient", runs, m.samples, method, result))
            else:
                tested.append((base_comparison(key, m, "unchanged", runs, m.samples, method, "", result), result))
    out += drift_adjusted(tested, settings, baseline_runs, cur, method)
    for key, m in latest.items():
        if key not in cur and not is_generator_health(*key) and not is_violation_count(*key):
            out.append(base_comparison(key, m, "gone", base.get(key, []), [], method, "not measured in this run"))
    return out


def peer_groups(comparisons: Iterable[Comparison]) -> dict[tuple[str, ...], list[MetricKey]]:
    """Peer groups (reports/drift.py) of the metrics tested, from MIN_GROUP members on."""
    groups: dict[tuple[str, ...], list[MetricKey]] = defaultdict(list)
    for c in comparisons:
        group = drift.peer_group(c.stage, c.subject, c.metric, c.unit, c.tags)
        if group is not None and c.unit in stats.LOG_UNITS:
            groups[group].append(c.key)
    return {group: keys for group, keys in groups.items() if len(keys) >= drift.MIN_GROUP}


def baseline_pools(baseline_runs: Sequence[Sequence[Measurement]]) -> list[dict[MetricKey, list[float]]]:
    return [{key: m.samples for key, m in pool_measurements(run).items()} for run in baseline_runs]


def drift_adjusted(tested: list[tuple[Comparison, stats.TestResult]], settings: Settings,
                   baseline_runs: Sequence[Sequence[Measurement]], cur: dict[MetricKey, Measurement],
                   method: str) -> list[Comparison]:
    """States with each metric of a peer group tested with its peers' change divided out, in
    this run and in each baseline run, plus one site-wide comparison per group
    (reports/drift.py); BH over all metrics."""
    tested = list(tested)
    index = {c.key: i for i, (c, r) in enumerate(tested)
             if r.baseline > 0 and r.current > 0 and drift.resolves_drift(r.baseline, r.step)}
    groups = peer_groups(tested[i][0] for i in index.values())
    pools = baseline_pools(baseline_runs) if groups else []
    site_wide = []
    for group, keys in groups.items():
        runs = drift.group_runs(pools, keys, stats.run_centre)
        changes = {k: float(np.log(tested[index[k]][1].current / tested[index[k]][1].baseline)) for k in keys}
        for key, shift in drift.leave_one_out(changes).items():
            c, first = tested[index[key]]
            relative = float(np.expm1(shift))
            again = _test(drift.adjusted_baseline(runs, key), drift.without_drift(cur[key].samples, relative), cur[key], method, settings,
                          step=first.step)
            if isinstance(again, stats.TestResult):
                tested[index[key]] = (replace(c, drift=relative, reason=drift.describe(relative, len(keys) - 1, c.metric)),
                                      again)
        if method == "run-medians":
            found = site_wide_comparison(group, [tested[index[k]][0] for k in keys], runs, cur, settings)
            if found is not None:
                site_wide.append(found)
    return decide_states(tested, settings) + site_wide


def adjusted_baselines(comparisons: list[Comparison], baseline_runs: Sequence[Sequence[Measurement]]
                       ) -> dict[MetricKey, list[np.ndarray]]:
    """The drift-adjusted baseline runs of the flagged metrics whose peers' drift was divided out."""
    wanted = {c.key for c in comparisons if c.drift is not None and c.state == "regression"}
    members = (c for c in comparisons if c.state != "new" and c.drift is not None)  # as screening grouped them
    groups = {g: keys for g, keys in peer_groups(members).items() if wanted & set(keys)}
    pools = baseline_pools(baseline_runs) if groups else []
    found = {}
    for keys in groups.values():
        runs = drift.group_runs(pools, keys, stats.run_centre)
        found.update({key: drift.adjusted_baseline(runs, key) for key in wanted & set(keys)})
    return found


def site_wide_comparison(group: tuple[str, ...], members: list[Comparison], runs: drift.GroupRuns,
                         cur: dict[MetricKey, Measurement], settings: Settings) -> Comparison | None:
    """The group's common change in this run against the common changes of the baseline runs."""
    refs = runs.refs
    shifts = drift.common_shifts(runs)
    now_values = {c.key: stats.finite(cur[c.key].samples) for c in members if c.key in refs}
    now = drift.common_change({k: np.log(stats.run_centre(v)) - refs[k] for k, v in now_values.items()
                               if len(v) and np.all(v > 0)})
    if now is None or len(shifts) < settings.min_runs:
        return None
    first = members[0]
    result = stats.run_medians_test([[float(np.exp(s))] for s in shifts], [float(np.exp(now))], unit=first.unit,
                                    higher_is_better=first.higher_is_better, step=0.0)
    scale = float(np.exp(np.mean(list(refs.values()))))
    baseline, current = scale * result.baseline, scale * float(np.exp(now))
    relative = current / baseline - 1
    worse = relative < 0 if first.higher_is_better else relative > 0
    strict = settings.fdr * UNCONFIRMABLE_STRICTNESS
    words = (f"the common change of {len(now_values)} subjects measured alike is {100 * relative:+.1f} % "
             f"(p={result.p_worse:.2g} against {len(shifts)} baseline runs' common changes)")
    if worse and result.p_worse <= strict and abs(relative) >= drift.SITE_WIDE_MIN_CHANGE:
        state, reason = "regression", f"site-wide: {words}"
    elif worse and result.p_worse <= settings.fdr and abs(relative) >= settings.min_change:
        state, reason = "unconfirmed", (f"site-wide: {words}; below {100 * drift.SITE_WIDE_MIN_CHANGE:.0f} % it cannot "
                                        "be told from the machine's drift between runs: use siteward compare --live")
    else:
        state, reason = "unchanged", f"site-wide: {words}"
    return Comparison(first.stage, drift.group_subject(group, len(now_values)), first.metric, first.unit,
                      first.higher_is_better, state, baseline, current, len(shifts), len(now_values),
                      p_value=result.p_worse, q_value=result.p_worse, tags={t: first.tags[t] for t in drift.PROFILE_TAGS
                                                                            if t in first.tags},
                      reason=reason, baseline_runs=len(shifts), method="site-wide run-medians",
                      ci_low=scale * result.ci_low if result.ci_low is not None else None,
                      ci_high=scale * result.ci_high if result.ci_high is not None else None,
                      floor=drift.SITE_WIDE_MIN_CHANGE * baseline)


def decide_states(tested: list[tuple[Comparison, stats.TestResult]], settings: Settings) -> list[Comparison]:
    """States from BH q-values (both directions) and the effect floor."""
    q_worse = stats.bh_qvalues([r.p_worse for _, r in tested])
    q_better = stats.bh_qvalues([r.p_better for _, r in tested])
    decided = []
    for (c, r), qw, qb in zip(tested, q_worse, q_better):
        floor = stats.effect_floor(r.baseline, r.spread, c.unit, settings.min_change, r.step)
        delta = r.current - r.baseline
        worse = delta < 0 if c.higher_is_better else delta > 0
        size = abs(delta)
        p, q = (r.p_worse, qw) if worse else (r.p_better, qb)
        if size < floor:
            state, reason = "unchanged", f"change {size:.4g} {c.unit} below the floor {floor:.4g} {c.unit}"
        elif worse and qw <= settings.fdr:
            state, reason = "regression", f"worse by {size:.4g} {c.unit} (floor {floor:.4g}), q={qw:.2g}"
        elif not worse and qb <= settings.fdr:
            state, reason = "improvement", f"better by {size:.4g} {c.unit}, q={qb:.2g}"
        else:
            state, reason = "unchanged", f"not significant (q={q:.2g})"
        reason = f"{reason}; {c.reason}" if c.reason else reason
        decided.append(replace(c, state=state, reason=reason, p_value=p, q_value=q, floor=floor,
                               ci_low=r.ci_low, ci_high=r.ci_high))
    return decided


# --------------------------------------------------------------- confirmation


def confirm(comparisons: list[Comparison], baseline_runs: Sequence[Sequence[Measurement]],
            fresh: Iterable[Measurement], settings: Settings) -> list[Comparison]:
    """Flagged metrics stay regressions only when re-measured samples confirm them, or, where
    there are none (load routes, journeys, confirm_runs = 0, a comparison made after the run),
    when their screening q-value meets the stricter bar; the others become "unconfirmed"."""
    base = per_run_samples(baseline_runs)
    base.update(adjusted_baselines(comparisons, baseline_runs))  # as screening tested them
    again = pool_measurements(m for m in fresh if is_confirmation(m)) if settings.confirm_runs else {}
    strict = settings.fdr * UNCONFIRMABLE_STRICTNESS
    tested: list[tuple[Comparison, stats.TestResult]] = []
    results: dict[MetricKey, Comparison] = {}
    for c in (c for c in comparisons if c.state == "regression"):
        m = again.get(c.key) if c.confirmable else None
        step = stats.quantum(*base.get(c.key, []), stats.finite(m.samples)) if m is not None and c.drift else None
        result = (_test(base.get(c.key, []), drift.without_drift(m.samples, c.drift), m, c.method, settings, step)
                  if m is not None else None)
        if isinstance(result, stats.TestResult):
            tested.append((c, result))
        elif (c.q_value or 0.0) <= strict:
            results[c.key] = replace(c, reason=f"{c.reason}; not re-measured, q <= {strict:g}")
        else:
            why = f"re-measurement unusable: {result}" if result else "not re-measured"
            results[c.key] = replace(c, state="unconfirmed",
                                     reason=f"{c.reason}; {why}, and without it q must be <= {strict:g}")
    q_values = stats.bh_qvalues([r.p_worse for _, r in tested])
    for (c, r), q in zip(tested, q_values):
        n = len(stats.finite(again[c.key].samples))
        delta = r.current - r.baseline
        worse = delta < 0 if c.higher_is_better else delta > 0
        held = worse and abs(delta) >= (c.floor or 0.0) and q <= settings.fdr
        words = f"{n} re-measurement(s): median {r.current:.4g} {c.unit}, q={q:.2g}"
        results[c.key] = replace(
            c, state="regression" if held else "unconfirmed", confirmations=n,
            confirm_median=r.current, confirm_q=q,
            reason=f"{c.reason}; confirmed by {words}" if held else f"{c.reason}; not confirmed by {words}")
    return [results.get(c.key, c) for c in comparisons]


def with_intervals(comparisons: list[Comparison], baseline_runs: Sequence[Sequence[Measurement]],
                   current: Iterable[Measurement]) -> list[Comparison]:
    """Bootstrap CIs for pooled (Mann-Whitney) findings: costly, so only for regressions and improvements."""
    pooled = per_run_samples(baseline_runs)
    cur = pool_measurements(m for m in current if not is_confirmation(m))
    out = []
    for c in comparisons:
        if c.method == "mann-whitney" and c.state in ("regression", "improvement", "unconfirmed") and c.key in cur:
            low, high = stats.median_difference_ci(np.concatenate(pooled[c.key]), cur[c.key].samples)
            c = replace(c, ci_low=low, ci_high=high)
        out.append(c)
    return out


def compare_measurements(baseline: Iterable[Measurement], current: Iterable[Measurement],
                         settings: Settings = Settings(confirm_runs=0)) -> list[Comparison]:
    """One chosen run as the baseline: sample by sample (Mann-Whitney), as `--baseline RUN` does."""
    base, cur = [list(baseline)], list(current)
    return confirm(compare(base, cur, settings, method="mann-whitney"), base, [], settings)


def regressions_of(comparisons: Iterable[Comparison]) -> list[Comparison]:
    """Regressions, the largest relative change first."""
    found = [c for c in comparisons if c.state == "regression"]
    return sorted(found, key=lambda c: -abs(c.change or 0.0))
