"""Trends of key metrics across past runs: pure functions, no store.

A trend is "worsening" or "improving" only when the 95 % confidence interval of its
Theil-Sen slope excludes zero and the slope is not negligible (2 % of the median per run);
noise alone labels most trends "flat" (the old rule, a slope above 2 %, called 21-27 % of
pure-noise series "worsening" at 20-30 % CV). Trends inform; they never fail a run.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from siteward.records import Measurement

from reports.regressions import MetricKey, pool_measurements
from reports.stats import slope_with_ci

FLAT_FRACTION = 0.02
MIN_POINTS = 3


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
    slope_ci: tuple[float, float] | None = None

    def as_dict(self) -> dict:
        return {
            "stage": self.stage, "subject": self.subject, "metric": self.metric, "unit": self.unit,
            "higher_is_better": self.higher_is_better, "run_ids": self.run_ids, "values": self.values,
            "direction": self.direction, "slope_per_run": self.slope_per_run,
            "slope_ci": list(self.slope_ci) if self.slope_ci else None,
        }


def trend_of(
    key: MetricKey, unit: str, higher_is_better: bool, points: Sequence[tuple[str, float]],
    *, flat_fraction: float = FLAT_FRACTION,
) -> Trend:
    """Theil-Sen slope of medians in run order (oldest first), with its confidence interval."""
    run_ids = [run_id for run_id, _ in points]
    values = [float(v) for _, v in points]
    if len(values) < MIN_POINTS:
        return Trend(*key, unit, higher_is_better, run_ids, values, "short", None)
    slope, low, high = slope_with_ci(values)
    scale = abs(statistics.median(values)) or 1.0
    rising, falling = low > 0, high < 0
    if abs(slope) < flat_fraction * scale or not (rising or falling):
        direction = "flat"
    else:
        direction = "improving" if rising == higher_is_better else "worsening"
    return Trend(*key, unit, higher_is_better, run_ids, values, direction, slope, (low, high))


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
