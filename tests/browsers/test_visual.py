"""Visual diff: pixelmatch 8's rules on real Pillow drawings and known answers, and the stage check."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont

from browsers import pixeldiff
from browsers.pixeldiff import diff_images
from browsers.visual import sha256_file, visual_key
from sweep_helpers import visual_verdict
from siteward.config import builtin_config_text, parse_config
from siteward.errors import UsageError
from siteward.secrets import Secrets
from siteward.stage import StageContext
from siteward.store import Store

RED = (255, 0, 0)
YELLOW = (255, 255, 0)


def blank(width: int = 200, height: int = 120, colour="white") -> Image.Image:
    return Image.new("RGB", (width, height), colour)


def with_box(image: Image.Image, box=(40, 30, 60, 40), colour=(20, 90, 200)) -> Image.Image:
    """A copy with a solid rectangle; `box` is (left, top, right, bottom), right/bottom exclusive."""
    out = image.copy()
    ImageDraw.Draw(out).rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=colour)
    return out


def text_image(fontmode: str, text: str = "Add to cart - 59,00 EUR", dx: int = 0) -> Image.Image:
    image = blank(420, 70)
    draw = ImageDraw.Draw(image)
    draw.fontmode = fontmode  # "1" = no anti-aliasing, "L" = anti-aliased glyph edges
    draw.text((10 + dx, 12), text, fill=(20, 20, 20), font=ImageFont.load_default(size=28))
    return image


def rgb_at(image: Image.Image, xy: tuple[int, int]) -> tuple[int, int, int]:
    return image.convert("RGB").getpixel(xy)


# ------------------------------------------------------------------------ diff_images


def test_identical_images_have_no_difference_and_a_grey_diff():
    page = with_box(text_image("L"))
    result = diff_images(page, page.copy())
    assert (result.differing_pixels, result.ratio, result.size_changed) == (0, 0.0, False)
    assert result.total_pixels == 420 * 70
    pixels = np.asarray(result.diff_image.convert("RGB"))
    assert pixels.shape == (70, 420, 3)
    assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()
    assert pixels.min() >= 229  # faded: the darkest text becomes light grey


def test_a_changed_box_counts_exactly_its_pixels_and_is_red_in_the_diff():
    base = blank()
    result = diff_images(base, with_box(base, (40, 30, 60, 40)))
    assert result.differing_pixels == 20 * 10
    assert result.ratio == pytest.approx(200 / (200 * 120))
    assert rgb_at(result.diff_image, (50, 35)) == RED
    assert rgb_at(result.diff_image, (39, 35)) != RED  # just outside the box
    red = np.all(np.asarray(result.diff_image.convert("RGB")) == RED, axis=-1)
    assert red.sum() == 200


def test_colour_tolerance_follows_the_threshold():
    base = blank()
    faint = with_box(base, colour=(250, 250, 250))  # barely off-white
    assert diff_images(base, faint, threshold=0.1).differing_pixels == 0
    assert diff_images(base, faint, threshold=0.0).differing_pixels == 200
    black = with_box(base, colour=(0, 0, 0))
    assert diff_images(base, black, threshold=0.1).differing_pixels == 200
    # The threshold is an OKLab HyAB distance: pure red on white is about 0.6 away.
    red = with_box(base, colour=(255, 0, 0))
    assert diff_images(base, red, threshold=0.5).differing_pixels == 200
    assert diff_images(base, red, threshold=0.99).differing_pixels == 0


def test_a_soft_edge_column_is_anti_aliasing():
    """A box edge rendered at half coverage (grey column) is ignored, and drawn yellow."""
    base = with_box(blank(), (40, 30, 60, 60), colour=(0, 0, 0))
    soft = base.copy()
    ImageDraw.Draw(soft).rectangle((60, 30, 60, 59), fill=(128, 128, 128))
    with_aa = diff_images(base, soft, antialiasing=True)
    assert with_aa.differing_pixels == 0
    assert with_aa.antialiased_pixels == 30
    assert rgb_at(with_aa.diff_image, (60, 45)) == YELLOW
    without = diff_images(base, soft, antialiasing=False)
    assert without.differing_pixels == 30
    assert rgb_at(without.diff_image, (60, 45)) == RED


def test_anti_aliased_text_edges_are_ignored_but_glyph_changes_are_not():
    aliased, smooth = text_image("1"), text_image("L")
    aa_on = diff_images(aliased, smooth, antialiasing=True)
    aa_off = diff_images(aliased, smooth, antialiasing=False)
    assert aa_on.antialiased_pixels > 0
    assert aa_on.differing_pixels + aa_on.antialiased_pixels == aa_off.differing_pixels
    assert aa_on.differing_pixels < aa_off.differing_pixels / 2
    # A real text change (another price) is still found with anti-aliasing ignored.
    other_price = text_image("L", text="Add to cart - 69,00 EUR")
    changed = diff_images(smooth, other_price)
    assert changed.differing_pixels > 0
    left, top, right, bottom = ImageChops.difference(smooth, other_price).getbbox()
    ys, xs = np.nonzero(np.all(np.asarray(changed.diff_image.convert("RGB")) == RED, axis=-1))
    assert len(xs) == changed.differing_pixels
    assert left <= xs.min() and xs.max() < right and top <= ys.min() and ys.max() < bottom


def disc(width: int, height: int, cx: float, cy: float, radius: float, colour, supersample: int = 4) -> np.ndarray:
    """An anti-aliased disc on white (coverage by supersampling): numpy only, no font renderer."""
    ys, xs = np.mgrid[0:height * supersample, 0:width * supersample]
    inside = ((xs + 0.5) / supersample - cx) ** 2 + ((ys + 0.5) / supersample - cy) ** 2 <= radius ** 2
    cover = inside.reshape(height, supersample, width, supersample).mean(axis=(1, 3))[..., None]
    pixels = np.full(3, 255.0) * (1 - cover) + np.asarray(colour, float) * cover
    return np.rint(pixels).astype(np.uint8)


def stripes(width: int, height: int, period: float, phase: float = 0.0) -> np.ndarray:
    wave = 0.5 + 0.5 * np.sin(2 * np.pi * (np.arange(width) + phase) / period)
    row = np.stack([wave * 200 + 30, wave * 120 + 60, 255 - wave * 180], axis=-1)
    return np.rint(np.broadcast_to(row, (height, width, 3))).astype(np.uint8)


def known_pairs() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(11)
    noise = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    darker = noise.copy()
    darker[rng.random((48, 64)) < 0.3] //= 2
    blue = disc(90, 70, 40, 35, 20, (20, 60, 160))
    return {
        "disc-moved": (blue, disc(90, 70, 41.3, 35.6, 20, (20, 60, 160))),
        "disc-colour": (blue, disc(90, 70, 40, 35, 20, (40, 70, 150))),
        "stripes-phase": (stripes(80, 40, 13), stripes(80, 40, 13, 0.6)),
        "noise-darker": (noise, darker),
        "disc-inverted": (blue, 255 - blue),
    }


# pixelmatch 8.0.0's counts for these pairs (benchmarks/visual_reference/count.mjs on the pairs
# saved as PNG), per threshold 0, 0.05, 0.1, 0.3: (anti-aliasing ignored, counted).
PIXELMATCH_8_COUNTS = {
    "disc-moved": [(23, 231), (23, 220), (23, 203), (23, 140)],
    "disc-colour": [(1200, 1308), (1200, 1224), (0, 0), (0, 0)],
    "stripes-phase": [(3124, 3200), (2404, 2480), (1444, 1520), (0, 0)],
    "noise-darker": [(923, 923), (922, 922), (911, 911), (640, 640)],
    "disc-inverted": [(6192, 6300), (6192, 6300), (6192, 6300), (6192, 6276)],
}


@pytest.mark.parametrize("name", sorted(PIXELMATCH_8_COUNTS))
def test_counts_equal_pixelmatch_8(name):
    base, current = (Image.fromarray(pixels) for pixels in known_pairs()[name])
    for threshold, (ignoring, counting) in zip((0.0, 0.05, 0.1, 0.3), PIXELMATCH_8_COUNTS[name]):
        ours = diff_images(base, current, threshold=threshold, draw=False)
        assert (ours.differing_pixels, threshold) == (ignoring, threshold)
        assert diff_images(base, current, threshold=threshold, antialiasing=False,
                           draw=False).differing_pixels == counting
        assert ours.antialiased_pixels == counting - ignoring  # each changed pixel is one or the other


def test_drawn_and_counted_pixels_agree_on_a_page_sized_pair():
    """Rows are split into bands compared in parallel: a big pair, every row crossing band borders."""
    base = Image.fromarray(np.tile(disc(90, 70, 40, 35, 20, (20, 60, 160)), (9, 12, 1)))
    current = Image.fromarray(np.tile(disc(90, 70, 41.3, 35.6, 20, (20, 60, 160)), (9, 12, 1)))
    result = diff_images(base, current)
    assert result.differing_pixels == 23 * 9 * 12  # the known answer of one tile, 108 times
    colours = np.asarray(result.diff_image.convert("RGB"))
    assert np.all(colours == RED, axis=-1).sum() == result.differing_pixels
    assert np.all(colours == YELLOW, axis=-1).sum() == result.antialiased_pixels


def test_masked_rectangles_are_ignored():
    base = blank()
    current = with_box(with_box(base, (40, 30, 60, 40)), (100, 80, 110, 90), colour=(200, 0, 0))
    assert diff_images(base, current).differing_pixels == 200 + 100
    result = diff_images(base, current, masks=[(35, 25, 65, 45)])
    assert result.differing_pixels == 100
    assert result.masked_pixels == 30 * 20
    assert result.total_pixels == 200 * 120 - 600
    assert rgb_at(result.diff_image, (50, 35)) == pixeldiff.MASK_BLUE
    half = diff_images(base, current, masks=[(40, 30, 50, 40)])  # covers half of the first box
    assert half.differing_pixels == 100 + 100


@pytest.mark.parametrize("mask", [(10, 10, 5, 20), (1, 2, 3), (0.5, 0, 10, 10)])
def test_bad_masks_are_usage_errors(mask):
    with pytest.raises(UsageError, match="mask"):
        diff_images(blank(), blank(), masks=[mask])


def test_bad_threshold_is_a_usage_error():
    with pytest.raises(UsageError, match="threshold"):
        diff_images(blank(), blank(), threshold=1.5)


def test_a_taller_page_reports_the_size_change_and_counts_the_extra_rows():
    base = with_box(blank(100, 100))
    taller = with_box(blank(100, 120))
    result = diff_images(base, taller)
    assert result.size_changed
    assert (result.baseline_size, result.current_size) == ((100, 100), (100, 120))
    assert (result.differing_pixels, result.total_pixels) == (100 * 20, 100 * 120)
    assert result.diff_image.size == (100, 120)
    assert rgb_at(result.diff_image, (50, 110)) == RED
    assert rgb_at(result.diff_image, (10, 10)) != RED


def test_width_and_height_changes_count_the_union_outside_the_common_area():
    result = diff_images(blank(100, 120), blank(120, 100))
    # Union: 100x120 + 120x100 - 100x100 common; the 20x20 corner is in neither image.
    assert result.total_pixels == 14000
    assert result.differing_pixels == 4000
    assert result.diff_image.size == (120, 120)
    assert rgb_at(result.diff_image, (110, 110)) == (255, 255, 255)


def test_transparent_pixels_compare_as_blended_over_white():
    clear = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    assert diff_images(clear, blank(50, 50)).differing_pixels == 0
    assert diff_images(Image.new("RGBA", (50, 50), (0, 0, 0, 255)), blank(50, 50)).differing_pixels == 2500


def test_other_image_modes_compare_by_their_colours():
    grey = with_box(blank(), colour=(90, 90, 90))
    assert diff_images(grey.convert("L"), grey).differing_pixels == 0
    assert diff_images(grey.convert("P", palette=Image.Palette.ADAPTIVE), grey).differing_pixels == 0
    assert diff_images(grey.convert("L"), blank()).differing_pixels == 200


# ------------------------------------------------------------------ compare_with_baseline


def make_ctx(tmp_path: Path, **sections) -> StageContext:
    data = tomllib.loads(builtin_config_text())
    data["target"]["base_url"] = "http://127.0.0.1:9"
    data["results"] = {"root": str(tmp_path / "results")}
    data.update(sections)
    config = parse_config(data, "<test config>")
    store = Store.for_config(config)
    run_dir = config.results_root() / "run-2"
    run_dir.mkdir(parents=True)
    run_id = store.create_run(target="demo", fingerprint=config.fingerprint(), config=config.snapshot(), stages=["browsers"],
                              run_dir=run_dir, run_id="run-2")
    return StageContext(config=config, run_id=run_id, run_dir=run_dir, store=store,
                        secrets=Secrets({}), quiet=True)


TAGS = {"page": "home", "engine": "chromium", "device": "desktop", "form_factor": "desktop"}
KEY = "visual:home|chromium|desktop"


def approve_file(ctx: StageContext, image: Image.Image, key: str = KEY) -> Path:
    path = ctx.run_dir.parent / "baselines" / "home.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    ctx.store.set_baseline(key, "baselines/home.png", sha256_file(path), "run-1")
    return path


def screenshot(ctx: StageContext, image: Image.Image) -> Path:
    path = ctx.evidence_dir("screenshots") / "home-chromium-desktop.png"
    image.save(path)
    return path


def stored(ctx: StageContext, kind: str) -> list:
    return ctx.store.records(ctx.run_id, kind=kind)


def test_key_names_page_engine_and_device():
    assert visual_key(TAGS) == KEY
    assert visual_key({"journey": "checkout", "step": "paid", "engine": "firefox", "device": "pixel-7"}) \
        == "visual:checkout.paid|firefox|pixel-7"


def test_without_a_baseline_the_check_is_skipped(tmp_path):
    ctx = make_ctx(tmp_path)
    finding = visual_verdict(ctx, KEY, screenshot(ctx, blank()), TAGS)
    assert finding.status == "skip"
    assert finding.message == "no approved baseline; run `siteward baseline approve`"
    assert [f.status for f in stored(ctx, "finding")] == ["skip"]
    assert stored(ctx, "measurement") == []


def test_an_unchanged_page_passes_with_evidence(tmp_path):
    ctx = make_ctx(tmp_path)
    page = with_box(text_image("L"))
    approve_file(ctx, page)
    finding = visual_verdict(ctx, KEY, screenshot(ctx, page.copy()), TAGS)
    assert (finding.status, finding.check, finding.value, finding.limit) == ("pass", "visual-diff", 0.0, 0.001)
    assert finding.evidence == ["screenshots/home-chromium-desktop.png", "diffs/home/chromium-desktop-baseline.png",
                                "diffs/home/chromium-desktop.png"]
    assert all((ctx.run_dir / path).is_file() for path in finding.evidence)
    assert sha256_file(ctx.run_dir / finding.evidence[1]) == ctx.store.baseline(KEY).sha256
    [measurement] = stored(ctx, "measurement")
    assert (measurement.metric, measurement.unit, measurement.samples) == ("visual_diff_ratio", "ratio", [0.0])
    assert measurement.tags == TAGS and measurement.subject == "home|chromium|desktop"
    roles = {a.role: a.path for a in stored(ctx, "artifact")}
    assert roles == {"diff": finding.evidence[2], "baseline": finding.evidence[1]}


def test_a_changed_page_fails_the_budget_and_says_how_much(tmp_path):
    ctx = make_ctx(tmp_path)
    base = blank(200, 100)
    approve_file(ctx, base)
    finding = visual_verdict(ctx, KEY, screenshot(ctx, with_box(blank(200, 120))), TAGS)
    assert finding.status == "fail"
    assert finding.value == pytest.approx((200 + 200 * 20) / (200 * 120))
    assert "4200 of 24000 pixels differ" in finding.message
    assert "size changed from 200x100 to 200x120" in finding.message
    assert finding.data["size_changed"] is True and finding.data["current_size"] == [200, 120]
    diff = Image.open(ctx.run_dir / "diffs/home/chromium-desktop.png")
    assert rgb_at(diff, (50, 35)) == RED and rgb_at(diff, (150, 110)) == RED


def test_a_page_budget_overrides_the_visual_limit(tmp_path):
    ctx = make_ctx(tmp_path, budgets={"pages": {"home": {"visual_diff_ratio": 0.05}}})
    approve_file(ctx, blank())
    finding = visual_verdict(ctx, KEY, screenshot(ctx, with_box(blank())), TAGS)
    assert (finding.status, finding.limit) == ("pass", 0.05)


def test_visual_settings_come_from_the_config(tmp_path):
    ctx = make_ctx(tmp_path, visual={"threshold": 0.0, "max_diff_ratio": 0.5})
    approve_file(ctx, blank())
    finding = visual_verdict(ctx, KEY, screenshot(ctx, with_box(blank(), colour=(250, 250, 250))), TAGS)
    assert finding.data["differing_pixels"] == 200  # invisible at the default threshold of 0.1
    assert (finding.status, finding.limit) == ("pass", 0.5)


def test_a_changed_baseline_file_is_an_error_not_a_verdict(tmp_path):
    ctx = make_ctx(tmp_path)
    path = approve_file(ctx, blank())
    with_box(blank()).save(path)
    finding = visual_verdict(ctx, KEY, screenshot(ctx, blank()), TAGS)
    assert finding.status == "error" and "changed since it was approved" in finding.message
    path.unlink()
    finding = visual_verdict(ctx, KEY, screenshot(ctx, blank()), TAGS)
    assert finding.status == "error" and "missing" in finding.message


def test_an_unreadable_screenshot_is_an_error_record(tmp_path):
    ctx = make_ctx(tmp_path)
    approve_file(ctx, blank())
    broken = ctx.evidence_dir("screenshots") / "broken.png"
    broken.write_bytes(b"not a png")
    finding = visual_verdict(ctx, KEY, broken, TAGS)
    assert finding.status == "error"
    assert "cannot identify image file" in finding.message
    assert stored(ctx, "measurement") == []


# ------------------------------------------------------------- real Chromium screenshots


def shoot(url: str, path: Path, wait_for: str | None = None) -> Image.Image:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-background-networking", "--disable-component-update"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(url, wait_until="load", timeout=60_000)
            if wait_for:
                page.wait_for_selector(wait_for, timeout=60_000)
            page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
        finally:
            browser.close()
    return Image.open(path)


@pytest.mark.browser
def test_real_screenshots_of_the_demo_shop_are_stable_and_faults_show(faulty_shop, tmp_path):
    """Two renders of the same page diff to nothing; a layout-shift banner fails the budget."""
    first = shoot(faulty_shop.url + "/", tmp_path / "first.png")
    again = shoot(faulty_shop.url + "/", tmp_path / "again.png")
    stable = diff_images(first, again)
    assert stable.differing_pixels == 0, f"{stable.differing_pixels} pixels differ between two identical renders"

    faulty_shop.set_faults(["layout-shift"])
    current = shoot(faulty_shop.url + "/", tmp_path / "shifted.png", wait_for="[data-fault=layout-shift]")
    shifted = diff_images(first, current)
    assert shifted.size_changed and shifted.current_size[1] > shifted.baseline_size[1]  # the banner's height
    assert shifted.ratio > 0.001  # the default visual_diff_ratio budget
    red = np.all(np.asarray(shifted.diff_image.convert("RGB")) == RED, axis=-1)
    assert red.sum() == shifted.differing_pixels
