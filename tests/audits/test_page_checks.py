"""Pure page checks on hand-built artifacts (the real-shop runs are in test_page_audits.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from audits.document import parse_document
from audits.gather import Fetched, PageArtifacts, TlsInfo
from audits.page_checks import (
    cache_ttl_s, check_broken_links, check_caching, check_compression, check_image_formats,
    check_security_headers, check_seo, check_tls, is_product_page,
)

BASE = "http://shop.test"
GOOD_HEADERS = {
    "content-security-policy": "default-src 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "content-type": "text/html",
}


def page(headers=None, html="", assets=(), links=(), body_bytes=5000, encoding="gzip") -> PageArtifacts:
    main = Fetched(url=BASE + "/", status=200, final_url=BASE + "/", body_bytes=body_bytes,
                   headers={**GOOD_HEADERS, **({"content-encoding": encoding} if encoding else {}), **(headers or {})})
    return PageArtifacts(name="home", url=BASE + "/", main=main, html=html, doc=parse_document(html, BASE + "/"),
                         assets=list(assets), links=list(links), links_found=len(links))


def asset(kind: str, path: str, **headers) -> tuple[str, Fetched]:
    return kind, Fetched(url=BASE + path, status=200, headers={k.replace("_", "-"): v for k, v in headers.items()},
                         body_bytes=4000)


def test_security_headers_pass_and_name_what_is_missing():
    assert check_security_headers(page(), https=False).status == "pass"
    bare = page(headers={"content-security-policy": "", "x-content-type-options": "", "referrer-policy": ""})
    result = check_security_headers(bare, https=True)
    assert result.status == "fail"
    for name in ("Strict-Transport-Security", "Content-Security-Policy", "X-Content-Type-Options",
                 "X-Frame-Options or CSP frame-ancestors", "Referrer-Policy"):
        assert name in result.message


def test_frame_protection_by_x_frame_options_alone_is_enough():
    result = check_security_headers(page(headers={"content-security-policy": "default-src 'self'",
                                                  "x-frame-options": "DENY"}), https=False)
    assert result.status == "pass"
    result = check_security_headers(page(headers={"content-security-policy": "default-src 'self'"}), https=False)
    assert result.status == "fail" and "frame-ancestors" in result.message


def test_cache_ttl_parsing():
    assert cache_ttl_s("public, max-age=86400") == 86400
    assert cache_ttl_s("no-cache") is None
    assert cache_ttl_s("max-age=600, no-store") is None
    assert cache_ttl_s("private") is None
    assert cache_ttl_s("public, immutable") > 0


def test_caching_fails_on_uncached_same_host_assets_only():
    assets = [asset("stylesheet", "/s.css", cache_control="max-age=3600"),
              asset("image", "/hero.png", cache_control="no-cache"),
              ("script", Fetched(url="https://cdn.other/x.js", status=200, headers={}))]
    result = check_caching(page(assets=assets), base_url=BASE)
    assert result.status == "fail"
    assert result.data["uncached"] == [BASE + "/hero.png"]
    assert check_caching(page(assets=assets[:1]), base_url=BASE).status == "pass"
    assert check_caching(page(), base_url=BASE).status == "skip"


def test_compression_ignores_small_responses_and_flags_plain_text():
    plain_css = asset("stylesheet", "/big.css")
    result = check_compression(page(assets=[plain_css]))
    assert result.status == "fail" and result.data["uncompressed"] == [BASE + "/big.css"]
    assert check_compression(page(assets=[asset("script", "/a.js", content_encoding="br")])).status == "pass"
    tiny = page(body_bytes=300, encoding=None)
    assert check_compression(tiny).status == "skip"


def test_image_formats_warn_on_png_and_jpeg():
    images = [asset("image", "/a.webp", content_type="image/webp"), asset("image", "/b.png", content_type="image/png"),
              asset("image", "/c.jpg")]
    result = check_image_formats(page(assets=images))
    assert result.status == "warn"
    assert set(result.data["legacy"]) == {BASE + "/b.png", BASE + "/c.jpg"}
    assert check_image_formats(page(assets=images[:1])).status == "pass"


def test_broken_links_lists_status_and_errors():
    links = [Fetched(url=BASE + "/ok", status=200), Fetched(url=BASE + "/gone", status=404),
             Fetched(url=BASE + "/down", error="ConnectError: refused")]
    result = check_broken_links(page(links=links))
    assert result.status == "fail"
    assert result.data["broken"] == {BASE + "/gone": "HTTP 404", BASE + "/down": "ConnectError: refused"}
    assert check_broken_links(page(links=links[:1])).status == "pass"


PRODUCT_HTML = """<html><head><title>Canvas Sneaker | Shop</title>
<meta name="description" content="A sneaker."><link rel="canonical" href="/product/canvas-sneaker">
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Product", "name": "Canvas Sneaker",
 "offers": {"@type": "Offer", "price": "59.00", "priceCurrency": "EUR"}}</script></head><body></body></html>"""


def test_seo_passes_a_complete_product_page():
    result = check_seo(page(html=PRODUCT_HTML), product_page=True)
    assert result.status == "pass", result.message
    assert result.data["json_ld_types"] == ["Product"]
    assert result.data["canonical"] == BASE + "/product/canvas-sneaker"


def test_seo_names_each_missing_piece():
    result = check_seo(page(html="<html><head></head><body><h1>x</h1></body></html>"), product_page=True)
    assert result.status == "fail"
    for piece in ("no <title>", "no meta description", "no canonical link", "JSON-LD Product"):
        assert piece in result.message
    broken = PRODUCT_HTML.replace('"name": "Canvas Sneaker",', "").replace("{\"@context\"", "{ \"@context\"")
    assert "lacks name" in check_seo(page(html=broken), product_page=True).message
    assert "invalid JSON-LD" in check_seo(page(html=PRODUCT_HTML.replace("}</script>", "</script>")),
                                          product_page=False).message


def test_tls_check_days_left_and_http_skip():
    soon = TlsInfo(host="shop.test", port=443, not_after=datetime.now(timezone.utc) + timedelta(days=5))
    later = TlsInfo(host="shop.test", port=443, not_after=datetime.now(timezone.utc) + timedelta(days=90))
    assert check_tls(soon, https=True, min_days=21).status == "fail"
    assert check_tls(later, https=True, min_days=21).status == "pass"
    assert check_tls(None, https=False, min_days=21).status == "skip"
    invalid = TlsInfo(host="shop.test", port=443, error="certificate does not verify: self-signed", invalid=True)
    assert check_tls(invalid, https=True, min_days=21).status == "fail"
    refused = TlsInfo(host="shop.test", port=443, error="ConnectionRefusedError")
    assert check_tls(refused, https=True, min_days=21).status == "error"


def test_product_page_detection():
    assert is_product_page("product", "/product/canvas-sneaker", None)
    assert is_product_page("pdp", "/p/123", None)
    assert not is_product_page("home", "/", None)
    assert not is_product_page("category", "/category/shoes", None)
    assert is_product_page("home", "/", ["home"])
    # a listing is not one product's page
    assert not is_product_page("app-products", "/app/products", None)
    assert not is_product_page("products", "/products/", None)
    assert is_product_page("product-detail", "/app/item", None)
