"""Visual regression in the sweep: diff a screenshot against its approved baseline, keep the evidence.

Emits the diff and baseline images as artifacts and the share of differing pixels as the
measurement "visual_diff_ratio" (with the pixel counts as its data); reports/ judges it
against the budget. No baseline is a skip, an unreadable or tampered baseline an error.
"""

from __future__ import annotations

import hashlib
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Mapping

from PIL import Image

from browsers.pixeldiff import DiffResult, diff_images
from siteward.errors import UsageError
from siteward.records import AnyRecord, Artifact, Finding, Measurement
from siteward.stage import StageContext, safe_filename

METRIC = "visual_diff_ratio"
CHECK = "visual-diff"


def visual_name(tags: Mapping[str, str]) -> str:
    """What a screenshot shows: its page, else its journey step."""
    if tags.get("page"):
        return tags["page"]
    if tags.get("journey"):
        return f"{tags['journey']}.{tags['step']}" if tags.get("step") else tags["journey"]
    raise UsageError(f"a screenshot needs a page or journey tag to have a baseline, got tags {dict(tags)}")


def visual_key(tags: Mapping[str, str]) -> str:
    """Baseline key, e.g. "visual:home|chromium|pixel-7"."""
    return f"visual:{visual_name(tags)}|{tags.get('engine', 'any')}|{tags.get('device', 'any')}"


def open_pair(first: Path, second: Path) -> tuple[Image.Image, Image.Image]:
    """Both images decoded at once: Pillow's PNG decoder lets go of the GIL, so two cores
    halve the decoding, most of a near-identical pair's diff time."""
    def load(path: Path) -> Image.Image:
        image = Image.open(path)
        try:
            image.load()  # also closes the file of a single-frame image
        except BaseException:
            image.close()
            raise
        return image

    with ThreadPoolExecutor(max_workers=2) as pool:
        return tuple(pool.map(load, (first, second)))  # type: ignore[return-value]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_baseline_file(ctx: StageContext, stored_path: str) -> Path:
    """Baselines are stored relative to the results root (run dirs live directly under it)."""
    path = Path(stored_path)
    if path.is_absolute():
        return path
    for root in (ctx.run_dir.parent, ctx.config.results_root()):
        if (root / path).is_file():
            return root / path
    return ctx.run_dir.parent / path


def _describe(result: DiffResult) -> str:
    text = f"{result.differing_pixels} of {result.total_pixels} pixels differ"
    if result.antialiased_pixels:
        text += f" ({result.antialiased_pixels} anti-aliased ignored)"
    if result.size_changed:
        (w1, h1), (w2, h2) = result.baseline_size, result.current_size
        text += f"; size changed from {w1}x{h1} to {w2}x{h2}"
    return text


def compare_with_baseline(ctx: StageContext, key: str, screenshot: Path, tags: dict[str, str]) -> AnyRecord:
    """Diff a fresh screenshot against the approved baseline `key` and emit the evidence.

    Emits: Artifacts "diff" and "baseline" and the Measurement visual_diff_ratio (returned);
    or a "visual-diff" Finding, skip without a baseline, error when a file cannot be read
    (returned instead).
    """
    subject = key.removeprefix("visual:")
    tags = dict(tags)

    def finding(status: str, message: str, **extra) -> Finding:
        return ctx.emit(Finding(stage="browsers", subject=subject, check=CHECK, status=status,
                                message=message, tags=tags, **extra))

    approved = ctx.store.baseline(key)
    if approved is None:
        return finding("skip", "no approved baseline; run `siteward baseline approve`", severity="info",
                       evidence=[ctx.relative(screenshot)])
    try:
        baseline_file = resolve_baseline_file(ctx, approved.path)
        if not baseline_file.is_file():
            return finding("error", f"baseline file {baseline_file} is missing; re-approve with "
                                    "`siteward baseline approve`")
        if sha256_file(baseline_file) != approved.sha256:
            return finding("error", f"baseline file {baseline_file} changed since it was approved "
                                    f"(run {approved.run_id}); re-approve with `siteward baseline approve`")
        visual = ctx.config.visual
        base_img, cur_img = open_pair(baseline_file, screenshot)
        result = diff_images(base_img, cur_img, threshold=visual.threshold, antialiasing=visual.antialiasing)
        name = visual_name(tags) if (tags.get("page") or tags.get("journey")) else subject.split("|")[0]
        stem = safe_filename(f"{tags.get('engine', 'any')}-{tags.get('device', 'any')}")
        folder = ctx.evidence_dir("diffs", safe_filename(name))
        diff_file, baseline_copy = folder / f"{stem}.png", folder / f"{stem}-baseline.png"
        # Fast PNG compression: the faded image compresses well anyway, and big pages are slow.
        result.diff_image.save(diff_file, compress_level=3)
        shutil.copyfile(baseline_file, baseline_copy)
    except Exception as exc:  # one broken comparison must not sink the sweep
        return finding("error", f"visual diff failed: {type(exc).__name__}: {exc}")

    evidence = [ctx.relative(screenshot), ctx.relative(baseline_copy), ctx.relative(diff_file)]
    ctx.emit(Artifact(stage="browsers", subject=subject, tags=tags, role="diff",
                      path=evidence[2], media_type="image/png"))
    ctx.emit(Artifact(stage="browsers", subject=subject, tags=tags, role="baseline",
                      path=evidence[1], media_type="image/png"))
    return ctx.emit(Measurement(
        stage="browsers", subject=subject, tags=tags, metric=METRIC, unit="ratio", samples=[result.ratio],
        evidence=evidence,
        data={"description": _describe(result), "differing_pixels": result.differing_pixels,
              "total_pixels": result.total_pixels, "antialiased_pixels": result.antialiased_pixels,
              "size_changed": result.size_changed, "baseline_size": list(result.baseline_size),
              "current_size": list(result.current_size), "baseline_run": approved.run_id,
              "threshold": ctx.config.visual.threshold},
    ))
