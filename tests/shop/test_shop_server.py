"""Starting and stopping the shop: CLI arguments, subprocess handling, the database."""

from __future__ import annotations

import socket
import subprocess
import sys

import httpx
import pytest

from siteward.shop import ShopStartError, start_shop
from siteward.shop.server import PACKAGE_ROOT


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "siteward.shop", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=PACKAGE_ROOT)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(("fault", "message"), [
    ("bogus", "unknown fault 'bogus'"),
    ("latency=soon", "whole milliseconds"),
    ("errors=7", "between 0 and 1"),
])
def test_cli_rejects_a_bad_fault_with_exit_code_2_and_no_traceback(fault, message):
    result = run_cli("--port", "0", "--fault", fault)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "serving on" not in result.stdout


def test_start_shop_rejects_a_bad_fault_before_starting():
    with pytest.raises(ValueError, match="unknown fault 'nope'"):
        start_shop(faults=["nope"])


def test_start_shop_reports_a_child_that_dies_with_its_stderr(tmp_path):
    with pytest.raises(ShopStartError) as info:
        start_shop(db_path=tmp_path, timeout=30)  # a directory is no SQLite file
    assert "exited with code" in str(info.value)
    assert "unable to open database file" in str(info.value)


def test_cli_reports_a_taken_port_with_exit_code_3():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = run_cli("--port", str(busy.getsockname()[1]))
    assert result.returncode == 3 and "cannot serve" in result.stderr


def test_explicit_port_prints_the_url_and_stop_ends_the_process():
    port = free_port()
    shop = start_shop(port=port)
    try:
        assert shop.url == f"http://127.0.0.1:{port}"
        assert httpx.get(shop.url + "/healthz").json() == {"ok": True}
        assert shop.running
    finally:
        shop.stop()
    assert not shop.running and shop.process.returncode is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    shop.stop()  # idempotent


def test_a_given_database_persists_across_restarts_and_is_seeded_once(tmp_path):
    db = tmp_path / "shop.sqlite3"
    with start_shop(db_path=db) as first:
        count = len(httpx.get(first.url + "/api/products").json()["products"])
        created = httpx.post(first.url + "/api/orders", json={
            "address": {"full_name": "A", "email": "a@example.test", "street": "S", "city": "C",
                        "postcode": "1", "country": "CN"},
            "items": [{"product_id": 5, "quantity": 2}],
            "card": {"number": "4242424242424242", "expiry": "12/39", "cvc": "123"}})
        number = created.json()["number"]
    with start_shop(db_path=db) as second:
        assert len(httpx.get(second.url + "/api/products").json()["products"]) == count
        assert httpx.get(f"{second.url}/api/orders/{number}").json()["items"][0]["quantity"] == 2


def test_default_database_is_fresh_on_every_start():
    with start_shop() as first:
        created = httpx.post(first.url + "/api/orders", json={
            "address": {"full_name": "A", "email": "a@example.test", "street": "S", "city": "C",
                        "postcode": "1", "country": "US"},
            "items": [{"product_id": 1, "quantity": 1}],
            "card": {"number": "4242424242424242", "expiry": "12/39", "cvc": "123"}})
        number = created.json()["number"]
        first_products = httpx.get(first.url + "/api/products").json()
    with start_shop() as second:
        assert httpx.get(f"{second.url}/api/orders/{number}").status_code == 404
        assert httpx.get(second.url + "/api/products").json() == first_products
