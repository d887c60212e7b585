"""The demo shop as an ASGI app: create_app(faults=(), db_path=None).

Pages
    /                      home: hero image + featured products
    /products              the whole catalogue (50 products, 6 categories)
    /category/{slug}       one category (slugs: shoes, shirts, trousers, bags, accessories, home)
    /search?q=TEXT         search results
    /product/{slug}        product page (e.g. /product/canvas-sneaker), JSON-LD Product data
    /cart                  cart; POST /cart/add, POST /cart/update (quantity 0 removes)
    /checkout/address -> /checkout/payment -> /checkout/review -> POST /checkout/place
    /order/{number}        order confirmation
    /login, /register, POST /logout, /account
    /api/..., /healthz, /__admin/faults      see api.py
    /app, /app/...         the React storefront (client-rendered), see storefront/

Stable selectors (journeys in other packages depend on exactly these)
    every page       a[data-testid=category-link], [data-testid=cart-count],
                     search form: input[name=q], button[data-testid=search-submit]
    listings, home   [data-testid=product-card], each with a[data-testid=product-link]
    product page     h1[data-testid=product-title], [data-testid=price],
                     input[name=quantity], button[data-testid=add-to-cart] (POST /cart/add)
    cart             [data-testid=cart-line] per line, [data-testid=cart-total],
                     a[data-testid=checkout]
    address step     inputs full_name, email, street, city, postcode; select country
                     (DE, CN, US, ...); submit [data-testid=continue]
    payment step     inputs card_number, expiry (MM/YY), cvc; submit [data-testid=continue]
                     (test card 4242424242424242; 4000000000000002 is declined)
    review step      button [data-testid=place-order]
    confirmation     h1[data-testid=order-confirmation] ("Thank you ..."),
                     [data-testid=order-number]
    login            inputs email, password; [data-testid=login-submit]
    register         inputs email, password; [data-testid=register-submit]
    form errors      [data-testid=form-error]
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from siteward import processes
from siteward.shop import accounts, api, assets, cart, catalog, checkout, images
from siteward.shop import storefront
from siteward.shop.db import init_db
from siteward.shop.faults import FaultMiddleware, Faults
from siteward.shop.faults import routes as fault_routes
from siteward.shop.web import ShopState, render, template_env

template_env.globals["static_url"] = assets.static_url

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
     b"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeadersMiddleware:
    """Adds the security headers to every response (pure ASGI: no body buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def http_error(request: Request, exc: HTTPException) -> Response:
    if request.url.path.startswith(("/api/", "/__admin", "/images/", "/static/")):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code,
                            headers=exc.headers)
    heading = "Page not found" if exc.status_code == 404 else f"Error {exc.status_code}"
    message = "We could not find that page." if exc.status_code == 404 else str(exc.detail)
    return render(request, "error.html", {
        "title": f"{heading} | Siteward Demo Shop", "description": heading,
        "heading": heading, "message": message, "robots": "noindex"},
        status_code=exc.status_code, headers=exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    return Response("Internal Server Error", status_code=500, media_type="text/plain")


def create_app(faults: Iterable[str] | Faults = (), db_path: str | Path | None = None,
               *, warm_images: bool = True) -> Starlette:
    """Build the shop. Bad fault strings raise ValueError before anything starts.

    db_path None: a fresh temporary database, seeded now and deleted on shutdown,
    so every run starts from the same catalogue. An existing file is reused as is.
    """
    fault_state = faults if isinstance(faults, Faults) else Faults(faults)
    temp_dir = None
    if db_path is None:
        temp_dir = str(processes.temp_dir("shop"))
        db_path = Path(temp_dir) / "shop.sqlite3"
    try:
        conn = init_db(db_path)
    except BaseException:
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    state = ShopState(conn=conn, faults=fault_state, db_path=str(db_path),
                      categories=catalog.load_categories(conn))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if warm_images:  # draw the catalogue images off the request path
            products = [(p["slug"], p["category"], p["hue"]) for p in catalog.list_products(conn)]
            threading.Thread(target=images.warm, args=(products,), daemon=True,
                             name="siteward-shop-images").start()
        try:
            yield
        finally:
            conn.close()
            if temp_dir:
                shutil.rmtree(temp_dir, ignore_errors=True)

    app = Starlette(
        routes=[*catalog.routes, *cart.routes, *checkout.routes, *accounts.routes,
                *api.routes, *assets.routes, *fault_routes, *storefront.routes],
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(GZipMiddleware, minimum_size=800, compresslevel=6),
            Middleware(FaultMiddleware, faults=fault_state),
        ],
        exception_handlers={HTTPException: http_error, 500: server_error},
        lifespan=lifespan,
    )
    app.state.shop = state
    return app
