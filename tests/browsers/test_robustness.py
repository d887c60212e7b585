"""One broken check never sinks the sweep: crashes, missing engines, flaky pages, dead targets."""

from __future__ import annotations

import threading
import time

import psutil
import pytest

import browsers.playwright_driver as playwright_driver
import browsers.webkit_driver as webkit_driver
from stage_helpers import run_stage
from sweep_helpers import demo_config, findings, make_ctx, records
from sites import serve, write_site
from siteward.config import load_config
from siteward.errors import EXIT_CANNOT_MEASURE, TargetUnreachable, ToolMissing

pytestmark = pytest.mark.browser

GENEROUS_BUDGETS = {"global": {"response_ms": 60_000, "cls": 0.1}, "mobile": {"fcp_ms": 60_000}}


def _our_chromium_browsers() -> list[psutil.Process]:
    """Chromium main processes started by this test process (helpers carry a --type= flag)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            cmdline = child.cmdline()
            if child.name() == "chromium" and not any(arg.startswith("--type=") for arg in cmdline):
                found.append(child)
        except psutil.Error:
            continue
    return found


def test_a_killed_browser_is_restarted_and_every_check_still_reports(faulty_shop, tmp_path):
    # Slow pages, so the kill lands while checks are in flight.
    faulty_shop.set_faults(["latency=/product:1500", "latency=/category:1500"])
    config = demo_config(faulty_shop.url, budgets=GENEROUS_BUDGETS)
    ctx = make_ctx(config, tmp_path, engines=["chromium"], devices=["desktop", "pixel-7"],
                   pages=["home", "category", "product", "search"], no_journeys=True)
    killed: list[int] = []

    def killer() -> None:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not killed:
            if any(r.kind == "finding" for r in ctx.store.records(ctx.run_id)) or time.monotonic() > deadline - 200:
                for process in _our_chromium_browsers():
                    process.kill()
                    killed.append(process.pid)
            time.sleep(0.2)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    run_stage(ctx)
    thread.join(timeout=5)
    assert killed, "the browser was never seen running"
    restarts = [f for f in findings(ctx, "browser-restart") if f.subject == "chromium"]
    assert restarts and restarts[0].data["restarts"] >= 1 and restarts[0].status == "warn"
    statuses = [f for f in findings(ctx, "http-status")]
    assert len(statuses) == 4 * 2  # every page on every profile has its result
    assert all(f.status == "pass" for f in statuses)
    # Checks that were hit by the kill either passed on retry (flaky, said so) or report an error.
    for finding in findings(ctx, "flaky"):
        assert finding.status == "warn" and finding.data["flaky"] is True and finding.data["first_error"]
    assert not findings(ctx, "page-load", "error")


def test_a_missing_engine_becomes_error_records_and_the_others_go_on(shop, tmp_path, monkeypatch):
    """A fake, and it says so: Firefox is installed here, so 'not installed' is simulated."""
    real = playwright_driver.executable_for
    monkeypatch.setattr(playwright_driver, "executable_for", lambda e: None if e == "firefox" else real(e))
    config = demo_config(shop.url, budgets=GENEROUS_BUDGETS)
    ctx = make_ctx(config, tmp_path, engines=["chromium", "firefox"], devices=["desktop"], pages=["home"],
                   no_journeys=True)
    run_stage(ctx)
    engine_errors = findings(ctx, "engine", "error")
    assert [f.subject for f in engine_errors] == ["firefox"]
    assert "apt-get install -y firefox-esr" in engine_errors[0].message
    assert [f.subject for f in findings(ctx, "http-status")] == ["home|chromium|desktop"]


def test_no_engine_at_all_is_tool_missing_with_install_commands(shop, tmp_path, monkeypatch):
    """A fake, and it says so: the engines are installed here, so their absence is simulated."""
    monkeypatch.setattr(playwright_driver, "executable_for", lambda e: None)
    monkeypatch.setattr(webkit_driver, "missing_parts", lambda: ["WebKitWebDriver"])
    config = demo_config(shop.url)
    ctx = make_ctx(config, tmp_path, devices=["desktop"], pages=["home"], no_journeys=True)
    with pytest.raises(ToolMissing) as err:
        run_stage(ctx)
    assert err.value.exit_code == EXIT_CANNOT_MEASURE
    text = str(err.value)
    assert "apt-get install -y chromium" in text and "webkit2gtk-driver xvfb" in text and "firefox-esr" in text


def test_an_unreachable_target_cannot_be_measured(tmp_path):
    config = demo_config("http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(TargetUnreachable):
        run_stage(make_ctx(config, tmp_path))


FLAKY_CONFIG = """
[target]
base_url = "{url}"
[browsers]
engines = ["chromium", "webkit"]
devices = ["desktop"]
retries = 1
[[journeys]]
name = "flaky"
engines = ["chromium"]  # one engine, so its first visit is the server's first
steps = [{{ goto = "/flaky.html" }}, {{ click = "#go", timeout_ms = 1500 }}]
[[journeys]]
name = "py"
python = "my_journeys:heading_says_contact"
[[journeys]]
name = "py-webkit"
python = "my_journeys:heading_says_contact"
engines = ["webkit"]
"""

PY_JOURNEYS = '''
async def heading_says_contact(page, base_url, secrets):
    await page.goto(base_url + "/index.html")
    heading = await page.locator("h1").inner_text()
    assert "Contact" in heading, heading
'''


def test_flaky_journeys_are_told_apart_and_python_journeys_run_on_playwright_only(tmp_path):
    site = write_site(tmp_path / "site")
    (tmp_path / "my_journeys.py").write_text(PY_JOURNEYS)
    with serve(site) as (url, hits):
        path = tmp_path / "siteward.toml"
        path.write_text(FLAKY_CONFIG.format(url=url))
        ctx = make_ctx(load_config(path), tmp_path / "out")
        run_stage(ctx)
    by_subject = {f.subject: f for f in findings(ctx, "journey")}
    flaky = by_subject["flaky|chromium|desktop"]
    assert flaky.status == "warn" and flaky.data["flaky"] is True and flaky.data["attempts"] == 2
    assert "passed on retry" in flaky.message and "#go" in flaky.message
    assert by_subject["py|chromium|desktop"].status == "pass"
    skipped = by_subject["py|webkit|desktop"]
    assert skipped.status == "skip" and "WebDriver" in skipped.message
    assert by_subject["py-webkit|webkit|desktop"].status == "skip"
    assert hits["/flaky.html"] == 2
    assert "flaky|webkit|desktop" not in by_subject
    assert any(m.metric == "step_ms" and m.tags["journey"] == "py" for m in records(ctx, "measurement"))


def test_a_check_that_outlives_its_timeout_is_an_error_and_the_sweep_goes_on(faulty_shop, tmp_path):
    faulty_shop.set_faults(["latency=/product:40000"])  # the product page answers after 40 s
    config = demo_config(faulty_shop.url, budgets=GENEROUS_BUDGETS,
                         browsers={"timeout_s": 15, "retries": 0, "concurrency": 2})
    ctx = make_ctx(config, tmp_path, engines=["chromium", "webkit"], devices=["desktop"],
                   pages=["product", "home", "search"], no_journeys=True)
    run_stage(ctx)
    errors = {f.subject: f.message for f in findings(ctx, "page-load", "error")}
    assert set(errors) == {"product|chromium|desktop", "product|webkit|desktop"}
    assert all("tim" in message.lower() for message in errors.values()), errors
    passed = {f.subject for f in findings(ctx, "http-status", "pass")}
    assert {"home|chromium|desktop", "home|webkit|desktop", "search|webkit|desktop"} <= passed
