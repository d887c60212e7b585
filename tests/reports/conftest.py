"""Fixtures: a temp history store and a builder of runs from synthetic records."""

from __future__ import annotations

from pathlib import Path

import pytest

from report_records import RunBuilder
from siteward.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "history.sqlite")
    yield s
    s.close()


@pytest.fixture
def runs(store: Store, tmp_path: Path) -> RunBuilder:
    return RunBuilder(store, tmp_path / "results")


