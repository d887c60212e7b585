"""report.html opened from disk in real headless Chromium: offline, no console error, inert target text."""

from __future__ import annotations

import pytest

from report_records import artifact, budget, finding, latency, measurement
from reports import render_run

pytestmark = pytest.mark.browser

SECTIONS = ("verdict", "failures", "regressions", "budgets", "matrix", "visual", "lighthouse", "load",
            "findings", "trends", "config")
EVIL = "<script>window.__pwned=1;alert(1)</script><img src=x onerror=\"window.__pwned=2\">"


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()


def open_report(chromium, path):
    """Open a report offline; collect console messages, page errors, dialogs and any non-file request."""
    context = chromium.new_context(offline=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    seen = {"console": [], "errors": [], "dialogs": [], "requests": []}
    page.on("console", lambda m: seen["console"].append((m.type, m.text)))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.on("request", lambda r: None if r.url.startswith("file://") else seen["requests"].append(r.url))
    page.goto(path.as_uri(), wait_until="load", timeout=60_000)
    return context, page, seen


def _full_run(runs):
    """A run with every kind of evidence the stages produce, and five earlier passing runs (a pooled baseline)."""
    for seed in range(1, 6):
        runs.run([measurement(samples=latency(seed), engine="chromium", device="desktop", page="home")], verdict="pass")
    run_id = runs.run([], stages=["browsers", "audits", "loadtests"])
    records = []
    for engine in ("chromium", "firefox", "webkit"):
        for device in ("desktop", "pixel-7"):
            tags = {"engine": engine, "device": device, "page": "home"}
            subject = f"home|{engine}|{device}"
            shot = runs.image(run_id, f"screens/{engine}-{device}-home.png", size=(400, 1400))
            records += [artifact("screenshot", shot, subject=subject, **tags),
                        measurement(samples=latency(7, shift=0.3), subject=subject, **tags),
                        finding("pass", "overflow", subject=subject, **tags)]
    current = "screens/chromium-desktop-home.png"
    base = runs.image(run_id, "diffs/home/chromium-desktop-baseline.png", size=(400, 1400), colour=(20, 20, 200))
    diff = runs.image(run_id, "diffs/home/chromium-desktop.png", size=(400, 1400), colour=(250, 250, 250))
    records.append(budget(0.02, 0.001, metric="visual_diff_ratio", unit="ratio", check="visual-diff",
                          subject="home|chromium|desktop", engine="chromium", device="desktop", page="home")
                   .model_copy(update={"evidence": [current, base, diff]}))
    lh = runs.write_json(run_id, "lighthouse/home-mobile.report.html", {})
    records += [
        measurement("lighthouse_performance", [0.91, 0.93, 0.92], stage="audits", subject="home|mobile",
                    unit="score", higher_is_better=True, page="home", preset="mobile"),
        measurement("lcp_ms", [1800, 1900, 1850], stage="audits", subject="home|mobile", page="home", preset="mobile"),
        artifact("lighthouse-html", lh, stage="audits", subject="home|mobile", media_type="text/html", page="home", preset="mobile"),
    ]
    series = {"t": list(range(60)), "users": [min(i, 30) for i in range(60)], "rps": [i * 0.8 for i in range(60)],
              "p50_ms": [40 + i % 5 for i in range(60)], "p95_ms": [90 + i % 7 for i in range(60)],
              "p99_ms": [150 + i % 11 for i in range(60)], "errors_per_s": [0] * 55 + [1] * 5}
    records += [
        artifact("load-series", runs.write_json(run_id, "load/series.json", series), stage="loadtests",
                 subject="peak x10", media_type="application/json"),
        measurement("p95_ms", latency(3, median=95), stage="loadtests", subject="GET /", route="/"),
        measurement("rps", [24.0], stage="loadtests", subject="GET /", unit="rps", higher_is_better=True, route="/"),
        budget(95, 300, metric="p95_ms", stage="loadtests", subject="GET /", check="threshold", route="/"),
    ]
    for record in records:
        runs.store.add(run_id, record)
    return run_id


def test_report_opens_offline_with_every_section_charts_and_thumbnails(store, runs, chromium):
    outcome = render_run(store, _full_run(runs))
    assert outcome.verdict == "fail"  # the visual diff and the fcp regression
    context, page, seen = open_report(chromium, outcome.paths["report.html"])
    try:
        for section in SECTIONS:
            assert page.locator(f"#{section}").is_visible(), section
        assert page.locator("#load canvas").count() >= 3  # uPlot drew request rate, latency and errors
        assert page.locator("#matrix tbody tr").count() == 3
        assert page.locator("#visual .panes img").count() == 3
        assert page.locator("#lighthouse a[href$='home-mobile.report.html']").count() == 1
        assert page.locator("#regressions .status.regression").count() >= 1
        # Lazy thumbnails load once scrolled into view; they are small JPEGs from the run dir.
        thumb = page.locator("#matrix img").first
        thumb.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle(), timeout=30_000)
        assert thumb.get_attribute("loading") == "lazy" and thumb.get_attribute("src").startswith("thumbs/")
        page.mouse.wheel(0, 20_000)
        page.wait_for_timeout(500)
        errors = [text for kind, text in seen["console"] if kind in ("error", "warning")]
        assert errors == [] and seen["errors"] == []
        assert seen["requests"] == []  # nothing fetched from outside the run directory
        srcs = page.eval_on_selector_all("[src]", "els => els.map(e => e.getAttribute('src'))")
        assert all(not s.startswith(("http:", "https:", "//")) for s in srcs)
    finally:
        context.close()


def test_script_from_the_target_cannot_run_in_the_report(store, runs, chromium):
    records = [
        finding("fail", "page-title", subject=f"home|{EVIL}", message=f"title was {EVIL}", page=EVIL, engine=EVIL,
                device="desktop", evidence=["javascript:alert(1)", "../../etc/passwd"]),
        measurement(EVIL, [1.0] * 5, subject=EVIL, route=EVIL, stage="loadtests"),
        artifact("lighthouse-html", "javascript:alert(1)", stage="audits", subject=EVIL, page=EVIL, preset="mobile"),
        artifact("screenshot", "javascript:alert(2)", subject=EVIL, engine=EVIL, device="desktop"),
        artifact("load-series", "load/</script>.json", stage="loadtests", subject=EVIL),
    ]
    run_id = runs.run(records, target=EVIL)
    outcome = render_run(store, run_id)
    context, page, seen = open_report(chromium, outcome.paths["report.html"])
    try:
        page.wait_for_timeout(500)
        assert page.evaluate("window.__pwned") is None
        assert seen["dialogs"] == [] and seen["errors"] == []
        assert EVIL in page.locator("#failures").inner_text()  # shown as text, not run
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        assert hrefs and not [h for h in hrefs if h.lower().startswith("javascript:")]
        assert page.locator("#findings a", has_text="etc/passwd").get_attribute("href") == "#inert-link"
        assert page.locator("#load .status.error").count() == 1  # the unreadable series is a note, not a crash
    finally:
        context.close()
