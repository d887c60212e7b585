"""pixelmatch 8.0.0's per-pixel rules, compiled with numba (pure: arrays in, counts out).

A pixel differs when its OKLab HyAB distance (toe-corrected lightness, Ottosson 2020; HyAB,
Abasi et al. 2019) exceeds the threshold (black vs white = 1), unless it looks like
anti-aliasing in either image: Rec.601 luma neighbours both darker and brighter, at most 2
equal ones, and the darkest or brightest neighbour has 3+ identical neighbours in both
images (Vysniauskas 2009). The lookup tables, the cube-root interpolation and the order in
which neighbours are visited are pixelmatch's own, so counts equal the reference's on opaque
images. NumPy cannot express the anti-aliasing test's early exits and per-pixel cube roots
without touching every pixel a dozen times; compiled on two cores, a 1920x1080 pair where
every pixel changed takes about 0.2 s here (benchmarks/bench_visual.py).
"""

from __future__ import annotations

import threading

import numpy as np
from numba import njit, prange

# sRGB byte -> linear light (a 257th entry for interpolation, as pixelmatch)
_LIN = np.array([c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
                 for c in (i / 255 for i in range(256))] + [0.0])
_LIN[256] = _LIN[255]
# linear RGB -> LMS, one row per cone (Ottosson's M1), applied per channel through tables
_LMS = np.array([[0.4122214708, 0.5363325363, 0.0514459929],
                 [0.2119034982, 0.6806995451, 0.1073969566],
                 [0.0883024619, 0.2817188376, 0.6299787005]])
_CHANNEL_LMS = np.ascontiguousarray(_LMS.T[:, :, None] * _LIN[None, None, :256])  # [channel, cone, byte]
_CBRT_N, _CBRT_EXACT = 4096, 8
_CBRT = np.cbrt(np.arange(_CBRT_N + 2) / _CBRT_N)
_TOE_K1, _TOE_K2 = 0.206, 0.03
_TOE_K3 = (1 + _TOE_K1) / (1 + _TOE_K2)
_Y = (29889531, 58662247, 11448223)  # Rec.601 luma of the anti-aliasing test, times 1e8

EQUAL, DIFFERENT, ANTIALIASED = 0, 1, 2
RED_INDEX, YELLOW_INDEX = 0, 1  # palette indices of the diff image (grey levels elsewhere)


@njit(cache=True)
def _cbrt_lut(x):
    t = x * _CBRT_N
    i = int(t)
    if i < _CBRT_EXACT:  # interpolation is far off just above zero: near-black pixels
        return np.cbrt(x)
    return _CBRT[i] + (_CBRT[i + 1] - _CBRT[i]) * (t - i)


@njit(cache=True)
def _oklab(r, g, b):
    """Cube-rooted L, M, S and the toe-corrected lightness Lr of an opaque sRGB colour."""
    l_ = _cbrt_lut(_CHANNEL_LMS[0, 0, r] + _CHANNEL_LMS[1, 0, g] + _CHANNEL_LMS[2, 0, b])
    m_ = _cbrt_lut(_CHANNEL_LMS[0, 1, r] + _CHANNEL_LMS[1, 1, g] + _CHANNEL_LMS[2, 1, b])
    s_ = _cbrt_lut(_CHANNEL_LMS[0, 2, r] + _CHANNEL_LMS[1, 2, g] + _CHANNEL_LMS[2, 2, b])
    lightness = 0.2104542553 * l_ + 0.7936177850 * m_ - 0.0040720468 * s_
    x = _TOE_K3 * lightness - _TOE_K1
    return l_, m_, s_, 0.5 * (x + np.sqrt(x * x + 4 * _TOE_K2 * _TOE_K3 * lightness))


@njit(cache=True)
def _cached_oklab(r, g, b, keys, values):
    """OKLab of a colour through a small direct-mapped cache (pages repeat few colours)."""
    key = (np.int64(r) << 16) | (np.int64(g) << 8) | np.int64(b)
    slot = ((key * 0x9E3779B1) & 0xFFFFFFFF) >> 20
    if keys[slot] != key + 1:
        values[slot, 0], values[slot, 1], values[slot, 2], values[slot, 3] = _oklab(r, g, b)
        keys[slot] = key + 1
    return values[slot, 0], values[slot, 1], values[slot, 2], values[slot, 3]  # copies: a slot may be reused


