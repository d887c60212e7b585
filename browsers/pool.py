"""Browser capacity past this machine ([[browsers.remote]]): Playwright browser servers (Chromium,
Firefox) and WebKitWebDrivers or a Selenium Grid (WebKit) on other hosts.

Each engine's checks go to an `EnginePool`: this machine's browser plus the remote endpoints of
that engine. A new session goes to the member with the most free slots (this machine's slots
are `[browsers] concurrency`, shared by its engines; a remote endpoint has its own `slots`).
The pool has the interface of one engine, so the sweep needs no second code path.

A remote endpoint that cannot be reached when the sweep starts is left out with a warning;
one that dies mid-sweep is found when a check on it breaks and it cannot be reached again
(no new connection; WebDriver: no answer to its status request): it is marked lost, the check runs again on another member, which is
not counted as a retry of the check (the site did nothing wrong), and the sweep says which
checks moved. Every record says where its check ran and on which browser version.
"""

from __future__ import annotations

import asyncio
import json
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from browsers.devices import DeviceProfile
from browsers.playwright_driver import CHROMIUM_PATH, FIREFOX_PATH, PlaywrightEngine
from browsers.webkit_driver import DESKTOP_PROBE, WebKitEngine, webdriver_answers
from siteward.page_session import CHROMIUM_ARGS
from siteward.records import Finding

LOCAL = "local"
RECONNECT_TIMEOUT_S = 10.0

# Where the member that served a check's latest session is written. A box set by the check's
# task: tasks that asyncio.wait_for starts inside it copy the context, and so share the box.
_served: ContextVar["dict[str, Member] | None"] = ContextVar("siteward_served_by", default=None)


def track_served() -> dict[str, "Member"]:
    """Call in a check's own task, before its session is made: box["member"] is then the member used."""
    box: dict[str, Member] = {}
    _served.set(box)
    return box


def server_launch_options(engine: str) -> dict[str, Any]:
    """What `siteward browsers serve` launches: the Debian builds, as this machine does."""
    if engine == "chromium":
        return {"executablePath": CHROMIUM_PATH, "args": list(CHROMIUM_ARGS), "headless": True}
    return {"executablePath": FIREFOX_PATH, "channel": "moz-firefox", "headless": True}


def endpoint_label(endpoint: str) -> str:
    """host:port of an endpoint (no path, no credentials): the `host` tag of its records."""
    parts = urlsplit(endpoint)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


class RemotePlaywrightEngine(PlaywrightEngine):
    """A browser on a Playwright browser server: connected, not launched."""

    def __init__(self, playwright, engine: str, endpoint: str, **kwargs):
        super().__init__(playwright, engine, **kwargs)
        self.endpoint = endpoint

    async def _launch(self):
        browser_type = self.playwright.chromium if self.engine == "chromium" else self.playwright.firefox
        return await browser_type.connect(self.endpoint, timeout=self.launch_timeout_s * 1000)

    async def reachable(self) -> bool:
        """Still connected, or a new connection succeeds."""
        if self.connected():
            return True
        try:
            await asyncio.wait_for(self.browser(), timeout=RECONNECT_TIMEOUT_S)
            return True
        except Exception:  # noqa: BLE001 - any failure to reconnect means the endpoint is gone
            return False


class RemoteWebKitEngine(WebKitEngine):
    """WebKit on another host's WebKitWebDriver (one session at a time: `siteward browsers serve`
    starts one per slot) or on a Selenium Grid: sessions are made there, nothing starts here."""

    def __init__(self, endpoint: str, **kwargs):
        super().__init__(**kwargs)
        self.endpoint = endpoint.rstrip("/")

    async def start(self) -> str:
        session = await self.new_session(DESKTOP_PROBE)
        await session.close()
        return self.version

    def _launch(self, device: DeviceProfile, starting: list) -> Any:
        return self._driver(self.endpoint, self._options(device), device)

    def _take(self, device: DeviceProfile, starting: list) -> Any:
        """The idle session of this device, else a new one after the idle sessions of other devices
        are ended (a WebKitWebDriver holds one session)."""
        with self._lock:
            pool = self._idle.setdefault(device.name, [])
            driver = pool.pop() if pool else None
            others = [d for name, idle in self._idle.items() if name != device.name for d in idle]
            if driver is None:
                for idle in self._idle.values():
                    idle.clear()
        if driver is not None:
            return driver
        for other in others:
            self._discard(other)
        return self._launch(device, starting)

    def _abandon(self, driver: Any) -> None:
        self._discard(driver)

    def connected(self) -> bool:
        return True  # known only by asking: reachable()

    async def reachable(self) -> bool:
        """The WebDriver endpoint answers its status request."""
        return await asyncio.to_thread(webdriver_answers, self.endpoint, RECONNECT_TIMEOUT_S / 2)


@dataclass
class Host:
    """Slots of one machine: this one (shared by its engines) or one remote endpoint."""

    label: str
    slots: int
    busy: int = 0


