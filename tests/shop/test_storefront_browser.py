"""The React storefront in real browsers: Debian's Chromium, and one Firefox check.

Run them under the shared lock of the heavy suites:
    flock /tmp/siteward-heavy.lock .venv/bin/python -m pytest tests/shop -m browser
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from siteward.shop import ShopProcess

pytestmark = pytest.mark.browser

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]
FIREFOX_PATH = "/usr/bin/firefox-esr"
PASSWORD = "secret_sauce"


def require_bundle(shop: ShopProcess) -> None:
    response = httpx.get(shop.url + "/app/login", timeout=10)
    if response.status_code == 503:
        pytest.fail(response.text)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:  # one per module: sync Playwright instances cannot nest
        yield p


@pytest.fixture(scope="module")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture()
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.errors = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(f"pageerror: {e}"))
    yield page
    context.close()


# Client-side to the cart and back: how long the main thread is busy mounting the list again.
REMOUNT_LIST_MS = """async () => {
    const go = (path) => { history.pushState(null, '', path); dispatchEvent(new PopStateEvent('popstate')); };
    go('/app/cart');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const start = performance.now();
    go('/app/products');
    while (!document.querySelector('[data-test=inventory-item]')) {
        await new Promise((resolve) => setTimeout(resolve, 0));
    }
    return performance.now() - start;
}"""


def log_in(page: Page, base: str, user: str = "standard_user") -> None:
    page.goto(base + "/app/login")
    page.fill("[data-test=username]", user)
    page.fill("[data-test=password]", PASSWORD)
    page.click("[data-test=login-button]")


def test_standard_user_logs_in_and_completes_a_checkout(shop, page):
    require_bundle(shop)
    page.goto(shop.url + "/app/")
    expect(page).to_have_url(shop.url + "/app/login")  # no session: sent to the login page
    log_in(page, shop.url)
    expect(page).to_have_url(shop.url + "/app/products")
    items = page.locator("[data-test=inventory-item]")
    expect(items).to_have_count(50)
    first = items.first
    name = first.locator("[data-test=item-name]").inner_text()
    assert first.locator("img").evaluate("img => img.complete && img.naturalWidth") == 300
    first.locator("[data-test=add-to-cart]").click()
    expect(page.locator("[data-test=cart-badge]")).to_have_text("1")

    page.click("[data-test=cart-link]")  # a real <a href>, routed by React (no reload)
    expect(page).to_have_url(shop.url + "/app/cart")
    expect(page.locator("[data-test=cart-item]")).to_have_count(1)
    expect(page.locator("[data-test=cart-item-name]")).to_have_text(name)
    page.click("[data-test=checkout]")
    expect(page).to_have_url(shop.url + "/app/checkout/info")
    page.click("[data-test=continue]")
    expect(page.locator("[data-test=error]")).to_have_text("First Name is required")
    page.fill("[data-test=first-name]", "Ada")
    page.fill("[data-test=last-name]", "Lovelace")
    page.fill("[data-test=postal-code]", "10115")
    page.click("[data-test=continue]")
    expect(page).to_have_url(shop.url + "/app/checkout/overview")
    expect(page.locator("[data-test=shipping-info]")).to_contain_text("Ada Lovelace, 10115")
    page.click("[data-test=finish]")
    expect(page).to_have_url(shop.url + "/app/checkout/complete")
    expect(page.locator("[data-test=complete-header]")).to_have_text("Thank you for your order!")
    expect(page.locator("[data-test=cart-badge]")).to_have_count(0)  # the cart was cleared
    assert page.evaluate("localStorage.getItem('sw_app_cart')") == "[]"
    assert page.errors == []  # the clean storefront logs nothing


def test_deep_links_load_on_a_full_reload_and_history_works(shop, page):
    require_bundle(shop)
    log_in(page, shop.url)
    expect(page).to_have_url(shop.url + "/app/products")
    page.goto(shop.url + "/app/product/canvas-sneaker")
    expect(page.locator("[data-test=product-name]")).to_have_text("Canvas Sneaker")
    assert page.title() == "Canvas Sneaker | Siteward Storefront"
    page.click("[data-test=back-to-products]")
    expect(page).to_have_url(shop.url + "/app/products")
    page.go_back()
    expect(page.locator("[data-test=product-name]")).to_have_text("Canvas Sneaker")
    page.goto(shop.url + "/app/nothing-here")
    expect(page.locator("[data-test=not-found]")).to_be_visible()


def test_locked_out_user_sees_the_locked_out_message(shop, page):
    require_bundle(shop)
    log_in(page, shop.url, "locked_out_user")
    error = page.locator("[data-test=error]")
    expect(error).to_have_text("Sorry, this user has been locked out.")
    assert error.get_attribute("role") == "alert"
    expect(page).to_have_url(shop.url + "/app/login")
    assert page.errors == []  # a refused login is not a console error


def test_an_expired_session_cookie_sends_the_visitor_to_login(faulty_shop, page):
    require_bundle(faulty_shop)
    faulty_shop.set_faults(["app-session=2"])
    log_in(page, faulty_shop.url)
    expect(page).to_have_url(faulty_shop.url + "/app/products")
    cookie = next(c for c in page.context.cookies() if c["name"] == "sw_app_session")
    assert not cookie["httpOnly"] and 0 < cookie["expires"] - time.time() <= 2.5
    time.sleep(3)
    page.reload()
    expect(page).to_have_url(faulty_shop.url + "/app/login")
    assert page.evaluate("history.length") >= 1


def test_the_cart_survives_a_reload(shop, page):
    require_bundle(shop)
    log_in(page, shop.url)
    buttons = page.locator("[data-test=add-to-cart]")
    buttons.nth(0).click()
    buttons.nth(1).click()
    buttons.nth(1).click()
    expect(page.locator("[data-test=cart-badge]")).to_have_text("3")
    page.reload()
    expect(page.locator("[data-test=cart-badge]")).to_have_text("3")
    page.goto(shop.url + "/app/cart")
    expect(page.locator("[data-test=cart-item]")).to_have_count(2)
    expect(page.locator("[data-test=cart-item-quantity]").nth(1)).to_have_text("2")


def test_broken_input_fault_leaves_first_name_required(faulty_shop, page):
    require_bundle(faulty_shop)
    faulty_shop.set_faults(["app-broken-input"])
    log_in(page, faulty_shop.url)
    page.locator("[data-test=add-to-cart]").first.click()
    page.goto(faulty_shop.url + "/app/checkout/info")
    page.fill("[data-test=first-name]", "Ada")
    page.fill("[data-test=last-name]", "Lovelace")
    page.fill("[data-test=postal-code]", "10115")
    assert page.input_value("[data-test=first-name]") == ""  # React reset it: state never changed
    page.click("[data-test=continue]")
    expect(page.locator("[data-test=error]")).to_have_text("First Name is required")
    expect(page).to_have_url(faulty_shop.url + "/app/checkout/info")


def test_error_user_gets_an_error_boundary_and_a_console_error(shop, page):
    require_bundle(shop)
    log_in(page, shop.url, "error_user")
    expect(page.locator("[data-test=error-boundary]")).to_contain_text("Something went wrong")
    expect(page.locator("[data-test=inventory-item]")).to_have_count(0)
    page.wait_for_timeout(200)  # the boundary rethrows outside React on a timer
    assert any("reading 'price'" in e and not e.startswith("pageerror") for e in page.errors)
    assert any(e.startswith("pageerror") for e in page.errors)


def test_render_error_fault_breaks_the_list_for_every_user(faulty_shop, page):
    require_bundle(faulty_shop)
    faulty_shop.set_faults(["app-render-error"])
    log_in(page, faulty_shop.url)
    expect(page.locator("[data-test=error-boundary]")).to_be_visible()
    expect(page.locator("[data-test=header]")).to_be_visible()  # the frame still renders


def test_slow_user_blocks_the_main_thread_for_the_fault_value(faulty_shop, page):
    require_bundle(faulty_shop)
    faulty_shop.set_faults(["app-slow-list=1500"])
    log_in(page, faulty_shop.url, "slow_user")
    expect(page.locator("[data-test=inventory-item]").first).to_be_visible()
    blocked = page.evaluate(REMOUNT_LIST_MS)
    assert blocked >= 1400, f"slow_user's list render blocked only {blocked:.0f} ms"


def test_standard_user_is_not_slow(shop, page):
    require_bundle(shop)
    log_in(page, shop.url)
    page.wait_for_selector("[data-test=inventory-list]")
    blocked = page.evaluate(REMOUNT_LIST_MS)
    assert blocked < 1000


def test_wrong_image_fault_shows_another_products_picture(faulty_shop, page):
    require_bundle(faulty_shop)
    products = httpx.get(faulty_shop.url + "/api/products", timeout=10).json()["products"]
    faulty_shop.set_faults(["app-wrong-image"])
    log_in(page, faulty_shop.url)
    first = page.locator("[data-test=inventory-item]").first.locator("img")
    expect(first).to_have_attribute("src", products[-1]["thumbnail"])
    first.evaluate("img => img.decode()")
    assert first.evaluate("img => img.naturalWidth") == 300  # it loads fine: just wrong
    second = page.locator("[data-test=inventory-item]").nth(1).locator("img")
    expect(second).to_have_attribute("src", products[1]["thumbnail"])


def test_firefox_fill_does_not_reach_react_but_typing_does(shop, playwright):
    """Engine behaviour the journey interpreter has to handle (see DESIGN.md): on Firefox
    (WebDriver BiDi) Playwright's `fill` sets the value with one untrusted input event that
    React's onChange ignores, so the login sees an empty username; `press_sequentially`
    types real keys and reaches React."""
    require_bundle(shop)
    browser = playwright.firefox.launch(channel="moz-firefox", executable_path=FIREFOX_PATH)
    try:
        page = browser.new_page()
        page.goto(shop.url + "/app/login")
        page.fill("[data-test=username]", "standard_user")
        page.fill("[data-test=password]", PASSWORD)
        assert page.input_value("[data-test=username]") == "standard_user"  # the DOM has it
        page.click("[data-test=login-button]")
        expect(page.locator("[data-test=error]")).to_have_text("Username is required")
        assert page.input_value("[data-test=username]") == ""  # React's state never had it

        page.goto(shop.url + "/app/login")
        page.locator("[data-test=username]").press_sequentially("standard_user")
        page.locator("[data-test=password]").press_sequentially(PASSWORD)
        page.click("[data-test=login-button]")
        expect(page).to_have_url(shop.url + "/app/products")
        expect(page.locator("[data-test=inventory-item]").first).to_be_visible()
    finally:
        browser.close()
