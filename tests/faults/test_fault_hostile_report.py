"""Hostile strings from the target are inert in the report.

A tiny site on 127.0.0.1 (http.server in a thread) whose title, console messages, failing
requests and links carry script payloads, javascript: URLs, a 20 000-character string,
lone UTF-16 surrogates and invalid UTF-8 bytes. It is swept by the real browsers stage
(Chromium only), then report.html is opened in headless Chromium: no dialog fires, no
injected element or handler exists, the long text stays inside the page width.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from fault_support import findings, only_run, run_cli
from local_server import serve_locally

pytestmark = pytest.mark.browser

PAYLOAD = '<script>alert("pwned-script")</script><img src=x onerror="alert(\'pwned-img\')">'
LONG = "W" * 20_000
HOSTILE_PAGE = (
    "<!doctype html><html><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\">"
    "<title>" + PAYLOAD.replace("<", "&lt;") + LONG + "</title></head><body>"
    "<h1 data-testid=\"product-card\">hostile \xff\xfe bytes</h1>"
    "<a href=\"javascript:alert('pwned-link')\">a link</a>"
    "<img src=\"/missing-" + "%3Cscript%3Ealert(1)%3C/script%3E" + "\" alt=\"x\">"
    "<script>"
    "console.error('" + PAYLOAD.replace("'", "\\'").replace("</script>", "<\\/script>") + " javascript:alert(1) "
    "\\ud800 lone surrogate " + LONG + "');"
    "fetch('/api/" + "%22%3E%3Cscript%3Ealert(2)%3C/script%3E" + "');"
    "</script></body></html>"
).encode("latin-1")  # \xff\xfe stay raw bytes: invalid UTF-8 in a page that says it is UTF-8


class _Hostile(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path in ("/", "/index.html"):
            body, status = HOSTILE_PAGE, 200
        else:
            body, status = b"<h1>gone</h1>", 404
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


CONFIG = """
[target]
base_url = "http://127.0.0.1:1"
[[pages]]
name = "hostile"
path = "/"
required = ["[data-testid=product-card]"]
[browsers]
engines = ["chromium"]
devices = ["desktop"]
[[journeys]]
name = "hostile-journey"
steps = [
  { goto = "/" },
  { expect_text = "h1", text = "never there", timeout_ms = 1500 },
]
"""


def test_hostile_target_strings_are_inert_in_the_report(tmp_path):
    from playwright.sync_api import sync_playwright

    config = tmp_path / "siteward.toml"
    config.write_text(CONFIG)
    results = tmp_path / "results"
    with serve_locally(_Hostile) as url:
        code, _, err = run_cli("sweep", "-c", str(config), "--target", url, "--results", str(results), "-q",
                               out_dir=tmp_path / "cli")
    assert "Traceback" not in err and "internal error" not in err, err
    run = only_run(results / "history.sqlite")
    found = findings(results / "history.sqlite", run["id"])
    console = [f for f in found if f["check"] == "console-errors"]
    assert console and console[0]["status"] == "fail", found
    assert "pwned-script" in console[0]["message"], "the payload really reached the records"
    assert code == 1

    report = Path(run["run_dir"]) / "report.html"
    html = report.read_text(encoding="utf-8")  # valid UTF-8, whatever the target sent
    assert "pwned" in html  # the payload is shown, as text
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-background-networking",
                                          "--disable-component-update"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(report.as_uri(), wait_until="load", timeout=60_000)
            page.wait_for_timeout(500)
            # Open every collapsed section, so hidden content gets its chance to run too.
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            page.wait_for_timeout(300)
            injected = page.evaluate("""() => ({
                imgs: [...document.querySelectorAll('img')].filter(i => i.getAttribute('src') === 'x').length,
                handlers: [...document.querySelectorAll('*')].filter(e =>
                    [...e.attributes].some(a => a.name.startsWith('on'))).length,
                scripts: [...document.querySelectorAll('script')].filter(s => s.textContent.includes('pwned')).length,
                jsLinks: [...document.querySelectorAll('a[href]')].filter(a =>
                    a.getAttribute('href').trim().toLowerCase().startsWith('javascript:')).length,
                overflow: document.documentElement.scrollWidth - window.innerWidth,
            })""")
        finally:
            browser.close()
    assert dialogs == []
    assert injected["imgs"] == 0 and injected["handlers"] == 0 and injected["scripts"] == 0
    assert injected["jsLinks"] == 0
    assert injected["overflow"] <= 0, "the 20 000-character strings push the page wider than the window"
    assert LONG not in html, "very long target strings are truncated"
