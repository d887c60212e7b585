"""Time browsers.pixeldiff.diff_images on screenshot-sized pairs, side by side with references.

    .venv/bin/python benchmarks/bench_visual.py [--repeat N] [--reference-all | --no-reference]

Goal: a 1920x1080 pair in under 100 ms. References on the same pairs:
- pixelmatch-py (`pip install pixelmatch`), the pure-Python port of the same algorithm
  (same counts expected); it takes tens of seconds per megapixel-sized pair, so it runs
  once, on the realistic 1920x1080 pairs only unless --reference-all;
- a naive Pillow approach: ImageChops.difference, its grey level against a tolerance (all
  C, but no perceptual metric and no anti-aliasing detection), to show what the numpy costs.
The machine is shared: besides wall time (fastest and median) it prints CPU time, which
contention inflates much less.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from browsers.pixeldiff import diff_images  # noqa: E402


def shop_page(width: int, height: int, *, price: str = "59,00", banner_dy: int = 0,
              button=(20, 110, 70), seed: int = 7) -> Image.Image:
    """A shop-like page: header, product tiles with photos (noise), anti-aliased text."""
    rng = np.random.default_rng(seed)
    page = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(page)
    font, small = ImageFont.load_default(size=28), ImageFont.load_default(size=16)
    draw.rectangle((0, 0, width, 72), fill=(24, 32, 48))
    draw.text((24, 20), "siteward demo shop", fill="white", font=font)
    draw.rounded_rectangle((40, 100 + banner_dy, width - 40, 300 + banner_dy), 18, fill=(250, 230, 200))
    draw.text((80, 170 + banner_dy), "Spring sale: 20% off sneakers", fill=(90, 40, 10), font=font)
    photo = Image.fromarray(rng.integers(80, 200, (160, 240, 3), dtype=np.uint8)).resize((240, 160))
    for top in range(340, height - 260, 300):
        for left in range(40, width - 280, 300):
            page.paste(photo, (left, top))
            draw.text((left, top + 170), "Canvas sneaker", fill=(30, 30, 30), font=small)
            draw.text((left, top + 195), f"{price} EUR", fill=(30, 30, 30), font=small)
            draw.rounded_rectangle((left, top + 225, left + 140, top + 255), 8, fill=button)
            draw.text((left + 18, top + 231), "Add to cart", fill="white", font=small)
    return page


def naive_pillow(baseline: Image.Image, current: Image.Image, tolerance: int = 25) -> int:
    diff = ImageChops.difference(baseline.convert("RGB"), current.convert("RGB"))
    channel_max = diff.convert("L", matrix=None).point(lambda v: 255 if v > tolerance else 0)
    return int(np.count_nonzero(np.asarray(channel_max)))


def timed(fn, repeat: int) -> tuple[float, float, float, object]:
    """(fastest wall, median wall, fastest CPU) milliseconds. On a shared machine the
    fastest run and the CPU time estimate the code's own cost; the median shows contention."""
    wall, cpu, result = [], [], None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return min(wall), statistics.median(wall), min(cpu), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--reference-all", action="store_true",
                        help="also run pixelmatch-py on 1440x6000 and the worst case (minutes)")
    parser.add_argument("--no-reference", action="store_true", help="skip pixelmatch-py")
    args = parser.parse_args()
    try:
        from pixelmatch.contrib.PIL import pixelmatch
    except ImportError:
        pixelmatch = None
        print("pixelmatch-py not installed: comparing against the naive Pillow approach only")

    cases = []
    for width, height in ((1920, 1080), (1440, 6000)):
        base = shop_page(width, height)
        cases += [
            (f"{width}x{height} identical", base, base.copy()),
            (f"{width}x{height} price+button+banner", base,
             shop_page(width, height, price="69,00", banner_dy=3, button=(30, 120, 80))),
            (f"{width}x{height} size change +40px", base, shop_page(width, height + 40)),
            (f"{width}x{height} worst case (all differ)", base, Image.eval(base, lambda v: 255 - v)),
        ]

    header = (f"{'pair':42} {'ours min':>8} {'med':>7} {'cpu':>7} {'no-draw':>8} {'pillow':>7} {'cpu':>6}"
              f" {'pm-py':>8} {'pm-py/ours':>10}  differing ours/pm-py")
    print(f"milliseconds; wall: fastest and median of {args.repeat}; cpu: fastest process time; pm-py: one run")
    print(header)
    print("-" * len(header))
    for label, base, cur in cases:
        ours_min, ours_med, ours_cpu, ours = timed(lambda: diff_images(base, cur), args.repeat)
        bare_min, _, _, _ = timed(lambda: diff_images(base, cur, draw=False), args.repeat)
        pillow_min, _, pillow_cpu, _ = timed(lambda: naive_pillow(base, cur), args.repeat)
        ref_ms, ref_count = float("nan"), "-"
        slow = base.size[1] > 2000 or "worst" in label
        if pixelmatch and not args.no_reference and (args.reference_all or not slow) and cur.size == base.size:
            ref_ms, _, _, ref_count = timed(lambda: pixelmatch(base, cur), 1)
        ratio = f"{ref_ms / ours_min:9.0f}x" if ref_ms == ref_ms else f"{'-':>10}"
        print(f"{label:42} {ours_min:8.1f} {ours_med:7.1f} {ours_cpu:7.1f} {bare_min:8.1f} {pillow_min:7.1f}"
              f" {pillow_cpu:6.1f} {ref_ms:8.0f}"
              f" {ratio}  {ours.differing_pixels}/{ref_count}")


if __name__ == "__main__":
    main()
