"""Regression analysis on raw samples: pure functions, no store, no files.

A metric regresses when the current samples are worse than the baseline's by a
one-sided Mann-Whitney U test (alpha 0.01, in the worse direction only) AND the
change is big enough to matter: at least 10 % of the baseline median and at least
an absolute floor per unit (20 ms, 0.02 score, 10 KB ...). Either alone misleads:
significance without effect flags noise-free trivia, effect without significance
flags noise. Fewer than MIN_SAMPLES per side is reported as "insufficient" rather
than guessed (sitespeed.io's compare plugin does the same).

Five a side is also the least that can reach alpha 0.01 at all: the smallest exact
one-sided p-value of 5 vs 5 samples is 1/252 = 0.004.

With alpha 0.01 one-sided, 20 comparisons of unchanged samples flag about 0.2
metrics on average; the effect floor pushes that lower still.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import stats

from siteward.records import Measurement

ALPHA = 0.01
MIN_SAMPLES = 5
RELATIVE_FLOOR = 0.10
# Smallest absolute change per unit that a person would act on.
ABSOLUTE_FLOORS: dict[str, float] = {
    "ms": 20.0,
    "s": 0.02,
    "score": 0.02,
    "bytes": 10 * 1024.0,
    "ratio": 0.001,
    "count": 1.0,
    "rps": 1.0,
    "percent": 1.0,
}

State = Literal["regression", "improvement", "unchanged", "insufficient", "new", "gone"]
MetricKey = tuple[str, str, str]  # (stage, subject, metric)


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

    def as_dict(self) -> dict:
        change = self.change
        return {
            "stage": self.stage, "subject": self.subject, "metric": self.metric, "unit": self.unit,
            "state": self.state, "higher_is_better": self.higher_is_better,
            "baseline_median": self.baseline_median, "current_median": self.current_median,
            "abs_change": self.abs_change, "change_pct": None if change is None else round(change * 100, 2),
            "p_value": self.p_value, "n_baseline": self.n_baseline, "n_current": self.n_current,
            "tags": dict(self.tags), "reason": self.reason,
        }


def absolute_floor(unit: str, baseline_median: float) -> float:
    floor = ABSOLUTE_FLOORS.get(unit, 0.0)
    # Scores on a 0-100 scale (some tools) need a floor on that scale.
    if unit == "score" and abs(baseline_median) > 1.0:
        floor *= 100
    return floor


def compare_samples(
    baseline: Sequence[float], current: Sequence[float], *, unit: str, higher_is_better: bool,
    alpha: float = ALPHA, min_samples: int = MIN_SAMPLES, relative_floor: float = RELATIVE_FLOOR,
) -> tuple[State, float | None, str]:
    """Decide (state, one-sided p-value, reason) for two raw sample sets."""
    base = np.asarray(baseline, dtype=float)
    cur = np.asarray(current, dtype=float)
    base, cur = base[np.isfinite(base)], cur[np.isfinite(cur)]  # a failed sample is no sample
    if len(base) < min_samples or len(cur) < min_samples:
        return "insufficient", None, f"need {min_samples} samples per side, have {len(base)} and {len(cur)}"
    base_median, cur_median = float(np.median(base)), float(np.median(cur))
    delta = cur_median - base_median
    worse = delta < 0 if higher_is_better else delta > 0
    size = abs(delta)
    needed = max(relative_floor * abs(base_median), absolute_floor(unit, base_median))
    # Which direction is "worse" decides the one-sided alternative.
    alt_worse = "less" if higher_is_better else "greater"
    alt_better = "greater" if higher_is_better else "less"
    if np.ptp(np.concatenate([base, cur])) == 0:
        return "unchanged", 1.0, "identical samples"
    p_worse = float(stats.mannwhitneyu(cur, base, alternative=alt_worse).pvalue)
    p_better = float(stats.mannwhitneyu(cur, base, alternative=alt_better).pvalue)
    if worse and size >= needed and p_worse < alpha:
        return "regression", p_worse, f"worse by {size:g} {unit} (floor {needed:g} {unit}), p={p_worse:.2g}"
    if not worse and size >= needed and p_better < alpha:
        return "improvement", p_better, f"better by {size:g} {unit}, p={p_better:.2g}"
    if size < needed:
        return "unchanged", p_worse if worse else p_better, f"change {size:g} {unit} below floor {needed:g} {unit}"
    return "unchanged", p_worse if worse else p_better, "not significant"


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


def compare_measurements(
    baseline: Iterable[Measurement], current: Iterable[Measurement], **kwargs,
) -> list[Comparison]:
    """Every metric of the current run against the baseline run, matched by (stage, subject, metric)."""
    base_by_key = pool_measurements(baseline)
    cur_by_key = pool_measurements(current)
    out: list[Comparison] = []
    for key, cur in cur_by_key.items():
        base = base_by_key.get(key)
        if base is None:
            out.append(Comparison(
                *key, unit=cur.unit, higher_is_better=cur.higher_is_better, state="new",
                baseline_median=None, current_median=cur.value, n_baseline=0,
                n_current=len(cur.samples), tags=dict(cur.tags), reason="not in the baseline",
            ))
            continue
        if base.unit != cur.unit:
            state, p, reason = "insufficient", None, f"unit changed from {base.unit} to {cur.unit}"
        else:
            state, p, reason = compare_samples(
                base.samples, cur.samples, unit=cur.unit, higher_is_better=cur.higher_is_better, **kwargs
            )
        out.append(Comparison(
            *key, unit=cur.unit, higher_is_better=cur.higher_is_better, state=state,
            baseline_median=base.value, current_median=cur.value, n_baseline=len(base.samples),
            n_current=len(cur.samples), p_value=p, tags=dict(cur.tags), reason=reason,
        ))
    for key, base in base_by_key.items():
        if key not in cur_by_key:
            out.append(Comparison(
                *key, unit=base.unit, higher_is_better=base.higher_is_better, state="gone",
                baseline_median=base.value, current_median=None, n_baseline=len(base.samples),
                n_current=0, tags=dict(base.tags), reason="not measured in this run",
            ))
    return out


def regressions_of(comparisons: Iterable[Comparison]) -> list[Comparison]:
    """Regressions, the largest relative change first."""
    found = [c for c in comparisons if c.state == "regression"]
    return sorted(found, key=lambda c: -abs(c.change or 0.0))


# ------------------------------------------------------------------------ trends


@dataclass(frozen=True)
class Trend:
    """Medians of one metric across past runs, oldest first."""

    stage: str
    subject: str
    metric: str
    unit: str
    higher_is_better: bool
    run_ids: list[str]
    values: list[float]
    direction: Literal["worsening", "improving", "flat", "short"]
    slope_per_run: float | None

    def as_dict(self) -> dict:
        return {
            "stage": self.stage, "subject": self.subject, "metric": self.metric, "unit": self.unit,
            "higher_is_better": self.higher_is_better, "run_ids": self.run_ids, "values": self.values,
            "direction": self.direction, "slope_per_run": self.slope_per_run,
        }


def trend_of(
    key: MetricKey, unit: str, higher_is_better: bool, points: Sequence[tuple[str, float]],
    *, flat_fraction: float = 0.02,
) -> Trend:
    """Theil-Sen slope (robust to one outlier run) of medians in run order, oldest first."""
    run_ids = [run_id for run_id, _ in points]
    values = [float(v) for _, v in points]
    if len(values) < 3:
        return Trend(*key, unit, higher_is_better, run_ids, values, "short", None)
    slope = float(stats.theilslopes(values, np.arange(len(values)))[0])
    scale = abs(statistics.median(values)) or 1.0
    if abs(slope) < flat_fraction * scale:
        direction = "flat"
    else:
        direction = "improving" if (slope > 0) == higher_is_better else "worsening"
    return Trend(*key, unit, higher_is_better, run_ids, values, direction, slope)


def build_trends(
    history: Sequence[tuple[str, Sequence[Measurement]]], keys: Iterable[MetricKey],
) -> list[Trend]:
    """history: (run_id, measurements) oldest first; one trend per key measured in any run."""
    pooled = [(run_id, pool_measurements(ms)) for run_id, ms in history]
    trends = []
    for key in keys:
        points = [(run_id, by_key[key].value) for run_id, by_key in pooled if key in by_key]
        if not points:
            continue
        last = next(by_key[key] for _, by_key in reversed(pooled) if key in by_key)
        trends.append(trend_of(key, last.unit, last.higher_is_better, points))
    return trends
