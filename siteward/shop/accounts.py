"""Accounts: register, log in, log out, and the account page with past orders."""

from __future__ import annotations

import secrets
import sqlite3

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from siteward.shop.passwords import hash_password, verify_password
from siteward.shop.web import (
    FORM_ERROR_STATUS,
    SESSION_COOKIE,
    current_user,
    render,
    session_row,
    set_session_cookie,
    shop,
)

MIN_PASSWORD_CHARS = 8
MAX_FIELD_CHARS = 254


def valid_email(email: str) -> bool:
    local, at, domain = email.partition("@")
    return bool(at and local and "." in domain and " " not in email
                and len(email) <= MAX_FIELD_CHARS)


def safe_next(target: str | None, default: str = "/account") -> str:
    """Only same-site paths: never let `next` send a visitor to another host."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


async def authenticate(conn: sqlite3.Connection, email: str, password: str) -> int | None:
    row = conn.execute("SELECT id, password_hash FROM users WHERE email = ?",
                       (email.strip(),)).fetchone()
    if row is None:
        # Hash anyway so a wrong email costs as long as a wrong password.
        await run_in_threadpool(hash_password, password)
        return None
    ok = await run_in_threadpool(verify_password, password, row["password_hash"])
    return row["id"] if ok else None


def log_in(request: Request, user_id: int) -> str:
    """Bind the visitor to user_id under a fresh session token (no session fixation).

    The cart and checkout progress move over to the new token.
    """
    conn = shop(request).conn
    old = session_row(request)
    token = secrets.token_urlsafe(24)
    conn.execute("BEGIN")
    conn.execute("INSERT INTO sessions (token, user_id, checkout) VALUES (?, ?, ?)",
                 (token, user_id, old["checkout"] if old else "{}"))
    if old is not None:
        conn.execute("UPDATE cart_items SET session_token = ? WHERE session_token = ?",
                     (token, old["token"]))
        conn.execute("DELETE FROM sessions WHERE token = ?", (old["token"],))
    conn.execute("COMMIT")
    request.scope.pop("sw_session_row", None)
    return token


def _form_page(request: Request, template: str, *, error: str | None = None,
               email: str = "", status_code: int = 200) -> Response:
    titles = {"login.html": "Log in", "register.html": "Create an account"}
    return render(request, template, {
        "title": f"{titles[template]} | Siteward Demo Shop",
        "description": f"{titles[template]} at the Siteward demo shop.",
        "error": error, "email": email,
        "next": safe_next(request.query_params.get("next")),
    }, status_code=status_code)


async def login(request: Request) -> Response:
    if request.method == "GET":
        return _form_page(request, "login.html")
    form = await request.form()
    email = str(form.get("email", "")).strip()[:MAX_FIELD_CHARS]
    password = str(form.get("password", ""))
    user_id = await authenticate(shop(request).conn, email, password) if email else None
    if user_id is None:
        return _form_page(request, "login.html", error="Wrong email or password.",
                          email=email, status_code=FORM_ERROR_STATUS)
    token = log_in(request, user_id)
    response = RedirectResponse(safe_next(str(form.get("next", ""))), status_code=303)
    return set_session_cookie(response, token)


async def register(request: Request) -> Response:
    if request.method == "GET":
        return _form_page(request, "register.html")
    form = await request.form()
    email = str(form.get("email", "")).strip()[:MAX_FIELD_CHARS]
    password = str(form.get("password", ""))
    error = None
    if not valid_email(email):
        error = "Please enter a valid email address."
    elif len(password) < MIN_PASSWORD_CHARS:
        error = f"The password needs at least {MIN_PASSWORD_CHARS} characters."
    if error:
        return _form_page(request, "register.html", error=error, email=email,
                          status_code=FORM_ERROR_STATUS)
    password_hash = await run_in_threadpool(hash_password, password)
    conn = shop(request).conn
    try:
        cursor = conn.execute("INSERT INTO users (email, password_hash) VALUES (?, ?)",
                              (email, password_hash))
    except sqlite3.IntegrityError:
        return _form_page(request, "register.html", email=email, status_code=FORM_ERROR_STATUS,
                          error="An account with this email already exists.")
    token = log_in(request, cursor.lastrowid)
    return set_session_cookie(RedirectResponse("/account", status_code=303), token)


async def logout(request: Request) -> Response:
    row = session_row(request)
    if row is not None:
        conn = shop(request).conn
        conn.execute("BEGIN")
        conn.execute("DELETE FROM cart_items WHERE session_token = ?", (row["token"],))
        conn.execute("DELETE FROM sessions WHERE token = ?", (row["token"],))
        conn.execute("COMMIT")
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def account(request: Request) -> Response:
    user = current_user(request)
    if user is None:
        return RedirectResponse("/login?next=/account", status_code=303)
    orders = shop(request).conn.execute(
        "SELECT number, total_cents, created FROM orders WHERE user_id = ?"
        " ORDER BY id DESC LIMIT 50", (user["id"],)).fetchall()
    return render(request, "account.html", {
        "title": "Your account | Siteward Demo Shop",
        "description": "Your account and orders.",
        "email": user["email"], "orders": orders,
    })


routes = [
    Route("/login", login, methods=["GET", "POST"]),
    Route("/register", register, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/account", account),
]
