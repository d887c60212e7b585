"""A compressed response body is bounded by what it decompresses to (issue 14, item 8).

A real HTTP server on 127.0.0.1 answers with 100 KB of gzip that inflates to 100 MB of
zeros; the page audits' fetch stops at 10 MB with a message instead of holding it all.
"""

from __future__ import annotations

import gzip
from http.server import BaseHTTPRequestHandler

import pytest

from audits.gather import MAX_BODY_BYTES, fetch, make_client
from local_server import serve_locally

BOMB = gzip.compress(b"\0" * 100_000_000, compresslevel=9)


class _Bomb(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(BOMB)))
        self.end_headers()
        self.wfile.write(BOMB)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def bomb_url():
    with serve_locally(_Bomb) as url:
        yield url + "/"


def test_a_gzip_bomb_is_read_only_up_to_the_bound(bomb_url):
    assert len(BOMB) < 200_000 and MAX_BODY_BYTES < 100_000_000
    with make_client(30) as client:
        fetched, text = fetch(client, bomb_url, read_body=True)
    assert fetched.error and "larger than 10 MB once decompressed" in fetched.error
    assert text == ""
