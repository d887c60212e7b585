"""A real HTTP server on 127.0.0.1 for as long as a `with` block runs (tests' own small sites)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer


@contextmanager
def serve_locally(handler: Callable) -> Iterator[str]:
    """Serve `handler` (a BaseHTTPRequestHandler class or factory) on a free port; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)  # daemon handler threads: a stuck one never blocks exit
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
