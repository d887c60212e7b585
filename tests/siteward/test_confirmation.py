"""The runner re-measures what screening flags, through the stage contract, and reports confirm or clear it.

A stand-in browsers stage (same NAME, Options, plan, run) makes the page timings the test
wants, so the whole flow - pooled baseline, screening, re-measurement, confirmation, verdict -
runs without a browser. tests/siteward/test_run_paint_regression.py does it with real Chromium.
"""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from browsers.plan import SweepOptions
from reports.regressions import Comparison
from siteward import runner
from siteward.config import load_config
from siteward.records import Measurement

PAGE = {"page": "home", "engine": "chromium", "device": "desktop", "form_factor": "desktop"}


class FakeBrowsers:
    """The browsers stage's contract; `speeds` says the first-paint time of each call, in order."""

    NAME = "browsers"
    Options = SweepOptions

    def __init__(self):
        self.speeds: list[float] = []
        self.planned: list[SweepOptions] = []

    def plan(self, config, options: SweepOptions):
        self.planned.append(options)
        return options

    def run(self, ctx, plan) -> None:
        ctx.emit(Measurement(stage="browsers", subject="home|chromium|desktop", metric="fp_ms", unit="ms",
                             samples=[self.speeds.pop(0)], tags=PAGE))


@pytest.fixture
def fake(monkeypatch, tmp_path):
    stage = FakeBrowsers()
    monkeypatch.setitem(runner.STAGES, "browsers", stage)
    monkeypatch.setattr(runner, "require_target", lambda *a, **k: None)
    monkeypatch.setattr(runner, "tool_versions", lambda: {})
    config = load_config(None, results=str(tmp_path / "results"))
    config.regressions.confirm_runs = 2
    stage.config = config
    return stage


def _run(stage: FakeBrowsers, *speeds: float) -> dict:
    stage.speeds = list(speeds)
    request = runner.RunRequest(stage.config, ["browsers"], branch="main", commit="abc", quiet=True)
    runner.execute(request, Console(quiet=True))
    assert stage.speeds == [], "every planned measurement was taken"
    latest = runner.Store.for_config(stage.config).runs(limit=1)[0]
    return json.loads((latest.run_dir / "summary.json").read_text())


def test_a_regression_that_re_measures_worse_is_confirmed(fake):
    for speed in (100, 102, 98, 101, 99):
        assert _run(fake, speed)["verdict"] == "pass"
    fake.planned.clear()
    summary = _run(fake, 140, 141, 139)  # the run, then two re-measurements
    assert summary["verdict"] == "fail" and summary["branch"] == "main" and summary["commit"] == "abc"
    (found,) = summary["regressions"]
    assert (found["metric"], found["confirmations"], found["n_current"], found["baseline_runs"]) == ("fp_ms", 2, 1, 5)
    assert "confirmed by 2 re-measurement(s)" in found["reason"]
    assert fake.planned[1:] == [SweepOptions(engines=("chromium",), devices=("desktop",), pages=("home",),
                                             no_journeys=True)] * 2
    assert summary["counts"]["confirmation_records"] == 2
    assert summary["stages"]["browsers"]["measurements"][0]["n"] == 1  # re-measurements are not the run's results


def test_a_fluke_that_re_measures_normal_is_not_a_regression(fake):
    for speed in (100, 102, 98, 101, 99):
        _run(fake, speed)
    summary = _run(fake, 140, 100, 101)
    assert summary["verdict"] == "pass" and summary["regressions"] == []
    assert summary["counts"]["comparisons"] == {"unconfirmed": 1}


def test_nothing_flagged_means_nothing_re_measured(fake):
    for speed in (100, 102, 98, 101, 99, 100):
        _run(fake, speed)  # _run asserts that no extra measurement was asked for


def test_remeasure_jobs_narrow_each_stage_to_what_was_flagged():
    def flagged(stage, **tags):
        return Comparison(stage=stage, subject="s", metric="m", unit="ms", higher_is_better=False, state="regression",
                          baseline_median=1.0, current_median=2.0, n_baseline=5, n_current=1, tags=tags)

    jobs = runner.remeasure_jobs([
        flagged("browsers", page="home", engine="chromium", device="desktop"),
        flagged("browsers", page="cart", engine="chromium", device="desktop"),
        flagged("browsers", page="home", engine="firefox", device="pixel-7"),
        flagged("audits", page="home", preset="mobile"),
    ], ["browsers", "audits"], confirm_runs=3)
    assert [(j.stage, j.options, j.rounds) for j in jobs] == [
        ("browsers", SweepOptions(engines=("chromium",), devices=("desktop",), pages=("cart", "home"), no_journeys=True), 3),
        ("browsers", SweepOptions(engines=("firefox",), devices=("pixel-7",), pages=("home",), no_journeys=True), 3),
        ("audits", runner.audits_stage.Options(presets=("mobile",), pages=("home",), runs=3), 1),
    ]
    assert runner.remeasure_jobs([flagged("audits", page="home", preset="mobile")], ["browsers"], 3) == []
