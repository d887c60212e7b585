"""Deterministic product and hero images, drawn with Pillow and cached in memory.

Images are drawn once (warmed at startup, or on first use) and then served from
memory: a load test must measure the shop, not Pillow. The same product always
gets the same picture, so visual diffs between runs stay quiet.
"""

from __future__ import annotations

import colorsys
import io
import random
import threading
from collections.abc import Callable

from PIL import Image, ImageDraw

PRODUCT_SIZES = (300, 600)  # card thumbnail, product page
HERO_SIZES = ((1200, 480), (600, 240))
HEAVY_HERO_SIZE = (1600, 1200)  # noise does not compress: about 5.8 MB as PNG

_cache: dict[str, tuple[bytes, str]] = {}
_lock = threading.Lock()


def _rgb(hue: int, saturation: float, lightness: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hls_to_rgb((hue % 360) / 360, lightness, saturation)
    return int(r * 255), int(g * 255), int(b * 255)


def _cached(key: str, media_type: str, draw: Callable[[], bytes]) -> tuple[bytes, str]:
    found = _cache.get(key)
    if found is not None:
        return found
    with _lock:  # draw each image once even when requests race for it
        found = _cache.get(key)
        if found is None:
            found = _cache[key] = (draw(), media_type)
    return found


def _webp(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "WEBP", quality=80, method=2)
    return out.getvalue()


def _draw_shape(draw: ImageDraw.ImageDraw, category: str, s: int, colour: tuple) -> None:
    """A simple silhouette per category, in a box of side s."""
    def p(x: float, y: float) -> tuple[float, float]:
        return x * s, y * s

    if category == "shoes":
        draw.polygon([p(.15, .55), p(.45, .5), p(.6, .35), p(.72, .35), p(.85, .55),
                      p(.85, .66), p(.15, .66)], fill=colour)
        draw.rectangle([p(.15, .66), p(.85, .7)], fill=(40, 40, 40))
    elif category == "shirts":
        draw.polygon([p(.35, .22), p(.65, .22), p(.85, .35), p(.76, .45), p(.7, .4),
                      p(.7, .8), p(.3, .8), p(.3, .4), p(.24, .45), p(.15, .35)], fill=colour)
    elif category == "trousers":
        draw.polygon([p(.32, .18), p(.68, .18), p(.72, .84), p(.56, .84), p(.5, .4),
                      p(.44, .84), p(.28, .84)], fill=colour)
    elif category == "bags":
        draw.arc([p(.36, .16), p(.64, .44)], 180, 360, fill=colour, width=max(2, s // 30))
        draw.rounded_rectangle([p(.22, .32), p(.78, .8)], radius=s // 20, fill=colour)
    elif category == "accessories":
        draw.ellipse([p(.22, .22), p(.78, .78)], outline=colour, width=max(3, s // 14))
        draw.ellipse([p(.42, .42), p(.58, .58)], fill=colour)
    else:  # home: a mug
        draw.rounded_rectangle([p(.25, .3), p(.65, .78)], radius=s // 25, fill=colour)
        draw.arc([p(.55, .4), p(.8, .66)], 270, 90, fill=colour, width=max(3, s // 20))


def product_image(slug: str, category: str, hue: int, size: int) -> tuple[bytes, str]:
    """WebP bytes and media type of one product picture of side `size`."""
    if size not in PRODUCT_SIZES:
        raise ValueError(f"unsupported product image size {size}")

    def draw() -> bytes:
        image = Image.new("RGB", (size, size), _rgb(hue, 0.35, 0.92))
        canvas = ImageDraw.Draw(image)
        rng = random.Random(slug)  # per-product decoration, stable across runs
        for _ in range(3):
            r = rng.uniform(0.08, 0.2) * size
            x, y = rng.uniform(0, size), rng.uniform(0, size)
            canvas.ellipse([x - r, y - r, x + r, y + r], fill=_rgb(hue + 30, 0.3, 0.86))
        _draw_shape(canvas, category, size, _rgb(hue, 0.55, 0.45))
        return _webp(image)

    return _cached(f"product/{slug}/{size}", "image/webp", draw)


def hero_image(width: int, height: int) -> tuple[bytes, str]:
    if (width, height) not in HERO_SIZES:
        raise ValueError(f"unsupported hero size {width}x{height}")

    def draw() -> bytes:
        image = Image.new("RGB", (width, height))
        canvas = ImageDraw.Draw(image)
        for y in range(height):  # a soft vertical gradient, teal to sand
            t = y / max(1, height - 1)
            canvas.line([(0, y), (width, y)], fill=_rgb(int(180 - 140 * t), 0.45, 0.55 + 0.2 * t))
        rng = random.Random("hero")
        for _ in range(9):
            r = rng.uniform(0.05, 0.22) * height
            x, y = rng.uniform(0, width), rng.uniform(0, height)
            canvas.ellipse([x - r, y - r, x + r, y + r], fill=_rgb(rng.randrange(360), 0.5, 0.7))
        return _webp(image)

    return _cached(f"hero/{width}x{height}", "image/webp", draw)


def heavy_hero_image() -> tuple[bytes, str]:
    """The `heavy-image` fault: random noise as an unoptimised PNG (several MB)."""
    def draw() -> bytes:
        width, height = HEAVY_HERO_SIZE
        noise = random.Random(7).randbytes(width * height * 3)
        out = io.BytesIO()
        Image.frombytes("RGB", (width, height), noise).save(out, "PNG", compress_level=1)
        return out.getvalue()

    return _cached("hero/heavy", "image/png", draw)


def favicon() -> tuple[bytes, str]:
    def draw() -> bytes:
        image = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
        ImageDraw.Draw(image).rounded_rectangle([2, 2, 29, 29], radius=7, fill=(15, 118, 110))
        out = io.BytesIO()
        image.save(out, "ICO", sizes=[(32, 32)])
        return out.getvalue()

    return _cached("favicon", "image/x-icon", draw)


def warm(products: list[tuple[str, str, int]]) -> None:
    """Draw every image the clean shop serves: (slug, category slug, hue) per product."""
    for width, height in HERO_SIZES:
        hero_image(width, height)
    favicon()
    for slug, category, hue in products:
        for size in PRODUCT_SIZES:
            product_image(slug, category, hue, size)
