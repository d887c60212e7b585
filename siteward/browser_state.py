"""Browser state a journey leaves, carried to every engine and to Lighthouse alike.

State = cookies (with their expiry) + localStorage + sessionStorage of the shop's origins.
It is stored as Playwright's storage_state JSON with one addition per origin,
"sessionStorage", plus when it was captured and on which engine. Each engine applies it
the same way before the measured navigation: cookies first, then storage written by
script on the origin (a local blank page where the driver can answer it, else any page
of the origin), so a client-rendered shop that reads its session from document.cookie or
localStorage sees it on the very first load.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# A URL on the shop's origin where state is written before the measured navigation.
STATE_PATH = "/__siteward_state__"
STATE_PAGE = "<!doctype html><title>siteward state</title>"

READ_STORAGE = r"""
() => {
  const read = (store) => { try { return Object.keys(store).map((name) => ({ name, value: store.getItem(name) })); }
                            catch (e) { return []; } };
  return { origin: location.origin, localStorage: read(localStorage), sessionStorage: read(sessionStorage) };
}
"""
WRITE_STORAGE = r"""
(items) => {
  for (const { name, value } of items.localStorage || []) localStorage.setItem(name, value);
  for (const { name, value } of items.sessionStorage || []) sessionStorage.setItem(name, value);
  return true;
}
"""


def same_page(final_url: str, requested_url: str) -> bool:
    """Same origin, path and query (a trailing slash and the fragment do not count)."""
    final, requested = urlsplit(final_url), urlsplit(requested_url)
    return (final.netloc, final.path.rstrip("/") or "/", final.query) == \
        (requested.netloc, requested.path.rstrip("/") or "/", requested.query)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class BrowserState:
    cookies: list[dict[str, Any]] = field(default_factory=list)
    origins: list[dict[str, Any]] = field(default_factory=list)  # {origin, localStorage, sessionStorage}
    captured: float = field(default_factory=time.time)
    engine: str = ""

    # ------------------------------------------------------------------ files
    def to_json(self) -> dict[str, Any]:
        return {"cookies": self.cookies, "origins": self.origins, "captured": self.captured, "engine": self.engine}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "BrowserState":
        return cls(cookies=list(data.get("cookies") or []), origins=list(data.get("origins") or []),
                   captured=float(data.get("captured") or 0.0), engine=str(data.get("engine") or ""))

    @classmethod
    def read(cls, path: Path) -> "BrowserState":
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1), encoding="utf-8")
        return path

    # -------------------------------------------------------------- freshness
    def live_cookies(self, now: float | None = None) -> list[dict[str, Any]]:
        """Cookies that have not expired (session cookies, expires -1, never do by time)."""
        now = time.time() if now is None else now
        return [c for c in self.cookies if c.get("expires", -1) in (-1, None) or c["expires"] > now]

    def first_expiry(self) -> float | None:
        ends = [c["expires"] for c in self.cookies if c.get("expires", -1) not in (-1, None) and c["expires"] > 0]
        return min(ends) if ends else None

    def staleness(self, *, max_age_s: float, margin_s: float, now: float | None = None) -> str | None:
        """Why this state must not be used for a check starting now (None: fresh enough)."""
        now = time.time() if now is None else now
        age = now - self.captured
        if age > max_age_s:
            return f"it is {age:.0f} s old (browsers.state_max_age_s = {max_age_s:g})"
        expiry = self.first_expiry()
        if expiry is not None and expiry - now < margin_s:
            left = expiry - now
            return f"a cookie expired {-left:.0f} s ago" if left <= 0 else f"a cookie expires in {left:.0f} s"
        return None

    # ---------------------------------------------------------------- engines
    def storage(self, origin: str) -> dict[str, list[dict[str, str]]]:
        for entry in self.origins:
            if entry.get("origin") == origin:
                return {"localStorage": list(entry.get("localStorage") or []),
                        "sessionStorage": list(entry.get("sessionStorage") or [])}
        return {"localStorage": [], "sessionStorage": []}

    def playwright_state(self, now: float | None = None) -> dict[str, Any]:
        """For browser.new_context(storage_state=...): live cookies and localStorage."""
        origins = [{"origin": o["origin"], "localStorage": list(o.get("localStorage") or [])}
                   for o in self.origins if o.get("localStorage")]
        return {"cookies": self.live_cookies(now), "origins": origins}

    def session_storage(self) -> dict[str, list[dict[str, str]]]:
        return {o["origin"]: list(o["sessionStorage"]) for o in self.origins if o.get("sessionStorage")}

    def summary(self) -> str:
        local = sum(len(o.get("localStorage") or []) for o in self.origins)
        session = sum(len(o.get("sessionStorage") or []) for o in self.origins)
        return f"{len(self.cookies)} cookie(s), {local} localStorage and {session} sessionStorage item(s)"


def merge_storage(playwright_state: dict[str, Any], read: dict[str, Any]) -> list[dict[str, Any]]:
    """Playwright's origins (localStorage) plus the sessionStorage read on the current page."""
    origins = {o["origin"]: {"origin": o["origin"], "localStorage": list(o.get("localStorage") or []),
                             "sessionStorage": []} for o in playwright_state.get("origins") or []}
    if read and read.get("origin") and read["origin"] != "null":
        entry = origins.setdefault(read["origin"], {"origin": read["origin"], "localStorage": [], "sessionStorage": []})
        entry["sessionStorage"] = list(read.get("sessionStorage") or [])
        if not entry["localStorage"]:
            entry["localStorage"] = list(read.get("localStorage") or [])
    return list(origins.values())


def to_webdriver_cookie(cookie: dict[str, Any]) -> dict[str, Any]:
    """A Playwright cookie as WebDriver's add_cookie wants it (expiry in whole seconds)."""
    wanted = {k: cookie[k] for k in ("name", "value", "path", "secure", "httpOnly") if k in cookie}
    if cookie.get("expires", -1) not in (-1, None) and cookie["expires"] > 0:
        wanted["expiry"] = int(cookie["expires"])
    if cookie.get("sameSite") in ("Strict", "Lax", "None"):
        wanted["sameSite"] = cookie["sameSite"]
    return wanted


def from_webdriver_cookie(cookie: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": cookie["name"], "value": cookie["value"], "domain": cookie.get("domain", ""),
        "path": cookie.get("path") or "/", "expires": float(cookie["expiry"]) if cookie.get("expiry") else -1,
        "httpOnly": bool(cookie.get("httpOnly")), "secure": bool(cookie.get("secure")),
        "sameSite": cookie.get("sameSite") or "Lax",
    }
