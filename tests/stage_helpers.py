"""Helpers every stage's tests share: the demo config against a live shop, a StageContext on a temp store."""

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


def stage_context(config: SitewardConfig, root: Path, stage: str, *, environ: dict[str, str] | None = None,
                  **options: Any) -> StageContext:
    """A run of `stage` in a temp history under `root`, progress bars off."""
    store = Store(root / "history.sqlite")
    run_dir = root / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    run_id = store.create_run(target=config.target.base_url, fingerprint=config.fingerprint(), config={},
                              stages=[stage], run_dir=run_dir)
    return StageContext(config=config, run_id=run_id, run_dir=run_dir, store=store,
                        secrets=Secrets(config.secrets, environ=environ or {}),
                        options={"quiet": True, **options})
