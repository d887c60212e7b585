"""Baseline approval: a run's screenshots become the baselines the next run is diffed against."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from browsers.baseline import approve, baseline_filename, list_baselines
from browsers.visual import sha256_file
from sweep_helpers import visual_verdict
from siteward.config import builtin_config_text, parse_config
from siteward.errors import UsageError
from siteward.records import Artifact
from siteward.secrets import Secrets
from siteward.stage import StageContext
from siteward.store import Store

PAGES = ("home", "product")
PROFILES = (("chromium", "desktop"), ("firefox", "pixel-7"))


def new_run(root: Path, run_id: str) -> StageContext:
    data = tomllib.loads(builtin_config_text())
    data["target"]["base_url"] = "http://127.0.0.1:9"
    data["results"] = {"root": str(root)}
    config = parse_config(data, "<test config>")
    store = Store.for_config(config)
    run_dir = root / run_id
    run_dir.mkdir(parents=True)
    store.create_run(target="demo", fingerprint=config.fingerprint(), config=config.snapshot(),
                     stages=["browsers"], run_dir=run_dir, run_id=run_id)
    return StageContext(config=config, run_id=run_id, run_dir=run_dir, store=store, secrets=Secrets({}),
                        quiet=True)


def page_image(page: str, engine: str, shade: int = 0) -> Image.Image:
    """A distinct picture per page/engine, so a mixed-up copy would show."""
    image = Image.new("RGB", (120, 80), (250 - shade, 250, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 10 + 20 * PAGES.index(page) + 20, 30), fill=(30, 60, 120))
    draw.text((10, 50), engine, fill="black")
    return image


def take_screenshots(ctx: StageContext, shade: int = 0, skip=()) -> dict[tuple[str, str, str], Path]:
    """What the sweep leaves: PNG files and their screenshot Artifacts (plus unrelated records)."""
    shots = {}
    for page in PAGES:
        for engine, device in PROFILES:
            if (page, engine) in skip:
                continue
            path = ctx.evidence_dir("screenshots", page) / f"{engine}-{device}.png"
            page_image(page, engine, shade).save(path)
            tags = {"page": page, "engine": engine, "device": device}
            ctx.emit(Artifact(stage="browsers", subject=f"{page}|{engine}|{device}", tags=tags,
                              role="screenshot", path=ctx.relative(path), media_type="image/png"))
            shots[page, engine, device] = path
    # A journey's failure screenshot and a diff image are not page screenshots.
    failed = ctx.evidence_dir("screenshots") / "checkout-failed.png"
    page_image("home", "x").save(failed)
    ctx.emit(Artifact(stage="browsers", subject="checkout|chromium|desktop", role="screenshot",
                      tags={"journey": "checkout", "step": "failed", "engine": "chromium", "device": "desktop"},
                      path=ctx.relative(failed)))
    ctx.emit(Artifact(stage="browsers", subject="home|chromium|desktop", role="diff", path="diffs/x.png",
                      tags={"page": "home", "engine": "chromium", "device": "desktop"}))
    return shots


ALL_KEYS = sorted(f"visual:{p}|{e}|{d}" for p in PAGES for e, d in PROFILES)


def test_approve_copies_every_page_screenshot_and_records_it(tmp_path):
    ctx = new_run(tmp_path, "run-1")
    shots = take_screenshots(ctx)
    keys = approve(ctx.store, ctx.store.run("run-1"), tmp_path)
    assert keys == ALL_KEYS
    for (page, engine, device), source in shots.items():
        baseline = ctx.store.baseline(f"visual:{page}|{engine}|{device}")
        assert baseline.run_id == "run-1"
        assert baseline.path == f"baselines/{baseline_filename(f'visual:{page}|{engine}|{device}')}"
        copied = tmp_path / baseline.path
        assert copied.read_bytes() == source.read_bytes()
        assert sha256_file(copied) == baseline.sha256
    assert [b.key for b in list_baselines(ctx.store)] == ALL_KEYS
    assert not list((tmp_path / "baselines").glob(".*"))  # no partial copies left behind


def test_filters_by_page_and_by_engine_or_device(tmp_path):
    ctx = new_run(tmp_path, "run-1")
    take_screenshots(ctx)
    run = ctx.store.run("run-1")
    assert approve(ctx.store, run, tmp_path, pages=["home"]) == \
        ["visual:home|chromium|desktop", "visual:home|firefox|pixel-7"]
    assert approve(ctx.store, run, tmp_path, profiles=["pixel-7"]) == \
        ["visual:home|firefox|pixel-7", "visual:product|firefox|pixel-7"]
    assert approve(ctx.store, run, tmp_path, pages=["product"], profiles=["chromium"]) == \
        ["visual:product|chromium|desktop"]
    assert len(list_baselines(ctx.store)) == 4


def test_filters_that_match_nothing_are_usage_errors(tmp_path):
    ctx = new_run(tmp_path, "run-1")
    take_screenshots(ctx, skip={("home", "firefox")})
    run = ctx.store.run("run-1")
    with pytest.raises(UsageError, match=r"no screenshot of page 'checkout' \(it has: home, product\)"):
        approve(ctx.store, run, tmp_path, pages=["checkout"])
    with pytest.raises(UsageError, match=r"engine or device 'webkit' \(it has: chromium, desktop, firefox, pixel-7\)"):
        approve(ctx.store, run, tmp_path, profiles=["webkit"])
    with pytest.raises(UsageError, match="no screenshot of run run-1 matches all of: home, pixel-7"):
        approve(ctx.store, run, tmp_path, pages=["home"], profiles=["pixel-7"])  # each exists, not together
    assert list_baselines(ctx.store) == []


def test_a_run_without_screenshots_cannot_be_approved(tmp_path):
    ctx = new_run(tmp_path, "run-1")
    with pytest.raises(UsageError, match="run run-1 has no page screenshots to approve") as caught:
        approve(ctx.store, ctx.store.run("run-1"), tmp_path)
    assert "siteward sweep" in str(caught.value)


def test_missing_screenshot_files_approve_nothing(tmp_path):
    ctx = new_run(tmp_path, "run-1")
    shots = take_screenshots(ctx)
    shots["product", "firefox", "pixel-7"].unlink()
    with pytest.raises(UsageError, match="screenshot files are missing"):
        approve(ctx.store, ctx.store.run("run-1"), tmp_path)
    assert list_baselines(ctx.store) == []


def test_approving_a_later_run_replaces_the_baseline_and_the_next_diff_uses_it(tmp_path):
    first = new_run(tmp_path, "run-1")
    take_screenshots(first)
    approve(first.store, first.store.run("run-1"), tmp_path)

    second = new_run(tmp_path, "run-2")
    shots = take_screenshots(second, shade=60)  # a visibly different background
    tags = {"page": "home", "engine": "chromium", "device": "desktop"}
    key = "visual:home|chromium|desktop"
    assert visual_verdict(second, key, shots["home", "chromium", "desktop"], tags).status == "fail"

    assert approve(second.store, second.store.run("run-2"), tmp_path, pages=["home"], profiles=["desktop"]) == [key]
    assert second.store.baseline(key).run_id == "run-2"
    assert second.store.baseline("visual:product|chromium|desktop").run_id == "run-1"
    assert visual_verdict(second, key, shots["home", "chromium", "desktop"], tags).status == "pass"


def test_baseline_file_names_are_safe_and_distinct():
    one, two = baseline_filename("visual:a|b|c/d"), baseline_filename("visual:a_b_c_d")
    assert one != two
    assert "/" not in one and "|" not in one and one.endswith(".png")
