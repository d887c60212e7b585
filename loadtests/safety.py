"""Who may receive load: checked before a single request is sent.

Loopback is allowed by default (config.load.allow_hosts). Any other host must be listed
explicitly (config or --allow-host) AND confirmed (--i-own-this-host): load traffic at a
host you do not own is an attack, however well meant.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from siteward.errors import UnsafeTarget

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize(host: str) -> str:
    """'http://Shop.example.com:8080/x' or 'shop.example.com' -> 'shop.example.com'."""
    host = host.strip()
    if "//" in host:
        host = urlsplit(host).hostname or ""
    elif host.count(":") == 1:  # host:port (an IPv6 address has more colons)
        host = host.split(":")[0]
    return host.strip("[]").rstrip(".").lower()


def check_target(base_url: str, allow_hosts: Iterable[str], *, confirmed: bool) -> str:
    """The target's host if load may go there; else raise UnsafeTarget with what to do."""
    host = normalize(urlsplit(base_url).hostname or "")
    if not host:
        raise UnsafeTarget(f"load target {base_url!r} has no host")
    allowed = {normalize(h) for h in allow_hosts}
    if host in allowed and is_loopback(host):
        return host
    if host not in allowed:
        raise UnsafeTarget(
            f"refusing to send load to {host}: it is not on the allow list ({', '.join(sorted(allowed)) or 'empty'})",
            hint=f"only load hosts you own: add it with --allow-host {host} --i-own-this-host "
                 f"(or load.allow_hosts in the config plus --i-own-this-host)")
    if not confirmed:
        raise UnsafeTarget(
            f"refusing to send load to {host} without confirmation: it is not a loopback address",
            hint="if you own this host and may load it, add --i-own-this-host")
    return host
