"""Helpers of the browsers tests (a module of its own: every test folder has a conftest.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from siteward.config import SitewardConfig, builtin_config_text, parse_config
from siteward.secrets import Secrets
from siteward.stage import StageContext
from siteward.store import Store


def demo_config(base_url: str, **sections: Any) -> SitewardConfig:
    """The built-in demo config against `base_url`, with top-level sections replaced or merged."""
    data = tomllib.loads(builtin_config_text())
    data["target"]["base_url"] = base_url
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return parse_config(data, "<test config>")


def make_ctx(config: SitewardConfig, root: Path, environ: dict[str, str] | None = None,
             **options: Any) -> StageContext:
    store = Store(root / "history.sqlite")
    run_dir = root / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    run_id = store.create_run(target=config.target.base_url, fingerprint=config.fingerprint(), config={},
                              stages=["browsers"], run_dir=run_dir)
    return StageContext(config=config, run_id=run_id, run_dir=run_dir, store=store,
                        secrets=Secrets(config.secrets, environ=environ or {}),
                        options={"quiet": True, **options})


def records(ctx: StageContext, kind: str | None = None) -> list:
    return ctx.store.records(ctx.run_id, kind=kind, stage="browsers")


def findings(ctx: StageContext, check: str | None = None, status: str | None = None) -> list:
    return [f for f in records(ctx, "finding")
            if (check is None or f.check == check) and (status is None or f.status == status)]
