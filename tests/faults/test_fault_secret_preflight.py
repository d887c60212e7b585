"""A secret the run will use must be set and long enough to mask, else exit 2 before anything runs
(issue 14, items 5 and 6); credentials in base_url are refused.

Before: an unset or empty variable made its journey a "skip" and the run PASSed; a load body
with an unset secret was sent anyway; a 3-character secret appeared in every output.
"""

from __future__ import annotations

import pytest

from fault_support import run_cli

CONFIG = """
[target]
base_url = "http://127.0.0.1:9"
[results]
root = "{root}"
[secrets]
token = "SITEWARD_TEST_TOKEN"
[[pages]]
name = "home"
path = "/"
[[journeys]]
name = "login"
steps = [{{ goto = "/login" }}, {{ fill = "#password", value = "${{secrets.token}}" }}]
{extra}
"""
LOAD_ROUTE = """
[load]
routes = [{ name = "login", path = "/login", method = "POST", form = { password = "${secrets.token}" } }]
"""


def _config(tmp_path, extra: str = "") -> str:
    path = tmp_path / "siteward.toml"
    path.write_text(CONFIG.format(root=tmp_path / "results", extra=extra))
    return str(path)


@pytest.mark.parametrize("value, fragment", [
    (None, "SITEWARD_TEST_TOKEN to be set"), ("", "SITEWARD_TEST_TOKEN to be set"), ("abc", "shorter than 4"),
], ids=["unset", "empty", "three characters"])
def test_a_journey_secret_that_is_unusable_is_exit_2_naming_the_variable(tmp_path, value, fragment):
    env = {} if value is None else {"SITEWARD_TEST_TOKEN": value}
    code, out, err = run_cli("sweep", "-c", _config(tmp_path), out_dir=tmp_path, env=env, timeout=120)
    assert code == 2, (out, err)
    assert fragment in err and "journey 'login'" in err and "Traceback" not in err
    assert not (tmp_path / "results").exists()  # refused before a run directory or a request


def test_a_skipped_journey_needs_no_secret(tmp_path):
    code, out, err = run_cli("sweep", "-c", _config(tmp_path), "--no-journeys", out_dir=tmp_path, env={}, timeout=120)
    assert code == 3 and "secrets.token" not in err  # the unreachable target, not the secret


def test_a_load_body_secret_that_is_unset_is_exit_2(tmp_path):
    code, out, err = run_cli("load", "-c", _config(tmp_path, LOAD_ROUTE), out_dir=tmp_path, env={}, timeout=120)
    assert code == 2, (out, err)
    assert "SITEWARD_TEST_TOKEN" in err and "load.routes" in err


def test_credentials_in_the_base_url_are_refused(tmp_path):
    config = _config(tmp_path)
    with open(config, "r+") as file:
        text = file.read().replace("http://127.0.0.1:9", "http://qa:hunter22@127.0.0.1:9")
        file.seek(0)
        file.write(text)
    code, out, err = run_cli("sweep", "-c", config, out_dir=tmp_path, env={"SITEWARD_TEST_TOKEN": "long-enough"},
                             timeout=120)
    assert code == 2 and "user:password@" in err
    assert "hunter22" not in out + err
