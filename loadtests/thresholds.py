"""k6-style thresholds over a finished run. Pure: buckets in, verdict rows out.

Per route group (e.g. "api", "page"): p50/p95/p99 response time limits; over the whole
run: the error ratio; over the hold window: achieved request rate / target rate.
Percentiles are exact over every request (from the merged histograms), not averages
of per-second values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from loadtests import series
from loadtests.config import ThresholdsConfig
from loadtests.shapes import LoadPlan

PERCENTILES = (("p50_ms", 0.50), ("p95_ms", 0.95), ("p99_ms", 0.99))


@dataclass(frozen=True)
class Threshold:
    name: str  # e.g. "p95_ms[api]", "error_ratio", "rate_ratio"
    subject: str  # "group:api" or "all"
    limit: float
    value: float | None  # None: nothing measured (no request of that group)
    unit: str
    higher_is_better: bool = False
    group: str = "all"


def group_routes(route_groups: dict[str, str], buckets: series.Buckets) -> dict[str, set[str]]:
    """Group name -> route keys; routes seen in traffic but not in the model go to "other"."""
    groups: dict[str, set[str]] = {}
    seen = {route for per_route in buckets.values() for route in per_route}
    for route in seen | set(route_groups):
        groups.setdefault(route_groups.get(route, "other"), set()).add(route)
    return groups


def achieved_rate_ratio(plan: LoadPlan, buckets: series.Buckets, start_epoch: float) -> tuple[float, float] | None:
    """(achieved requests/s, target requests/s) over the hold window; None without a rate target."""
    begin, end = plan.hold_window()
    first, last = math.ceil(begin), math.floor(end)
    if plan.target_rps is None or last <= first:
        return None
    seconds = range(first, last)
    target = [plan.target_rate_at(t + 0.5) for t in seconds]
    if any(t is None for t in target):
        return None
    base = int(start_epoch)
    # Shape time 0 is start_epoch; buckets are whole epoch seconds: shift by the fraction.
    offset = start_epoch - base
    achieved = 0.0
    for t in seconds:
        lo, hi = base + t + offset, base + t + 1 + offset
        for second in (math.floor(lo), math.floor(lo) + 1):
            overlap = max(0.0, min(hi, second + 1) - max(lo, second))
            requests = sum(row[0] for row in buckets.get(second, {}).values())
            achieved += requests * overlap
    span = len(seconds)
    return achieved / span, sum(target) / span


def evaluate(config: ThresholdsConfig, plan: LoadPlan, buckets: series.Buckets, start_epoch: float,
             route_groups: dict[str, str]) -> list[Threshold]:
    rows: list[Threshold] = []
    groups = group_routes(route_groups, buckets)
    for metric, share in PERCENTILES:
        limits: dict[str, float] = getattr(config, metric)
        for group, limit in sorted(limits.items()):
            hist = series.select(buckets, groups.get(group, set()))
            rows.append(Threshold(f"{metric}[{group}]", f"group:{group}", limit,
                                  series.percentile(hist, share), "ms", group=group))
    requests, failures = series.counts(buckets)
    rows.append(Threshold("error_ratio", "all", config.error_ratio,
                          failures / requests if requests else None, "ratio"))
    rate = achieved_rate_ratio(plan, buckets, start_epoch)
    if rate is not None:
        achieved, target = rate
        rows.append(Threshold("rate_ratio", "all", config.min_rate_ratio,
                              round(achieved / target, 4) if target else None, "ratio", higher_is_better=True))
    return rows