@njit(cache=True)
def _over_threshold(one, two, max_delta):
    """HyAB distance |dLr| + sqrt(da^2 + db^2) > max_delta, without the square root."""
    d_lightness = one[3] - two[3]
    rest = max_delta - abs(d_lightness)
    if rest >= 0:
        dl, dm, ds = one[0] - two[0], one[1] - two[1], one[2] - two[2]
        da = 1.9779984951 * dl - 2.4285922050 * dm + 0.4505937099 * ds
        db = 0.0259040371 * dl + 0.7827717662 * dm - 0.8086757660 * ds
        if da * da + db * db <= rest * rest:
            return False
    return True


@njit(cache=True)
def _same(img1, img2, y, x):
    return img1[y, x, 0] == img2[y, x, 0] and img1[y, x, 1] == img2[y, x, 1] and img1[y, x, 2] == img2[y, x, 2]


@njit(cache=True)
def _fill_luma(img, luma, first_row, height):
    """Rec.601 luma times 1e8 of image rows first_row.. into `luma` (rows outside the image skipped).

    Exact integers, and no two different byte colours have the same luma (checked over all
    channel differences): equal luma is pixelmatch's "identical pixel", and ties and signs
    come out as its floating-point deltas do.
    """
    for row in range(luma.shape[0]):
        y = first_row + row
        if 0 <= y < height:
            for x in range(img.shape[1]):
                luma[row, x] = (np.int64(img[y, x, 0]) * _Y[0] + np.int64(img[y, x, 1]) * _Y[1]
                                + np.int64(img[y, x, 2]) * _Y[2])


@njit(cache=True)
def _has_many_siblings(luma, x1, row1, width, y1, height):
    """3+ identical neighbours (an image edge counts as one). row1: y1's row in `luma`."""
    x0, x2 = max(x1 - 1, 0), min(x1 + 1, width - 1)
    top, bottom = (0 if y1 == 0 else -1), (0 if y1 == height - 1 else 1)
    zeroes = 1 if (x1 == x0 or x1 == x2 or top == 0 or bottom == 0) else 0
    centre = luma[row1, x1]
    for x in range(x0, x2 + 1):
        for dy in range(top, bottom + 1):
            if (x != x1 or dy != 0) and luma[row1 + dy, x] == centre:
                zeroes += 1
                if zeroes > 2:
                    return True
    return False


@njit(cache=True)
def _antialiased(luma, other, x1, row1, width, y1, height):
    """pixelmatch's test on one image's luma rows (`other`: the other image's, same rows)."""
    x0, x2 = max(x1 - 1, 0), min(x1 + 1, width - 1)
    top, bottom = (0 if y1 == 0 else -1), (0 if y1 == height - 1 else 1)
    zeroes = 1 if (x1 == x0 or x1 == x2 or top == 0 or bottom == 0) else 0
    lowest = highest = np.int64(0)
    low_x = low_row = high_x = high_row = 0
    centre = luma[row1, x1]
    for x in range(x0, x2 + 1):  # x outer, y inner: ties keep the first extreme, as pixelmatch
        for dy in range(top, bottom + 1):
            if x == x1 and dy == 0:
                continue
            delta = centre - luma[row1 + dy, x]
            if delta == 0:
                zeroes += 1
                if zeroes > 2:
                    return False
            elif delta < lowest:
                lowest, low_x, low_row = delta, x, row1 + dy
            elif delta > highest:
                highest, high_x, high_row = delta, x, row1 + dy
    if lowest == 0 or highest == 0:
        return False
    low_y, high_y = y1 + low_row - row1, y1 + high_row - row1
    return ((_has_many_siblings(luma, low_x, low_row, width, low_y, height)
             and _has_many_siblings(other, low_x, low_row, width, low_y, height))
            or (_has_many_siblings(luma, high_x, high_row, width, high_y, height)
                and _has_many_siblings(other, high_x, high_row, width, high_y, height)))


