"""Sharding (siteward/shards.py, the browsers and audits plans) and merging (siteward/merge.py), without browsers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from audits.stage import AuditOptions
from audits.stage import plan as audit_plan
from browsers.plan import SweepOptions, build_plan
from siteward.config import load_config
from siteward.errors import UsageError
from siteward.merge import check_mergeable, copy_evidence, merged_records, with_paths
from siteward.records import Artifact, Finding, Measurement
from siteward.shards import Shard, shard_group
from siteward.store import RunInfo


def test_shard_specs_are_checked():
    assert Shard.parse("2/3") == Shard(2, 3) and str(Shard.parse(" 1 / 4 ")) == "1/4"
    for bad, says in (("0/3", "1..3"), ("4/3", "1..3"), ("1/0", "count"), ("1/999", "count"), ("half", "i/n"), ("", "i/n")):
        with pytest.raises(UsageError, match=says):
            Shard.parse(bad)


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_are_disjoint_cover_everything_and_are_balanced(count):
    keys = [f"page:p{i}|{e}|{d}" for i in range(13) for e in ("chromium", "firefox", "webkit") for d in ("desktop", "pixel-7")]
    parts = [Shard(i, count).take(reversed(keys)) for i in range(1, count + 1)]  # the input order does not matter
    assert set().union(*parts) == set(keys)
    assert sum(len(p) for p in parts) == len(keys)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert parts == [Shard(i, count).take(keys) for i in range(1, count + 1)]  # deterministic


def test_the_shard_group_comes_from_the_flag_the_environment_or_the_ci():
    assert shard_group("nightly-42", env={}) == "nightly-42"
    assert shard_group(None, env={"SITEWARD_SHARD_GROUP": "g7"}) == "g7"
    assert shard_group(None, env={"GITHUB_RUN_ID": "991", "GITHUB_RUN_ATTEMPT": "2"}) == "991-2"
    assert shard_group(None, env={"CI_PIPELINE_ID": "55"}) == "55"
    assert shard_group(None, env={}, commit="abc123") == "abc123"
    with pytest.raises(UsageError, match="--shard-group"):
        shard_group("no spaces allowed", env={})


def _config(tmp_path: Path):
    path = tmp_path / "siteward.toml"
    path.write_text("""
