"""Helpers shared by the load tests (a module with a unique name, unlike conftest)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from siteward.config import SitewardConfig, builtin_config_text, parse_config


def demo_config(target: str, results: Path, **load: Any) -> SitewardConfig:
    """The built-in demo config pointed at `target`, with [load] keys overridden."""
    data = tomllib.loads(builtin_config_text())
    data["target"]["base_url"] = target
    data["results"] = {"root": str(results)}
    thresholds = load.pop("thresholds", None)
    data["load"].update(load)
    if thresholds:
        data["load"]["thresholds"] = thresholds
    return parse_config(data, "<test config>")
