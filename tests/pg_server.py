"""A real PostgreSQL server from Debian's packages, in a temporary directory, for the tests of
the shared history. scripts/setup.sh installs the package; nothing here is a fake.

The server listens on 127.0.0.1 only, with password (SCRAM) authentication for TCP, so the
tests go through the same path a CI job does. As root, initdb and the server run as the
`postgres` user the package created (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

USER = "siteward"
PASSWORD = "pg-test-secret-7c1e"
START_TIMEOUT_S = 60


def bin_dir() -> Path:
    """Debian keeps the server programs under /usr/lib/postgresql/<major>/bin (newest wins)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(Path(p).parts[4]))
    if not found:
        raise RuntimeError("PostgreSQL's server is not installed: run scripts/setup.sh (Debian package postgresql)")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    directory: Path
    port: int
    process: subprocess.Popen

    def url(self, database: str = "postgres", *, password: bool = True) -> str:
        secret = f":{PASSWORD}" if password else ""
        return f"postgresql://{USER}{secret}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database: its name."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # smart shutdown: SIGTERM to the postmaster we started
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.directory, ignore_errors=True)


def _as_server_user() -> dict:
    """Popen arguments that run a program as the `postgres` user when we are root (our own child, so
    terminate() reaches the postmaster itself)."""
    return {"user": "postgres", "group": "postgres", "extra_groups": []} if os.geteuid() == 0 else {}


def start_postgres() -> PostgresServer:
    programs = bin_dir()
    directory = Path(tempfile.mkdtemp(prefix="siteward-pg-test-"))
    data, sockets = directory / "data", directory / "sockets"
    sockets.mkdir()
    (directory / "pwfile").write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
        shutil.chown(sockets, "postgres")
        shutil.chown(directory / "pwfile", "postgres")
    subprocess.run([str(programs / "initdb"), "-D", str(data), "-U", USER, "--auth-local=trust",
                    "--auth-host=scram-sha-256", f"--pwfile={directory / 'pwfile'}", "-E", "UTF8", "--no-sync"],
                   check=True, capture_output=True, timeout=120, cwd=directory, **_as_server_user())
    port = _free_port()
    with open(directory / "server.log", "wb") as log:
        process = subprocess.Popen(
            [str(programs / "postgres"), "-D", str(data), "-p", str(port), "-k", str(sockets),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=60"],
            stdout=subprocess.DEVNULL, stderr=log, cwd=directory, **_as_server_user())
    server = PostgresServer(directory, port, process)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (directory / "server.log").read_text(errors="replace")
            server.stop()
            raise RuntimeError(f"PostgreSQL did not start: {log[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.1)
    else:
        server.stop()
        raise RuntimeError(f"PostgreSQL did not listen on port {port} within {START_TIMEOUT_S} s")
    _wait_until_ready(server)
    return server


def _wait_until_ready(server: PostgresServer) -> None:
    import psycopg

    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            with psycopg.connect(server.url(), connect_timeout=5):
                return
        except psycopg.OperationalError:  # "the database system is starting up"
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
