"""Fault switches of the demo shop.

The suite's own tests turn these on to prove that each stage catches a real
problem: a journey must see the overflow, Lighthouse must see the layout shift,
the load test must see the errors. A fault is written as text, the same way on
the CLI (`--fault latency=/api/search:200`), in the constructor and through the
admin endpoint:

    latency=MS            add MS milliseconds to every route
    latency=ROUTE:MS      ... only to paths starting with ROUTE (e.g. /api/search)
    slow-paint=MS         a parser-blocking script in <head> that keeps the main thread busy
    slow-paint=ROUTE:MS   for MS: every page's (or pages under ROUTE) first paint comes MS later
    errors=RATIO          that share (0..1) of responses become 500
    overflow              an element wider than the viewport below 480 px
    console-error         pages log console.error and throw an uncaught exception
    broken-image          an <img> whose src 404s on home and product pages
    layout-shift          a tall banner pushed above the content after load
    heavy-image           home hero as a multi-megabyte PNG without width/height
    checkout-fail         the payment step (and the API order) is declined
    a11y                  every page (the React storefront's too) gains an image without alt text,
                          an icon button without an accessible name and low-contrast text: axe's
                          image-alt and button-name (critical) and color-contrast (serious)

The React storefront under /app/ (siteward.shop.storefront) has its own faults;
the shell page hands them to the client bundle:

    app-broken-input      checkout first-name onChange is broken: typing never reaches
                          React state, so "First Name is required"
    app-slow-list=MS      how long slow_user's product list blocks the main thread
                          (slow_user always blocks; default 3000 ms; 0 switches it off)
    app-slow-click=MS     every add-to-cart click blocks the main thread for MS (slow INP)
    app-render-error      the product list throws during render for every user
    app-wrong-image       the first product shows another product's picture (loads fine)
    app-session=SECONDS   lifetime of the storefront's session cookie (default 600 s)
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FLAG_FAULTS = (
    "overflow",
    "console-error",
    "broken-image",
    "layout-shift",
    "heavy-image",
    "checkout-fail",
    "a11y",
    "app-broken-input",
    "app-render-error",
    "app-wrong-image",
)
ROUTE_MS_FAULTS = ("latency", "slow-paint")  # written NAME=MS or NAME=ROUTE:MS
SLOW_PAINT_PATH = "/__fault/slow-paint.js"
# Whole-number faults of the React storefront: name -> (unit, minimum, maximum).
INT_FAULTS = {
    "app-slow-list": ("MS", 0, 60_000),
    "app-slow-click": ("MS", 1, 10_000),
    "app-session": ("SECONDS", 1, 30 * 24 * 3600),
}
VALUE_FAULTS = ("latency", "errors", "slow-paint", *INT_FAULTS)
FAULT_NAMES = VALUE_FAULTS + FLAG_FAULTS
VALUE_HINTS = {"latency": "latency=MS or latency=ROUTE:MS", "slow-paint": "slow-paint=MS or slow-paint=ROUTE:MS",
               "errors": "errors=RATIO (0..1)",
               **{name: f"{name}={unit}" for name, (unit, _, _) in INT_FAULTS.items()}}

# The a11y fault's markup, the same on server pages and in the storefront's shell. The image
# loads (the favicon) and the stylesheet is the shop's own (its CSP allows no inline style), so
# only accessibility checks see a fault.
A11Y_FAULT_HTML = (
    '<link rel="stylesheet" href="/static/faults/a11y.css">'
    '<div class="fault-a11y" data-fault="a11y">'
    '<img src="/favicon.ico" width="16" height="16">'
    '<button type="button" data-fault="a11y-icon-button"></button>'
    '<span class="fault-a11y-faint">Members save 5 % at checkout</span>'
    '</div>'
)

# Paths that stay healthy whatever is switched on, so a parent process can
# always tell "up" and always switch faults off again.
EXEMPT_PREFIXES = ("/healthz", "/__admin")
MAX_LATENCY_MS = 120_000


def parse_fault(text: str) -> tuple[str, object]:
    """Parse one fault string into (name, value).

    Values: latency -> (route_prefix, ms) with "/" meaning every route;
    errors -> float ratio; app-slow-list, app-slow-click, app-session -> int; the flag faults -> True.
    Raises ValueError with a message that names the problem.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"empty fault; expected one of: {', '.join(FAULT_NAMES)}")
    name, sep, raw = text.strip().partition("=")
    name = name.strip().lower()
    raw = raw.strip()
    if name not in FAULT_NAMES:
        raise ValueError(f"unknown fault {name!r}; expected one of: {', '.join(FAULT_NAMES)}")
    if name in FLAG_FAULTS:
        if sep:
            raise ValueError(f"fault {name!r} takes no value (got {text!r})")
        return name, True
    if not raw:
        raise ValueError(f"fault {name!r} needs a value: {VALUE_HINTS[name]}")
    if name in ROUTE_MS_FAULTS:
        return name, _parse_latency(raw, name)
    if name in INT_FAULTS:
        return name, _parse_int(name, raw)
    return name, _parse_ratio(raw)


