"""Load safety: a host off the allow list sees not a single connection; caps bound every plan.

The refused target is a real listener on 127.0.0.2 (loopback, so nothing leaves the
machine) that counts connections; the allow list is narrowed to 127.0.0.1 so that
127.0.0.2 is "somebody else's host" for the test.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fault_support import findings, only_run, run_cli
from local_server import serve_locally
from loadtests.shapes import make_plan
from siteward.cli import main
from siteward.errors import UsageError

OTHER_HOST = "127.0.0.2"


@contextmanager
def counting_listener(host: str) -> Iterator[tuple[int, list[int]]]:
    """A TCP listener that accepts and counts connections (and answers nothing)."""
    accepted: list[int] = []
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            accepted.append(1)
            conn.close()
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], accepted
    finally:
        stop.set()
        thread.join(timeout=2)
        server.close()


def _config(tmp_path: Path, load: str) -> Path:
    path = tmp_path / "siteward.toml"
    path.write_text(f'[target]\nbase_url = "http://127.0.0.1:1"\n[[pages]]\nname = "home"\npath = "/"\n[load]\n{load}\n')
    return path


@pytest.mark.parametrize("command", [["load"], ["run"], ["run", "--stage", "loadtests"]])
def test_a_host_off_the_allow_list_gets_no_connection_at_all(tmp_path, capsys, command):
    config = _config(tmp_path, 'allow_hosts = ["127.0.0.1"]\npeak_rps = 1\nduration_s = 5')
    with counting_listener(OTHER_HOST) as (port, accepted):
        code = main([*command, "-c", str(config), "--target", f"http://{OTHER_HOST}:{port}",
                     "--results", str(tmp_path / "r"), "-q"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"refusing to send load to {OTHER_HOST}" in err and "--allow-host" in err
    assert accepted == [], "the refused host received a connection"
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_a_non_loopback_host_needs_the_confirmation_too(tmp_path, capsys):
    # shop.invalid never resolves (RFC 6761): were anything sent, it could go nowhere.
    config = _config(tmp_path, "peak_rps = 1\nduration_s = 5")
    code = main(["load", "-c", str(config), "--target", "http://shop.invalid:8080", "--allow-host", "shop.invalid",
                 "--results", str(tmp_path / "r"), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "without confirmation" in err and "--i-own-this-host" in err, err


@settings(max_examples=300, deadline=None)
@given(profile=st.sampled_from(["peak", "open", "steady"]),
       peak_rps=st.floats(0.01, 500), multiplier=st.floats(0.1, 100), duration_s=st.floats(1, 7200),
       spike=st.floats(1, 10), think=st.tuples(st.floats(0, 5), st.floats(0, 5)).map(sorted),
       pool_s=st.floats(0.1, 10), max_users=st.integers(1, 5000), max_rps=st.floats(0.1, 5000),
       max_duration_s=st.floats(1, 3600))
def test_caps_bound_every_plan_or_refuse_it(profile, peak_rps, multiplier, duration_s, spike, think, pool_s,
                                            max_users, max_rps, max_duration_s):
    try:
        plan = make_plan(profile=profile, peak_rps=peak_rps, peak_users=None, multiplier=multiplier,
                         duration_s=duration_s, think_time_s=tuple(think), spike_factor=spike, open_pool_s=pool_s,
                         max_users=max_users, max_rps=max_rps, max_duration_s=max_duration_s)
    except UsageError as refused:
        assert "max_" in str(refused)
        return
    assert plan.duration_s <= max_duration_s
    steps = 400
    for i in range(steps + 1):
        t = plan.duration_s * i / steps
        users = plan.users_at(min(t, plan.duration_s - 1e-6))
        assert users is not None and 1 <= users <= max_users
        rate = plan.target_rate_at(min(t, plan.duration_s - 1e-6))
        assert rate is None or rate <= max_rps * (1 + 1e-9)
    assert plan.users_at(plan.duration_s + 0.001) is None  # nothing after the planned end


@pytest.mark.load
def test_a_real_run_at_the_caps_never_exceeds_them(own_shop, tmp_path):
    # Open model at 4 req/s keeps 8 users (rate x 2 s); the caps are set exactly there.
    caps = {"max_users": 8, "max_rps": 4.0, "max_duration_s": 12.0}
    demo = (Path(__file__).parents[2] / "siteward" / "demo.toml").read_text()
    demo = demo[:demo.index("[load]")]
    config = tmp_path / "siteward.toml"
    config.write_text(demo + "[load]\npeak_rps = 4\nmultiplier = 1\nprofile = \"open\"\nduration_s = 12\n"
                      + "".join(f"{k} = {v}\n" for k, v in caps.items()))
    results = tmp_path / "results"
    code, _, err = run_cli("load", "-c", str(config), "--target", own_shop.url, "--results", str(results),
                           "--workers", "1", "-q", out_dir=tmp_path / "cli")
    assert "Traceback" not in err and code in (0, 1), err
    run_dir = Path(only_run(results / "history.sqlite")["run_dir"])
    series = json.loads((run_dir / "load" / "series.json").read_text())
    assert len(series["t"]) >= 10
    assert max(series["users"]) <= caps["max_users"]
    # Per-second buckets of an open model at the cap: a request that lands on a bucket edge may
    # count in the next second, so one extra request in a second is rounding, not excess.
    assert max(series["rps"]) <= caps["max_rps"] + 1
    assert sum(series["rps"]) <= caps["max_rps"] * caps["max_duration_s"] * 1.05
    assert series["t"][-1] <= caps["max_duration_s"] + 2
    for extra in (["--duration", "13"], ["--peak-rps", "5"], ["--multiplier", "1.5"]):  # above a cap: refused
        code, _, err = run_cli("load", "-c", str(config), "--target", own_shop.url, "--results",
                               str(tmp_path / "refused"), "-q", *extra, out_dir=tmp_path / "cli-refused")
        assert code == 2 and "max_" in err, (extra, err)


def redirect_to(location: str):
    """A handler whose every answer is a 302 to `location` (the catalog API too)."""
    from http.server import BaseHTTPRequestHandler

    class Redirect(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_HEAD = _answer  # noqa: N815 - http.server's names

        def log_message(self, *args) -> None:
            pass

    return Redirect


def test_load_never_follows_a_redirect_off_the_target(tmp_path):
    """Before: a target answering 302 to a host off the allow list sent 13 requests there."""
    config = tmp_path / "siteward.toml"
    config.write_text('[target]\nbase_url = "http://127.0.0.1:1"\n[[pages]]\nname = "home"\npath = "/"\n'
                      '[load]\nprofile = "open"\npeak_rps = 3\nmultiplier = 1\nduration_s = 6\n'
                      'routes = [{ name = "/", path = "/" }]\n')
    results = tmp_path / "results"
    with counting_listener(OTHER_HOST) as (port, accepted):
        with serve_locally(redirect_to(f"http://{OTHER_HOST}:{port}/elsewhere")) as target:
            code, _, err = run_cli("load", "-c", str(config), "--target", target, "--results", str(results),
                                   "--workers", "1", "-q", out_dir=tmp_path / "cli", timeout=180)
    assert "Traceback" not in err, err
    assert accepted == [], f"the host off the allow list received {len(accepted)} connection(s)"
    assert code == 1, err
    history = results / "history.sqlite"
    found = [f for f in findings(history, only_run(history)["id"]) if f["check"] == "redirect-off-target"]
    assert found and f"http://{OTHER_HOST}:{port}/elsewhere" in found[0]["message"], found
