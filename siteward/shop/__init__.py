"""The embedded demo shop: the default target of siteward and the fixture of its tests.

    from siteward.shop import start_shop
    with start_shop(faults=["latency=/api/search:200"]) as shop:
        httpx.get(shop.url + "/api/search?q=shirt")

Public API: create_app, serve, start_shop, ShopProcess, ShopStartError,
parse_fault, format_fault, Faults, FAULT_NAMES, DEMO_EMAIL, demo_password,
APP_PASSWORD, APP_PASSWORD_ENV.
Page paths and stable selectors: see siteward.shop.app; the React storefront
under /app/ (its accounts, selectors and app-* faults): see siteward.shop.storefront.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from siteward.shop.db import APP_PASSWORD, APP_PASSWORD_ENV, DEMO_EMAIL, DEMO_PASSWORD_DEFAULT, DEMO_PASSWORD_ENV
from siteward.shop.faults import FAULT_NAMES, Faults, format_fault, parse_fault
from siteward.shop.server import ShopProcess, ShopStartError, serve, start_shop

if TYPE_CHECKING:
    from starlette.applications import Starlette


def demo_password() -> str:
    """The seeded demo account's password (env SITEWARD_SHOP_DEMO_PASSWORD or the default)."""
    return os.environ.get(DEMO_PASSWORD_ENV) or DEMO_PASSWORD_DEFAULT


def create_app(*args: Any, **kwargs: Any) -> "Starlette":
    """See siteward.shop.app.create_app (imported lazily: it pulls in Starlette)."""
    from siteward.shop.app import create_app as _create_app

    return _create_app(*args, **kwargs)


__all__ = ["create_app", "serve", "start_shop", "ShopProcess", "ShopStartError",
           "parse_fault", "format_fault", "Faults", "FAULT_NAMES", "DEMO_EMAIL",
           "demo_password", "APP_PASSWORD", "APP_PASSWORD_ENV"]
