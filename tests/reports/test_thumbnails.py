"""Thumbnails: small JPEGs of the top of screenshots, reused on re-render."""

from __future__ import annotations

import os

from PIL import Image

from reports.thumbnails import MAX_ASPECT, THUMB_WIDTH, make_thumbnail


def test_tall_screenshot_becomes_a_small_cropped_jpeg(tmp_path):
    img = Image.new("RGB", (1366, 6000), (255, 255, 255))
    img.paste((255, 0, 0), (0, 0, 1366, 300))  # a red header: must survive the crop
    img.save(tmp_path / "home.png")
    rel = make_thumbnail(tmp_path, "home.png")
    assert rel is not None and rel.startswith("thumbs/") and rel.endswith(".jpg")
    with Image.open(tmp_path / rel) as thumb:
        assert thumb.format == "JPEG"
        assert thumb.width == THUMB_WIDTH
        assert thumb.height <= int(THUMB_WIDTH * MAX_ASPECT)
        r, g, b = thumb.getpixel((THUMB_WIDTH // 2, 5))
        assert r > 200 and g < 60
    assert (tmp_path / rel).stat().st_size < (tmp_path / "home.png").stat().st_size


def test_thumbnail_is_reused_until_the_source_changes(tmp_path):
    Image.new("RGB", (800, 600), (0, 0, 255)).save(tmp_path / "a.png")
    rel = make_thumbnail(tmp_path, "a.png")
    first = (tmp_path / rel).stat().st_mtime_ns
    os.utime(tmp_path / rel, ns=(first + 10**9, first + 10**9))
    assert make_thumbnail(tmp_path, "a.png") == rel
    assert (tmp_path / rel).stat().st_mtime_ns == first + 10**9  # not rewritten
    Image.new("RGB", (800, 600), (0, 255, 0)).save(tmp_path / "a.png")
    os.utime(tmp_path / "a.png", ns=(first + 5 * 10**9, first + 5 * 10**9))
    make_thumbnail(tmp_path, "a.png")
    with Image.open(tmp_path / rel) as thumb:
        assert thumb.getpixel((10, 10))[1] > 200  # the new green image


def test_unreadable_or_missing_images_give_no_thumbnail(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    (tmp_path / "log.txt").write_text("x")
    assert make_thumbnail(tmp_path, "broken.png") is None
    assert make_thumbnail(tmp_path, "missing.png") is None
    assert make_thumbnail(tmp_path, "log.txt") is None


def test_partial_png_decode_gives_exactly_the_top_rows(tmp_path):
    import numpy as np

    from reports.thumbnails import _decode_top

    pixels = np.random.default_rng(3).integers(0, 255, (3000, 500, 3)).astype("uint8")
    Image.fromarray(pixels).save(tmp_path / "plain.png")
    with Image.open(tmp_path / "plain.png") as img:
        top = _decode_top(img, 800)
        assert top.size == (500, 800)
        assert np.array_equal(np.asarray(top.convert("RGB")), pixels[:800])
