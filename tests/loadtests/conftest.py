"""Fixtures: a StageContext built the way siteward.runner builds one (the shop: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from load_helpers import demo_config
from siteward.secrets import Secrets
from siteward.stage import StageContext
from stage_helpers import StagedContext
from siteward.store import Store


@pytest.fixture()
def make_ctx(tmp_path: Path) -> Iterator[Callable[..., StageContext]]:
    stores: list[Store] = []

    def make(target: str, options: dict[str, Any] | None = None, environ: dict[str, str] | None = None,
             **load: Any) -> StageContext:
        config = demo_config(target, tmp_path / "results", **load)
        store = Store.for_config(config)
        stores.append(store)
        run_dir = (tmp_path / "results" / f"run-{len(stores)}").resolve()
        run_dir.mkdir(parents=True)
        run_id = store.create_run(target=target, fingerprint=config.fingerprint(), config=config.snapshot(),
                                  stages=["loadtests"], run_dir=run_dir)
        return StagedContext(config=config, run_id=run_id, run_dir=run_dir, store=store,
                             secrets=Secrets(config.secrets, environ=environ or {}),
                             console=Console(stderr=True, quiet=True), quiet=True, stage="loadtests",
                             options=dict(options or {}))

    yield make
    for store in stores:
        store.close()