@njit(cache=True, parallel=True, nogil=True)
def _classify(img1, img2, ignore, use_ignore, max_delta, detect_aa, fade, draw, out):
    """Per row band: count differing and anti-aliased pixels; draw palette indices into `out`."""
    height, width = img1.shape[0], img1.shape[1]
    bands = min(height, 32)
    counts = np.zeros((bands, 2), np.int64)
    for band in prange(bands):
        keys = np.zeros(4096, np.int64)
        values = np.empty((4096, 4))
        first, last = band * height // bands, (band + 1) * height // bands
        # Luma of the band's rows and 2 more each side (a neighbour's neighbours), made when
        # the band first needs the anti-aliasing test.
        halo = 2
        luma1 = np.empty((last - first + 2 * halo if detect_aa else 1, width), np.int64)
        luma2 = np.empty_like(luma1)
        have_luma = False
        for y in range(first, last):
            for x in range(width):
                state = EQUAL
                if not _same(img1, img2, y, x) and not (use_ignore and ignore[y, x]):
                    one = _cached_oklab(img1[y, x, 0], img1[y, x, 1], img1[y, x, 2], keys, values)
                    two = _cached_oklab(img2[y, x, 0], img2[y, x, 1], img2[y, x, 2], keys, values)
                    if _over_threshold(one, two, max_delta):
                        state = DIFFERENT
                        if detect_aa:
                            if not have_luma:
                                _fill_luma(img1, luma1, first - halo, height)
                                _fill_luma(img2, luma2, first - halo, height)
                                have_luma = True
                            row = y - first + halo
                            if (_antialiased(luma1, luma2, x, row, width, y, height)
                                    or _antialiased(luma2, luma1, x, row, width, y, height)):
                                state = ANTIALIASED
                if state != EQUAL:
                    counts[band, state - 1] += 1
                if draw:
                    if state == DIFFERENT:
                        out[y, x] = RED_INDEX
                    elif state == ANTIALIASED:
                        out[y, x] = YELLOW_INDEX
                    else:  # Pillow's "L" luma of the current image, faded
                        grey = (19595 * np.int64(img2[y, x, 0]) + 38470 * np.int64(img2[y, x, 1])
                                + 7471 * np.int64(img2[y, x, 2]) + 0x8000) >> 16
                        out[y, x] = fade[grey]
    return counts[:, 0].sum(), counts[:, 1].sum()


# numba's default thread pool must not be entered by two threads at once.
_ONE_AT_A_TIME = threading.Lock()


def classify(img1: np.ndarray, img2: np.ndarray, *, threshold: float, antialiasing: bool,
             ignore: np.ndarray | None, fade: np.ndarray, out: np.ndarray | None) -> tuple[int, int]:
    """(differing, anti-aliased) pixels of two opaque (height, width, 3|4) uint8 images of one size.

    ignore: (height, width) bool, True where pixels are not compared; fade: uint8[256] grey
    levels of unchanged pixels in `out`, the (height, width) uint8 palette-index diff image.
    """
    draw = out is not None
    with _ONE_AT_A_TIME:
        differing, antialiased = _classify(
            _read_only(img1), _read_only(img2),
            _read_only(ignore if ignore is not None else np.zeros((1, 1), np.bool_)), ignore is not None,
            float(threshold), bool(antialiasing), _read_only(fade),
            draw, out if draw else np.zeros((1, 1), np.uint8))
    return int(differing), int(antialiased)


def _read_only(array: np.ndarray) -> np.ndarray:
    """A C-contiguous read-only view: numba compiles per writability, so inputs always come as one
    kind (one compilation, made by scripts/setup.sh through warm_up)."""
    view = np.ascontiguousarray(array).view()
    view.flags.writeable = False
    return view


def warm_up() -> None:
    """Compile (or load from numba's cache) the kernel before the first real diff needs it."""
    pixels = np.zeros((4, 4, 3), np.uint8)
    classify(pixels, pixels + 1, threshold=0.1, antialiasing=True, ignore=np.zeros((4, 4), np.bool_),
             fade=np.zeros(256, np.uint8), out=np.zeros((4, 4), np.uint8))
