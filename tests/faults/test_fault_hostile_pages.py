"""Hostile pages are said as what they are, on every engine (issue 14, item 9).

A real local site on 127.0.0.1 whose pages open dialogs, open a popup, navigate away by
themselves, answer 200 with an empty body, never yield their main thread, or hang up in
the middle of the response. Before: the dialogs and the popup passed silently, the
self-navigating page was checked and screenshotted as another page under the first one's
name, the empty page passed, and the last two were "timed out after N s".
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest

from fault_support import findings, only_run, run_cli
from local_server import serve_locally

pytestmark = pytest.mark.browser

PAGES = {
    "/": b"<!doctype html><html lang=\"en\"><title>fine</title><main><h1>A fine page</h1></main>",
    "/dialogs": b"<!doctype html><title>dialogs</title><p>hello</p>"
                b"<script>alert('Welcome to the sale!'); confirm('Stay signed in?');</script>",
    # After load, as ad scripts do (WebKit blocks a window.open during load by itself; WebDriver's
    # hooks see only what happens after load)
    "/popup": b"<!doctype html><title>popup</title><p>hello</p>"
              b"<script>addEventListener('load', () => setTimeout(() => window.open('/offer'), 300))</script>",
    "/offer": b"<!doctype html><title>offer</title><p>an offer</p>",
    "/wander": b"<!doctype html><title>wander</title><p>first</p>"
               b"<script>addEventListener('load', () => setTimeout(() => { location.href = '/elsewhere'; }, 300))</script>",
    "/elsewhere": b"<!doctype html><title>elsewhere</title><p>another page</p>",
    "/empty": b"",
    "/spin": b"<!doctype html><title>spin</title><p>stuck</p><script>for (;;) {}</script>",
}


class Hostile(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self.path.split("?")[0]
        if path == "/cut":  # promises 100 kB, sends a few bytes, hangs up
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"<!doctype html><title>cut</title><p>the beginning of")
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        body = PAGES.get(path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")


CONFIG = """
stages = ["browsers"]

[target]
name = "hostile"
base_url = "{url}"

[results]
root = "{results}"

[browsers]
engines = ["chromium", "firefox", "webkit"]
devices = ["desktop"]
timeout_s = 12
retries = 0
settle_ms = 1000
samples = 1
timing_profiles = []
"""


def test_hostile_pages_are_reported_as_what_they_are_on_every_engine(tmp_path):
    results = tmp_path / "results"
    names = {"fine": "/", "dialogs": "/dialogs", "popup": "/popup", "wander": "/wander", "empty": "/empty",
             "spin": "/spin", "cut": "/cut"}
    with serve_locally(Hostile) as url:
        config = tmp_path / "siteward.toml"
        config.write_text(CONFIG.format(url=url, results=results) + "".join(
            f'\n[[pages]]\nname = "{name}"\npath = "{path}"\n' for name, path in names.items()))
        code, _, err = run_cli("sweep", "-c", str(config), "-q", out_dir=tmp_path / "cli", timeout=600)
    assert "Traceback" not in err, err
    history = results / "history.sqlite"
    found = findings(history, only_run(history)["id"])

    def of(page: str, engine: str, check: str) -> dict:
        matches = [f for f in found if f["subject"] == f"{page}|{engine}|desktop" and f["check"] == check]
        assert matches, (page, engine, check, sorted({(f["subject"], f["check"]) for f in found}))
        return matches[0]

    for engine in ("chromium", "firefox", "webkit"):
        dialogs = of("dialogs", engine, "dialogs")
        assert dialogs["status"] == "warn" and "Welcome to the sale!" in dialogs["message"], dialogs
        assert "Stay signed in?" in dialogs["message"], dialogs
        popup = of("popup", engine, "popups")
        assert popup["status"] == "warn" and "/offer" in popup["message"], popup
        wander = of("wander", engine, "self-navigation")
        assert wander["status"] == "warn" and wander["message"].endswith(f"screenshot are of {url}/elsewhere"), wander
        assert of("empty", engine, "empty-document")["status"] == "fail"
        assert of("fine", engine, "empty-document")["status"] == "pass"
        bad = [(f["check"], f["status"], f["message"]) for f in found
               if f["subject"] == f"fine|{engine}|desktop" and f["status"] not in ("pass", "skip")]
        assert not bad
        spin = of("spin", engine, "page-load")
        assert spin["status"] == "error" and "main thread is unresponsive" in spin["message"], spin
        cut = of("cut", engine, "page-load")
        assert cut["status"] == "error" and "connection closed mid-response" in cut["message"], cut
    assert code == 1
