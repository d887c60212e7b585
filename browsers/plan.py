"""The sweep plan: which journeys and pages run on which engine x device (pure, no browsers).

Command-line selections (SweepOptions) narrow the config; unknown names are usage
errors that list the valid ones. Journeys may restrict themselves to some engines or
devices; pages that need a journey's browser state get it on their own engine
(browsers/state.py). The timing profiles load every page `samples` times (browsers/samples.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from browsers.config import check_engine_name
from browsers.devices import check_device_name
from siteward.errors import UsageError
from siteward.journeys import JourneyConfig
from siteward.schema import PageConfig
from siteward.shards import Shard
from siteward.stage import CoreConfig



@dataclass(frozen=True)
class SweepOptions:
    """`siteward sweep` flags; empty = what the config says."""

    engines: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    pages: tuple[str, ...] = ()
    journeys: tuple[str, ...] = ()
    no_journeys: bool = False
    no_pages: bool = False  # journeys only (checkout under load: siteward/under_load.py)
    shard: Shard | None = None  # `siteward run --shard i/n`: this share of the checks only


@dataclass(frozen=True)
class Profile:
    engine: str
    device: str


@dataclass(frozen=True)
class PageTask:
    page: PageConfig
    profile: Profile
    kind: str = "page"

    @property
    def label(self) -> str:
        return f"{self.page.name} {self.profile.engine}/{self.profile.device}"

    @property
    def shard_key(self) -> str:
        return f"page:{self.page.name}|{self.profile.engine}|{self.profile.device}"


@dataclass(frozen=True)
class JourneyTask:
    journey: JourneyConfig
    profile: Profile
    kind: str = "journey"
    saves_state: bool = False

    @property
    def label(self) -> str:
        return f"journey {self.journey.name} {self.profile.engine}/{self.profile.device}"

    @property
    def shard_key(self) -> str:
        return f"journey:{self.journey.name}|{self.profile.engine}|{self.profile.device}"


@dataclass
class SweepPlan:
    engines: list[str]
    devices: list[str]
    pages: list[PageConfig]
    journeys: list[JourneyConfig]
    state_journeys: list[str] = field(default_factory=list)
    samples: int = 1  # page loads per page on the timing profiles
    timing_profiles: list[Profile] = field(default_factory=list)  # those of the sweep's profiles
    shard: Shard | None = None
    shard_keys: frozenset[str] | None = None  # the checks of this shard; None: all

    @property
    def profiles(self) -> list[Profile]:
        return [Profile(e, d) for d in self.devices for e in self.engines]

    def all_tasks(self) -> list[PageTask | JourneyTask]:
        """Every check of the plan (journeys first), before sharding or engines that fail to start."""
        journeys = [JourneyTask(j, p) for j in self.journeys for p in journey_profiles(j, self)]
        return [*journeys, *(PageTask(page, profile) for page in self.pages for profile in self.profiles)]

    def in_shard(self, task: PageTask | JourneyTask) -> bool:
        return self.shard_keys is None or task.shard_key in self.shard_keys


def _pick(selected: list[str] | None, configured: list[str], what: str, valid: list[str]) -> list[str]:
    if not selected:
        return list(configured)
    unknown = [s for s in selected if s not in valid]
    if unknown:
        raise UsageError(f"unknown {what} {', '.join(map(repr, unknown))}; valid {what}s: {', '.join(valid) or 'none'}")
    return list(dict.fromkeys(selected))


def _usage(check, name: str) -> str:
    try:
        return check(name)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def build_plan(config: CoreConfig, options: SweepOptions) -> SweepPlan:
    engines = [_usage(check_engine_name, e) for e in options.engines or config.browsers.engines]
    devices = [_usage(check_device_name, d) for d in options.devices or config.browsers.devices]
    page_names = [p.name for p in config.pages]
    pages = [] if options.no_pages else _pick(list(options.pages), page_names, "page", page_names)
    if options.no_journeys:
        journeys: list[str] = []
    else:
        journey_names = [j.name for j in config.journeys]
        journeys = _pick(list(options.journeys), journey_names, "journey", journey_names)
    chosen_pages = [config.page(name) for name in pages]
    engines, devices = list(dict.fromkeys(engines)), list(dict.fromkeys(devices))
    timing = [Profile(*name.split("/", 1)) for name in config.browsers.timing_profiles]
    plan = SweepPlan(
        engines=engines, devices=devices, pages=chosen_pages,
        journeys=[j for j in config.journeys if j.name in journeys],
        state_journeys=sorted({p.journey_state for p in chosen_pages if p.journey_state}),
        samples=config.browsers.samples,
        timing_profiles=[p for p in timing if p.engine in engines and p.device in devices],
        shard=options.shard,
    )
    if options.shard is not None:
        plan.shard_keys = options.shard.take(task.shard_key for task in plan.all_tasks())
    return plan


def journey_profiles(journey: JourneyConfig, plan: SweepPlan) -> list[Profile]:
    engines = [e for e in plan.engines if not journey.engines or e in journey.engines]
    devices = [d for d in plan.devices if not journey.devices or d in journey.devices]
    return [Profile(e, d) for d in devices for e in engines]


def auto_concurrency(configured: int) -> int:
    """Parallel checks: as configured, else one per core (browsers are CPU-bound), 1..4."""
    if configured > 0:
        return configured
    return max(1, min(4, os.cpu_count() or 1))


def interleave(tasks: list[Any]) -> list[Any]:
    """Round-robin across engines so every engine has work at any time."""
    by_engine: dict[str, list[Any]] = {}
    for task in tasks:
        by_engine.setdefault(task.profile.engine, []).append(task)
    out: list[Any] = []
    queues = [list(q) for q in by_engine.values()]
    while any(queues):
        for queue in queues:
            if queue:
                out.append(queue.pop(0))
    return out
