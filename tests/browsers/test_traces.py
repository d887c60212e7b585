"""Traces and HARs of failing checks: redaction (pure, no browser), then one real sweep on
Chromium and Firefox where a journey that types a secret fails and the rest passes."""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from browsers.execute import Attempt
from browsers.plan import JourneyTask, PageTask, Profile
from browsers.stage import Sweep, plan as plan_sweep
from browsers.traces import Recording, Traces, redact_bytes, redact_trace, secret_forms, trace_manifest
from reports.render import render_run
from siteward.config import parse_config
from siteward.errors import ConfigError
from siteward.records import Artifact, Finding
from stage_helpers import run_stage, stage_options
from sweep_helpers import demo_config, findings, make_ctx, records

SECRET = 'Tr4ce-S3cret/&+pw "x'
URL_PASSWORD = "UrlPa55word"
JPEG = b"\xff\xd8\xff\xe0" + SECRET.encode() + b"\xff\xd9"  # binary entries are copied, not rewritten


def spellings(secret: str) -> list[str]:
    return [secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret),
            secret.replace("&", "&amp;").replace('"', "&quot;")]


def assert_free_of_secrets(data: bytes, where: str) -> None:
    for form in [*spellings(SECRET), URL_PASSWORD]:
        assert form.encode() not in data, f"{form!r} in {where}"


# ------------------------------------------------------------------ pure
def test_every_spelling_of_a_secret_is_masked():
    text = " | ".join([*spellings(SECRET), quote(SECRET, safe="").lower().replace("tr4ce-s3cret", "Tr4ce-S3cret")])
    redacted = redact_bytes(text.encode(), secret_forms([SECRET, "abc"]))
    assert_free_of_secrets(redacted, "redacted text")
    assert redacted.count(b"********") == 6


def test_url_credentials_are_masked_plain_json_escaped_and_percent_encoded():
    text = (f'goto http://shopper:{URL_PASSWORD}@shop.test/a {{"url":"https:\\/\\/shopper:{URL_PASSWORD}@h\\/"}} '
            f"next=http%3A%2F%2Fshopper%3A{URL_PASSWORD}%40shop.test%2Fx http://127.0.0.1:8765/login?a=b:c@d")
    redacted = redact_bytes(text.encode(), []).decode()
    assert URL_PASSWORD not in redacted
    assert "http://shopper:********@shop.test/a" in redacted and "%2F%2Fshopper%3A********%40shop.test" in redacted
    assert "http://127.0.0.1:8765/login" in redacted  # a port is not a password


