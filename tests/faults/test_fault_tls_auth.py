"""A staging site: a self-signed certificate and HTTP basic auth (issue 14, item 10).

Before: such a target could not be tested at all (no opt-in, no auth setting). Now
`target.tls_verify = false` (said in a warning) or `target.ca_bundle`, and `[target.auth]`
from secrets, apply to browsers, Lighthouse, the page audits and load alike, and the
credentials (plain or base64 in an Authorization header) appear in no output.
"""

from __future__ import annotations

import base64
import json
import sqlite3

import pytest

from fault_support import run_cli
from tls_proxy import staging_front

USER, PASSWORD = "qa-staging", "Stag1ng-Pa55-word-7"
ENV = {"STAGING_USER": USER, "STAGING_PASSWORD": PASSWORD}
TOKEN = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def _config(tmp_path, url: str, trust: str, *, stages: str = '["browsers"]', extra: str = "") -> str:
    path = tmp_path / "siteward.toml"
    path.write_text(f"""
stages = {stages}

[target]
name = "staging"
base_url = "{url}"
{trust}

[target.auth]
username = "${{secrets.user}}"
password = "${{secrets.password}}"

[secrets]
user = "STAGING_USER"
password = "STAGING_PASSWORD"

[results]
root = "{tmp_path / 'results'}"

[[pages]]
name = "home"
path = "/"

[[pages]]
name = "product"
path = "/product/canvas-sneaker"

[browsers]
engines = ["chromium", "firefox", "webkit"]
devices = ["desktop"]
samples = 1
retries = 0
{extra}
""")
    return str(path)


def _findings(results) -> list[dict]:
    with sqlite3.connect(results / "history.sqlite") as db:
        rows = db.execute("SELECT body FROM records WHERE kind = 'finding'").fetchall()
    return [json.loads(body) for (body,) in rows]


def _leaks(results, *texts: str) -> list[str]:
    found = []
    for path in results.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {t[:4]}..." for t in (PASSWORD, TOKEN) if t.encode() in data]
    found += [f"output: {t[:4]}..." for t in (PASSWORD, TOKEN) for text in texts if t in text]
    return found


def test_config_for_tls_and_auth_is_checked_before_anything_runs(tmp_path):
    cases = {
        'tls_verify = false\nca_bundle = "ca.pem"': "contradict",
        'ca_bundle = "missing.pem"': "target.ca_bundle: no such file",
    }
    for trust, expected in cases.items():
        config = _config(tmp_path, "https://127.0.0.1:9", trust)
        code, out, err = run_cli("sweep", "-c", config, out_dir=tmp_path / "cli", env=ENV)
        assert code == 2 and expected in out + err, (trust, out, err)
    written = open(_config(tmp_path, "https://127.0.0.1:9", "tls_verify = false")).read()
    (tmp_path / "plain.toml").write_text(written.replace('password = "${secrets.password}"', f'password = "{PASSWORD}"'))
    code, out, err = run_cli("sweep", "-c", str(tmp_path / "plain.toml"), out_dir=tmp_path / "cli2", env=ENV)
    assert code == 2 and "target.auth.password" in out + err and PASSWORD not in out + err
    code, out, err = run_cli("sweep", "-c", _config(tmp_path, "https://127.0.0.1:9", "tls_verify = false"),
                             out_dir=tmp_path / "cli3", env={"STAGING_USER": USER})
    assert code == 2 and "STAGING_PASSWORD" in out + err and "target.auth" in out + err


@pytest.mark.browser
def test_an_untrusted_certificate_is_refused_with_the_way_out(own_shop, tmp_path):
    with staging_front(own_shop.url, tmp_path, username=USER, password=PASSWORD) as (url, _):
        code, out, err = run_cli("sweep", "-c", _config(tmp_path, url, ""), out_dir=tmp_path / "cli", env=ENV)
    assert code == 3, (out, err)
    assert "target.tls_verify = false" in out + err and "target.ca_bundle" in out + err
    assert not _leaks(tmp_path / "results", out, err)


@pytest.mark.browser
def test_browsers_on_three_engines_pass_a_self_signed_staging_site_behind_basic_auth(own_shop, tmp_path):
    with staging_front(own_shop.url, tmp_path, username=USER, password=PASSWORD) as (url, _):
        code, out, err = run_cli("sweep", "-c", _config(tmp_path, url, "tls_verify = false"),
                                 out_dir=tmp_path / "cli", env=ENV, timeout=900)
    results = tmp_path / "results"
    found = _findings(results)
    statuses = {(f["subject"], f["check"]): f for f in found}
    for engine in ("chromium", "firefox", "webkit"):
        for page in ("home", "product"):
            status = statuses[(f"{page}|{engine}|desktop", "http-status")]
            assert status["status"] == "pass" and "HTTP 200" in status["message"], status
    warning = [f for f in found if f["check"] == "tls-verify"]
    assert warning and warning[0]["status"] == "warn" and "verification is off" in warning[0]["message"]
    assert not _leaks(results, out, err)
    assert code in (0, 1), (out, err)


@pytest.mark.lighthouse
def test_lighthouse_page_audits_and_load_reach_the_site_through_its_ca_and_credentials(own_shop, tmp_path):
    extra = ('[audits]\npresets = ["desktop"]\nruns = 1\n[load]\nprofile = "open"\npeak_rps = 2\nmultiplier = 2\n'
             'duration_s = 12\nworkers = 1\n')
    with staging_front(own_shop.url, tmp_path, username=USER, password=PASSWORD) as (url, cert):
        config = _config(tmp_path, url, f'ca_bundle = "{cert}"', stages='["audits", "loadtests"]', extra=extra)
        code, out, err = run_cli("run", "-c", config, out_dir=tmp_path / "cli", env=ENV, timeout=900)
    results = tmp_path / "results"
    found = _findings(results)
    lighthouse = [f for f in found if f["check"] == "lighthouse" and f["stage"] == "audits"]
    assert lighthouse and all(f["status"] in ("pass", "fail") for f in lighthouse), lighthouse
    assert not any("401" in f["message"] for f in found), [f["message"] for f in found if "401" in f["message"]]
    tls = [f for f in found if f["check"] == "tls-expiry"]
    assert tls and tls[0]["status"] == "pass", tls  # verified against the bundle
    with sqlite3.connect(results / "history.sqlite") as db:
        rows = [json.loads(b) for (b,) in db.execute("SELECT body FROM records WHERE kind = 'measurement' "
                                                      "AND stage = 'loadtests'").fetchall()]
    errors = [m for m in rows if m["subject"] == "all" and m["metric"] == "error_ratio"]
    assert errors and errors[0]["samples"] and max(errors[0]["samples"]) == 0, errors
    assert not _leaks(results, out, err)
