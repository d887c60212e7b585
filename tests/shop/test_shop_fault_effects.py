"""Each fault switch changes what the shop serves, seen at the HTTP level.

Timing assertions are lower bounds only: a slow CI machine may add time, never remove it.
"""

from __future__ import annotations

import time

import httpx
import pytest

from siteward.shop import start_shop

ADDRESS = {"full_name": "Ada Lovelace", "email": "ada@example.test", "street": "1 Main St",
           "city": "Springfield", "postcode": "12345", "country": "US"}
CARD = {"card_number": "4242424242424242", "expiry": "12/39", "cvc": "123"}
BROKEN_SRC = "/images/promo/spring-sale-banner.webp"


def timed_get(url: str) -> tuple[httpx.Response, float]:
    start = time.perf_counter()
    response = httpx.get(url, timeout=60)
    return response, time.perf_counter() - start


def img_srcs(page) -> list[str]:
    return [img.attrs["src"] for img in page.select("img")]


def script_paths(page) -> list[str]:
    """Script srcs without their ?v= content-hash suffix."""
    return [s.attrs["src"].split("?")[0] for s in page.select("script") if "src" in s.attrs]


# --- admin endpoint --------------------------------------------------------

def test_admin_endpoint_sets_reads_and_clears_faults(faulty_shop):
    admin = faulty_shop.url + "/__admin/faults"
    assert httpx.get(admin).json() == {"faults": []}
    response = httpx.post(admin, json={"faults": ["latency=/api/search:200", "overflow"]})
    assert response.status_code == 200
    assert httpx.get(admin).json()["faults"] == ["latency=/api/search:200", "overflow"]
    assert 'data-fault="overflow"' in httpx.get(faulty_shop.url + "/").text
    httpx.post(admin, json={"faults": ["checkout-fail"]})  # replaces, not adds
    assert faulty_shop.get_faults() == ["checkout-fail"]
    assert httpx.post(admin, json={"faults": []}).json() == {"faults": []}
    assert 'data-fault="overflow"' not in httpx.get(faulty_shop.url + "/").text


def test_admin_endpoint_rejects_bad_faults_and_keeps_the_old_set(faulty_shop):
    faulty_shop.set_faults(["overflow"])
    response = httpx.post(faulty_shop.url + "/__admin/faults", json={"faults": ["warp=9"]})
    assert response.status_code == 400 and "unknown fault 'warp'" in response.json()["error"]
    assert httpx.post(faulty_shop.url + "/__admin/faults", json={"x": 1}).status_code == 400
    with pytest.raises(ValueError, match="errors ratio"):
        faulty_shop.set_faults(["errors=2"])
    assert faulty_shop.get_faults() == ["overflow"]


def test_faults_given_at_start_are_active():
    with start_shop(faults=["overflow", "latency=/api/search:100"]) as shop:
        assert shop.get_faults() == ["latency=/api/search:100", "overflow"]
        assert 'data-fault="overflow"' in httpx.get(shop.url + "/").text
        response, elapsed = timed_get(shop.url + "/api/search?q=shirt")
        assert elapsed >= 0.1 and response.headers["x-siteward-fault-latency"] == "100"


# --- latency and errors ------------------------------------------------------

def test_slow_paint_blocks_rendering_of_matching_pages_only(faulty_shop, parse):
    faulty_shop.set_faults(["slow-paint=/product:300"])
    product = httpx.get(faulty_shop.url + "/product/canvas-sneaker")
    (blocking,) = [script for script in parse(product.text).select("script")
                   if script.attrs.get("data-fault") == "slow-paint"]
    head = product.text.split("</head>")[0]
    assert blocking.attrs["src"] in head  # in <head>: nothing paints before it has run
    assert "async" not in blocking.attrs and "defer" not in blocking.attrs  # parser-blocking
    assert "x-siteward-fault-latency" not in product.headers  # the page's response is not delayed
    script = httpx.get(faulty_shop.url + blocking.attrs["src"])
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "performance.now()+300" in script.text and script.headers["cache-control"] == "no-store"
    home = parse(httpx.get(faulty_shop.url + "/").text)
    assert not [s for s in home.select("script") if s.attrs.get("data-fault") == "slow-paint"]


