"""Request helpers shared by the route modules: shop state, sessions, rendering.

A session (cookie `sw_session`) is created only when a visitor does something
that needs one (add to cart, log in, check out): browsing stays write-free,
which keeps load tests from turning into a session-table benchmark.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from siteward.shop.faults import A11Y_FAULT_HTML, Faults

SESSION_COOKIE = "sw_session"
SESSION_MAX_AGE = 14 * 24 * 3600
TEMPLATES_DIR = Path(__file__).parent / "templates"
CURRENCY = "EUR"
# A form sent back with a message (wrong password, missing field) answers 200, as
# most shops do: a 4xx document makes browsers log "Failed to load resource", and
# the clean shop must stay free of console errors even on a journey's negative path.
# The JSON API does use 4xx; the checkout-fail fault answers 502 on purpose.
FORM_ERROR_STATUS = 200


@dataclass
class ShopState:
    """Everything a request needs; one per app, on app.state.shop."""

    conn: sqlite3.Connection
    faults: Faults
    db_path: str
    categories: list[dict[str, Any]] = field(default_factory=list)


def shop(request: Request) -> ShopState:
    return request.app.state.shop


def money(cents: int) -> str:
    return f"€{cents / 100:,.2f}"


template_env = _env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # templates never change while serving; skip the stat calls
)
_env.filters["money"] = money


def tojson_script(value: Any) -> str:
    """JSON safe to embed in <script type=application/ld+json>."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_env.filters["ld_json"] = lambda value: Markup(tojson_script(value))


# --- sessions -------------------------------------------------------------

def session_row(request: Request) -> sqlite3.Row | None:
    """The visitor's session row, or None without a (valid) cookie. Cached per request."""
    if "sw_session_row" in request.scope:
        return request.scope["sw_session_row"]
    token = request.cookies.get(SESSION_COOKIE)
    row = None
    if token:
        row = shop(request).conn.execute(
            "SELECT token, user_id, checkout FROM sessions WHERE token = ?", (token,)).fetchone()
    request.scope["sw_session_row"] = row
    return row


def session_token(request: Request) -> str | None:
    row = session_row(request)
    return row["token"] if row else None


def ensure_session(request: Request) -> tuple[str, bool]:
    """(token, created): the visitor's session, created if missing."""
    token = session_token(request)
    if token:
        return token, False
    token = secrets.token_urlsafe(24)
    conn = shop(request).conn
    conn.execute("INSERT INTO sessions (token) VALUES (?)", (token,))
    request.scope["sw_session_row"] = conn.execute(
        "SELECT token, user_id, checkout FROM sessions WHERE token = ?", (token,)).fetchone()
    return token, True


def set_session_cookie(response: Response, token: str) -> Response:
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_MAX_AGE, httponly=True,
                        samesite="lax", path="/")
    return response


def finish(request: Request, response: Response) -> Response:
    """Attach the session cookie if this request created the session."""
    row = request.scope.get("sw_session_row")
    if row is not None and request.cookies.get(SESSION_COOKIE) != row["token"]:
        set_session_cookie(response, row["token"])
    return response


def current_user(request: Request) -> sqlite3.Row | None:
    row = session_row(request)
    if not row or row["user_id"] is None:
        return None
    return shop(request).conn.execute(
        "SELECT id, email FROM users WHERE id = ?", (row["user_id"],)).fetchone()


def checkout_state(request: Request) -> dict[str, Any]:
    row = session_row(request)
    return json.loads(row["checkout"]) if row else {}


def save_checkout_state(request: Request, state: dict[str, Any]) -> None:
    token, _ = ensure_session(request)
    shop(request).conn.execute("UPDATE sessions SET checkout = ? WHERE token = ?",
                               (json.dumps(state), token))
    request.scope.pop("sw_session_row", None)
    session_row(request)


def cart_count(request: Request) -> int:
    token = session_token(request)
    if not token:
        return 0
    return shop(request).conn.execute(
        "SELECT COALESCE(SUM(quantity), 0) FROM cart_items WHERE session_token = ?",
        (token,)).fetchone()[0]


# --- rendering ------------------------------------------------------------

def render(request: Request, template: str, context: dict[str, Any] | None = None,
           status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    state = shop(request)
    user = current_user(request)
    page = {
        "request": request,
        "categories": state.categories,
        "cart_count": cart_count(request),
        "user_email": user["email"] if user else None,
        "canonical": str(request.base_url).rstrip("/") + request.url.path,
        "faults": frozenset(state.faults.flags),
        "a11y_fault_html": A11Y_FAULT_HTML,
        "slow_paint_ms": state.faults.slow_paint_ms(request.url.path),
        "query": request.query_params.get("q", ""),
    }
    page.update(context or {})
    html = _env.get_template(template).render(page)
    response = HTMLResponse(html, status_code=status_code,
                            headers={"Cache-Control": "private, no-cache", **(headers or {})})
    return finish(request, response)
