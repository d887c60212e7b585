"""The React storefront under /app/: the shell, the bundle, the login API, its faults.

HTTP-level tests run against the shop subprocess (and one in-process app for the
missing-bundle answer); the browser tests drive the real bundle in Debian's Chromium.
"""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest

from siteward.shop import storefront
from siteward.shop.app import create_app
from siteward.shop.faults import Faults, format_fault, parse_fault

CONFIG_RE = re.compile(r'<script type="application/json" id="sw-config">(.*?)</script>', re.S)
SCRIPT_RE = re.compile(r'<script src="(/app/assets/app\.js\?v=[0-9a-f]+)" defer></script>')


def shell_config(html: str) -> dict:
    match = CONFIG_RE.search(html)
    assert match, "the shell must embed <script type=application/json id=sw-config>"
    return json.loads(match.group(1))


# --- faults ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("app-broken-input", ("app-broken-input", True)),
    ("app-render-error", ("app-render-error", True)),
    ("app-wrong-image", ("app-wrong-image", True)),
    ("app-slow-list=1500", ("app-slow-list", 1500)),
    ("app-slow-list=0", ("app-slow-list", 0)),
    ("app-session=2", ("app-session", 2)),
])
def test_app_faults_parse_and_round_trip(text, expected):
    assert parse_fault(text) == expected
    assert format_fault(*expected) == text


@pytest.mark.parametrize(("text", "message"), [
    ("app-session", "needs a value: app-session=SECONDS"),
    ("app-session=0", "between 1 and"),
    ("app-session=soon", "whole number"),
    ("app-slow-list", "needs a value: app-slow-list=MS"),
    ("app-slow-list=-1", "between 0 and"),
    ("app-broken-input=1", "takes no value"),
])
def test_app_faults_reject_bad_values(text, message):
    with pytest.raises(ValueError, match=message):
        parse_fault(text)


def test_faults_hold_app_values_and_list_them():
    faults = Faults(["app-session=30", "app-slow-list=100", "app-render-error"])
    assert faults.value("app-session", 600) == 30
    assert faults.value("app-slow-list", 3000) == 100
    assert faults.active("app-render-error") and not faults.active("app-wrong-image")
    assert faults.as_strings() == ["app-slow-list=100", "app-session=30", "app-render-error"]
    faults.clear()
    assert faults.value("app-session", 600) == 600 and faults.as_strings() == []


# --- the shell and the bundle --------------------------------------------------------

@pytest.mark.parametrize("path", ["/app", "/app/", "/app/login", "/app/products",
                                  "/app/product/canvas-sneaker", "/app/cart",
                                  "/app/checkout/info", "/app/checkout/overview",
                                  "/app/checkout/complete", "/app/no/such/page"])
def test_the_shell_is_served_for_every_app_path(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"  # it carries the live faults
    assert '<div id="root"></div>' in response.text
    assert SCRIPT_RE.search(response.text), "the bundle must come from the shop itself"
    assert shell_config(response.text)["base"] == "/app"


def test_the_bundle_is_served_as_javascript_and_cached_by_version(client):
    src = SCRIPT_RE.search(client.get("/app/login").text).group(1)
    response = client.get(src)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == storefront.LONG_CACHE
    assert b"react.dev/errors" in response.content  # React's production build is inside
    again = client.get(src, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    css = client.get("/app/assets/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/app/assets/secrets.txt").status_code == 404


def test_default_config_has_no_faults_and_the_documented_defaults(client):
    config = shell_config(client.get("/app/products").text)
    assert config["faults"] == {"brokenInput": False, "renderError": False,
                                "wrongImage": False, "slowListMs": 3000, "slowClickMs": 0,
                                "sessionSeconds": 600}
    assert config["sessionCookie"] == "sw_app_session" and config["cartKey"] == "sw_app_cart"


def test_active_faults_are_embedded_in_the_shell(faulty_shop):
    faulty_shop.set_faults(["app-broken-input", "app-render-error", "app-wrong-image",
                            "app-slow-list=1234", "app-slow-click=250", "app-session=42", "overflow"])
    config = shell_config(httpx.get(faulty_shop.url + "/app/checkout/info", timeout=10).text)
    assert config["faults"] == {"brokenInput": True, "renderError": True, "wrongImage": True,
                                "slowListMs": 1234, "slowClickMs": 250, "sessionSeconds": 42}


def test_the_shell_config_cannot_break_out_of_its_script_element():
    html = storefront.shell_html({"x": "</script><script>alert(1)</script>"}, "abc", None)
    assert html.count("</script>") == 2  # the JSON one and the bundle's
    assert shell_config(html) == {"x": "</script><script>alert(1)</script>"}


def _in_process_get(path: str) -> httpx.Response:
    async def get() -> httpx.Response:
        app = create_app(warm_images=False)
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://shop") as http:
                return await http.get(path)
        finally:
            app.state.shop.conn.close()

    return asyncio.run(get())


def test_a_missing_bundle_answers_503_saying_to_run_make_setup(monkeypatch, tmp_path):
    monkeypatch.setattr(storefront, "BUNDLE_DIR", tmp_path / "not-built")
    for path in ("/app/", "/app/products"):
        response = _in_process_get(path)
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("text/plain")
        assert "make setup" in response.text and "not built" in response.text
    assert _in_process_get("/app/assets/app.js").status_code == 404


def test_the_shell_works_without_the_stylesheet(monkeypatch, tmp_path):
    (tmp_path / "app.js").write_text("console.log('app')")
    monkeypatch.setattr(storefront, "BUNDLE_DIR", tmp_path)
    response = _in_process_get("/app/login")
    assert response.status_code == 200 and "app.css" not in response.text
    assert SCRIPT_RE.search(response.text)


# --- the login API -------------------------------------------------------------------

@pytest.mark.parametrize(("username", "password", "error"), [
    ("", "secret_sauce", "Username is required"),
    ("standard_user", "", "Password is required"),
    ("standard_user", "wrong", "Username and password do not match any user in this service"),
    ("nobody", "secret_sauce", "Username and password do not match any user in this service"),
    ("locked_out_user", "secret_sauce", "Sorry, this user has been locked out."),
])
def test_refused_logins_answer_200_with_the_message_and_no_cookie(client, username, password,
                                                                 error):
    response = client.post("/api/app/login", json={"username": username, "password": password})
    assert response.status_code == 200  # like the shop's forms: no "Failed to load resource"
    assert response.json() == {"ok": False, "error": error}
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize("username", ["standard_user", "slow_user", "error_user"])
def test_a_login_sets_a_script_readable_session_cookie(client, username):
    response = client.post("/api/app/login",
                           json={"username": username, "password": storefront.APP_PASSWORD})
    body = response.json()
    assert body["ok"] is True and body["user"] == username and body["max_age"] == 600
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"sw_app_session={username}.{body['expires']};")
    assert "Max-Age=600" in cookie and "Path=/" in cookie
    assert "httponly" not in cookie.lower()


def test_app_session_fault_sets_the_cookie_lifetime(faulty_shop):
    faulty_shop.set_faults(["app-session=2"])
    response = httpx.post(faulty_shop.url + "/api/app/login", timeout=10,
                          json={"username": "standard_user", "password": "secret_sauce"})
    assert response.json()["max_age"] == 2
    assert "Max-Age=2;" in response.headers["set-cookie"]


def test_the_login_api_rejects_a_body_that_is_not_json(client):
    response = client.post("/api/app/login", content=b"username=x")
    assert response.status_code == 400 and response.json()["ok"] is False