def test_route_latency_slows_the_matching_route_only(faulty_shop):
    faulty_shop.set_faults(["latency=/api/search:300"])
    for _ in range(2):
        response, elapsed = timed_get(faulty_shop.url + "/api/search?q=shirt")
        assert response.status_code == 200 and response.json()["products"]
        assert elapsed >= 0.3
        assert response.headers["x-siteward-fault-latency"] == "300"
    other = httpx.get(faulty_shop.url + "/api/products")
    assert other.status_code == 200 and "x-siteward-fault-latency" not in other.headers
    assert "x-siteward-fault-latency" not in httpx.get(faulty_shop.url + "/search?q=x").headers


def test_global_latency_slows_every_route(faulty_shop):
    faulty_shop.set_faults(["latency=250"])
    for path in ("/", "/product/canvas-sneaker", "/api/products", "/static/shop.css"):
        response, elapsed = timed_get(faulty_shop.url + path)
        assert response.status_code == 200 and elapsed >= 0.25, path
    assert "x-siteward-fault-latency" not in httpx.get(faulty_shop.url + "/healthz").headers


def test_errors_turn_about_that_share_of_responses_into_500s(faulty_shop):
    faulty_shop.set_faults(["errors=0.5"])
    with httpx.Client(base_url=faulty_shop.url) as client:
        statuses = [client.get("/api/products").status_code for _ in range(200)]
    failures = statuses.count(500)
    assert set(statuses) <= {200, 500}
    assert 60 <= failures <= 140, failures


def test_errors_spare_health_and_admin(faulty_shop):
    faulty_shop.set_faults(["errors=1"])
    assert httpx.get(faulty_shop.url + "/").status_code == 500
    assert httpx.get(faulty_shop.url + "/healthz").json() == {"ok": True}
    assert httpx.get(faulty_shop.url + "/__admin/faults").status_code == 200


# --- page faults -------------------------------------------------------------

def test_overflow_adds_an_element_wider_than_phones(faulty_shop, parse):
    css = httpx.get(faulty_shop.url + "/static/shop.css").text
    assert "@media (max-width: 479px) { .fault-overflow { width: 640px; } }" in css
    clean = parse(httpx.get(faulty_shop.url + "/").text)
    assert not clean.select(data_fault="overflow")
    faulty_shop.set_faults(["overflow"])
    for path in ("/", "/product/canvas-sneaker", "/cart"):
        page = parse(httpx.get(faulty_shop.url + path).text)
        assert "fault-overflow" in page.one(data_fault="overflow").attrs["class"], path


def test_console_error_adds_a_throwing_script(faulty_shop, parse):
    script = "/static/faults/console-error.js"
    assert script not in httpx.get(faulty_shop.url + "/").text
    faulty_shop.set_faults(["console-error"])
    page = parse(httpx.get(faulty_shop.url + "/").text)
    assert script_paths(page) == [script]
    source = httpx.get(faulty_shop.url + script)
    assert source.status_code == 200 and "javascript" in source.headers["content-type"]
    assert "console.error(" in source.text and "throw new Error(" in source.text


def test_broken_image_adds_an_img_that_404s(faulty_shop, parse):
    faulty_shop.set_faults(["broken-image"])
    for path in ("/", "/product/canvas-sneaker"):
        srcs = img_srcs(parse(httpx.get(faulty_shop.url + path).text))
        assert BROKEN_SRC in srcs, path
    assert httpx.get(faulty_shop.url + BROKEN_SRC).status_code == 404


def test_clean_pages_have_no_broken_images(shop, parse):
    srcs = set()
    for path in ("/", "/products", "/product/canvas-sneaker", "/product/silk-scarf"):
        srcs.update(img_srcs(parse(httpx.get(shop.url + path).text)))
    assert BROKEN_SRC not in srcs and len(srcs) > 50
    with httpx.Client(base_url=shop.url) as client:
        for src in srcs:
            response = client.get(src)
            assert response.status_code == 200, src
            assert response.headers["content-type"] == "image/webp", src


