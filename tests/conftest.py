"""Fixtures every test package shares: the real demo shop in a subprocess."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from siteward.shop import ShopProcess, start_shop


@pytest.fixture(scope="session")
def shop() -> Iterator[ShopProcess]:
    """A clean shop shared by the read-mostly tests (never given faults)."""
    with start_shop() as process:
        yield process


@pytest.fixture(scope="module")
def _faulty_shop_process() -> Iterator[ShopProcess]:
    with start_shop() as process:
        yield process


@pytest.fixture()
def faulty_shop(_faulty_shop_process: ShopProcess) -> Iterator[ShopProcess]:
    """A shop whose faults each test sets; they are cleared again afterwards."""
    _faulty_shop_process.set_faults([])
    yield _faulty_shop_process
    _faulty_shop_process.set_faults([])
