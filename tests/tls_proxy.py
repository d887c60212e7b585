"""A staging-like front for the demo shop in tests: HTTPS with a self-signed certificate and
HTTP basic auth, forwarding to the real shop (uvicorn + Starlette + httpx, as the shop runs).

Test infrastructure only: a real TLS server (Python's ssl through uvicorn) and a real 401
challenge, so browsers, Lighthouse, the page audits and Locust meet what a staging site shows.
"""

from __future__ import annotations

import base64
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length", "host"}


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, its own CA (so it can be a ca_bundle too)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "90", "-subj", "/CN=siteward staging test", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True, timeout=60)
    return cert, key


def _app(upstream: str, username: str, password: str) -> Starlette:
    expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    client = httpx.AsyncClient(base_url=upstream, timeout=30)

    async def forward(request: Request) -> Response:
        if request.headers.get("authorization") != expected:
            return Response("authentication required", status_code=401,
                            headers={"WWW-Authenticate": 'Basic realm="staging"'})
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS | {"authorization"}}
        answer = await client.request(request.method, request.url.path, params=request.url.query,
                                      headers=headers, content=await request.body())
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS}
        return Response(answer.content, status_code=answer.status_code, headers=kept)

    methods = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"]
    return Starlette(routes=[Route("/{path:path}", forward, methods=methods)])


@contextmanager
def staging_front(upstream: str, folder: Path, *, username: str, password: str) -> Iterator[tuple[str, Path]]:
    """Serve the front on a free port; yields (https base URL, the certificate's PEM)."""
    cert, key = self_signed_certificate(folder)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    config = uvicorn.Config(_app(upstream, username, password), host="127.0.0.1", port=port, log_level="warning",
                            ssl_certfile=str(cert), ssl_keyfile=str(key))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"https://127.0.0.1:{port}", cert
    finally:
        server.should_exit = True
        thread.join(timeout=10)
