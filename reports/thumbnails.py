"""Small JPEG thumbnails of screenshots, so a report with hundreds of images opens fast.

Thumbnails live in <run_dir>/thumbs/ and are reused on re-render while newer than
their source. Full-page screenshots are cropped to their top (what a reader
recognises a page by) before shrinking.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from PIL import Image, UnidentifiedImageError

THUMB_DIR = "thumbs"
THUMB_WIDTH = 320
MAX_ASPECT = 1.6  # height / width kept from the top of tall screenshots
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")


def is_image(path: str) -> bool:
    return path.lower().endswith(IMAGE_SUFFIXES)


def thumbnail_name(rel_path: str, width: int = THUMB_WIDTH) -> str:
    stem = Path(rel_path).stem[:40]
    digest = hashlib.sha1(rel_path.encode("utf-8")).hexdigest()[:10]
    safe_stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in stem)
    return f"{safe_stem}-{digest}-w{width}.jpg"


def make_thumbnail(run_dir: Path, rel_path: str, *, width: int = THUMB_WIDTH) -> str | None:
    """Thumbnail of run_dir/rel_path; returns its path relative to run_dir, or None if unreadable."""
    source = run_dir / rel_path
    if not is_image(rel_path) or not source.is_file():
        return None
    target = run_dir / THUMB_DIR / thumbnail_name(rel_path, width)
    rel_target = f"{THUMB_DIR}/{target.name}"
    try:
        if target.is_file() and target.stat().st_mtime >= source.stat().st_mtime:
            return rel_target
        with Image.open(source) as img:
            img.draft("RGB", (width * 2, width * 4))  # JPEG sources decode at reduced size
            w, h = img.size
            if h > w * MAX_ASPECT:
                img = img.crop((0, 0, w, int(w * MAX_ASPECT)))
            img = img.convert("RGB")
            img.thumbnail((width, int(width * MAX_ASPECT)), Image.Resampling.LANCZOS)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            img.save(tmp, "JPEG", quality=72, optimize=True)
            os.replace(tmp, target)  # concurrent renders never see a half-written file
        return rel_target
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError):
        return None