def test_layout_shift_inserts_a_tall_banner_after_load(faulty_shop, parse):
    script = "/static/faults/layout-shift.js"
    assert script not in httpx.get(faulty_shop.url + "/").text
    faulty_shop.set_faults(["layout-shift"])
    page = parse(httpx.get(faulty_shop.url + "/product/canvas-sneaker").text)
    assert script_paths(page) == [script]
    source = httpx.get(faulty_shop.url + script).text
    assert 'addEventListener("load"' in source and "insertBefore(banner, main)" in source
    delay = int(source.split("}, ")[-1].split(")")[0])
    assert 300 <= delay <= 500
    css = httpx.get(faulty_shop.url + "/static/shop.css").text
    assert ".fault-promo { height: 60vh; min-height: 420px;" in css


def test_heavy_image_serves_a_huge_png_hero_without_dimensions(faulty_shop, parse):
    clean_hero = parse(httpx.get(faulty_shop.url + "/").text).one("img", **{"class": "hero-img"})
    assert clean_hero.attrs["src"].endswith(".webp")
    assert clean_hero.attrs["width"] and clean_hero.attrs["height"]
    faulty_shop.set_faults(["heavy-image"])
    hero = parse(httpx.get(faulty_shop.url + "/").text).one("img", **{"class": "hero-img"})
    assert "width" not in hero.attrs and "height" not in hero.attrs
    image = httpx.get(faulty_shop.url + hero.attrs["src"], timeout=60)
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(image.content) > 2_000_000


def test_checkout_fail_declines_payment_and_orders(faulty_shop, parse):
    with httpx.Client(base_url=faulty_shop.url) as client:
        client.post("/cart/add", data={"product_id": "1", "quantity": "1"})
        client.post("/checkout/address", data=ADDRESS)
        faulty_shop.set_faults(["checkout-fail"])
        response = client.post("/checkout/payment", data=CARD)
        assert response.status_code == 502
        assert "Payment declined" in parse(response.text).one(data_testid="form-error").text
        assert client.get("/checkout/review").status_code == 303  # no payment, no review
        # Even with a payment taken before the fault, the order cannot be placed.
        faulty_shop.set_faults([])
        assert client.post("/checkout/payment", data=CARD).status_code == 303
        faulty_shop.set_faults(["checkout-fail"])
        placed = client.post("/checkout/place")
        assert placed.status_code == 502 and "Payment declined" in placed.text
        assert client.get("/api/cart").json()["count"] == 1  # nothing was ordered
        api = client.post("/api/orders", json={
            "address": ADDRESS, "card": {"number": CARD["card_number"], "expiry": "12/39",
                                         "cvc": "123"}})
        assert api.status_code == 502 and "Payment declined" in api.json()["error"]


def test_faults_combine(faulty_shop, parse):
    faulty_shop.set_faults(["overflow", "console-error", "broken-image", "layout-shift"])
    html = httpx.get(faulty_shop.url + "/").text
    page = parse(html)
    assert page.select(data_fault="overflow")
    assert set(script_paths(page)) == {"/static/faults/console-error.js",
                                       "/static/faults/layout-shift.js"}
    assert BROKEN_SRC in img_srcs(page)



def test_a11y_fault_puts_unnamed_controls_and_faint_text_on_server_and_storefront_pages(faulty_shop, parse):
    faulty_shop.set_faults(["a11y"])
    for path in ("/", "/cart", "/app/login"):
        page = parse(httpx.get(faulty_shop.url + path).text)
        fault = page.one("div", data_fault="a11y")
        assert "favicon.ico" in page.one("img", src="/favicon.ico").attrs["src"]
        assert "alt" not in page.one("img", src="/favicon.ico").attrs, path
        button = page.one("button", data_fault="a11y-icon-button")
        assert button.text.strip() == "" and "aria-label" not in button.attrs
        assert page.one("span", **{"class": "fault-a11y-faint"}).text in fault.text
        # its look comes from the shop's own stylesheet: the CSP forbids inline styles
        assert page.one("link", href="/static/faults/a11y.css")
        assert not [e for e in page.elements if "style" in e.attrs]
    css = httpx.get(faulty_shop.url + "/static/faults/a11y.css")
    assert css.status_code == 200 and ".fault-a11y-faint" in css.text
    faulty_shop.set_faults([])
    assert 'data-fault="a11y"' not in httpx.get(faulty_shop.url + "/").text
    assert 'data-fault="a11y"' not in httpx.get(faulty_shop.url + "/app/login").text
