"""Helpers every stage's tests share: the demo config against a live shop, a StageContext on a temp
store, and the stage contract driven as the runner drives it (plan, then run)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reports.budgets import Limits, judge
from siteward.config import SitewardConfig, builtin_config_text, parse_config
from siteward.records import Finding
from siteward.runner import STAGES
from siteward.shop.db import APP_PASSWORD, APP_PASSWORD_ENV, DEMO_PASSWORD_DEFAULT, DEMO_PASSWORD_ENV
from siteward.secrets import Secrets
from siteward.stage import StageContext
from siteward.store import Store

# The demo shop's public test passwords: what `siteward` itself defaults to for the built-in config.
PUBLIC_PASSWORDS = {DEMO_PASSWORD_ENV: DEMO_PASSWORD_DEFAULT, APP_PASSWORD_ENV: APP_PASSWORD}


def demo_config(base_url: str, **sections: Any) -> SitewardConfig:
    """The built-in demo config against `base_url`, with top-level sections replaced or merged."""
    data = tomllib.loads(builtin_config_text())
    data["target"]["base_url"] = base_url
    # One load per page unless a test asks for timing samples: the tests check verdicts, and 5
    # samples on two profiles in every browser test cost CI minutes (tests/browsers/test_samples.py).
    data.setdefault("browsers", {})["samples"] = 1
    # axe-core off unless a test asks for it: it adds 0.2-0.6 s to every page check, and the
    # accessibility tests (tests/browsers/test_accessibility.py) turn it on.
    data["browsers"]["accessibility"] = False
    # Traces off unless a test asks (tests/browsers/test_traces.py): recording every session costs
    # Chromium 6-26 % and Firefox 19-31 % of a journey's time, and CI runs hundreds of them.
    data["browsers"]["trace"] = "off"
    # The checkout measured under load only where a test asks (tests/siteward/test_run_under_load.py);
    # tests that replace the journeys would otherwise name one that is gone.
    data.get("load", {}).pop("under_load", None)
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return parse_config(data, "<test config>")


@dataclass
class StagedContext(StageContext):
    """A context that remembers which stage it is for and the command-line options to plan with."""

    stage: str = ""
    options: dict[str, Any] = field(default_factory=dict)


def stage_context(config: SitewardConfig, root: Path, stage: str, *, environ: dict[str, str] | None = None,
                  **options: Any) -> StagedContext:
    """A run of `stage` in a temp history under `root`, progress bars off."""
    store = Store(root / "history.sqlite")
    run_dir = root / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    run_id = store.create_run(target=config.target.base_url, fingerprint=config.fingerprint(),
                              config=config.snapshot(), stages=[stage], run_dir=run_dir)
    return StagedContext(config=config, run_id=run_id, run_dir=run_dir, store=store,
                         secrets=Secrets(config.secrets, environ=environ if environ is not None else PUBLIC_PASSWORDS),
                         quiet=True,
                         stage=stage, options=options)


def stage_options(stage: str, options: dict[str, Any]) -> Any:
    """The stage's typed Options from keyword options (lists become tuples, as the CLI builds them)."""
    typed = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items() if k != "quiet" and v is not None}
    return STAGES[stage].Options(**typed)


def run_stage(ctx: StagedContext) -> None:
    """Plan (bad usage raises here, before any record) and run, as siteward.runner does."""
    module = STAGES[ctx.stage]
    module.run(ctx, module.plan(ctx.config, stage_options(ctx.stage, ctx.options)))


def judged(ctx: StageContext, check: str | None = None) -> list[Finding]:
    """The budget/threshold findings reports/ judges from this context's measurements."""
    found = judge(ctx.store.records(ctx.run_id, kind="measurement"), Limits.from_snapshot(ctx.config.snapshot()))
    return [f for f in found if check is None or f.check == check]
