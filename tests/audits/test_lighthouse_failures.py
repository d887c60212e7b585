"""Broken checks become error findings; missing tools and bad options raise with exit codes."""

from __future__ import annotations

import json
import time

import psutil
import pytest

from audits.stage import JourneyStates, page_states
from audits.state import extra_headers_for
from stage_helpers import run_stage
from audit_support import demo_config, make_ctx, records
from siteward.errors import ConfigError, TargetUnreachable, ToolMissing, UsageError
from siteward.records import Artifact


@pytest.mark.lighthouse
@pytest.mark.browser
def test_timeout_kills_lighthouse_and_chrome_and_becomes_an_error(faulty_shop, tmp_path):
    # The page answers only after a minute, so Chrome is surely up, waiting, when the timeout strikes.
    faulty_shop.set_faults(["latency=/product:60000"])
    config = demo_config(faulty_shop.url, audits={"timeout_s": 20, "page_audits": False})
    ctx = make_ctx(config, tmp_path, runs=1, pages=["product"], presets=["mobile"])
    run_stage(ctx)
    errors = [f for f in records(ctx, "finding") if f.check == "lighthouse" and f.status == "error"]
    assert len(errors) == 1
    assert errors[0].data["code"] == "TIMEOUT"
    assert "timed out after 20 s" in errors[0].message
    killed = errors[0].data["killed"]
    assert any("chrom" in entry for entry in killed), killed  # Chrome was in the tree and got killed
    for entry in killed:
        pid = int(entry.split()[0])
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, entry


@pytest.mark.lighthouse
@pytest.mark.browser
def test_page_that_fails_to_load_is_an_error_and_the_other_page_is_still_measured(shop, tmp_path):
    data_pages = [{"name": "missing", "path": "/no-such-page"}, {"name": "cart", "path": "/cart"}]
    config = demo_config(shop.url, pages=data_pages, audits={"page_audits": False})
    ctx = make_ctx(config, tmp_path, runs=1, presets=["mobile"])
    run_stage(ctx)
    errors = [f for f in records(ctx, "finding") if f.status == "error"]
    assert [f.subject for f in errors] == ["missing|lighthouse|mobile"]
    assert errors[0].data["code"] == "ERRORED_DOCUMENT_REQUEST"
    assert "404" in errors[0].message  # Lighthouse's own words
    log = ctx.run_dir / errors[0].evidence[0]
    assert "Runtime error encountered" in log.read_text()
    measured = {m.tags["page"] for m in records(ctx, "measurement")}
    assert measured == {"cart"}


def test_missing_chromium_is_tool_missing_with_install_hint(shop, tmp_path):
    config = demo_config(shop.url, audits={"chrome_path": str(tmp_path / "no-chromium")})
    with pytest.raises(ToolMissing) as err:
        run_stage(make_ctx(config, tmp_path))
    assert err.value.exit_code == 3
    assert "apt-get install -y chromium" in str(err.value)


