"""Helpers for the audits tests: the demo config against a live shop, a StageContext on a temp store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from siteward.config import SitewardConfig
from siteward.stage import StageContext
from stage_helpers import demo_config, judged, stage_context

__all__ = ["demo_config", "make_ctx", "records"]


def make_ctx(config: SitewardConfig, root: Path, **options: Any) -> StageContext:
    return stage_context(config, root, "audits", **options)


def records(ctx: StageContext, kind: str | None = None) -> list:
    """The stage's records, with the budget lines reports/ judges from its measurements among the findings."""
    stored = ctx.store.records(ctx.run_id, kind=kind)
    return stored + judged(ctx) if kind in (None, "finding") else stored