def _parse_int(name: str, raw: str) -> int:
    unit, low, high = INT_FAULTS[name]
    try:
        number = int(raw)
    except ValueError:
        raise ValueError(f"{name} needs a whole number ({unit}), got {raw!r}") from None
    if not low <= number <= high:
        raise ValueError(f"{name} must be between {low} and {high} ({unit}), got {number}")
    return number


def _parse_latency(raw: str, name: str = "latency") -> tuple[str, int]:
    route, sep, ms_text = raw.rpartition(":")
    if not sep:
        route, ms_text = "/", raw
    if not route.startswith("/"):
        raise ValueError(f"{name} route must be a path starting with '/', got {route!r}")
    try:
        ms = int(ms_text)
    except ValueError:
        raise ValueError(f"{name} needs whole milliseconds, got {ms_text!r}") from None
    if not 0 <= ms <= MAX_LATENCY_MS:
        raise ValueError(f"{name} must be between 0 and {MAX_LATENCY_MS} ms, got {ms}")
    return route, ms


def _parse_ratio(raw: str) -> float:
    try:
        ratio = float(raw)
    except ValueError:
        raise ValueError(f"errors needs a ratio between 0 and 1, got {raw!r}") from None
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"errors ratio must be between 0 and 1, got {ratio}")
    return ratio


def format_fault(name: str, value: object) -> str:
    """The inverse of parse_fault: the canonical text of one fault."""
    if name in ROUTE_MS_FAULTS:
        route, ms = value  # type: ignore[misc]
        return f"{name}={ms}" if route == "/" else f"{name}={route}:{ms}"
    if name == "errors":
        return f"errors={value:g}"
    if name in INT_FAULTS:
        return f"{name}={value}"
    return name


