"""A second host on this machine: a network namespace of our own, joined to this one by a veth
pair (iproute2 from Debian), for tests and benchmarks of what crosses a network.

This side is 10.231.N.1, the namespace's side 10.231.N.2 (N from our pid, so concurrent test
runs do not clash). A server that the other host must reach listens on this side's address.
Only what we created (by its unique name) is deleted again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True)
class SecondHost:
    namespace: str
    here: str  # this side's address
    there: str  # the namespace's address

    def command(self, argv: list[str]) -> list[str]:
        """`argv` run inside the namespace."""
        return ["ip", "netns", "exec", self.namespace, *argv]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def can_make_hosts() -> str | None:
    """Why no namespace can be made here, or None."""
    if shutil.which("ip") is None:
        return "iproute2 (ip) is not installed"
    if os.geteuid() != 0:
        return "network namespaces need root"
    return None


@contextmanager
def second_host() -> Iterator[SecondHost]:
    tag = os.getpid() % 100_000
    subnet = os.getpid() % 250 + 1
    host = SecondHost(f"siteward-{tag}", f"10.231.{subnet}.1", f"10.231.{subnet}.2")
    near, far = f"swv{tag}a", f"swv{tag}b"
    _ip("netns", "add", host.namespace)
    try:
        _ip("link", "add", near, "type", "veth", "peer", "name", far)
        _ip("link", "set", far, "netns", host.namespace)
        _ip("addr", "add", f"{host.here}/30", "dev", near)
        _ip("link", "set", near, "up")
        _ip("netns", "exec", host.namespace, "ip", "addr", "add", f"{host.there}/30", "dev", far)
        _ip("netns", "exec", host.namespace, "ip", "link", "set", far, "up")
        _ip("netns", "exec", host.namespace, "ip", "link", "set", "lo", "up")
        yield host
    finally:
        subprocess.run(["ip", "link", "del", near], capture_output=True, timeout=30)  # its peer goes with it
        subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True, timeout=30)
