"""Cookie header from a Playwright storage_state: what a browser would send."""

from __future__ import annotations

import json

from audits.state import cookie_header, extra_headers_for


def cookie(name, value, domain="127.0.0.1", path="/", expires=-1, secure=False):
    return {"name": name, "value": value, "domain": domain, "path": path, "expires": expires,
            "httpOnly": True, "secure": secure, "sameSite": "Lax"}


def test_sends_matching_cookies_only():
    state = {"cookies": [
        cookie("session", "abc"),
        cookie("other_host", "x", domain="example.com"),
        cookie("expired", "y", expires=100),
        cookie("secure_only", "z", secure=True),
        cookie("admin", "w", path="/admin"),
        cookie("checkout", "v", path="/checkout"),
    ], "origins": []}
    assert cookie_header(state, "http://127.0.0.1:8000/checkout/address", now=1000) == "session=abc; checkout=v"
    assert cookie_header(state, "https://127.0.0.1:8000/", now=1000) == "session=abc; secure_only=z"


def test_domain_cookies_match_subdomains():
    state = {"cookies": [cookie("c", "1", domain=".shop.example")]}
    assert cookie_header(state, "http://www.shop.example/") == "c=1"
    assert cookie_header(state, "http://shop.example/") == "c=1"
    assert cookie_header(state, "http://notshop.example/") is None


def test_extra_headers_from_file(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"cookies": [cookie("cart", "42")]}))
    assert extra_headers_for(path, "http://127.0.0.1:9/cart") == {"Cookie": "cart=42"}
    path.write_text(json.dumps({"cookies": []}))
    assert extra_headers_for(path, "http://127.0.0.1:9/cart") == {}
