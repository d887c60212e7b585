"""Helpers for the audits tests: the demo config against a live shop, a StageContext on a temp store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from siteward.config import SitewardConfig
from siteward.stage import StageContext
from stage_helpers import demo_config, stage_context

__all__ = ["demo_config", "make_ctx", "records"]


def make_ctx(config: SitewardConfig, root: Path, **options: Any) -> StageContext:
    return stage_context(config, root, "audits", **options)


def records(ctx: StageContext, kind: str | None = None) -> list:
    return ctx.store.records(ctx.run_id, kind=kind)
