"""Load only goes to allowed hosts; everything else is refused before a single request."""

from __future__ import annotations

import http.server
import socket
import threading

import psutil
import pytest

from loadtests.safety import check_target, is_loopback
from stage_helpers import run_stage
from siteward.errors import TargetUnreachable, UnsafeTarget

LOOPBACK = ["127.0.0.1", "localhost", "::1"]


def test_loopback_is_allowed_by_default():
    assert check_target("http://127.0.0.1:8765", LOOPBACK, confirmed=False) == "127.0.0.1"
    assert check_target("http://localhost:1", LOOPBACK, confirmed=False) == "localhost"
    assert check_target("http://[::1]:8080/", LOOPBACK, confirmed=False) == "::1"


def test_unlisted_host_is_refused_even_with_confirmation():
    with pytest.raises(UnsafeTarget, match="not on the allow list") as info:
        check_target("https://shop.example.com", LOOPBACK, confirmed=True)
    assert "--allow-host shop.example.com" in str(info.value)


def test_listed_host_needs_confirmation():
    allowed = [*LOOPBACK, "Shop.Example.com"]
    with pytest.raises(UnsafeTarget, match="without confirmation"):
        check_target("https://shop.example.com/x", allowed, confirmed=False)
    assert check_target("https://shop.example.com/x", allowed, confirmed=True) == "shop.example.com"
    assert check_target("https://shop.example.com", [*LOOPBACK, "https://shop.example.com:443"],
                        confirmed=True) == "shop.example.com"


def test_loopback_detection():
    assert is_loopback("127.8.9.10") and is_loopback("::1") and is_loopback("LOCALHOST")
    assert not is_loopback("10.0.0.1") and not is_loopback("shop.example.com")


def _non_loopback_ipv4() -> str | None:
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family == socket.AF_INET and not addr.address.startswith("127."):
                return addr.address
    return None


def test_stage_refuses_a_non_loopback_target_before_any_request(make_ctx):
    """A real server on this machine's own LAN address: not loopback, so it must see nothing."""
    address = _non_loopback_ipv4()
    if address is None:
        pytest.skip("no non-loopback IPv4 address on this machine")
    seen: list[str] = []

    class Counting(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((address, 0), Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        target = f"http://{address}:{server.server_address[1]}"
        with pytest.raises(UnsafeTarget):
            run_stage(make_ctx(target, {"peak_rps": 1, "duration_s": 5}))
        # listed but not confirmed: still refused
        with pytest.raises(UnsafeTarget, match="confirmation"):
            run_stage(make_ctx(target, {"peak_rps": 1, "duration_s": 5, "allow_hosts": [address]}))
    finally:
        server.shutdown()
        server.server_close()
    assert seen == []


def test_caps_are_checked_before_any_request(make_ctx):
    from siteward.errors import UsageError

    with pytest.raises(UsageError, match="max_rps"):
        # port 9 (discard) is never contacted: the plan is refused first
        run_stage(make_ctx("http://127.0.0.1:9", {"peak_rps": 100, "duration_s": 5}, max_rps=50))


def test_unreachable_target_cannot_be_measured(make_ctx):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    with pytest.raises(TargetUnreachable, match="does not answer"):
        run_stage(make_ctx(f"http://127.0.0.1:{port}", {"peak_rps": 1, "duration_s": 5}))
