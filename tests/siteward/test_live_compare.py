"""`siteward compare --live`: A and B measured alternately until decided, B's report against A.

A stand-in browsers stage gives each deployment its first-paint time times a drift that
changes wildly from round to round (as this machine's speed does); pairing A and B within
a round is what cancels it.
"""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from browsers.plan import SweepOptions
from siteward import runner
from siteward.cli import main
from siteward.config import load_config
from siteward.records import Measurement
from siteward.store import Store

A, B = "http://127.0.0.1:9001", "http://127.0.0.1:9002"
DRIFT = [1.0, 1.8, 0.7, 1.4, 0.9, 2.2, 1.1, 0.8, 1.6, 1.0]


class FakeBrowsers:
    NAME = "browsers"
    Options = SweepOptions

    def __init__(self, speeds: dict[str, float]):
        self.speeds = speeds
        self.calls: list[tuple[str, str]] = []

    def plan(self, config, options):
        return options

    def run(self, ctx, plan) -> None:
        url, round_number = ctx.config.target.base_url, ctx.record_tags["round"]
        self.calls.append((round_number, url))
        value = self.speeds[url] * DRIFT[int(round_number) - 1]
        ctx.emit(Measurement(stage="browsers", subject="home|chromium|desktop", metric="fp_ms", unit="ms",
                             samples=[value], tags={"page": "home", "engine": "chromium", "device": "desktop"}))


def _live(monkeypatch, tmp_path, speeds) -> tuple[FakeBrowsers, dict, int]:
    stage = FakeBrowsers(speeds)
    monkeypatch.setitem(runner.STAGES, "browsers", stage)
    monkeypatch.setattr(runner, "require_target", lambda *a, **k: None)
    config = load_config(None, target=B, results=str(tmp_path / "results"))
    request = runner.RunRequest(config, ["browsers"], quiet=True, branch="pr-1")
    code = runner.execute_live(runner.LiveRequest(request, A, max_rounds=10), Console(quiet=True))
    latest = Store.for_config(config).runs(limit=1)[0]
    return stage, json.loads((latest.run_dir / "summary.json").read_text()), code


def test_thirty_percent_under_heavy_drift_is_found_in_few_rounds(monkeypatch, tmp_path):
    stage, summary, code = _live(monkeypatch, tmp_path, {A: 100.0, B: 130.0})
    rounds = sorted({int(r) for r, _ in stage.calls})
    assert 3 <= len(rounds) < 10  # decided before the cap
    assert stage.calls[:4] == [("1", A), ("1", B), ("2", B), ("2", A)]  # A B, then B A: order effects cancel
    assert code == 1 and summary["verdict"] == "fail" and summary["target"].endswith("(live A/B)")
    (found,) = summary["regressions"]
    assert found["method"] == "paired-rounds" and 25 <= found["change_pct"] <= 35 and found["ci_low"] > 0
    assert summary["baseline_run_id"] and summary["branch"] == "pr-1"


def test_the_same_site_twice_is_no_regression(monkeypatch, tmp_path):
    _, summary, code = _live(monkeypatch, tmp_path, {A: 100.0, B: 100.0})
    assert code == 0 and summary["regressions"] == []


def test_live_runs_are_never_baselines_of_ordinary_runs(monkeypatch, tmp_path):
    _live(monkeypatch, tmp_path, {A: 100.0, B: 100.0})
    store = Store(tmp_path / "results" / "history.sqlite")
    assert {r.target for r in store.runs()} == {"siteward demo shop (live A/B)"}


@pytest.mark.parametrize("argv, message", [
    (["compare", "--live", "--target", B], "needs --baseline-url"),
    (["compare", "--live", "--baseline-url", "ftp://x", "--target", B], "--baseline-url"),
    (["compare", "--live", "--baseline-url", B, "--target", B], "same site"),
    (["compare", "--live", "--baseline-url", A, "--target", B, "--stage", "loadtests"], "only browsers and audits"),
    (["compare", "--live", "r1", "--baseline-url", A], "not runs"),
    (["compare", "r1"], "needs two runs"),
    (["compare", "r1", "r2", "--baseline-url", A], "go with --live"),
])
def test_bad_usage_is_exit_2_with_a_message(tmp_path, capsys, argv, message):
    assert main([*argv, "--results", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
