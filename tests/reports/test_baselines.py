"""Which runs are the baseline: branch, completeness, verdict, count (reports.baselines and the store)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from report_records import latency, measurement
from reports import render_run
from reports.analysis import find_baseline
from reports.baselines import choose_baseline
from siteward.schema import RegressionsConfig
from siteward.store import RunInfo

SETTINGS = RegressionsConfig()  # main, 10 runs, 5 needed


def _info(run_id: str, *, branch="main", verdict="pass", finished="t", stages=("browsers",),
          done: tuple[str, ...] | None = ("browsers",)) -> RunInfo:
    return RunInfo(id=run_id, target="shop", fingerprint="f", config={}, stages=list(stages), run_dir=Path("/x"),
                   tool_versions={}, started="t", finished=finished, verdict=verdict, exit_code=0, branch=branch,
                   commit="abc", stages_done=None if done is None else list(done))


def test_a_pull_request_is_compared_with_main_never_with_other_branches():
    history = [_info(f"r{i}", branch="main" if i % 2 else "feature-x") for i in range(30)][::-1]
    choice = choose_baseline(history, _info("now", branch="feature-y"), SETTINGS)
    assert len(choice.runs) == 10 and {r.branch for r in choice.runs} == {"main"}
    assert choice.ids == [f"r{i}" for i in range(29, 9, -2)]  # the newest ten, newest first
    assert choice.method == "run-medians" and "on main" in choice.note and "other branch left out" in choice.note


def test_the_baseline_branch_is_configurable():
    history = [_info(f"r{i}", branch="trunk") for i in range(6)]
    assert choose_baseline(history, _info("now"), SETTINGS).runs == []
    assert len(choose_baseline(history, _info("now"), RegressionsConfig(baseline_branch="trunk")).runs) == 6


def test_unknown_branches_count_only_for_a_run_on_an_unknown_branch():
    history = [_info(f"u{i}", branch="") for i in range(3)] + [_info(f"m{i}") for i in range(3)]
    assert [r.id for r in choose_baseline(history, _info("now", branch=""), SETTINGS).runs] == [
        "u0", "u1", "u2", "m0", "m1", "m2"]
    assert [r.id for r in choose_baseline(history, _info("now", branch="main"), SETTINGS).runs] == ["m0", "m1", "m2"]
    assert "unknown branch" in choose_baseline(history, _info("now", branch=""), SETTINGS).note


def test_killed_interrupted_failed_and_unrendered_runs_are_never_baselines():
    good = [_info(f"ok{i}") for i in range(5)]
    bad = [
        _info("killed", done=()),  # a stage started and never ended (SIGKILL), later re-rendered as pass
        _info("half", stages=("browsers", "audits"), done=("browsers",)),
        _info("failed", verdict="fail"),
        _info("errored", verdict="error"),
        _info("never-rendered", verdict=None, finished=None),
    ]
    choice = choose_baseline(bad + good, _info("now"), SETTINGS)
    assert [r.id for r in choice.runs] == [r.id for r in good]
    assert "3 not passing, 2 incomplete left out" in choice.note
    # Runs from before stages were tracked count when they passed.
    assert len(choose_baseline([replace(r, stages_done=None) for r in good], _info("now"), SETTINGS).runs) == 5


def test_too_few_runs_say_how_many_more_are_needed():
    choice = choose_baseline([_info("a"), _info("b")], _info("now"), SETTINGS)
    assert choice.method is None and choice.more_needed == 3
    assert "2 complete passing run(s)" in choice.note and "3 more needed" in choice.note
    assert choose_baseline([], _info("now"), RegressionsConfig(min_baseline_runs=2)).more_needed == 2


def test_the_store_side_picks_target_fingerprint_and_branch(store, runs, tmp_path):
    ids = [runs.run([measurement(samples=latency(i))], verdict="pass") for i in range(6)]
    other_target = runs.run([measurement()], verdict="pass", target="elsewhere")
    current = runs.run([measurement(samples=latency(9))])
    choice = find_baseline(store, store.run(current), None, SETTINGS)
    assert choice.ids == ids[::-1] and other_target not in choice.ids
    summary = render_run(store, current).paths["summary.json"].read_text()
    assert ids[-1] in summary


def test_one_shard_is_never_a_baseline_its_merged_run_is():
    shards = [replace(_info(f"s{i}"), shard=f"{i}/3", shard_group="g") for i in range(1, 4)]
    merged = replace(_info("merged"), shard_group="g", merged_from=["s1", "s2", "s3"])
    choice = choose_baseline([merged, *shards], _info("now"), SETTINGS)
    assert choice.ids == ["merged"] and "3 one shard left out" in choice.note