class Faults:
    """The set of faults switched on in one running shop (mutable at runtime)."""

    def __init__(self, faults: Iterable[str] = (), *, seed: int | None = None) -> None:
        self._rng = random.Random(seed)
        self.latency: dict[str, int] = {}
        self.slow_paint: dict[str, int] = {}
        self.error_ratio = 0.0
        self.flags: set[str] = set()
        self.values: dict[str, int] = {}  # the INT_FAULTS switched on
        self.replace(faults)

    def replace(self, faults: Iterable[str]) -> None:
        """Swap in a new set; all strings are validated before anything changes."""
        if isinstance(faults, str):
            faults = [faults]
        parsed = [parse_fault(text) for text in faults]
        latency: dict[str, int] = {}
        slow_paint: dict[str, int] = {}
        error_ratio = 0.0
        flags: set[str] = set()
        values: dict[str, int] = {}
        for name, value in parsed:
            if name in ROUTE_MS_FAULTS:
                route, ms = value  # type: ignore[misc]
                (latency if name == "latency" else slow_paint)[route] = ms
            elif name == "errors":
                error_ratio = float(value)  # type: ignore[arg-type]
            elif name in INT_FAULTS:
                values[name] = int(value)  # type: ignore[call-overload]
            else:
                flags.add(name)
        self.latency, self.error_ratio, self.flags = latency, error_ratio, flags
        self.slow_paint = slow_paint
        self.values = values

    def clear(self) -> None:
        self.replace(())

    def active(self, name: str) -> bool:
        if name == "latency":
            return bool(self.latency)
        if name == "slow-paint":
            return bool(self.slow_paint)
        if name == "errors":
            return self.error_ratio > 0
        return name in self.flags or name in self.values

    def value(self, name: str, default: int) -> int:
        """The number of a whole-number fault (app-slow-list, app-session), else default."""
        return self.values.get(name, default)

    def as_strings(self) -> list[str]:
        items = [format_fault("latency", (r, ms)) for r, ms in sorted(self.latency.items())]
        items += [format_fault("slow-paint", (r, ms)) for r, ms in sorted(self.slow_paint.items())]
        if self.error_ratio > 0:
            items.append(format_fault("errors", self.error_ratio))
        items.extend(format_fault(name, self.values[name]) for name in INT_FAULTS
                     if name in self.values)
        items.extend(name for name in FLAG_FAULTS if name in self.flags)
        return items

    def latency_ms(self, path: str) -> int:
        """Added latency for a path: the longest matching route prefix wins."""
        return _longest_prefix(self.latency, path)

    def slow_paint_ms(self, path: str) -> int:
        """The first-paint delay of a page: the longest matching route prefix wins."""
        return _longest_prefix(self.slow_paint, path)

    def should_fail(self, path: str) -> bool:
        if self.error_ratio <= 0 or path.startswith(EXEMPT_PREFIXES):
            return False
        return self._rng.random() < self.error_ratio

    def __repr__(self) -> str:
        return f"Faults({self.as_strings()!r})"


def _longest_prefix(by_route: dict[str, int], path: str) -> int:
    best, best_len = 0, -1
    for route, ms in by_route.items():
        if _prefix_matches(path, route) and len(route) > best_len:
            best, best_len = ms, len(route)
    return best


async def slow_paint_script(request: Request) -> Response:
    """The slow-paint fault's script: busy for `ms` milliseconds where it runs (parser-blocking in
    <head>, so nothing paints before it ends). A busy main thread adds its time to first paint;
    a slow stylesheet would not (it only overlaps the page's own CSS download)."""
    try:
        ms = min(max(int(request.query_params.get("ms", "0")), 0), MAX_LATENCY_MS)
    except ValueError:
        ms = 0
    body = f"/* siteward fault: slow-paint */\n(function(){{var end=performance.now()+{ms};while(performance.now()<end){{}}}})();\n"
    return Response(body, media_type="text/javascript",
                    headers={"Cache-Control": "no-store", "X-Siteward-Fault": "slow-paint"})


routes = [Route(SLOW_PAINT_PATH, slow_paint_script)]


def _prefix_matches(path: str, route: str) -> bool:
    # "/product" matches "/product/x" and "/products"; "/" matches everything.
    return path.startswith(route)


class FaultMiddleware:
    """ASGI middleware for the route-level faults: latency and errors."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        delay = self.faults.latency_ms(path)
        if delay:
            await asyncio.sleep(delay / 1000)
            send = _with_header(send, b"x-siteward-fault-latency", str(delay).encode())
        if self.faults.should_fail(path):
            body = b"Internal Server Error (siteward fault: errors)"
            await send({
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                    (b"x-siteward-fault", b"errors"),
                ],
            })
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def _with_header(send: Send, name: bytes, value: bytes) -> Send:
    """Wrap send so the response says which fault touched it (handy when debugging)."""
    async def send_with_header(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), (name, value)]
        await send(message)

    return send_with_header
