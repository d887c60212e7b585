"""Cart: rows in SQLite keyed by the session token, and the cart pages."""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from siteward.shop.catalog import get_product
from siteward.shop.web import (
    FORM_ERROR_STATUS,
    ensure_session,
    finish,
    money,
    render,
    session_token,
    shop,
)

MAX_QUANTITY = 99


class CartError(ValueError):
    """Bad cart input (unknown product, bad quantity): a 400, not a crash."""


def parse_quantity(raw: Any, *, allow_zero: bool = False) -> int:
    try:
        quantity = int(raw)
    except (TypeError, ValueError):
        raise CartError(f"quantity must be a whole number, got {raw!r}") from None
    low = 0 if allow_zero else 1
    if not low <= quantity <= MAX_QUANTITY:
        raise CartError(f"quantity must be between {low} and {MAX_QUANTITY}")
    return quantity


def parse_product_id(conn: sqlite3.Connection, raw: Any) -> int:
    try:
        product_id = int(raw)
    except (TypeError, ValueError):
        raise CartError(f"product_id must be a number, got {raw!r}") from None
    if get_product(conn, product_id=product_id) is None:
        raise CartError(f"no product with id {product_id}")
    return product_id


def add_item(conn: sqlite3.Connection, token: str, product_id: int, quantity: int) -> None:
    conn.execute(
        "INSERT INTO cart_items (session_token, product_id, quantity) VALUES (?, ?, ?)"
        " ON CONFLICT (session_token, product_id)"
        " DO UPDATE SET quantity = MIN(quantity + excluded.quantity, ?)",
        (token, product_id, quantity, MAX_QUANTITY))


def set_quantity(conn: sqlite3.Connection, token: str, product_id: int, quantity: int) -> None:
    if quantity == 0:
        conn.execute("DELETE FROM cart_items WHERE session_token = ? AND product_id = ?",
                     (token, product_id))
    else:
        conn.execute("UPDATE cart_items SET quantity = ?"
                     " WHERE session_token = ? AND product_id = ?",
                     (quantity, token, product_id))


def clear(conn: sqlite3.Connection, token: str) -> None:
    conn.execute("DELETE FROM cart_items WHERE session_token = ?", (token,))


def cart_contents(conn: sqlite3.Connection, token: str | None) -> dict[str, Any]:
    """Lines and totals of a cart, in the shape the API returns."""
    rows = [] if token is None else conn.execute(
        "SELECT p.id, p.slug, p.name, p.price_cents, ci.quantity FROM cart_items ci"
        " JOIN products p ON p.id = ci.product_id WHERE ci.session_token = ?"
        " ORDER BY ci.rowid", (token,)).fetchall()
    lines = [{
        "product_id": r["id"],
        "slug": r["slug"],
        "name": r["name"],
        "quantity": r["quantity"],
        "unit_price_cents": r["price_cents"],
        "line_total_cents": r["price_cents"] * r["quantity"],
        "line_total": money(r["price_cents"] * r["quantity"]),
        "unit_price": money(r["price_cents"]),
        "url": f"/product/{r['slug']}",
        "thumbnail": f"/images/products/{r['slug']}-300.webp",
    } for r in rows]
    total = sum(line["line_total_cents"] for line in lines)
    return {"lines": lines, "count": sum(line["quantity"] for line in lines),
            "total_cents": total, "total": money(total)}


async def cart_page(request: Request) -> Response:
    return render(request, "cart.html", {
        "title": "Your cart | Siteward Demo Shop",
        "description": "The products in your cart.",
        "cart": cart_contents(shop(request).conn, session_token(request)),
    })


async def cart_add(request: Request) -> Response:
    form = await request.form()
    conn = shop(request).conn
    try:
        product_id = parse_product_id(conn, form.get("product_id"))
        quantity = parse_quantity(form.get("quantity", 1))
    except CartError as exc:
        return render(request, "cart.html", {
            "title": "Your cart | Siteward Demo Shop", "description": "Your cart.",
            "cart": cart_contents(conn, session_token(request)), "error": str(exc)},
            status_code=FORM_ERROR_STATUS)
    token, _ = ensure_session(request)
    add_item(conn, token, product_id, quantity)
    return finish(request, RedirectResponse("/cart", status_code=303))


async def cart_update(request: Request) -> Response:
    form = await request.form()
    conn = shop(request).conn
    token = session_token(request)
    try:
        product_id = parse_product_id(conn, form.get("product_id"))
        quantity = parse_quantity(form.get("quantity", 0), allow_zero=True)
    except CartError as exc:
        return render(request, "cart.html", {
            "title": "Your cart | Siteward Demo Shop", "description": "Your cart.",
            "cart": cart_contents(conn, token), "error": str(exc)}, status_code=FORM_ERROR_STATUS)
    if token:
        set_quantity(conn, token, product_id, quantity)
    return RedirectResponse("/cart", status_code=303)


routes = [
    Route("/cart", cart_page),
    Route("/cart/add", cart_add, methods=["POST"]),
    Route("/cart/update", cart_update, methods=["POST"]),
]