@dataclass
class Member:
    engine: Any  # PlaywrightEngine, RemotePlaywrightEngine or WebKitEngine
    host: Host
    version: str = ""
    lost: str | None = None  # why it was left out
    moved: list[str] = field(default_factory=list)  # checks that broke on it when it was lost

    @property
    def remote(self) -> bool:
        return self.host.label != LOCAL

    def tags(self) -> dict[str, str]:
        return {"host": self.host.label, "browser_version": self.version}


class EnginePool:
    """One engine's members; behaves as one engine (start, new_session, restarts, close)."""

    def __init__(self, name: str, members: list[Member]):
        self.engine = name
        self.members = members

    @property
    def restarts(self) -> int:
        return sum(getattr(m.engine, "restarts", 0) for m in self.members)

    @property
    def version(self) -> str:
        return next((m.version for m in self.members if m.version and not m.lost), "")

    def alive(self) -> list[Member]:
        return [m for m in self.members if not m.lost]

    async def start(self) -> str:
        """Start every member; remote ones that fail are left out. Raises when none started."""
        results = await asyncio.gather(*(asyncio.wait_for(m.engine.start(), timeout=120) for m in self.members),
                                       return_exceptions=True)
        first_error: BaseException | None = None
        for member, result in zip(self.members, results):
            if isinstance(result, BaseException):
                first_error = first_error or result
                member.lost = f"cannot start: {_first_line(result)}"
            else:
                member.version = str(result or "")
        if not self.alive():
            raise first_error or RuntimeError(f"{self.engine}: no member")
        return self.version

    def _pick(self) -> Member:
        alive = self.alive()
        if not alive:
            raise RuntimeError(f"every {self.engine} browser host is lost: "
                               + "; ".join(f"{m.host.label}: {m.lost}" for m in self.members))
        return min(alive, key=lambda m: (m.host.busy / m.host.slots, m.remote))

    async def new_session(self, device: DeviceProfile, **kwargs):
        """A session on the member with the most free slots; a remote that refuses is lost, the next tried."""
        while True:
            member = self._pick()
            member.host.busy += 1
            try:
                session = await member.engine.new_session(device, **kwargs)
            except Exception as exc:
                member.host.busy -= 1
                if member.remote and not await self._reachable(member):
                    member.lost = f"lost mid-sweep: {_first_line(exc)}"
                    continue
                raise
            box = _served.get()
            if box is not None:
                box["member"] = member
            return _releasing(session, member.host)

    async def _reachable(self, member: Member) -> bool:
        return await member.engine.reachable()

    async def lost_during(self, member: Member | None, check: str) -> bool:
        """After a check broke on `member`: is the member gone (then the check may run elsewhere)?"""
        if member is None or not member.remote:
            return False
        if not member.lost:
            if await self._reachable(member):
                return False
            member.lost = "lost mid-sweep: its browser disconnected and a new connection was refused"
        member.moved.append(check)
        return True

    def connected(self) -> bool:
        return any(getattr(m.engine, "connected", lambda: False)() for m in self.alive())

    async def close(self) -> None:
        await asyncio.gather(*(m.engine.close() for m in self.members), return_exceptions=True)


def lost_host_findings(pools) -> list[Finding]:
    """A warning per member a pool went on without: where, why, and which checks moved."""
    found = []
    for pool in pools:
        for member in pool.members:
            if member.lost:
                moved = f"; {len(member.moved)} check(s) broke on it and ran again elsewhere:" \
                        f" {', '.join(member.moved[:10])}" if member.moved else ""
                found.append(Finding(
                    stage="browsers", subject=f"{pool.engine}@{member.host.label}", check="browser-host", status="warn",
                    severity="minor", tags={"engine": pool.engine, "host": member.host.label},
                    data={"moved": member.moved, "why": member.lost},
                    message=f"{pool.engine} at {member.host.label}: {member.lost}{moved}"))
    return found


def _releasing(session, host: Host):
    """The session, with its host slot given back when it closes (once)."""
    close = session.close
    released = False

    async def close_and_release(*args, **kwargs):
        nonlocal released
        try:
            return await close(*args, **kwargs)
        finally:
            if not released:
                released = True
                host.busy -= 1

    session.close = close_and_release
    return session


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def remote_members(playwright, endpoints, access, page_timeout_s: float) -> dict[str, list[Member]]:
    """Engine -> its remote members, from [[browsers.remote]]."""
    context_options = access.browser_context_options()
    members: dict[str, list[Member]] = {}
    for endpoint in endpoints:
        engine = RemoteWebKitEngine(endpoint.endpoint, page_timeout_s=page_timeout_s, access=access) \
            if endpoint.engine == "webkit" else \
            RemotePlaywrightEngine(playwright, endpoint.engine, endpoint.endpoint, context_options=context_options)
        members.setdefault(endpoint.engine, []).append(Member(engine, Host(endpoint_label(endpoint.endpoint), endpoint.slots)))
    return members


def launch_config(engine: str, host: str, port: int) -> str:
    """The JSON config of `playwright launch-server` for one engine."""
    return json.dumps({**server_launch_options(engine), "host": host, "port": port, "wsPath": f"/{engine}"})
