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


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server (tests/pg_server.py), started once, for the shared-history tests."""
    from pg_server import start_postgres

    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def history_location(request, tmp_path) -> str:
    """Where a fresh, empty history lives: a SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    server = request.getfixturevalue("postgres")
    return server.url(server.new_database())
