"""Helpers of the browsers tests (a module with a unique name: `conftest` would clash)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from siteward.config import SitewardConfig
from siteward.stage import StageContext
from stage_helpers import demo_config, stage_context

__all__ = ["demo_config", "findings", "make_ctx", "records"]


def make_ctx(config: SitewardConfig, root: Path, environ: dict[str, str] | None = None,
             **options: Any) -> StageContext:
    return stage_context(config, root, "browsers", environ=environ, **options)


def records(ctx: StageContext, kind: str | None = None) -> list:
    return ctx.store.records(ctx.run_id, kind=kind, stage="browsers")


def findings(ctx: StageContext, check: str | None = None, status: str | None = None) -> list:
    return [f for f in records(ctx, "finding")
            if (check is None or f.check == check) and (status is None or f.status == status)]
