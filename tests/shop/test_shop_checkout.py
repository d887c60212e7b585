"""Scripted journeys over HTTP: guest checkout via pages and via the JSON API, login."""

from __future__ import annotations

import os

import httpx
import pytest

from siteward.shop import DEMO_EMAIL, demo_password

ADDRESS = {"full_name": "Li Wei 李伟", "email": "li.wei@example.test", "street": "Hauptstr. 1",
           "city": "Berlin", "postcode": "10115", "country": "DE"}
CARD = {"card_number": "4242 4242 4242 4242", "expiry": "12/39", "cvc": "123"}


def test_guest_checkout_through_the_pages(client: httpx.Client, parse):
    # Browse: home -> a category -> a product card
    home = parse(client.get("/").text)
    assert len(home.select(data_testid="product-card")) >= 4
    shoes_link = next(a for a in home.select("a", data_testid="category-link")
                      if a.attrs["href"] == "/category/shoes")
    listing = parse(client.get(shoes_link.attrs["href"]).text)
    links = [a.attrs["href"] for a in listing.select("a", data_testid="product-link")]
    assert "/product/canvas-sneaker" in links

    # Product page -> add 2 to the cart (a normal form post, redirect to /cart)
    page = client.get("/product/canvas-sneaker")
    product = parse(page.text)
    assert product.one("h1", data_testid="product-title").text == "Canvas Sneaker"
    price = product.one(data_testid="price").text.strip()
    product_id = product.one("input", name="product_id").attrs["value"]
    assert product.select("input", name="quantity")
    assert product.one("button", data_testid="add-to-cart")
    added = client.post("/cart/add", data={"product_id": product_id, "quantity": "2"})
    assert added.status_code == 303 and added.headers["location"] == "/cart"
    assert "sw_session" in client.cookies

    cart = parse(client.get("/cart").text)
    lines = cart.select(data_testid="cart-line")
    assert len(lines) == 1 and "Canvas Sneaker" in lines[0].text
    assert cart.one(data_testid="cart-count").text == "2"
    unit_cents = int(price.replace("€", "").replace(",", "").replace(".", ""))
    total = cart.one(data_testid="cart-total").text
    assert int(total.replace("€", "").replace(",", "").replace(".", "")) == 2 * unit_cents
    checkout_href = cart.one("a", data_testid="checkout").attrs["href"]

    # Address -> payment -> review -> place order
    address_page = parse(client.get(checkout_href).text)
    for name in ("full_name", "email", "street", "city", "postcode"):
        assert address_page.select("input", name=name), name
    assert {o.attrs["value"] for o in address_page.select("option")} >= {"DE", "CN", "US"}
    assert address_page.one("button", data_testid="continue")
    response = client.post("/checkout/address", data=ADDRESS)
    assert response.status_code == 303 and response.headers["location"] == "/checkout/payment"

    payment_page = parse(client.get("/checkout/payment").text)
    for name in ("card_number", "expiry", "cvc"):
        assert payment_page.select("input", name=name), name
    response = client.post("/checkout/payment", data=CARD)
    assert response.status_code == 303 and response.headers["location"] == "/checkout/review"

    review = client.get("/checkout/review")
    assert "ending in 4242" in review.text and "4242424242424242" not in review.text
    assert parse(review.text).one("button", data_testid="place-order")
    placed = client.post("/checkout/place")
    assert placed.status_code == 303 and placed.headers["location"].startswith("/order/")
    number = placed.headers["location"].rsplit("/", 1)[1]

    confirmation = parse(client.get(placed.headers["location"]).text)
    heading = confirmation.one("h1", data_testid="order-confirmation")
    assert "Thank you" in heading.text
    assert confirmation.one(data_testid="order-number").text == number

    # The order is stored; the card number is not, only a token; the cart is empty.
    order = client.get(f"/api/orders/{number}").json()
    assert order["number"] == number
    assert order["total_cents"] == 2 * unit_cents
    assert order["items"][0]["quantity"] == 2
    assert order["address"]["full_name"] == "Li Wei 李伟"
    assert order["payment"]["token"].startswith("tok_")
    assert order["payment"]["last4"] == "4242"
    assert "4242424242424242" not in str(order)
    assert client.get("/api/cart").json()["lines"] == []


def test_address_step_rejects_missing_fields(client: httpx.Client, parse):
    client.post("/cart/add", data={"product_id": "1", "quantity": "1"})
    response = client.post("/checkout/address", data={**ADDRESS, "city": ""})
    assert response.status_code == 200
    assert "city" in parse(response.text).one(data_testid="form-error").text


def test_payment_step_rejects_a_bad_card(client: httpx.Client, parse):
    client.post("/cart/add", data={"product_id": "1", "quantity": "1"})
    client.post("/checkout/address", data=ADDRESS)
    response = client.post("/checkout/payment", data={**CARD, "card_number": "4242 4242 4242 4241"})
    assert response.status_code == 200
    assert "card number" in parse(response.text).one(data_testid="form-error").text
    assert client.get("/checkout/review").status_code == 303  # no payment, no review


