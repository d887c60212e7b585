"""The journey measured under load, drawn on the load chart's time axis.

Each step of an "under-load" round (siteward/under_load.py) is a point at the second it
started, counted from the load's start (the load stage's "load-window" record), with the
step's time as its height; the users of the load series are drawn beside it, so a step that
slowed can be read against what the load did at that moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reports.under_load import load_window
from siteward.records import LOAD_PHASE_TAG, UNDER_LOAD, Finding, Measurement

MAX_POINTS = 2000  # bounded, whatever a run's rounds hold


def journey_points(measurements: Iterable[Measurement], started: float) -> dict[str, list[tuple[float, float, str]]]:
    """engine -> [(seconds since the load started, step ms, step label)], in time order."""
    points: dict[str, list[tuple[float, float, str]]] = {}
    for m in measurements:
        at = m.data.get("started")
        if m.metric != "step_ms" or m.tags.get(LOAD_PHASE_TAG) != UNDER_LOAD or not isinstance(at, (int, float)):
            continue
        points.setdefault(m.tags.get("engine", "?"), []).append((round(at - started, 2), m.value, m.tags.get("step", "")))
    return {engine: sorted(found)[:MAX_POINTS] for engine, found in sorted(points.items())}


def journey_chart(series: dict[str, list], measurements: Iterable[Measurement],
                  findings: Iterable[Finding]) -> dict[str, Any] | None:
    """uPlot columns on one x axis: the load's users, then each engine's step times (None between)."""
    window = load_window(findings)
    if window is None:
        return None
    started = window[0]
    points = journey_points(measurements, started)
    if not points:
        return None
    users = dict(zip(series.get("t") or [], series.get("users") or []))
    xs = sorted(set(users) | {t for found in points.values() for t, _, _ in found})
    columns: dict[str, list] = {"t": xs, "users": [users.get(x) for x in xs]}
    labels: dict[str, list] = {}
    for engine, found in points.items():
        at = {t: (ms, step) for t, ms, step in found}
        columns[engine] = [at[x][0] if x in at else None for x in xs]
        labels[engine] = [at[x][1] if x in at else None for x in xs]
    return {"columns": columns, "engines": list(points), "labels": labels}
