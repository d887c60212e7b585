"""Helpers of the browsers tests (a module with a unique name: `conftest` would clash)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from browsers.visual import compare_with_baseline
from reports.budgets import Limits, judge
from siteward.config import SitewardConfig
from siteward.records import AnyRecord, Measurement
from siteward.stage import StageContext
from stage_helpers import demo_config, judged, stage_context

__all__ = ["demo_config", "findings", "make_ctx", "records", "visual_verdict"]


def make_ctx(config: SitewardConfig, root: Path, environ: dict[str, str] | None = None,
             **options: Any) -> StageContext:
    return stage_context(config, root, "browsers", environ=environ, **options)


def records(ctx: StageContext, kind: str | None = None) -> list:
    return ctx.store.records(ctx.run_id, kind=kind, stage="browsers")


def findings(ctx: StageContext, check: str | None = None, status: str | None = None) -> list:
    """The stage's findings plus the budget lines reports/ judges from its measurements."""
    every = records(ctx, "finding") + [f for f in judged(ctx) if f.stage == "browsers"]
    return [f for f in every if (check is None or f.check == check) and (status is None or f.status == status)]


def visual_verdict(ctx: StageContext, key: str, screenshot: Path, tags: dict[str, str]) -> AnyRecord:
    """The sweep's visual check of one screenshot, judged as the run's report judges it."""
    record = compare_with_baseline(ctx, key, screenshot, tags)
    if isinstance(record, Measurement):
        [record] = judge([record], Limits.from_snapshot(ctx.config.snapshot()))
    return record
