"""The pixel algorithm of visual regression: a vectorised pixelmatch (pure, no files, no store).

`diff_images` follows pixelmatch (mapbox/pixelmatch, as ported by pixelmatch-py): a pixel
differs when its YIQ colour distance exceeds `35215 * threshold**2`, unless it looks like
anti-aliasing in either image (Vysniauskas 2009: neighbours both darker and brighter, and
the darkest or brightest neighbour sits in a flat area in both images). Only pixels whose
bytes differ are examined, so a near-identical 1920x1080 pair costs a few milliseconds.
Screenshots of different sizes are compared on their common top-left area; the rest of
either image counts as differing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image

from siteward.errors import UsageError

Box = tuple[int, int, int, int]  # (left, top, right, bottom), right/bottom exclusive, as in Pillow
MAX_YIQ_DELTA = 35215.0  # the largest possible YIQ distance: threshold 1 accepts every change
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


# ------------------------------------------------------------------------- pixel maths
# Pixels travel as one uint32 each (R | G << 8 | B << 16 | 255 << 24): equality is one
# compare, and a gather moves 4 bytes. Luma is kept as exact integers (pixelmatch's
# coefficients times 1e8), so "equal brightness" and the darkest/brightest neighbour
# are decided exactly rather than by float rounding.
_Y_WEIGHTS = (29889531, 58662247, 11448223)


def _opaque_packed(image: Image.Image) -> tuple[Image.Image, np.ndarray]:
    """The image composited over white (pixelmatch blends alpha with white) and its pixels.

    Raw "RGBX"/"RGBA" packing is ~10x faster than convert("RGBA") plus tobytes().
    """
    if image.mode == "RGB":
        packed = np.frombuffer(image.tobytes("raw", "RGBX"), dtype="<u4") | np.uint32(0xFF000000)
        return image, packed.reshape(image.size[1], image.size[0])
    if image.mode != "RGBA":
        has_alpha = image.mode in ("LA", "PA", "La", "RGBa") or "transparency" in image.info
        return _opaque_packed(image.convert("RGBA" if has_alpha else "RGB"))
    packed = np.frombuffer(image.tobytes("raw", "RGBA"), dtype="<u4")
    if packed.min(initial=0xFFFFFFFF) < 0xFF000000:  # some pixel is not fully opaque
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image)
        packed = np.frombuffer(image.tobytes("raw", "RGBA"), dtype="<u4")
    return image, packed.reshape(image.size[1], image.size[0])


def _channels(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    wide = packed.astype(np.int64)
    return wide & 0xFF, (wide >> 8) & 0xFF, (wide >> 16) & 0xFF


def _luma(packed: np.ndarray) -> np.ndarray:
    r, g, b = _channels(packed)
    return r * _Y_WEIGHTS[0] + g * _Y_WEIGHTS[1] + b * _Y_WEIGHTS[2]


def yiq_delta(packed1: np.ndarray, packed2: np.ndarray) -> np.ndarray:
    """Squared perceptual distance (Kotsarenko & Ramos) between matching pixels."""
    r1, g1, b1 = _channels(packed1)
    r2, g2, b2 = _channels(packed2)
    dr, dg, db = (r1 - r2).astype(np.float64), (g1 - g2).astype(np.float64), (b1 - b2).astype(np.float64)
    y = dr * 0.29889531 + dg * 0.58662247 + db * 0.11448223
    i = dr * 0.59597799 - dg * 0.27417610 - db * 0.32180189
    q = dr * 0.21147017 - dg * 0.52261711 + db * 0.31114694
    return 0.5053 * y * y + 0.299 * i * i + 0.1957 * q * q


def _visible(packed1: np.ndarray, packed2: np.ndarray, at: np.ndarray, max_delta: float) -> np.ndarray:
    """The positions whose colour distance exceeds max_delta (in chunks: bounded memory)."""
    chunk = 1 << 20
    return np.concatenate([part[yiq_delta(packed1[part], packed2[part]) > max_delta]
                           for part in np.split(at, range(chunk, len(at), chunk))])


class _Grid:
    """Neighbour arithmetic on flat pixel indices of a width x height image.

    The 8 neighbours come in pixelmatch's order (x outer, y inner): its running min/max
    keep the first extreme, so the order decides ties exactly as the reference does.
    """

    ORDER = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))  # (dx, dy)

    def __init__(self, positions: np.ndarray, width: int, height: int):
        ys, xs = np.divmod(positions, width)
        self.positions, self.width = positions, width
        self.inside = {(-1, "x"): xs > 0, (1, "x"): xs < width - 1, (-1, "y"): ys > 0, (1, "y"): ys < height - 1}
        self.on_edge = ~(self.inside[-1, "x"] & self.inside[1, "x"] & self.inside[-1, "y"] & self.inside[1, "y"])

    def neighbours(self):
        """Per neighbour: its flat index (the pixel itself where outside the image) and an inside mask."""
        for dx, dy in self.ORDER:
            inside = None
            if dx:
                inside = self.inside[dx, "x"]
            if dy:
                inside = self.inside[dy, "y"] if inside is None else inside & self.inside[dy, "y"]
            index = np.where(inside, self.positions + dy * self.width + dx, self.positions)
            yield index, inside


def _has_many_siblings(packed: np.ndarray, positions: np.ndarray, width: int, height: int) -> np.ndarray:
    """True where a pixel has 3+ identical neighbours (an image edge counts as one)."""
    grid = _Grid(positions, width, height)
    count = grid.on_edge.astype(np.int8)
    centre = packed[positions]
    for index, inside in grid.neighbours():
        count += inside & (packed[index] == centre)
    return count > 2


def _antialiased(packed: np.ndarray, other: np.ndarray, positions: np.ndarray, width: int, height: int,
                 *, dense: bool | None = None) -> np.ndarray:
    """pixelmatch's anti-aliasing test for `positions` of one image, against the other image.

    A pixel is anti-aliasing when it has at most 2 equally bright neighbours, both darker
    and brighter ones, and its darkest or brightest neighbour has 3+ identical neighbours
    in both images (Vysniauskas 2009). When most pixels changed (dense), one pass of
    shifted whole-image compares first drops pixels in flat areas, the bulk of any page.
    """
    if dense is None:
        dense = len(positions) * 8 > packed.size
    if not dense:
        return _antialiased_at(packed, other, positions, width, height, luma=None)
    luma = _luma(packed)
    result = np.zeros(len(positions), dtype=bool)
    keep = np.flatnonzero(_few_equal_neighbours(luma.reshape(height, width)).reshape(-1)[positions])
    result[keep] = _antialiased_at(packed, other, positions[keep], width, height, luma=luma)
    return result


def _few_equal_neighbours(luma: np.ndarray) -> np.ndarray:
    """True where at most 2 neighbours are equally bright (an image edge counts as one)."""
    count = _edge_counts(*luma.shape)
    for dx, dy in _Grid.ORDER:
        (cy, ny), (cx, nx) = _shifted(dy, luma.shape[0]), _shifted(dx, luma.shape[1])
        count[cy, cx] += luma[cy, cx] == luma[ny, nx]
    return count <= 2


def _antialiased_at(packed: np.ndarray, other: np.ndarray, positions: np.ndarray, width: int, height: int,
                    luma: np.ndarray | None) -> np.ndarray:
    result = np.zeros(len(positions), dtype=bool)
    if not len(positions):
        return result

    def luma_at(index: np.ndarray) -> np.ndarray:
        return luma[index] if luma is not None else _luma(packed[index])

    grid = _Grid(positions, width, height)
    centre = luma_at(positions)
    zeroes = grid.on_edge.astype(np.int8)
    lowest, highest = np.zeros_like(centre), np.zeros_like(centre)
    lowest_at, highest_at = positions.copy(), positions.copy()
    for index, inside in grid.neighbours():
        delta = centre - luma_at(index)
        zeroes += inside & (delta == 0)
        lower = inside & (delta < lowest)  # strict: the first extreme in ORDER wins, as in pixelmatch
        lowest = np.where(lower, delta, lowest)
        lowest_at = np.where(lower, index, lowest_at)
        higher = inside & (delta > highest)
        highest = np.where(higher, delta, highest)
        highest_at = np.where(higher, index, highest_at)
    candidate = np.flatnonzero((zeroes <= 2) & (lowest < 0) & (highest > 0))
    if not len(candidate):
        return result

    def flat_area(at: np.ndarray) -> np.ndarray:
        return _has_many_siblings(packed, at, width, height) & _has_many_siblings(other, at, width, height)

    result[candidate] = flat_area(lowest_at[candidate]) | flat_area(highest_at[candidate])
    return result


def _shifted(d: int, n: int) -> tuple[slice, slice]:
    """Slices of an axis of length n: pixels that have a neighbour at offset d, and those neighbours."""
    return slice(max(0, -d), n - max(0, d)), slice(max(0, d), n - max(0, -d))


def _edge_counts(height: int, width: int) -> np.ndarray:
    counts = np.zeros((height, width), dtype=np.int8)
    counts[0, :] = counts[-1, :] = counts[:, 0] = counts[:, -1] = 1
    return counts


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
_RED_INDEX, _YELLOW_INDEX, _MASK_INDEX = 0, 1, 2
_PALETTE = [level for grey in range(256) for level in (grey, grey, grey)]
_PALETTE[0:9] = [*RED, *YELLOW, *MASK_BLUE]
_FADE_LUT = [round(255 + (v - 255) * FADE_ALPHA) for v in range(256)]


def _draw(current: Image.Image, canvas: tuple[int, int], common_width: int, changed_at: np.ndarray,
          antialiased_at: np.ndarray, extra: np.ndarray | None, masked: np.ndarray | None) -> Image.Image:
    out = np.full(canvas, 255, dtype=np.uint8)
    out[: current.size[1], : current.size[0]] = np.asarray(current.convert("L").point(_FADE_LUT))
    if masked is not None:
        out[masked] = _MASK_INDEX
    if extra is not None:
        out[extra] = _RED_INDEX
    flat = out.reshape(-1)
    # Flat indices of the common area -> flat indices of the canvas.
    for positions, colour in ((antialiased_at, _YELLOW_INDEX), (changed_at, _RED_INDEX)):
        ys, xs = np.divmod(positions, common_width)
        flat[ys * canvas[1] + xs] = colour
    image = Image.frombuffer("P", (canvas[1], canvas[0]), out.tobytes(), "raw", "P", 0, 1)
    image.putpalette(_PALETTE)
    return image


# ------------------------------------------------------------------------------ the diff


def diff_images(baseline: Image.Image, current: Image.Image, *, threshold: float = 0.1,
                antialiasing: bool = True, masks: Sequence[Box] = (), draw: bool = True) -> DiffResult:
    """Count the pixels of `current` that differ visibly from `baseline`.

    threshold: per-pixel colour tolerance, 0 (exact) .. 1 (anything goes).
    antialiasing: True ignores anti-aliased edge pixels (drawn yellow, not counted).
    masks: rectangles ignored in both images (drawn light blue).
    draw: also render the diff image (faded grey current, red = differs), a palette PNG.
    Transparent pixels are composited over white first, as pixelmatch blends them.
    """
    if not 0 <= threshold <= 1:
        raise UsageError(f"visual diff threshold must be between 0 and 1, got {threshold:g}")
    (w1, h1), (w2, h2) = baseline.size, current.size
    width, height = min(w1, w2), min(h1, h2)
    canvas = (max(h1, h2), max(w1, w2))
    size_changed = (w1, h1) != (w2, h2)

    _, pixels1 = _opaque_packed(baseline)
    current_rgba, pixels2 = _opaque_packed(current)
    if size_changed:  # compare the common top-left area
        pixels1 = np.ascontiguousarray(pixels1[:height, :width])
        pixels2 = np.ascontiguousarray(pixels2[:height, :width])
    packed1, packed2 = pixels1.reshape(-1), pixels2.reshape(-1)
    changed = packed1 != packed2
    masked = _mask_grid(canvas, masks) if masks else None
    if masked is not None:
        changed &= ~masked[:height, :width].reshape(-1)

    at = np.flatnonzero(changed)
    at = _visible(packed1, packed2, at, MAX_YIQ_DELTA * threshold * threshold)
    aa = np.zeros(len(at), dtype=bool)
    if antialiasing and len(at):
        aa = _antialiased(packed1, packed2, at, width, height)
        rest = np.flatnonzero(~aa)
        aa[rest] = _antialiased(packed2, packed1, at[rest], width, height)

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

    differing = int(len(at) - aa.sum()) + extra_count
    total = w1 * h1 + w2 * h2 - width * height - masked_count
    diff_image = _draw(current_rgba, canvas, width, at[~aa], at[aa], extra, masked) if draw else None
    return DiffResult(
        differing_pixels=differing, total_pixels=total, ratio=differing / total if total else 0.0,
        size_changed=size_changed, baseline_size=(w1, h1), current_size=(w2, h2),
        antialiased_pixels=int(aa.sum()), masked_pixels=masked_count, diff_image=diff_image,
    )
