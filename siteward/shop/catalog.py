"""Catalogue: product queries (shared with the JSON API) and the browsing pages."""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from siteward.shop.web import CURRENCY, money, render, shop

MAX_QUERY_CHARS = 200
FEATURED_LIMIT = 8

_SELECT = """
SELECT p.id, p.slug, p.name, p.price_cents, p.description, p.stock, p.featured, p.hue,
       c.slug AS category_slug, c.name AS category_name
FROM products p JOIN categories c ON c.id = p.category_id
"""


def product_dict(row: sqlite3.Row) -> dict[str, Any]:
    """The public shape of a product, used by templates and the API alike."""
    return {
        "id": row["id"],
        "slug": row["slug"],
        "name": row["name"],
        "category": row["category_slug"],
        "category_name": row["category_name"],
        "price_cents": row["price_cents"],
        "price": money(row["price_cents"]),
        "currency": CURRENCY,
        "description": row["description"],
        "in_stock": row["stock"] > 0,
        "url": f"/product/{row['slug']}",
        "image": f"/images/products/{row['slug']}-600.webp",
        "thumbnail": f"/images/products/{row['slug']}-300.webp",
        "hue": row["hue"],
    }


def load_categories(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT slug, name FROM categories ORDER BY position").fetchall()
    return [{"slug": r["slug"], "name": r["name"], "url": f"/category/{r['slug']}"} for r in rows]


def list_products(conn: sqlite3.Connection, category: str | None = None) -> list[dict[str, Any]]:
    if category:
        rows = conn.execute(_SELECT + " WHERE c.slug = ? ORDER BY p.id", (category,)).fetchall()
    else:
        rows = conn.execute(_SELECT + " ORDER BY p.id").fetchall()
    return [product_dict(r) for r in rows]


def featured_products(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(_SELECT + " WHERE p.featured = 1 ORDER BY p.id LIMIT ?",
                        (FEATURED_LIMIT,)).fetchall()
    return [product_dict(r) for r in rows]


def search_products(conn: sqlite3.Connection, query: str) -> list[dict[str, Any]]:
    """Case-insensitive substring search over name, description and category."""
    query = query.strip()[:MAX_QUERY_CHARS]
    if not query:
        return []
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    rows = conn.execute(
        _SELECT + " WHERE p.name LIKE ? ESCAPE '\\' OR p.description LIKE ? ESCAPE '\\'"
        " OR c.name LIKE ? ESCAPE '\\' ORDER BY (p.name LIKE ? ESCAPE '\\') DESC, p.id",
        (pattern, pattern, pattern, pattern)).fetchall()
    return [product_dict(r) for r in rows]


def get_product(conn: sqlite3.Connection, *, product_id: int | None = None,
                slug: str | None = None) -> dict[str, Any] | None:
    if product_id is not None:
        row = conn.execute(_SELECT + " WHERE p.id = ?", (product_id,)).fetchone()
    else:
        row = conn.execute(_SELECT + " WHERE p.slug = ?", (slug,)).fetchone()
    return product_dict(row) if row else None


def product_json_ld(product: dict[str, Any], base_url: str) -> dict[str, Any]:
    """schema.org Product data, so SEO audits find structured data."""
    url = base_url + product["url"]
    return {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product["name"],
        "sku": f"SW-{product['id']:04d}",
        "description": product["description"],
        "image": [base_url + product["image"]],
        "category": product["category_name"],
        "brand": {"@type": "Brand", "name": "Siteward Demo Shop"},
        "offers": {
            "@type": "Offer",
            "url": url,
            "priceCurrency": CURRENCY,
            "price": f"{product['price_cents'] / 100:.2f}",
            "availability": "https://schema.org/InStock" if product["in_stock"]
            else "https://schema.org/OutOfStock",
            "itemCondition": "https://schema.org/NewCondition",
        },
    }


async def home(request: Request) -> Response:
    return render(request, "home.html", {
        "title": "Siteward Demo Shop: shoes, shirts, bags and more",
        "description": "A small demo shop for synthetic testing: shoes, shirts, trousers, "
                       "bags, accessories and homeware.",
        "products": featured_products(shop(request).conn),
    })


async def all_products(request: Request) -> Response:
    return render(request, "listing.html", {
        "title": "All products | Siteward Demo Shop",
        "description": "Browse the whole catalogue of the Siteward demo shop.",
        "heading": "All products",
        "products": list_products(shop(request).conn),
    })


async def category(request: Request) -> Response:
    slug = request.path_params["slug"]
    found = next((c for c in shop(request).categories if c["slug"] == slug), None)
    if found is None:
        raise HTTPException(404, f"No category {slug!r}")
    return render(request, "listing.html", {
        "title": f"{found['name']} | Siteward Demo Shop",
        "description": f"{found['name']} from the Siteward demo shop.",
        "heading": found["name"],
        "current_category": slug,
        "products": list_products(shop(request).conn, slug),
    })


async def search(request: Request) -> Response:
    query = request.query_params.get("q", "")
    results = search_products(shop(request).conn, query)
    return render(request, "listing.html", {
        "title": f"Search: {query} | Siteward Demo Shop" if query
        else "Search | Siteward Demo Shop",
        "description": "Search the Siteward demo shop.",
        "heading": f"Results for “{query.strip()}”" if query.strip() else "Search",
        "products": results,
        "is_search": True,
    })


async def product_page(request: Request) -> Response:
    product = get_product(shop(request).conn, slug=request.path_params["slug"])
    if product is None:
        raise HTTPException(404, "No such product")
    base_url = str(request.base_url).rstrip("/")
    return render(request, "product.html", {
        "title": f"{product['name']} | Siteward Demo Shop",
        "description": product["description"],
        "product": product,
        "json_ld": product_json_ld(product, base_url),
    })


routes = [
    Route("/", home),
    Route("/products", all_products),
    Route("/category/{slug}", category),
    Route("/search", search),
    Route("/product/{slug}", product_page),
]
