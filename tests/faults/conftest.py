"""Fixtures for fault tests: a demo shop of the test's own (tests stop it on purpose)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from siteward.shop import ShopProcess, start_shop


@pytest.fixture()
def own_shop() -> Iterator[ShopProcess]:
    """A fresh demo shop for one test; stopping it mid-test is allowed (stop is idempotent)."""
    with start_shop() as process:
        yield process
