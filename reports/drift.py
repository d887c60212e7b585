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
by nothing), in the current run and in each baseline run alike: the run-to-run spread the
test sees is then the page's own (the product page's first contentful paint on this
machine: 10.5 % raw, 4.1 % with the drift divided out, 10 loads per run). It costs power
where the pages wobble independently instead (6 loads per run: 6.5-12 % raw, 9-17 % with
the peers' median divided out): the peers' median brings its own noise. Choosing per
metric would not do: a baseline taken on a steady machine shows no drift to divide, and
the current run's drift then flags the steadiest pages (the false alarm this exists for).
Values only a few steps large are no peers (MIN_STEPS): Locust's 3-5 ms routes in whole
milliseconds move 25 % in one step, and taken for drift they hid a +27 % route.

The group's common change is a finding of its own, "site-wide": it is tested against the
common changes the baseline runs showed, and it fails the run only from
SITE_WIDE_MIN_CHANGE on, because between two runs on a drifting machine a smaller common
change cannot be told from the machine (`siteward compare --live`, which measures both
deployments alternately, can).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

MIN_GROUP = 4  # a metric's drift is the median of at least three peers
# A value only a few steps large (a 4 ms route in whole milliseconds) moves by 25 % in one step:
# it can tell no drift, so it is no peer. From this many steps (a step of <= 5 %) it is one.
MIN_STEPS = 20
SITE_WIDE_MIN_CHANGE = 0.20
PROFILE_TAGS = ("engine", "device", "preset")
SITE_WIDE = "site-wide"


def peer_group(stage: str, subject: str, metric: str, unit: str, tags: Mapping[str, str]) -> tuple[str, ...] | None:
    """Metrics measured alike: one stage, one metric name and unit, one profile. None for a load
    test's aggregates ("all", "group:...") and site-wide comparisons: they hold the members."""
    if subject == "all" or subject.startswith(("group:", SITE_WIDE)):
        return None
    return (stage, metric, unit, *(tags.get(tag, "") for tag in PROFILE_TAGS))


def resolves_drift(median: float | None, step: float) -> bool:
    """Can a metric with this median, in values of this step (0: continuous), tell a few % of drift?"""
    return not step or (median is not None and median >= MIN_STEPS * step)


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


@dataclass(frozen=True)
class GroupRuns:
    """A peer group's baseline runs: per run, each member's samples and log run centre."""

    samples: list[dict[Hashable, np.ndarray]]
    centres: list[dict[Hashable, float]]

    @property
    def refs(self) -> dict[Hashable, float]:
        """Each member's reference: the mean of its log run centres (what a change is taken from)."""
        logs: dict[Hashable, list[float]] = {}
        for run in self.centres:
            for key, centre in run.items():
                logs.setdefault(key, []).append(centre)
        return {key: float(np.mean(values)) for key, values in logs.items()}


def group_runs(pools: Sequence[Mapping[Hashable, Sequence[float]]], keys: Sequence[Hashable],
               centre: Callable[[np.ndarray], float]) -> GroupRuns:
    """`pools`: per baseline run, key -> samples. Only positive, finite samples count."""
    samples, centres = [], []
    for pool in pools:
        run_samples, run_centres = {}, {}
        for key in keys:
            if key not in pool:
                continue
            values = np.asarray(pool[key], dtype=float)
            values = values[np.isfinite(values)]
            if len(values) and np.all(values > 0):
                run_samples[key], run_centres[key] = values, float(np.log(centre(values)))
        samples.append(run_samples)
        centres.append(run_centres)
    return GroupRuns(samples, centres)


def adjusted_baseline(runs: GroupRuns, key: Hashable) -> list[np.ndarray]:
    """`key`'s baseline runs with each run's drift divided out: the median log change of the
    other members in that run (runs where fewer than MIN_GROUP - 1 of them were measured stay
    as they were). The run-to-run spread left is the member's own, not the machine's."""
    refs = runs.refs
    adjusted = []
    for run_samples, run_centres in zip(runs.samples, runs.centres):
        if key not in run_samples:
            continue
        peers = [run_centres[k] - refs[k] for k in run_centres if k != key]
        shift = float(np.median(peers)) if len(peers) >= MIN_GROUP - 1 else 0.0
        adjusted.append(run_samples[key] / np.exp(shift))
    return adjusted


def common_shifts(runs: GroupRuns) -> list[float]:
    """Each baseline run's common change over the group (runs with too few members measured left out)."""
    refs = runs.refs
    shifts = (common_change({k: c - refs[k] for k, c in run.items()}) for run in runs.centres)
    return [s for s in shifts if s is not None]
