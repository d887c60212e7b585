"""Synthetic records and runs for the reporting tests: records are the reporting layer's input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from reports.budgets import budget_finding
from siteward.records import Artifact, Finding, Measurement
from siteward.store import Store


class RunBuilder:
    """Create runs with records, as the runner and stages would."""

    def __init__(self, store: Store, root: Path):
        self.store = store
        self.root = root
        self.count = 0

    def run(self, records=(), *, target="demo", fingerprint="fp1", stages=None,
            verdict: str | None = None, run_id: str | None = None) -> str:
        self.count += 1
        if stages is None:  # the stages that recorded something, as in a complete run
            stages = list(dict.fromkeys(r.stage for r in records if r.stage in ("browsers", "audits", "loadtests")))
        run_id = run_id or f"20250101-0000{self.count:02d}-abc{self.count:03d}"
        run_dir = self.root / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        self.store.create_run(target=target, fingerprint=fingerprint, config={"target": {"base_url": "http://127.0.0.1:1"}},
                              stages=list(stages), run_dir=run_dir, tool_versions={"chromium": "test"}, run_id=run_id)
        for record in records:
            self.store.add(run_id, record)
        if verdict is not None:
            self.store.finish_run(run_id, verdict=verdict, exit_code={"pass": 0, "fail": 1, "error": 3}[verdict])
        return run_id

    def image(self, run_id: str, rel: str, size=(400, 900), colour=(200, 40, 40)) -> str:
        path = self.root / run_id / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, colour).save(path)
        return rel

    def write_json(self, run_id: str, rel: str, data) -> str:
        path = self.root / run_id / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data), encoding="utf-8")
        return rel


def latency(seed: int, n: int = 20, median: float = 400.0, shift: float = 0.0, spread: float = 0.15) -> list[float]:
    """Realistic page-timing samples: log-normal around a median, optional relative shift."""
    rng = np.random.default_rng(seed)
    return list(median * (1 + shift) * np.exp(rng.normal(0, spread, n)))


def measurement(metric="fcp_ms", samples=(100.0,) * 6, *, stage="browsers", subject="home|chromium|desktop",
                unit="ms", higher_is_better=False, **tags) -> Measurement:
    return Measurement(stage=stage, subject=subject, metric=metric, unit=unit, samples=list(samples),
                       higher_is_better=higher_is_better, tags=tags)


def budget(value: float, limit: float, *, metric="fcp_ms", stage="browsers", subject="home|chromium|desktop",
           unit="ms", check="budget", **tags) -> Finding:
    return budget_finding(stage=stage, subject=subject, name=metric, limit=limit, value=value, unit=unit,
                          check=check, tags=tags)


def finding(status="pass", check="console-errors", *, stage="browsers", subject="home|chromium|desktop",
            message="", evidence=(), **tags) -> Finding:
    return Finding(stage=stage, subject=subject, check=check, status=status, message=message,
                   evidence=list(evidence), tags=tags)


def artifact(role: str, path: str, *, stage="browsers", subject="home|chromium|desktop", media_type="image/png", **tags) -> Artifact:
    return Artifact(stage=stage, subject=subject, role=role, path=path, media_type=media_type, tags=tags)


def drifting_runs(rng: np.random.Generator, runs: int, n: int, *, median: float = 400.0, run_sd: float = 0.05,
                  within_sd: float = 0.15, shift: float = 0.0) -> list[list[float]]:
    """Samples of `runs` runs whose speed drifts as a whole (log-normal run effect, then samples)."""
    effects = rng.normal(0.0, run_sd, runs)
    return [list(median * (1 + shift) * np.exp(effect + rng.normal(0.0, within_sd, n))) for effect in effects]