def test_checkout_with_an_empty_cart_goes_back_to_the_cart(client: httpx.Client):
    response = client.get("/checkout/address")
    assert response.status_code == 303 and response.headers["location"] == "/cart"


def test_guest_checkout_through_the_json_api(shop):
    with httpx.Client(base_url=shop.url, timeout=30) as api:
        products = api.get("/api/products", params={"category": "shirts"}).json()["products"]
        assert products and all(p["category"] == "shirts" for p in products)
        found = api.get("/api/search", params={"q": "shirt"}).json()["products"]
        assert found, "a search for 'shirt' must return results"
        first = api.get(f"/api/products/{found[0]['id']}").json()
        assert first["slug"] == found[0]["slug"]

        cart = api.post("/api/cart", json={"product_id": first["id"], "quantity": 3}).json()
        assert cart["count"] == 3 and cart["total_cents"] == 3 * first["price_cents"]
        assert api.get("/api/cart").json()["count"] == 3

        created = api.post("/api/orders", json={
            "address": ADDRESS,
            "card": {"number": "4242424242424242", "expiry": "01/40", "cvc": "999"}})
        assert created.status_code == 201, created.text
        order = created.json()
        assert order["number"].startswith("SW-")
        assert order["total_cents"] == 3 * first["price_cents"]
        stored = api.get(f"/api/orders/{order['number']}").json()
        assert stored["items"] == order["items"]
        assert api.get("/api/cart").json()["count"] == 0

        again = api.post("/api/orders", json={
            "address": ADDRESS, "card": {"number": "4242424242424242", "expiry": "01/40",
                                         "cvc": "999"}})
        assert again.status_code == 400 and "empty" in again.json()["error"]


def test_api_order_with_explicit_items_needs_no_cart(shop):
    response = httpx.post(shop.url + "/api/orders", json={
        "address": ADDRESS, "items": [{"product_id": 2, "quantity": 1}],
        "card": {"number": "4242424242424242", "expiry": "01/40", "cvc": "999"}})
    assert response.status_code == 201
    assert response.json()["items"][0]["product_id"] == 2


@pytest.mark.parametrize(("body", "status"), [
    ({"product_id": 99999, "quantity": 1}, 400),
    ({"product_id": 1, "quantity": 0}, 400),
    ({"product_id": "x"}, 400),
])
def test_api_cart_rejects_bad_input(shop, body, status):
    response = httpx.post(shop.url + "/api/cart", json=body)
    assert response.status_code == status and response.json()["error"]


def test_api_declines_the_declined_test_card(shop):
    response = httpx.post(shop.url + "/api/orders", json={
        "address": ADDRESS, "items": [{"product_id": 2, "quantity": 1}],
        "card": {"number": "4000000000000002", "expiry": "01/40", "cvc": "999"}})
    assert response.status_code == 402 and "declined" in response.json()["error"]


def test_login_with_the_seeded_account_and_logout(client: httpx.Client, parse):
    form = parse(client.get("/login").text)
    assert form.one("button", data_testid="login-submit")
    response = client.post("/login", data={"email": DEMO_EMAIL, "password": demo_password()})
    assert response.status_code == 303 and response.headers["location"] == "/account"
    account = client.get("/account")
    assert account.status_code == 200 and DEMO_EMAIL in account.text
    client.post("/logout")
    assert client.get("/account").status_code == 303


def test_login_with_a_wrong_password_fails(client: httpx.Client, parse):
    response = client.post("/login", data={"email": DEMO_EMAIL, "password": "not-the-password"})
    assert response.status_code == 200
    assert "Wrong email or password" in parse(response.text).one(data_testid="form-error").text
    assert client.get("/account").status_code == 303  # still logged out


def test_register_then_log_in_with_the_new_account(shop, parse):
    email = f"new-{os.getpid()}@example.test"
    with httpx.Client(base_url=shop.url) as first:
        short = first.post("/register", data={"email": email, "password": "short"})
        assert short.status_code == 200 and parse(short.text).one(data_testid="form-error")
        made = first.post("/register", data={"email": email, "password": "long-enough-1"})
        assert made.status_code == 303
        assert email in first.get("/account").text
        dup = first.post("/register", data={"email": email, "password": "long-enough-1"})
        assert dup.status_code == 200 and "already exists" in dup.text
    with httpx.Client(base_url=shop.url) as second:
        ok = second.post("/login", data={"email": email, "password": "long-enough-1"})
        assert ok.status_code == 303


def test_cart_survives_login(client: httpx.Client, parse):
    client.post("/cart/add", data={"product_id": "3", "quantity": "1"})
    before = client.cookies["sw_session"]
    client.post("/login", data={"email": DEMO_EMAIL, "password": demo_password()})
    assert client.cookies["sw_session"] != before  # a fresh token after login
    assert parse(client.get("/cart").text).one(data_testid="cart-count").text == "1"
