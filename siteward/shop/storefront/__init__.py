"""The React storefront under /app/: a client-rendered shop, the fixture for "real shops".

The server side is small: one HTML shell for /app and every /app/* path (the
client routes with the History API), the esbuild bundle, and a login API. The
pages themselves are React (./src/*.jsx), bundled by `make setup`
(`npm run build:storefront`) into siteward/shop/static/app/ (gitignored).

    /app/login                 [data-test=username|password|login-button|error]
    /app/products              [data-test=inventory-list] > [data-test=inventory-item]
    /app/product/<slug>        [data-test=product-name]
    /app/cart                  [data-test=cart-item], [data-test=checkout]
    /app/checkout/info -> /app/checkout/overview -> /app/checkout/complete
    POST /api/app/login        {"username", "password"} -> {"ok", "user"|"error"} (+ cookie)

Accounts (one public test password, APP_PASSWORD): standard_user; locked_out_user
(refused); slow_user (its product list blocks the main thread, app-slow-list=MS,
default 3000); error_user (the product list throws during render).
The session is a JS-readable cookie `sw_app_session=<user>.<expiry epoch s>`
whose lifetime is the app-session=SECONDS fault (default 600 s).
The shell embeds the storefront's faults as JSON in <script id="sw-config">.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import time
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from siteward.shop.db import APP_PASSWORD
from siteward.shop.faults import A11Y_FAULT_HTML, Faults
from siteward.shop.web import shop

BASE = "/app"
# Built by `npm run build:storefront` (scripts/setup.sh); shipped as package data (static/**).
BUNDLE_DIR = Path(__file__).resolve().parent.parent / "static" / "app"
BUNDLE_FILES = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
LONG_CACHE = "public, max-age=31536000, immutable"
SHORT_CACHE = "public, max-age=300"

ACCOUNTS = ("standard_user", "locked_out_user", "slow_user", "error_user")
LOCKED_OUT = frozenset({"locked_out_user"})
SESSION_COOKIE = "sw_app_session"
CART_KEY = "sw_app_cart"  # localStorage key the client keeps the cart under
DEFAULT_SESSION_SECONDS = 600
DEFAULT_SLOW_LIST_MS = 3000

MISSING_BUNDLE = (
    "The storefront bundle is not built: {path} is missing.\n"
    "Run `make setup` (npm ci, then esbuild bundles siteward/shop/storefront/src).\n")
ERRORS = {
    "username": "Username is required",
    "password": "Password is required",
    "mismatch": "Username and password do not match any user in this service",
    "locked": "Sorry, this user has been locked out.",
}

_bundle_cache: dict[Path, tuple[tuple[int, int], bytes, str]] = {}


def _bundle(name: str) -> tuple[bytes, str] | None:
    """Bytes and short content hash of a bundle file, re-read only when it changes."""
    path = BUNDLE_DIR / name
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (stat.st_mtime_ns, stat.st_size)
    cached = _bundle_cache.get(path)
    if cached is None or cached[0] != key:
        try:
            data = path.read_bytes()
        except OSError:
            return None
        cached = _bundle_cache[path] = (key, data, hashlib.sha256(data).hexdigest()[:12])
    return cached[1], cached[2]


def client_config(faults: Faults) -> dict[str, Any]:
    """What the bundle reads from <script id="sw-config">: paths and the active app faults."""
    return {
        "base": BASE,
        "sessionCookie": SESSION_COOKIE,
        "cartKey": CART_KEY,
        "faults": {
            "brokenInput": faults.active("app-broken-input"),
            "renderError": faults.active("app-render-error"),
            "wrongImage": faults.active("app-wrong-image"),
            "slowListMs": faults.value("app-slow-list", DEFAULT_SLOW_LIST_MS),
            "slowClickMs": faults.value("app-slow-click", 0),
            "sessionSeconds": faults.value("app-session", DEFAULT_SESSION_SECONDS),
        },
    }


def _json_for_script(data: Any) -> str:
    # "</script>" and "<!--" must not appear inside a script element.
    return (json.dumps(data, separators=(",", ":"))
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def shell_html(config: dict[str, Any], js_hash: str, css_hash: str | None, extra_html: str = "") -> str:
    css = (f'<link rel="stylesheet" href="{BASE}/assets/app.css?v={css_hash}">'
           if css_hash else "")
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>Siteward Storefront</title>'
        '<meta name="description" content="The siteward demo storefront, rendered by React.">'
        f'<link rel="icon" href="/favicon.ico">{css}</head>\n<body>'
        f'{extra_html}<div id="root"></div>'
        '<noscript>This storefront needs JavaScript.</noscript>\n'
        f'<script type="application/json" id="sw-config">{_json_for_script(config)}</script>\n'
        f'<script src="{BASE}/assets/app.js?v={html.escape(js_hash)}" defer></script>'
        '</body></html>\n')


async def app_shell(request: Request) -> Response:
    """The same shell for /app and every /app/* path; React picks the page from the URL."""
    js = _bundle("app.js")
    if js is None:
        return PlainTextResponse(MISSING_BUNDLE.format(path=BUNDLE_DIR / "app.js"),
                                 status_code=503,
                                 headers={"Cache-Control": "no-store", "Retry-After": "60"})
    css = _bundle("app.css")
    faults = shop(request).faults
    page = shell_html(client_config(faults), js[1], css[1] if css else None,
                      A11Y_FAULT_HTML if faults.active("a11y") else "")
    # no-store: the shell carries the faults switched on right now
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


async def bundle_file(request: Request) -> Response:
    name = request.path_params["name"]
    found = _bundle(name) if name in BUNDLE_FILES else None
    if found is None:
        raise HTTPException(404, "No such file")
    data, digest = found
    etag = f'"{digest}"'
    cache = LONG_CACHE if request.query_params.get("v") == digest else SHORT_CACHE
    headers = {"Cache-Control": cache, "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=BUNDLE_FILES[name], headers=headers)


def check_login(username: str, password: str) -> str | None:
    """The error message for these credentials, or None when they log in."""
    if not username:
        return ERRORS["username"]
    if not password:
        return ERRORS["password"]
    known = username in ACCOUNTS
    if not (known and hmac.compare_digest(password.encode(), APP_PASSWORD.encode())):
        return ERRORS["mismatch"]
    return ERRORS["locked"] if username in LOCKED_OUT else None


async def login(request: Request) -> Response:
    """POST {"username", "password"}. A refused login answers 200 with {"ok": false,
    "error"}, like the shop's forms: a 4xx would log "Failed to load resource"."""
    no_store = {"Cache-Control": "no-store"}
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        return JSONResponse({"ok": False, "error": "request body must be a JSON object"},
                            status_code=400, headers=no_store)
    username, password = str(body.get("username") or ""), str(body.get("password") or "")
    problem = check_login(username, password)
    if problem:
        return JSONResponse({"ok": False, "error": problem}, headers=no_store)
    max_age = shop(request).faults.value("app-session", DEFAULT_SESSION_SECONDS)
    expires = int(time.time()) + max_age
    response = JSONResponse({"ok": True, "user": username, "expires": expires,
                             "max_age": max_age}, headers=no_store)
    # Readable by JavaScript on purpose: the client checks it on every page.
    response.set_cookie(SESSION_COOKIE, f"{username}.{expires}", max_age=max_age, path="/",
                        httponly=False, samesite="lax")
    return response


routes = [
    Route(BASE + "/assets/{name}", bundle_file),
    Route(BASE, app_shell),
    Route(BASE + "/{path:path}", app_shell),
    Route("/api/app/login", login, methods=["POST"]),
]
