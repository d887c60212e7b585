"""JSON API (what load tests hit), the health check and the fault admin endpoint.

    GET  /api/products[?category=SLUG]   {"products": [...]}
    GET  /api/products/{id}              a product
    GET  /api/search?q=TEXT              {"query", "products": [...]}
    GET  /api/cart                       {"lines", "count", "total_cents", "total"}
    POST /api/cart                       {"product_id", "quantity"} -> the cart
    POST /api/orders                     {"address": {...}, "card": {"number", "expiry", "cvc"},
                                          "items": optional [{"product_id", "quantity"}]}
                                         -> 201 order (from "items", else the session cart)
    GET  /api/orders/{number}            an order
    GET  /healthz                        {"ok": true}
    GET  /__admin/faults                 {"faults": [...]}
    POST /__admin/faults                 {"faults": [...]} replaces the set ([] clears)
Errors are {"error": message} with a 4xx status (502 when a payment is declined
by the checkout-fail fault).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from siteward.shop.cart import CartError, add_item, cart_contents, parse_product_id, parse_quantity
from siteward.shop.catalog import get_product, list_products, search_products
from siteward.shop.checkout import (
    PAYMENT_DECLINED,
    CheckoutError,
    PaymentDeclined,
    order_details,
    place_order,
    tokenize_card,
    validate_address,
)
from siteward.shop.web import current_user, ensure_session, finish, session_token, shop

NO_STORE = {"Cache-Control": "no-store"}


def error(message: str, status_code: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status_code, headers=NO_STORE)


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckoutError("request body must be JSON") from None
    if not isinstance(body, dict):
        raise CheckoutError("request body must be a JSON object")
    return body


async def products(request: Request) -> Response:
    category = request.query_params.get("category") or None
    if category and category not in {c["slug"] for c in shop(request).categories}:
        return error(f"unknown category {category!r}", 404)
    return JSONResponse({"products": list_products(shop(request).conn, category)})


async def product(request: Request) -> Response:
    try:
        product_id = int(request.path_params["product_id"])
    except ValueError:
        return error("product id must be a number", 404)
    found = get_product(shop(request).conn, product_id=product_id)
    return JSONResponse(found) if found else error(f"no product with id {product_id}", 404)


async def search(request: Request) -> Response:
    query = request.query_params.get("q", "")
    return JSONResponse({"query": query, "products": search_products(shop(request).conn, query)})


async def cart(request: Request) -> Response:
    conn = shop(request).conn
    if request.method == "GET":
        return JSONResponse(cart_contents(conn, session_token(request)), headers=NO_STORE)
    try:
        body = await json_body(request)
        product_id = parse_product_id(conn, body.get("product_id"))
        quantity = parse_quantity(body.get("quantity", 1))
    except (CartError, CheckoutError) as exc:
        return error(str(exc), 400)
    token, _ = ensure_session(request)
    add_item(conn, token, product_id, quantity)
    return finish(request, JSONResponse(cart_contents(conn, token), headers=NO_STORE))


def _lines_from_items(request: Request, items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list) or not items:
        raise CheckoutError("items must be a non-empty list of {product_id, quantity}")
    conn = shop(request).conn
    lines = []
    for item in items:
        if not isinstance(item, dict):
            raise CheckoutError("each item must be an object {product_id, quantity}")
        product_id = parse_product_id(conn, item.get("product_id"))
        found = get_product(conn, product_id=product_id)
        lines.append({"product_id": product_id, "name": found["name"],
                      "unit_price_cents": found["price_cents"],
                      "quantity": parse_quantity(item.get("quantity", 1))})
    return lines


async def orders(request: Request) -> Response:
    state = shop(request)
    try:
        body = await json_body(request)
        address = validate_address(body.get("address") or {})
        if state.faults.active("checkout-fail"):
            raise PaymentDeclined(f"{PAYMENT_DECLINED}: the payment provider did not answer.")
        card = body.get("card") or {}
        if not isinstance(card, dict):
            raise CheckoutError("card must be an object {number, expiry, cvc}")
        if "items" in body:
            lines, cart_token = _lines_from_items(request, body["items"]), None
        else:
            cart_token = session_token(request)
            lines = cart_contents(state.conn, cart_token)["lines"]
        if not lines:
            raise CheckoutError("the cart is empty")
        payment = tokenize_card(card.get("number", ""), card.get("expiry", ""),
                                card.get("cvc", ""))
        user = current_user(request)
        number = place_order(state.conn, cart_token=cart_token, lines=lines,
                             user_id=user["id"] if user else None,
                             address=address, payment=payment)
    except PaymentDeclined as exc:
        return error(str(exc), 502 if state.faults.active("checkout-fail") else 402)
    except (CheckoutError, CartError) as exc:
        return error(str(exc), 400)
    return JSONResponse(order_details(state.conn, number), status_code=201,
                        headers=NO_STORE | {"Location": f"/api/orders/{number}"})


async def order(request: Request) -> Response:
    found = order_details(shop(request).conn, request.path_params["number"])
    return JSONResponse(found, headers=NO_STORE) if found else error("no such order", 404)


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True}, headers=NO_STORE)


async def admin_faults(request: Request) -> Response:
    faults = shop(request).faults
    if request.method == "POST":
        try:
            body = await json_body(request)
        except CheckoutError as exc:
            return error(str(exc), 400)
        wanted = body.get("faults")
        if not isinstance(wanted, list) or not all(isinstance(f, str) for f in wanted):
            return error('body must be {"faults": [fault strings]}', 400)
        try:
            faults.replace(wanted)
        except ValueError as exc:
            return error(str(exc), 400)
    return JSONResponse({"faults": faults.as_strings()}, headers=NO_STORE)


routes = [
    Route("/api/products", products),
    Route("/api/products/{product_id}", product),
    Route("/api/search", search),
    Route("/api/cart", cart, methods=["GET", "POST"]),
    Route("/api/orders", orders, methods=["POST"]),
    Route("/api/orders/{number}", order),
    Route("/healthz", healthz),
    Route("/__admin/faults", admin_faults, methods=["GET", "POST"]),
]
