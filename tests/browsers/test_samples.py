"""Timing samples: the timing profiles load every page `samples` times; one measurement per metric holds them."""

from __future__ import annotations

import pytest

from browsers.config import BrowsersConfig
from browsers.plan import PageTask, Profile, SweepOptions, build_plan
from browsers.samples import TimingSamples
from siteward.records import Artifact, Measurement
from siteward.schema import PageConfig
from stage_helpers import run_stage
from sweep_helpers import demo_config, findings, make_ctx, records

CHROMIUM = Profile("chromium", "desktop")
FIREFOX = Profile("firefox", "desktop")


def _plan(**browsers):
    config = demo_config("http://127.0.0.1:9", browsers=browsers)
    return config, build_plan(config, SweepOptions(pages=("home", "product")))


def _measured(task: PageTask, value: float) -> list[Measurement]:
    subject = f"{task.page.name}|{task.profile.engine}|{task.profile.device}"
    return [Measurement(stage="browsers", subject=subject, tags={"page": task.page.name}, metric=metric,
                        unit="ms", samples=[value]) for metric in ("fp_ms", "lcp_ms")]


def test_timing_profiles_are_those_of_the_sweep():
    assert BrowsersConfig().samples == 5  # the default; the tests' demo config asks for 1
    _, plan = _plan(engines=["chromium", "firefox"], devices=["desktop"], samples=5)
    assert plan.samples == 5 and plan.timing_profiles == [CHROMIUM]  # chromium/pixel-7 is not in this sweep
    _, plan = _plan(timing_profiles=["firefox/desktop"], samples=3)
    assert (plan.samples, plan.timing_profiles) == (3, [FIREFOX])


@pytest.mark.parametrize("value, fragment", [
    (["chromium"], "ENGINE/DEVICE"), (["safari/desktop"], "WebKit"), (["chromium/nokia"], "nokia"),
])
def test_bad_timing_profiles_are_config_errors(value, fragment):
    with pytest.raises(ValueError, match=fragment):
        BrowsersConfig(timing_profiles=value)
    with pytest.raises(ValueError):
        BrowsersConfig(samples=31)  # bounded


def test_held_measurements_gather_every_sample_round_by_round(tmp_path):
    config, plan = _plan(engines=["chromium", "firefox"], devices=["desktop"], samples=3)
    ctx = make_ctx(config, tmp_path)
    samples = TimingSamples(ctx, plan)
    home, product = plan.pages
    tasks = [PageTask(home, CHROMIUM), PageTask(product, CHROMIUM), PageTask(home, FIREFOX)]
    shot = Artifact(stage="browsers", subject="home|chromium|desktop", role="screenshot", path="a.png",
                    media_type="image/png")
    emitted_now = [samples.hold(t, [*_measured(t, 100.0), shot]) for t in tasks]
    assert [len(e) for e in emitted_now] == [1, 1, 3]  # Firefox is no timing profile: emitted at once
    # the extra loads: two rounds, each across both pages (not one page back to back)
    assert [t.page.name for t in samples.rounds()] == ["home", "product", "home", "product"]
    for value, task in zip((110.0, 120.0, 130.0), samples.rounds()):
        samples.add(task, _measured(task, value))
    samples.failed(tasks[1], "timed out after 60 s")
    samples.flush()
    stored = {(m.subject, m.metric): m.samples for m in records(ctx, "measurement")}
    assert stored == {("home|chromium|desktop", "fp_ms"): [100.0, 110.0, 130.0],
                      ("home|chromium|desktop", "lcp_ms"): [100.0, 110.0, 130.0],
                      ("product|chromium|desktop", "fp_ms"): [100.0, 120.0],
                      ("product|chromium|desktop", "lcp_ms"): [100.0, 120.0]}
    [warning] = findings(ctx, "timing-samples")
    assert warning.subject == "product|chromium|desktop" and "1 of 2" in warning.message
    samples.flush()  # a second flush (interrupted after the first) emits nothing twice
    assert len(records(ctx, "measurement")) == 4


def test_a_page_check_without_timings_gets_no_extra_loads(tmp_path):
    config, plan = _plan(samples=4)
    samples = TimingSamples(make_ctx(config, tmp_path), plan)
    task = PageTask(plan.pages[0], CHROMIUM)
    assert samples.hold(task, []) == [] and samples.rounds() == []


@pytest.mark.browser
def test_sweep_loads_each_page_samples_times_on_the_timing_profile_only(shop, tmp_path):
    config = demo_config(shop.url, browsers={"engines": ["chromium", "firefox"], "devices": ["desktop"],
                                             "samples": 3, "timing_profiles": ["chromium/desktop"]})
    ctx = make_ctx(config, tmp_path, pages=["home", "product"], no_journeys=True)
    run_stage(ctx)
    measured = records(ctx, "measurement")
    keys = [(m.subject, m.metric) for m in measured]
    assert len(keys) == len(set(keys))  # one record per page, profile and metric
    for m in measured:
        expected = 3 if m.tags["engine"] == "chromium" else 1
        assert len(m.samples) == expected, (m.subject, m.metric, m.samples)
    assert {m.metric for m in measured if m.tags["engine"] == "chromium"} >= {"fp_ms", "fcp_ms", "lcp_ms", "ttfb_ms"}
    # only the checks take screenshots: one per page and engine
    assert len([a for a in records(ctx, "artifact") if a.role == "screenshot"]) == 4
    assert findings(ctx, "timing-samples") == []
