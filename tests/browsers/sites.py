"""Tiny real websites served from a temp dir on 127.0.0.1 (a shop the project has never seen)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

from local_server import serve_locally

HEAD = '<meta charset="utf-8"><meta name="viewport" content="width=device-width"><link rel="icon" href="data:,">'

CONTACT = f"""<!doctype html><html><head>{HEAD}<title>Contact</title></head><body>
<h1>Contact the workshop</h1>
<form id="contact" action="/thanks.html" method="get">
  <label>Name <input id="name" name="name"></label>
  <label>Topic <select name="topic"><option value="general">General</option>
    <option value="billing">Billing question</option></select></label>
  <label><input type="checkbox" id="agree" name="agree"> I agree</label>
  <button type="submit">Send   message</button>
</form></body></html>"""

THANKS = f"""<!doctype html><html><head>{HEAD}<title>Thanks</title></head><body>
<h1 class="headline">Thanks, we got it</h1><p>We got your <b>message</b> and reply within a day.</p>
<script>document.body.dataset.query = location.search;</script></body></html>"""

FLAKY = f"""<!doctype html><html><head>{HEAD}</head><body><h1>Sometimes</h1>__BUTTON__</body></html>"""


def write_site(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "index.html").write_text(CONTACT)
    (root / "thanks.html").write_text(THANKS)
    return root


class _Handler(SimpleHTTPRequestHandler):
    hits: dict[str, int]

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self.path.split("?")[0]
        self.hits[path] = self.hits.get(path, 0) + 1
        if path == "/flaky.html":
            # Really flaky: the first visit lacks the button, every later one has it.
            button = "" if self.hits[path] == 1 else '<button id="go">Go</button>'
            body = FLAKY.replace("__BUTTON__", button).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


@contextmanager
def serve(root: Path) -> Iterator[tuple[str, dict[str, int]]]:
    hits: dict[str, int] = {}
    handler = type("Handler", (_Handler,), {"hits": hits})
    with serve_locally(partial(handler, directory=str(root))) as url:
        yield url, hits
