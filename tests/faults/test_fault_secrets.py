"""Secrets never leak: not into summary.json, the report, logs, junit.xml, file names or the history.

Two distinctive values come from the environment: the demo shop's password (used by the
real login journey, and by the shop itself) and a token a journey types into a form and
puts into a URL that a failing step then reports. After a real sweep, every byte under
the results root (the SQLite history and its WAL too), every file name, and the CLI's
stdout/stderr are searched for both values. The same again for the load stage, with both
values in request bodies (a real login, and a refused one whose page echoes the probe).
"""

from __future__ import annotations

import json

import secrets as random_secrets
from pathlib import Path

import pytest

from fault_support import findings, only_run, records, run_cli
from siteward.secrets import MASK
from siteward.shop import start_shop
from siteward.shop.db import DEMO_PASSWORD_ENV

LEAKY_JOURNEYS = """
[[journeys]]
name = "leaky"
steps = [
  { goto = "/login" },
  { fill = "input[name=email]", value = "${secrets.probe}" },
  { fill = "input[name=password]", value = "${secrets.demo_password}" },
  { click = "[data-testid=login-submit]" },
  { goto = "/search?q=${secrets.probe}" },
  { expect_url = "/account", timeout_ms = 2000, name = "lands on the account page" },
]
"""


def _every_file(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _assert_nowhere(values: tuple[str, ...], results: Path, files: list[Path], console: str) -> None:
    for value in values:
        for path in files:
            assert value.encode() not in path.read_bytes(), f"{value} leaked into {path}"
            assert value not in str(path.relative_to(results)), f"{value} in a file name: {path}"
        assert value not in console


@pytest.mark.browser
def test_secret_values_appear_nowhere_in_the_outputs(tmp_path, monkeypatch):
    password = "Pw-" + random_secrets.token_hex(8)
    token = "Tk-" + random_secrets.token_hex(8)
    monkeypatch.setenv(DEMO_PASSWORD_ENV, password)  # the shop reads it too: the login must work
    monkeypatch.setenv("SITEWARD_FAULT_PROBE", token)
    demo = (Path(__file__).parents[2] / "siteward" / "demo.toml").read_text()
    config = tmp_path / "siteward.toml"
    config.write_text(demo.replace('[secrets]\n', '[secrets]\nprobe = "SITEWARD_FAULT_PROBE"\n') + LEAKY_JOURNEYS)
    results = tmp_path / "results"

    with start_shop() as shop:
        code, stdout, stderr = run_cli(
            "sweep", "-c", str(config), "--target", shop.url, "--results", str(results), "--engine", "chromium",
            "--device", "desktop", "--page", "home", "--journey", "login", "--journey", "leaky",
            out_dir=tmp_path / "cli", env={DEMO_PASSWORD_ENV: password, "SITEWARD_FAULT_PROBE": token})
    assert "Traceback" not in stderr

    history = results / "history.sqlite"
    run = only_run(history)
    journeys = {f["subject"].split("|")[0]: f for f in findings(history, run["id"]) if f["check"] == "journey"}
    assert journeys["login"]["status"] == "pass", "the password was really used: the login journey passed"
    leaky = journeys["leaky"]
    assert leaky["status"] == "fail" and MASK in leaky["message"], leaky  # the value was there, and masked
    assert code == 1

    files = _every_file(results)
    names = {p.name for p in files}
    assert {"report.html", "summary.json", "junit.xml", "summary.md", "history.sqlite"} <= names
    assert any(p.suffix == ".png" for p in files), "screenshots are among the files searched"
    _assert_nowhere((password, token), results, files, stdout + stderr)


LEAKY_LOAD = """
[load]
profile = "open"
peak_rps = 4
multiplier = 1
duration_s = 8
workers = 1

[[load.routes]]
name = "login"
path = "/login"
method = "POST"
form = { email = "demo@siteward.test", password = "${secrets.demo_password}" }
follow_redirects = false
expect_status = [303]

[[load.routes]]
name = "leaky-login"
path = "/login"
method = "POST"
form = { email = "${secrets.probe}", password = "${secrets.probe}" }
follow_redirects = false
expect_status = [303]
"""


@pytest.mark.load
def test_secret_values_in_load_bodies_appear_nowhere_in_the_outputs(tmp_path, monkeypatch):
    # The shop echoes the failed login's email (the probe) in its error page: the value is
    # really on the wire in both directions, and still must not reach any output.
    password = "Pw-" + random_secrets.token_hex(8)
    token = "Tk-" + random_secrets.token_hex(8)
    config = tmp_path / "siteward.toml"
    config.write_text('[secrets]\ndemo_password = "SITEWARD_SHOP_DEMO_PASSWORD"\nprobe = "SITEWARD_FAULT_PROBE"\n'
                      + LEAKY_LOAD)
    results = tmp_path / "results"
    env = {DEMO_PASSWORD_ENV: password, "SITEWARD_FAULT_PROBE": token}
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # the shop reads the password too: the logins must work
    with start_shop() as shop:
        code, stdout, stderr = run_cli("load", "-c", str(config), "--target", shop.url, "--results", str(results),
                                       out_dir=tmp_path / "cli", env=env)
    assert "Traceback" not in stderr

    history = results / "history.sqlite"
    run = only_run(history)
    ratios = {r["subject"]: r["samples"][0] for r in records(history, stage="loadtests", kind="measurement")
              if r["metric"] == "error_ratio"}
    assert ratios["POST login"] == 0.0, "the password was really sent: every login was accepted"
    assert ratios["POST leaky-login"] == 1.0, "the probe was really sent: every login with it was refused"
    summary = json.loads((results / run["id"] / "summary.json").read_text())
    assert code == 1 and any(b["status"] == "fail" for b in summary["budgets"])  # judged by reports/

    files = _every_file(results)
    assert {"report.html", "summary.json", "locust_stats.csv", "spec.json", "locust-master.log"} <= {p.name for p in files}
    _assert_nowhere((password, token), results, files, stdout + stderr)
