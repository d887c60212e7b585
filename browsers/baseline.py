"""Baseline approval: promote a run's screenshots to the baselines later runs are diffed against.

`siteward baseline approve [RUN] --page P --profile ENGINE|DEVICE` calls `approve`. Each
approved screenshot is copied to <results root>/baselines/ (so deleting old runs keeps
it) and recorded in the store with its sha256, which `compare_with_baseline` verifies.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from browsers.visual import sha256_file, visual_key
from siteward.errors import UsageError
from siteward.records import Artifact
from siteward.stage import safe_filename
from siteward.store import Baseline, RunInfo, Store

BASELINE_DIR = "baselines"
KEY_PREFIX = "visual:"


def baseline_filename(key: str) -> str:
    """A readable, collision-free file name: "home|chromium|a/b" and "home_chromium_a_b" differ."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"{safe_filename(key.removeprefix(KEY_PREFIX))}-{digest}.png"


def run_screenshots(store: Store, run_info: RunInfo) -> dict[str, Artifact]:
    """The run's page screenshots by baseline key; a retried check's last screenshot wins.

    Journey screenshots (failure evidence, step snapshots) are not diffed, so not approved.
    """
    shots: dict[str, Artifact] = {}
    for record in store.records(run_info.id, kind="artifact"):
        if record.role == "screenshot" and record.tags.get("page"):
            shots[visual_key(record.tags)] = record
    return shots


def _matches(artifact: Artifact, pages: Sequence[str], profiles: Sequence[str]) -> bool:
    tags = artifact.tags
    if pages and tags.get("page") not in pages:
        return False
    if profiles and tags.get("engine") not in profiles and tags.get("device") not in profiles:
        return False
    return True


def _known(values) -> str:
    return ", ".join(sorted({v for v in values if v})) or "none"


def select_screenshots(store: Store, run_info: RunInfo, pages: Sequence[str] = (),
                       profiles: Sequence[str] = ()) -> dict[str, Artifact]:
    shots = run_screenshots(store, run_info)
    if not shots:
        raise UsageError(f"run {run_info.id} has no page screenshots to approve",
                         hint="run `siteward sweep` (with screenshots enabled) and approve that run")
    tags = [a.tags for a in shots.values()]
    names = {t["page"] for t in tags}
    for page in pages:
        if page not in names:
            raise UsageError(f"run {run_info.id} has no screenshot of page {page!r} (it has: {_known(names)})")
    engines_devices = {t.get("engine") for t in tags} | {t.get("device") for t in tags}
    for profile in profiles:
        if profile not in engines_devices:
            raise UsageError(f"run {run_info.id} has no screenshot from engine or device {profile!r} "
                             f"(it has: {_known(engines_devices)})")
    chosen = {key: shot for key, shot in shots.items() if _matches(shot, pages, profiles)}
    if not chosen:
        wanted = ", ".join([*pages, *profiles])
        raise UsageError(f"no screenshot of run {run_info.id} matches all of: {wanted}")
    return chosen


def approve(store: Store, run_info: RunInfo, results_root: Path, pages: Sequence[str] = (),
            profiles: Sequence[str] = ()) -> list[str]:
    """Promote the run's screenshots (filtered by page names and engine/device names); return the keys."""
    chosen = select_screenshots(store, run_info, pages, profiles)
    sources = {key: Path(run_info.run_dir) / shot.path for key, shot in chosen.items()}
    missing = [str(path) for path in sources.values() if not path.is_file()]
    if missing:  # check all before copying any, so an approval is all or nothing
        raise UsageError(f"run {run_info.id}: screenshot files are missing: {', '.join(missing[:5])}",
                         hint="the run directory was moved or cleaned; approve a newer run")
    target_dir = Path(results_root) / BASELINE_DIR
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {target_dir}: {exc.strerror or exc}") from None
    approved = []
    for key, source in sorted(sources.items()):
        name = baseline_filename(key)
        partial = target_dir / f".{name}.partial"
        try:
            shutil.copyfile(source, partial)
            os.replace(partial, target_dir / name)  # a reader never sees half a file
        except OSError as exc:
            raise UsageError(f"cannot copy {source} to {target_dir}: {exc.strerror or exc}") from None
        store.set_baseline(key, f"{BASELINE_DIR}/{name}", sha256_file(target_dir / name), run_info.id)
        approved.append(key)
    return approved


def list_baselines(store: Store) -> list[Baseline]:
    """Approved visual baselines, by key."""
    return store.baselines(KEY_PREFIX)
