"""A static page on loopback that is never the bottleneck: to measure the load generator itself.

nginx (Debian `nginx-light`) when installed, else a minimal asyncio HTTP/1.1 server (keep-alive,
one fixed response) in a subprocess. Used by benchmarks/bench_load.py and the saturation test:
against it, the requests/s reached are the generator's ceiling on this machine.

    python -m loadtests.calibrate            # serve until Ctrl-C, print the URL
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PAGE = b"<!doctype html><title>static</title><p>" + b"siteward calibration page. " * 20 + b"</p>\n"
NGINX_CANDIDATES = ("/usr/sbin/nginx", "nginx")

NGINX_CONF = """\
worker_processes 1;
daemon off;
master_process off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    open_file_cache max=16;
    server {{
        listen 127.0.0.1:{port};
        root {root}/www;
        location / {{ index index.html; }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nginx_binary() -> str | None:
    for candidate in NGINX_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def _wait_listening(port: int, proc: subprocess.Popen, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"static server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("static server did not start listening")


@contextmanager
def static_target(prefer_nginx: bool = True) -> Iterator[tuple[str, str]]:
    """(url, server name) of a static page on loopback for as long as the block runs."""
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="siteward-static-") as root:
        nginx = nginx_binary() if prefer_nginx else None
        if nginx:
            os.chmod(root, 0o755)  # nginx may drop privileges when started as root
            (Path(root) / "www").mkdir(mode=0o755)
            (Path(root) / "tmp").mkdir(mode=0o777)
            (Path(root) / "www" / "index.html").write_bytes(PAGE)
            conf = Path(root) / "nginx.conf"
            conf.write_text(NGINX_CONF.format(root=root, port=port))
            cmd, name = [nginx, "-c", str(conf), "-p", root], "nginx"
        else:
            cmd, name = [sys.executable, "-m", "loadtests.calibrate", "--port", str(port)], "asyncio"
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        try:
            _wait_listening(port, proc)
            yield f"http://127.0.0.1:{port}", name
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class _Fixed(asyncio.Protocol):
    """Answers every request on a keep-alive connection with the same page."""

    RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
                + str(len(PAGE)).encode() + b"\r\n\r\n" + PAGE)

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        count = self.buffer.count(b"\r\n\r\n")  # GETs without bodies: one blank line each
        if count:
            self.buffer = self.buffer[self.buffer.rfind(b"\r\n\r\n") + 4:]
            self.transport.write(self.RESPONSE * count)


async def _serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(_Fixed, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> None:
    if "--port" in argv:
        asyncio.run(_serve(int(argv[argv.index("--port") + 1])))
        return
    with static_target() as (url, name):
        print(f"static calibration page ({name}) at {url}; Ctrl-C to stop", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main(sys.argv[1:])
