"""The pixel comparison of visual regression (pure, no files, no store).

`diff_images` counts what pixelmatch 8.0.0 (mapbox/pixelmatch) counts: a pixel differs when
its OKLab HyAB colour distance exceeds the threshold, unless it looks like anti-aliasing in
either image (browsers/pixelkernel.py, compiled). Around it: screenshots of different sizes
are compared on their common top-left area and the rest of either image counts as
differing; masked rectangles are skipped; transparent pixels are composited over white
(pixelmatch's `checkerboard: false`; browser screenshots are opaque).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image

from siteward.errors import UsageError

Box = tuple[int, int, int, int]  # (left, top, right, bottom), right/bottom exclusive, as in Pillow
FADE_ALPHA = 0.1  # opacity of the current image under the highlights, as pixelmatch
RED, YELLOW, MASK_BLUE = (255, 0, 0), (255, 255, 0), (190, 215, 255)


@dataclass(frozen=True)
class DiffResult:
    differing_pixels: int  # counted against the budget (size change included)
    total_pixels: int  # compared pixels: both images' union minus masked ones
    ratio: float
    size_changed: bool
    baseline_size: tuple[int, int]
    current_size: tuple[int, int]
    antialiased_pixels: int = 0  # changed, but ignored as anti-aliasing
    masked_pixels: int = 0
    diff_image: Image.Image | None = None


def _opaque_pixels(image: Image.Image) -> Image.Image:
    """The image as RGB or fully opaque RGBA: transparency composited over white."""
    if image.mode == "RGB":
        return image
    if image.mode != "RGBA":
        has_alpha = image.mode in ("LA", "PA", "La", "RGBa") or "transparency" in image.info
        return _opaque_pixels(image.convert("RGBA" if has_alpha else "RGB"))
    low, _ = image.getchannel("A").getextrema()
    if low < 255:
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image)
    return image


def _mask_grid(shape: tuple[int, int], masks: Sequence[Box]) -> np.ndarray:
    grid = np.zeros(shape, dtype=bool)
    for box in masks:
        if len(box) != 4 or any(int(v) != v for v in box):
            raise UsageError(f"a mask is (left, top, right, bottom) in whole pixels, got {box!r}")
        left, top, right, bottom = (int(v) for v in box)
        if right < left or bottom < top:
            raise UsageError(f"mask {box!r}: right/bottom must not be left of/above left/top")
        grid[max(top, 0):max(bottom, 0), max(left, 0):max(right, 0)] = True
    return grid


# Diff images are palette PNGs: grey levels 0..255, except that the faded copy never goes
# below 229, so indices 0-2 are free for the highlight colours. 1 byte a pixel draws fast.
_MASK_INDEX = 2
_PALETTE = [level for grey in range(256) for level in (grey, grey, grey)]
_PALETTE[0:9] = [*RED, *YELLOW, *MASK_BLUE]
_FADE_LUT = np.array([round(255 + (v - 255) * FADE_ALPHA) for v in range(256)], dtype=np.uint8)


def _palette_image(indices: np.ndarray) -> Image.Image:
    image = Image.frombuffer("P", (indices.shape[1], indices.shape[0]), indices.tobytes(), "raw", "P", 0, 1)
    image.putpalette(_PALETTE)
    return image


# ------------------------------------------------------------------------------ the diff


def diff_images(baseline: Image.Image, current: Image.Image, *, threshold: float = 0.1,
                antialiasing: bool = True, masks: Sequence[Box] = (), draw: bool = True) -> DiffResult:
    """Count the pixels of `current` that differ visibly from `baseline`.

    threshold: per-pixel colour tolerance, the OKLab HyAB distance pixelmatch 8 allows
      (0 = exact; black vs white is 1; pure red vs white about 0.6).
    antialiasing: True ignores anti-aliased edge pixels (drawn yellow, not counted).
    masks: rectangles ignored in both images (drawn light blue).
    draw: also render the diff image (faded grey current, red = differs), a palette PNG.
    Transparent pixels are composited over white first (pixelmatch's `checkerboard: false`).
    """
    if not 0 <= threshold <= 1:
        raise UsageError(f"visual diff threshold must be between 0 and 1, got {threshold:g}")
    from browsers import pixelkernel  # numba takes half a second to import: only when diffing

    (w1, h1), (w2, h2) = baseline.size, current.size
    width, height = min(w1, w2), min(h1, h2)
    canvas = (max(h1, h2), max(w1, w2))
    size_changed = (w1, h1) != (w2, h2)

    pixels1 = np.asarray(_opaque_pixels(baseline))
    pixels2 = np.asarray(_opaque_pixels(current))
    if size_changed:  # compare the common top-left area
        pixels1, pixels2 = pixels1[:height, :width], pixels2[:height, :width]
    masked = _mask_grid(canvas, masks) if masks else None
    drawn = np.empty((height, width), dtype=np.uint8) if draw else None
    differing, antialiased = pixelkernel.classify(
        pixels1, pixels2, threshold=threshold, antialiasing=antialiasing,
        ignore=np.ascontiguousarray(masked[:height, :width]) if masked is not None else None,
        fade=_FADE_LUT, out=drawn)

    # Outside the common area, whatever exists in only one of the images differs.
    in_union = extra = None
    if size_changed or masked is not None:
        in_union = np.zeros(canvas, dtype=bool)
        in_union[:h1, :w1] = True
        in_union[:h2, :w2] = True
    if size_changed:
        extra = in_union.copy()
        extra[:height, :width] = False
        if masked is not None:
            extra &= ~masked
    if masked is not None:
        masked &= in_union
    masked_count = int(masked.sum()) if masked is not None else 0
    extra_count = int(extra.sum()) if extra is not None else 0

    diff_image = None
    if drawn is not None:
        common = drawn
        if size_changed:
            common = np.full(canvas, 255, dtype=np.uint8)
            common[:height, :width] = drawn
        if masked is not None:
            common[masked] = _MASK_INDEX
        if extra is not None:
            common[extra] = pixelkernel.RED_INDEX
        diff_image = _palette_image(common)
    differing += extra_count
    total = w1 * h1 + w2 * h2 - width * height - masked_count
    return DiffResult(
        differing_pixels=differing, total_pixels=total, ratio=differing / total if total else 0.0,
        size_changed=size_changed, baseline_size=(w1, h1), current_size=(w2, h2),
        antialiased_pixels=antialiased, masked_pixels=masked_count, diff_image=diff_image,
    )
