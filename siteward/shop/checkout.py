"""Checkout: address -> payment -> review -> place order -> confirmation.

Guests may check out. The progress lives in the session's `checkout` JSON; the
card number is turned into a `tok_...` token at the payment step and only the
token and the last four digits are kept. Order logic here is shared with the API.
"""

from __future__ import annotations

import datetime as dt
import secrets
import sqlite3
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from siteward.shop.cart import cart_contents
from siteward.shop.web import (
    FORM_ERROR_STATUS,
    checkout_state,
    current_user,
    money,
    render,
    save_checkout_state,
    session_token,
    shop,
)

COUNTRIES = [
    ("DE", "Germany"), ("CN", "China 中国"), ("US", "United States"),
    ("GB", "United Kingdom"), ("FR", "France"), ("NL", "Netherlands"),
    ("JP", "Japan 日本"), ("SG", "Singapore"), ("HK", "Hong Kong 香港"), ("TW", "Taiwan 台灣"),
]
COUNTRY_CODES = {code for code, _ in COUNTRIES}
ADDRESS_FIELDS = ("full_name", "email", "street", "city", "postcode", "country")
DECLINED_CARD = "4000000000000002"  # like the payment sandboxes: always declined
PAYMENT_DECLINED = "Payment declined"


class CheckoutError(ValueError):
    """A checkout the customer can fix (bad field, empty cart): HTTP 400."""


class PaymentDeclined(CheckoutError):
    """The (fake) payment provider said no. With the checkout-fail fault: HTTP 502."""


def validate_address(data: dict[str, Any]) -> dict[str, str]:
    address = {name: str(data.get(name) or "").strip()[:200] for name in ADDRESS_FIELDS}
    missing = [name.replace("_", " ") for name in ADDRESS_FIELDS if not address[name]]
    if missing:
        raise CheckoutError(f"Please fill in: {', '.join(missing)}.")
    if "@" not in address["email"] or "." not in address["email"].partition("@")[2]:
        raise CheckoutError("Please enter a valid email address.")
    address["country"] = address["country"].upper()
    if address["country"] not in COUNTRY_CODES:
        raise CheckoutError(f"We do not ship to {address['country']!r}.")
    return address


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def tokenize_card(number: str, expiry: str, cvc: str, *,
                  today: dt.date | None = None) -> dict[str, str]:
    """Check a card and return {"token", "last4", "brand"}; the number is dropped."""
    digits = "".join(str(number or "").split()).replace("-", "")
    if not (digits.isdigit() and 13 <= len(digits) <= 19 and _luhn_ok(digits)):
        raise CheckoutError("Please enter a valid card number.")
    month_text, _, year_text = str(expiry or "").strip().partition("/")
    try:
        month, year = int(month_text), int(year_text)
    except ValueError:
        raise CheckoutError("Please enter the expiry date as MM/YY.") from None
    year = year + 2000 if year < 100 else year
    today = today or dt.date.today()
    if not 1 <= month <= 12 or (year, month) < (today.year, today.month):
        raise CheckoutError("The card has expired or the expiry date is invalid.")
    cvc = str(cvc or "").strip()
    if not (cvc.isdigit() and len(cvc) in (3, 4)):
        raise CheckoutError("Please enter the 3 or 4 digit security code.")
    if digits == DECLINED_CARD:
        raise PaymentDeclined(f"{PAYMENT_DECLINED}: the card was declined by the bank.")
    brand = {"4": "Visa", "5": "Mastercard", "3": "American Express"}.get(digits[0], "Card")
    return {"token": f"tok_{secrets.token_hex(12)}", "last4": digits[-4:], "brand": brand}