[target]
base_url = "http://127.0.0.1:9"
[[pages]]
name = "home"
path = "/"
[[pages]]
name = "cart"
path = "/cart"
[[pages]]
name = "product"
path = "/product/x"
[[journeys]]
name = "search"
steps = [{ goto = "/" }]
[browsers]
engines = ["chromium", "firefox", "webkit"]
devices = ["desktop", "pixel-7"]
[audits]
presets = ["mobile", "desktop"]
""")
    return load_config(path)


def test_browser_and_audit_plans_split_into_shards_that_add_up(tmp_path):
    config = _config(tmp_path)
    whole = build_plan(config, SweepOptions())
    everything = {t.shard_key for t in whole.all_tasks()}
    assert len(everything) == 3 * 3 * 2 + 3 * 2  # pages x engines x devices + the journey on every profile
    shards = [build_plan(config, SweepOptions(shard=Shard(i, 3))) for i in (1, 2, 3)]
    assert set().union(*(s.shard_keys for s in shards)) == everything
    assert sum(len(s.shard_keys) for s in shards) == len(everything)
    assert whole.shard_keys is None and all(whole.in_shard(t) for t in whole.all_tasks())
    assert [t for t in whole.all_tasks() if shards[0].in_shard(t)] == \
        [t for t in shards[0].all_tasks() if t.shard_key in shards[0].shard_keys]

    audits = [audit_plan(config, AuditOptions(shard=Shard(i, 2))) for i in (1, 2)]
    all_audits = set(audit_plan(config, AuditOptions()).all_keys(config))
    assert all_audits == {f"lighthouse:{p}|{m}" for p in ("home", "cart", "product") for m in ("mobile", "desktop")} | \
        {"page-audit:home", "page-audit:cart", "page-audit:product", "site:tls"}
    assert audits[0].shard_keys | audits[1].shard_keys == all_audits
    assert not audits[0].shard_keys & audits[1].shard_keys
    assert sum(a.takes("site:tls") for a in audits) == 1  # the site's certificate is audited once


def _run(run_id: str, tmp_path: Path, *, shard: str = "", stages=("browsers",), fingerprint="f", commit="c1",
         done=("browsers",)) -> RunInfo:
    folder = tmp_path / run_id
    folder.mkdir(exist_ok=True)
    return RunInfo(id=run_id, target="shop", fingerprint=fingerprint, config={}, stages=list(stages), run_dir=folder,
                   tool_versions={}, started="t", finished="t", verdict="pass", exit_code=0, branch="main",
                   commit=commit, stages_done=list(done), shard=shard, shard_group="g" if shard else "")


def test_merging_refuses_what_is_not_one_run(tmp_path):
    s1, s2, s3 = (_run(f"s{i}", tmp_path, shard=f"{i}/3") for i in (1, 2, 3))
    check_mergeable([s1, s2, s3, _run("load", tmp_path, stages=("loadtests",), done=("loadtests",))])
    cases = [
        ([s1, s3], "shard 2/3 missing"),
        ([s1, s2, s3, replace(s2, id="again")], "shard 2/3 is given twice"),
        ([s1, s2, replace(s3, fingerprint="other")], "config"),
        ([s1, s2, replace(s3, commit="c2")], "commit"),
        ([s1, s2, s3, _run("whole", tmp_path)], "ran browsers too"),
        ([s1, replace(s2, shard="2/4"), s3], "split differently"),
        ([s1, s2, replace(s3, run_dir=tmp_path / "elsewhere")], "not on this machine"),
    ]
    for runs, says in cases:
        with pytest.raises(UsageError, match=says):
            check_mergeable(runs)


def test_merged_records_hold_each_record_once_with_the_worst_status():
    def tls(status: str) -> Finding:
        return Finding(stage="audits", subject="site|tls", check="tls-certificate", status=status, message=status)

    fcp = Measurement(stage="browsers", subject="home|chromium|desktop", metric="fcp_ms", unit="ms", samples=[100])
    lcp = Measurement(stage="browsers", subject="cart|chromium|desktop", metric="fcp_ms", unit="ms", samples=[90])
    shard_note = Finding(stage="browsers", subject="shard 1/2", check="shard", status="pass")
    passed, warned = tls("pass"), tls("warn")
    merged = merged_records([[fcp, passed, shard_note], [lcp, warned], [tls("pass")]])
    assert merged == [fcp, warned, lcp]


def test_evidence_that_collides_is_renamed_and_its_records_follow(tmp_path):
    a, b, merged = tmp_path / "a", tmp_path / "b", tmp_path / "merged"
    for folder, text in ((a, "from a"), (b, "from b")):
        (folder / "errors").mkdir(parents=True)
        (folder / "errors" / "browsers.txt").write_text(text)
        (folder / "report.html").write_text("rendered")  # made again for the merged run
    (b / "screens").mkdir()
    (b / "screens" / "home.png").write_bytes(b"png")
    assert copy_evidence(a, merged, "a") == {}
    renamed = copy_evidence(b, merged, "b")
    assert renamed == {"errors/browsers.txt": "errors/browsers.b.txt"}
    assert (merged / "errors" / "browsers.txt").read_text() == "from a"
    assert (merged / "errors" / "browsers.b.txt").read_text() == "from b"
    assert (merged / "screens" / "home.png").is_file() and not (merged / "report.html").exists()
    broke = Finding(stage="browsers", subject="browsers", check="stage", status="error", evidence=["errors/browsers.txt"])
    assert with_paths(broke, renamed).evidence == ["errors/browsers.b.txt"]
    shot = Artifact(stage="browsers", subject="home", role="screenshot", path="screens/home.png")
    assert with_paths(shot, renamed) == shot


def test_the_load_test_is_never_sharded(tmp_path):
    import subprocess
    import sys

    config = tmp_path / "siteward.toml"
    config.write_text('[target]\nbase_url = "http://127.0.0.1:9"\n[[pages]]\nname = "home"\npath = "/"\n')
    done = subprocess.run([sys.executable, "-m", "siteward.cli", "run", "-c", str(config), "--stage", "loadtests",
                           "--shard", "1/2", "--results", str(tmp_path / "r")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "siteward load" in done.stderr and "Traceback" not in done.stderr
    lone_group = subprocess.run([sys.executable, "-m", "siteward.cli", "sweep", "-c", str(config), "--shard-group", "g"],
                                capture_output=True, text=True, timeout=120)
    assert lone_group.returncode == 2 and "--shard-group needs --shard" in lone_group.stderr
