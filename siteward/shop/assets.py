"""Static assets and generated images, served from memory with long cache lifetimes.

Files in static/ are read once at import: there are few and they are small, and
serving bytes from memory keeps the event loop off the disk under load.
"""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from siteward.shop import images
from siteward.shop.catalog import get_product
from siteward.shop.web import shop

STATIC_DIR = Path(__file__).parent / "static"
LONG_CACHE = "public, max-age=31536000, immutable"  # images never change for a URL
STATIC_CACHE = "public, max-age=86400"  # unversioned URLs: a day, then revalidate by ETag
BROKEN_IMAGE_SRC = "/images/promo/spring-sale-banner.webp"  # broken-image fault: never exists


def _load_static() -> dict[str, tuple[bytes, str, str]]:
    files = {}
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if media_type.startswith("text/") or media_type.endswith("javascript"):
                media_type += "; charset=utf-8"
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            files[path.relative_to(STATIC_DIR).as_posix()] = (data, media_type, etag)
    return files


STATIC_FILES = _load_static()


def static_url(name: str) -> str:
    """URL of a static file with its content hash, so it can be cached for a year."""
    return f"/static/{name}?v={STATIC_FILES[name][2].strip(chr(34))[:12]}"


def _bytes_response(request: Request, data: bytes, media_type: str, cache: str,
                    etag: str | None = None) -> Response:
    headers = {"Cache-Control": cache}
    if etag:
        headers["ETag"] = etag
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


async def static_file(request: Request) -> Response:
    found = STATIC_FILES.get(request.path_params["path"])
    if found is None:
        raise HTTPException(404, "No such file")
    data, media_type, etag = found
    versioned = request.query_params.get("v") == etag.strip('"')[:12]
    return _bytes_response(request, data, media_type, LONG_CACHE if versioned else STATIC_CACHE,
                           etag)


async def product_image(request: Request) -> Response:
    size = request.path_params["size"]
    product = get_product(shop(request).conn, slug=request.path_params["slug"])
    if product is None or size not in images.PRODUCT_SIZES:
        raise HTTPException(404, "No such image")
    data, media_type = images.product_image(product["slug"], product["category"],
                                            product["hue"], size)
    return _bytes_response(request, data, media_type, LONG_CACHE)


async def hero_image(request: Request) -> Response:
    width, height = request.path_params["width"], request.path_params["height"]
    if (width, height) not in images.HERO_SIZES:
        raise HTTPException(404, "No such image")
    data, media_type = images.hero_image(width, height)
    return _bytes_response(request, data, media_type, LONG_CACHE)


async def heavy_hero(request: Request) -> Response:
    # Served whether or not the fault is on, so the URL itself is stable;
    # only the heavy-image fault makes the home page use it. No long cache:
    # the fault is about transfer size.
    data, media_type = images.heavy_hero_image()
    return Response(data, media_type=media_type, headers={"Cache-Control": "no-cache"})


async def favicon(request: Request) -> Response:
    data, media_type = images.favicon()
    return _bytes_response(request, data, media_type, STATIC_CACHE)


async def robots(request: Request) -> Response:
    base = str(request.base_url).rstrip("/")
    return PlainTextResponse(
        f"User-agent: *\nDisallow: /checkout\nDisallow: /api/\nDisallow: /__admin\n"
        f"Sitemap: {base}/sitemap.xml\n", headers={"Cache-Control": STATIC_CACHE})


async def sitemap(request: Request) -> Response:
    base = str(request.base_url).rstrip("/")
    conn = shop(request).conn
    paths = ["/", "/products"] + [c["url"] for c in shop(request).categories]
    paths += [f"/product/{row[0]}" for row in conn.execute("SELECT slug FROM products ORDER BY id")]
    urls = "".join(f"<url><loc>{base}{p}</loc></url>" for p in paths)
    xml = ('<?xml version="1.0" encoding="UTF-8"?>'
           f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>')
    return Response(xml, media_type="application/xml", headers={"Cache-Control": STATIC_CACHE})


routes = [
    Route("/static/{path:path}", static_file),
    Route("/images/products/{slug}-{size:int}.webp", product_image),
    Route("/images/hero-{width:int}x{height:int}.webp", hero_image),
    Route("/images/hero-heavy.png", heavy_hero),
    Route("/favicon.ico", favicon),
    Route("/robots.txt", robots),
    Route("/sitemap.xml", sitemap),
]
