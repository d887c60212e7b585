"""What audits and journeys rely on: selectors, SEO tags, headers, CJK, determinism."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest

from siteward.shop import images
from siteward.shop.db import init_db

PAGES = ["/", "/products", "/category/shoes", "/category/shirts", "/search?q=shirt",
         "/product/canvas-sneaker", "/product/silk-scarf", "/cart", "/login", "/register"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_title_description_canonical_viewport_and_search(shop, parse, path):
    response = httpx.get(shop.url + path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = parse(response.text)
    assert page.one("title").text.strip()
    assert page.one("meta", name="description").attrs["content"]
    assert page.one("meta", name="viewport").attrs["content"].startswith("width=device-width")
    assert page.one("link", rel="canonical").attrs["href"] == shop.url + path.split("?")[0]
    assert page.one("html").attrs["lang"] == "en"
    assert page.one("input", name="q") and page.one("button", data_testid="search-submit")
    assert page.one(data_testid="cart-count").text == "0"
    slugs = [a.attrs["href"] for a in page.select("a", data_testid="category-link")]
    assert {"/category/shoes", "/category/shirts"} <= set(slugs) and len(slugs) == 6
    for img in page.select("img"):  # no layout shift from images of unknown size
        assert img.attrs.get("width") and img.attrs.get("height"), img.attrs["src"]
        assert "alt" in img.attrs, img.attrs["src"]
    assert not [s for s in page.select("script") if "src" in s.attrs]  # no JS on the clean shop


def test_security_headers_and_compression_on_the_clean_shop(shop):
    response = httpx.get(shop.url + "/", headers={"Accept-Encoding": "gzip"})
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["content-encoding"] == "gzip"
    raw = httpx.get(shop.url + "/api/products", headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    assert json.loads(raw.content)["products"]  # httpx already decoded it
    with httpx.stream("GET", shop.url + "/static/shop.css",
                      headers={"Accept-Encoding": "gzip"}) as css:
        body = b"".join(css.iter_raw())
    assert gzip.decompress(body).startswith(b"/* Siteward demo shop")


@pytest.mark.parametrize("path", ["/static/shop.css", "/images/hero-1200x480.webp",
                                  "/images/products/canvas-sneaker-300.webp", "/favicon.ico"])
def test_static_assets_are_cacheable(shop, path):
    response = httpx.get(shop.url + path)
    assert response.status_code == 200
    max_age = int(response.headers["cache-control"].split("max-age=")[1].split(",")[0])
    assert max_age >= 3600


def test_versioned_css_is_cached_for_a_year(shop, parse):
    href = parse(httpx.get(shop.url + "/").text).one("link", rel="stylesheet").attrs["href"]
    assert href.startswith("/static/shop.css?v=")
    assert "max-age=31536000" in httpx.get(shop.url + href).headers["cache-control"]
    stale = httpx.get(shop.url + "/static/shop.css?v=old")
    assert "max-age=86400" in stale.headers["cache-control"]


def test_css_etag_revalidates_with_304(shop):
    first = httpx.get(shop.url + "/static/shop.css")
    again = httpx.get(shop.url + "/static/shop.css",
                      headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and not again.content


def test_product_page_selectors_and_json_ld(shop, parse):
    page = parse(httpx.get(shop.url + "/product/canvas-sneaker").text)
    assert page.one("h1", data_testid="product-title").text == "Canvas Sneaker"
    price = page.one(data_testid="price").text
    assert page.one("input", name="quantity").attrs["value"] == "1"
    assert page.one("button", data_testid="add-to-cart")
    assert page.one("form", action="/cart/add").attrs["method"] == "post"
    data = json.loads(page.one("script", type="application/ld+json").text)
    assert data["@type"] == "Product" and data["name"] == "Canvas Sneaker"
    assert data["offers"]["priceCurrency"] == "EUR"
    assert price == "€" + data["offers"]["price"]
    assert data["image"][0].startswith(shop.url + "/images/")


def test_cjk_names_render(shop, parse):
    page = parse(httpx.get(shop.url + "/product/silk-scarf").text)
    assert page.one("h1", data_testid="product-title").text == "Silk Scarf 丝巾"
    found = httpx.get(shop.url + "/api/search", params={"q": "丝巾"}).json()["products"]
    assert [p["slug"] for p in found] == ["silk-scarf"]
    listing = parse(httpx.get(shop.url + "/search", params={"q": "丝巾"}).text)
    assert len(listing.select(data_testid="product-card")) == 1


def test_catalogue_size_search_and_categories(shop, parse):
    products = httpx.get(shop.url + "/api/products").json()["products"]
    assert 45 <= len(products) <= 60
    assert len({p["category"] for p in products}) == 6
    assert "canvas-sneaker" in {p["slug"] for p in products}
    shirts = parse(httpx.get(shop.url + "/search?q=shirt").text)
    assert len(shirts.select(data_testid="product-card")) >= 5
    nothing = parse(httpx.get(shop.url + "/search?q=zzqqxx").text)
    assert not nothing.select(data_testid="product-card") and nothing.one(data_testid="no-results")
    assert httpx.get(shop.url + "/api/products", params={"category": "nope"}).status_code == 404


def test_search_escapes_user_input(shop):
    text = httpx.get(shop.url + "/search", params={"q": "<script>alert(1)</script>"}).text
    assert "<script>alert(1)" not in text and "&lt;script&gt;" in text
    assert httpx.get(shop.url + "/api/search", params={"q": "%"}).json()["products"] == []


@pytest.mark.parametrize("path", ["/product/no-such-thing", "/category/nope", "/order/SW-NOPE",
                                  "/nowhere"])
def test_unknown_pages_are_404_html(shop, parse, path):
    response = httpx.get(shop.url + path)
    assert response.status_code == 404
    assert parse(response.text).one("h1").text == "Page not found"


def test_seed_is_deterministic(tmp_path):
    first, second = init_db(tmp_path / "a.sqlite3"), init_db(tmp_path / "b.sqlite3")
    query = "SELECT id, slug, name, category_id, price_cents, description, stock, hue FROM products"
    assert [tuple(r) for r in first.execute(query)] == [tuple(r) for r in second.execute(query)]
    assert first.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 1


def test_product_images_are_deterministic_webp():
    data, media_type = images.product_image("canvas-sneaker", "shoes", 30, 300)
    images._cache.clear()
    again, _ = images.product_image("canvas-sneaker", "shoes", 30, 300)
    assert media_type == "image/webp" and data == again
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    with pytest.raises(ValueError):
        images.product_image("canvas-sneaker", "shoes", 30, 123)