def place_order(conn: sqlite3.Connection, *, cart_token: str | None,
                lines: list[dict[str, Any]], user_id: int | None,
                address: dict[str, str], payment: dict[str, str]) -> str:
    """Write the order with its lines, empty the cart; returns the order number."""
    if not lines:
        raise CheckoutError("Your cart is empty.")
    number = f"SW-{secrets.token_hex(5).upper()}"
    total = sum(line["unit_price_cents"] * line["quantity"] for line in lines)
    conn.execute("BEGIN")
    try:
        cursor = conn.execute(
            "INSERT INTO orders (number, user_id, email, full_name, street, city, postcode,"
            " country, card_token, card_last4, total_cents) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (number, user_id, address["email"], address["full_name"], address["street"],
             address["city"], address["postcode"], address["country"], payment["token"],
             payment["last4"], total))
        conn.executemany(
            "INSERT INTO order_items (order_id, product_id, name, unit_price_cents, quantity)"
            " VALUES (?, ?, ?, ?, ?)",
            [(cursor.lastrowid, line["product_id"], line["name"], line["unit_price_cents"],
              line["quantity"]) for line in lines])
        if cart_token:
            conn.execute("DELETE FROM cart_items WHERE session_token = ?", (cart_token,))
            conn.execute("UPDATE sessions SET checkout = '{}' WHERE token = ?", (cart_token,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return number


def order_details(conn: sqlite3.Connection, number: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM orders WHERE number = ?", (number,)).fetchone()
    if row is None:
        return None
    items = conn.execute(
        "SELECT product_id, name, unit_price_cents, quantity FROM order_items"
        " WHERE order_id = ? ORDER BY rowid", (row["id"],)).fetchall()
    return {
        "number": row["number"], "created": row["created"], "email": row["email"],
        "total_cents": row["total_cents"], "total": money(row["total_cents"]),
        "address": {name: row[name] for name in ADDRESS_FIELDS},
        "payment": {"token": row["card_token"], "last4": row["card_last4"]},
        "items": [dict(item) | {"line_total": money(item["unit_price_cents"] * item["quantity"])}
                  for item in items],
    }


# --- pages ----------------------------------------------------------------

def _page(request: Request, template: str, title: str, status_code: int = 200,
          **context: Any) -> Response:
    context.update(title=f"{title} | Siteward Demo Shop", description=f"Checkout: {title}.",
                   countries=COUNTRIES, robots="noindex")
    return render(request, template, context, status_code=status_code)


def _cart(request: Request) -> dict[str, Any]:
    return cart_contents(shop(request).conn, session_token(request))


async def address_step(request: Request) -> Response:
    cart = _cart(request)
    if not cart["lines"]:
        return RedirectResponse("/cart", status_code=303)
    state = checkout_state(request)
    if request.method == "GET":
        user = current_user(request)
        address = state.get("address") or {"email": user["email"] if user else "", "country": "DE"}
        return _page(request, "checkout_address.html", "Delivery address",
                     address=address, cart=cart)
    form = dict(await request.form())
    try:
        address = validate_address(form)
    except CheckoutError as exc:
        return _page(request, "checkout_address.html", "Delivery address",
                     status_code=FORM_ERROR_STATUS, address=form, cart=cart, error=str(exc))
    save_checkout_state(request, {"address": address})
    return RedirectResponse("/checkout/payment", status_code=303)


async def payment_step(request: Request) -> Response:
    cart = _cart(request)
    state = checkout_state(request)
    if not cart["lines"] or "address" not in state:
        return RedirectResponse("/checkout/address", status_code=303)
    if request.method == "GET":
        return _page(request, "checkout_payment.html", "Payment", cart=cart)
    form = await request.form()
    if shop(request).faults.active("checkout-fail"):
        return _page(request, "checkout_payment.html", "Payment", status_code=502, cart=cart,
                     error=f"{PAYMENT_DECLINED}: the payment provider did not answer.")
    try:
        payment = tokenize_card(form.get("card_number", ""), form.get("expiry", ""),
                                form.get("cvc", ""))
    except CheckoutError as exc:
        return _page(request, "checkout_payment.html", "Payment",
                     status_code=FORM_ERROR_STATUS, cart=cart, error=str(exc))
    save_checkout_state(request, state | {"payment": payment})
    return RedirectResponse("/checkout/review", status_code=303)


async def review_step(request: Request) -> Response:
    cart = _cart(request)
    state = checkout_state(request)
    if not cart["lines"] or "address" not in state:
        return RedirectResponse("/checkout/address", status_code=303)
    if "payment" not in state:
        return RedirectResponse("/checkout/payment", status_code=303)
    country_names = dict(COUNTRIES)
    return _page(request, "checkout_review.html", "Review your order", cart=cart,
                 address=state["address"], payment=state["payment"],
                 country_name=country_names.get(state["address"]["country"], ""))


async def place_order_step(request: Request) -> Response:
    cart = _cart(request)
    state = checkout_state(request)
    if not cart["lines"] or "address" not in state or "payment" not in state:
        return RedirectResponse("/checkout/address", status_code=303)
    if shop(request).faults.active("checkout-fail"):
        return _page(request, "checkout_review.html", "Review your order", status_code=502,
                     cart=cart, address=state["address"], payment=state["payment"],
                     error=f"{PAYMENT_DECLINED}: the order could not be placed.")
    user = current_user(request)
    number = place_order(shop(request).conn, cart_token=session_token(request),
                         lines=cart["lines"], user_id=user["id"] if user else None,
                         address=state["address"], payment=state["payment"])
    return RedirectResponse(f"/order/{number}", status_code=303)


async def confirmation(request: Request) -> Response:
    order = order_details(shop(request).conn, request.path_params["number"])
    if order is None:
        raise HTTPException(404, "No such order")
    return _page(request, "order.html", f"Order {order['number']}", order=order,
                 country_name=dict(COUNTRIES).get(order["address"]["country"], ""))


async def checkout_start(request: Request) -> Response:
    return RedirectResponse("/checkout/address", status_code=303)


routes = [
    Route("/checkout", checkout_start),
    Route("/checkout/address", address_step, methods=["GET", "POST"]),
    Route("/checkout/payment", payment_step, methods=["GET", "POST"]),
    Route("/checkout/review", review_step),
    Route("/checkout/place", place_order_step, methods=["POST"]),
    Route("/order/{number}", confirmation),
]
