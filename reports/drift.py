"""Machine drift: a change that every page or route of a run shares is not one page's. Pure.

The run-median test (reports/stats.py) compares a run with the spread its baseline runs
showed. On a shared machine that speeds up and slows down over minutes, a run can land
outside that spread as a whole: in CI an unchanged page's load time came out +12 %,
significant, and 30 re-measurements "confirmed" it, because the machine was still slow.
A deploy's regression is usually specific (a route, a page, an asset); machine drift is
common to everything measured alike at that time. So metrics are tested in peer groups -
the same metric of one stage and profile (engine, device, Lighthouse preset) over the
subjects of a run - and each is tested with the median change of its peers divided out
(leave-one-out, from MIN_GROUP members on, so one regressed page moves its peers' drift
by nothing). The group's common change is then a finding of its own, "site-wide": it is
tested against the common changes the baseline runs showed, and it fails the run only
from SITE_WIDE_MIN_CHANGE on, because between two runs on a drifting machine a smaller
common change cannot be told from the machine (`siteward compare --live`, which measures
both deployments alternately, can).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np

MIN_GROUP = 4  # a metric's drift is the median of at least three peers
SITE_WIDE_MIN_CHANGE = 0.20
PROFILE_TAGS = ("engine", "device", "preset")
SITE_WIDE = "site-wide"


def peer_group(stage: str, metric: str, unit: str, tags: Mapping[str, str]) -> tuple[str, ...]:
    """Metrics measured alike: one stage, one metric name and unit, one profile."""
    return (stage, metric, unit, *(tags.get(tag, "") for tag in PROFILE_TAGS))


def group_subject(group: tuple[str, ...], members: int) -> str:
    profile = "|".join(part for part in group[3:] if part)
    return f"{SITE_WIDE}: {members} subjects" + (f"|{profile}" if profile else "")


def leave_one_out(changes: Mapping[Hashable, float]) -> dict[Hashable, float]:
    """Each member's drift: the median log change of the others (empty below MIN_GROUP members)."""
    if len(changes) < MIN_GROUP:
        return {}
    keys = list(changes)
    values = np.array([changes[k] for k in keys])
    return {k: float(np.median(np.delete(values, i))) for i, k in enumerate(keys)}


def common_change(changes: Mapping[Hashable, float]) -> float | None:
    """A run's common log change over a group (None below MIN_GROUP members measured)."""
    return float(np.median(list(changes.values()))) if len(changes) >= MIN_GROUP else None


def without_drift(samples: list[float], relative_drift: float | None) -> list[float]:
    """Samples with the run's drift divided out (as they are when there is none)."""
    if not relative_drift:
        return list(samples)
    factor = 1.0 + relative_drift
    return [value / factor for value in samples]


def describe(relative_drift: float, peers: int, metric: str) -> str:
    return f"its {peers} peer(s) of {metric} moved {100 * relative_drift:+.1f} % in this run (divided out)"