def test_unreachable_target_cannot_be_measured(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = demo_config(f"http://127.0.0.1:{port}")
    with pytest.raises(TargetUnreachable) as err:
        run_stage(make_ctx(config, tmp_path))
    assert err.value.exit_code == 3


@pytest.mark.parametrize("options, error, fragment", [
    ({"pages": ["nope"]}, UsageError, "unknown page 'nope'"),
    ({"presets": ["tablet"]}, UsageError, "unknown preset 'tablet'"),
    ({"runs": 0}, UsageError, "--runs must be between 1 and 25"),
    ({"lighthouserc": "/nonexistent/lighthouserc.json"}, ConfigError, "file not found"),
])
def test_bad_options_are_clear_errors(shop, tmp_path, options, error, fragment):
    ctx = make_ctx(demo_config(shop.url), tmp_path, **options)
    with pytest.raises(error) as err:
        run_stage(ctx)
    assert fragment in str(err.value)
    assert err.value.exit_code == 2
    assert records(ctx) == []  # refused before measuring anything


@pytest.mark.browser
def test_journey_that_cannot_run_is_an_error_and_page_audits_still_run(shop, tmp_path):
    journeys = [{"name": "fill-cart", "steps": [{"goto": "/"}, {"click": "[data-testid=does-not-exist]",
                                                                 "timeout_ms": 1500}]}]
    pages = [{"name": "checkout", "path": "/checkout/address", "journey_state": "fill-cart"}]
    config = demo_config(shop.url, pages=pages, journeys=journeys, audits={"lighthouse": False})
    ctx = make_ctx(config, tmp_path)
    run_stage(ctx)
    state = [f for f in records(ctx, "finding") if f.check == "journey-state"]
    assert len(state) == 1 and state[0].status == "error"
    assert "step 2" in state[0].message and "does-not-exist" in state[0].message
    assert any(f.check == "seo" for f in records(ctx, "finding"))


def test_browsers_stage_state_is_used_without_replaying_the_journey(shop, tmp_path):
    """With the browsers stage's state record in the run, the audits stage sends its cookies as they are."""
    config = demo_config(shop.url, audits={"lighthouse": False})
    ctx = make_ctx(config, tmp_path)
    state = ctx.run_dir / "state" / "fill-cart.json"
    state.parent.mkdir()
    state.write_text(json.dumps({"cookies": [{"name": "probe", "value": "handoff", "domain": "127.0.0.1", "path": "/",
                                              "expires": -1, "httpOnly": False, "secure": False, "sameSite": "Lax"}],
                                 "origins": [], "captured": time.time()}))
    ctx.emit(Artifact(stage="browsers", subject="fill-cart", tags={"journey": "fill-cart"}, role="storage-state",
                      path=ctx.relative(state), media_type="application/json"))
    state_dir = tmp_path / "replays"
    state_dir.mkdir()
    checkout_only = [page for page in config.pages if page.name == "checkout"]
    found, failures = page_states(JourneyStates(ctx, state_dir), checkout_only)
    assert failures == {}
    headers = {page: extra_headers_for(path, config.url(config.page(page).path)) for page, path in found.items()}
    assert headers == {"checkout": {"Cookie": "probe=handoff"}}
    assert list(state_dir.iterdir()) == []  # nothing replayed
    assert [f.data["source"] for f in records(ctx, "finding") if f.check == "journey-state"] == ["browsers-stage"]


@pytest.mark.lighthouse
@pytest.mark.browser
def test_lighthouse_with_state_that_does_not_apply_fails_naming_the_redirect(shop, tmp_path):
    """The React page reads its session from document.cookie; a session the app rejects sends
    Lighthouse to the login page. That is a failing finding naming both URLs, with no metrics."""
    pages = [{"name": "app-products", "path": "/app/products", "journey_state": "app-fill-cart"}]
    config = demo_config(shop.url, pages=pages, audits={"presets": ["desktop"], "page_audits": False})
    ctx = make_ctx(config, tmp_path, runs=1)
    state = ctx.run_dir / "state" / "app-fill-cart.json"
    state.parent.mkdir()
    state.write_text(json.dumps({"cookies": [{"name": "sw_app_session", "value": "nobody.0", "domain": "127.0.0.1",
                                              "path": "/", "expires": -1, "httpOnly": False, "secure": False,
                                              "sameSite": "Lax"}],
                                 "origins": [], "captured": time.time()}))
    ctx.emit(Artifact(stage="browsers", subject="app-fill-cart", tags={"journey": "app-fill-cart"},
                      role="storage-state", path=ctx.relative(state), media_type="application/json"))
    run_stage(ctx)
    [finding] = [f for f in records(ctx, "finding") if f.check == "lighthouse"]
    assert finding.status == "fail", finding.message
    assert "/app/login" in finding.message and "/app/products" in finding.message
    assert [m for m in records(ctx, "measurement") if m.tags.get("page") == "app-products"] == []