def write_trace(path: Path, events: list[dict], network: list[dict], resources: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("trace.trace", "\n".join(json.dumps(e) for e in events) + "\n")
        archive.writestr("trace.network", "\n".join(json.dumps(e) for e in network) + "\n")
        for name, data in resources.items():
            archive.writestr(f"resources/{name}", data)


def test_a_redacted_trace_still_loads_and_its_images_are_untouched(tmp_path):
    events = [{"version": 8, "type": "context-options", "browserName": "chromium"},
              {"type": "before", "callId": "1", "method": "fill", "params": {"value": SECRET}},
              {"type": "screencast-frame", "sha1": "frame.jpeg"},
              {"type": "log", "message": f"navigating to http://shopper:{URL_PASSWORD}@shop.test/"}]
    network = [{"type": "resource-snapshot", "snapshot": {"request": {"postData": {"_sha1": "body.dat"}},
                                                          "response": {"content": {"_sha1": "page.html"}}}}]
    source, redacted = tmp_path / "raw.zip", tmp_path / "kept.trace.zip"
    write_trace(source, events, network, {"frame.jpeg": JPEG, "body.dat": f"password={quote_plus(SECRET)}".encode(),
                                          "page.html": f'<input value="{SECRET}">'.encode()})
    redact_trace(source, redacted, secret_forms([SECRET]))

    manifest = trace_manifest(redacted)
    assert manifest["browser"] == "chromium" and manifest["actions"] == ["fill"] and manifest["network"] == 1
    with zipfile.ZipFile(redacted) as archive:
        assert archive.namelist() == zipfile.ZipFile(source).namelist()
        assert archive.read("resources/frame.jpeg") == JPEG
        for name in archive.namelist():
            if not name.endswith(".jpeg"):
                assert_free_of_secrets(archive.read(name), name)


def test_a_zip_that_is_not_a_loadable_trace_is_refused(tmp_path):
    path = tmp_path / "t.zip"
    write_trace(path, [{"type": "context-options"}, {"type": "screencast-frame", "sha1": "gone.jpeg"}], [], {})
    with pytest.raises(ValueError, match="missing"):
        trace_manifest(path)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("other.txt", "x")
    with pytest.raises(ValueError, match="trace.trace"):
        trace_manifest(path)


def test_an_unknown_trace_mode_is_a_config_error():
    with pytest.raises(ConfigError, match="browsers.trace"):
        parse_config({"target": {"base_url": "http://127.0.0.1:1"}, "browsers": {"trace": "on-failure"}}, "<t>")


def test_a_kept_file_over_the_size_limit_is_dropped_with_a_note(tmp_path):
    ctx = make_ctx(demo_config("http://127.0.0.1:9", browsers={"trace_max_mb": 0.001}), tmp_path,
                   environ={"SITEWARD_SHOP_DEMO_PASSWORD": SECRET})
    recording = Recording("chromium", ctx.run_dir / "traces" / "journeys" / "j", "chromium-desktop-attempt1")
    recording.har_scratch.write_text(json.dumps({"log": {"entries": [], "note": SECRET}}))
    big = recording.scratch / "trace.zip"
    write_trace(big, [{"type": "context-options"}], [], {"frame.jpeg": bytes(range(256)) * 20})
    kept = Traces(ctx)._keep(recording, big, "j|chromium|desktop", {"journey": "j"})
    recording.discard()
    [har] = [a for a in kept if isinstance(a, Artifact)]
    assert har.role == "har" and har.path == "traces/journeys/j/chromium-desktop-attempt1.har"
    assert_free_of_secrets((ctx.run_dir / har.path).read_bytes(), "HAR")
    [note] = [f for f in kept if isinstance(f, Finding)]
    assert note.check == "trace" and "dropped" in note.message and "trace_max_mb" in note.message
    assert not (ctx.run_dir / "traces/journeys/j/chromium-desktop-attempt1.trace.zip").exists()


def test_a_flaky_check_keeps_its_failed_attempts_trace(tmp_path):
    config = demo_config("http://127.0.0.1:9")
    ctx = make_ctx(config, tmp_path)
    sweep = Sweep(ctx, plan_sweep(config, stage_options("browsers", {})))
    profile = Profile("firefox", "desktop")
    trace = Artifact(stage="browsers", subject="s", role="playwright-trace", path="traces/x/firefox-attempt1.trace.zip")
    for task in (JourneyTask(config.journeys[0], profile), PageTask(config.pages[0], profile)):
        passed = [Finding(stage="browsers", subject="s", check="journey", status="pass", message="ok")] \
            if isinstance(task, JourneyTask) else []
        sweep.finish(task, Attempt(records=passed), [Attempt(ok=False, error="boom", traces=[trace]),
                                                      Attempt(records=passed)])
    emitted = records(ctx)
    assert [a.path for a in emitted if isinstance(a, Artifact)] == [trace.path, trace.path]
    cited = {f.check: f for f in emitted if isinstance(f, Finding)}
    assert cited["journey"].status == "warn" and cited["journey"].evidence == [trace.path]
    assert cited["flaky"].evidence == [trace.path]


# ------------------------------------------------------------------ one real sweep
BAD_LOGIN = {"name": "bad-login", "steps": [
    {"goto": f"/login?next=http://shopper:{URL_PASSWORD}@127.0.0.1/account"},
    {"fill": "input[name=email]", "value": "demo@siteward.test"},
    {"fill": "input[name=password]", "value": "${secrets.demo_password}"},
    {"click": "[data-testid=login-submit]", "name": "log in"},
    {"expect_url": "/account", "timeout_ms": 3000},  # the password is wrong: this step fails
]}
FILL_CART = {"name": "fill-cart", "engines": ["chromium", "firefox"], "steps": [{"goto": "/product/canvas-sneaker"},
                                            {"click": "[data-testid=add-to-cart]"},
                                            {"expect_visible": "[data-testid=cart-line]"}]}


@pytest.mark.browser
def test_failing_checks_keep_a_redacted_trace_and_har_linked_from_the_report(shop, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    config = demo_config(shop.url, journeys=[BAD_LOGIN, FILL_CART], pages=[{"name": "gone", "path": "/no-such-page"}],
                         browsers={"engines": ["chromium", "firefox", "webkit"], "devices": ["desktop"], "retries": 0,
                                   "timing_profiles": [], "trace": "retain-on-failure"},
                         budgets={"global": {"response_ms": 60_000}})
    ctx = make_ctx(config, tmp_path, environ={"SITEWARD_SHOP_DEMO_PASSWORD": SECRET})
    run_stage(ctx)

    failed = {f.subject: f for f in findings(ctx, "journey", "fail")}
    assert set(failed) == {f"bad-login|{e}|desktop" for e in ("chromium", "firefox", "webkit")}
    passed = {f.subject for f in findings(ctx) if f.status == "pass" and f.check == "journey"}
    assert passed == {"fill-cart|chromium|desktop", "fill-cart|firefox|desktop"}
    artifacts = records(ctx, "artifact")
    page = {f.tags["engine"]: f for f in findings(ctx, "http-status", "fail")}
    assert set(page) == {"chromium", "firefox", "webkit"}
    for engine in ("chromium", "firefox"):
        assert [Path(p).name for p in page[engine].evidence] == [
            f"{engine}-desktop.png", f"{engine}-desktop-attempt1.trace.zip", f"{engine}-desktop-attempt1.har"]
        finding = failed[f"bad-login|{engine}|desktop"]
        shot, trace, har = finding.evidence
        assert shot.endswith(".png") and trace.endswith(".trace.zip") and har.endswith(".har")
        assert {(a.role, a.path) for a in artifacts} >= {("playwright-trace", trace), ("har", har)}

        manifest = trace_manifest(ctx.run_dir / trace)
        assert manifest["browser"] == engine and "fill" in manifest["actions"] and manifest["network"] > 0
        with zipfile.ZipFile(ctx.run_dir / trace) as archive:
            for name in archive.namelist():
                assert_free_of_secrets(archive.read(name), f"{engine} trace {name}")
        entries = json.loads((ctx.run_dir / har).read_text())["log"]["entries"]
        assert any("/login" in e["request"]["url"] for e in entries)
        assert_free_of_secrets((ctx.run_dir / har).read_bytes(), f"{engine} HAR")

    # WebKit over WebDriver: the failing step's page source and console entries, next to its screenshot.
    shot, source, console = failed["bad-login|webkit|desktop"].evidence
    assert shot.endswith(".png") and source.endswith(".page.html") and console.endswith(".console.json")
    assert "<form" in (ctx.run_dir / source).read_text() and "entries" in json.loads((ctx.run_dir / console).read_text())
    assert_free_of_secrets((ctx.run_dir / source).read_bytes(), "WebKit page source")

    # Only failing checks keep files (the passing journey leaves none); no scratch files stay behind.
    kept = sorted(p.relative_to(ctx.run_dir).as_posix() for p in (ctx.run_dir / "traces").rglob("*") if p.is_file())
    assert kept == sorted(p for f in [*failed.values(), *page.values()] for p in f.evidence[1:])
    assert not any("fill-cart" in path for path in kept) and list(scratch.iterdir()) == []

    report = (render_run(ctx.store, ctx.run_id).run_dir / "report.html").read_text()
    trace = failed["bad-login|firefox|desktop"].evidence[1]
    assert f'href="{trace}"' in report and f"python -m playwright show-trace {trace}" in report
