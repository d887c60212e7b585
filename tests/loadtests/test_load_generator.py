"""A load generator pushed to its limit is reported as saturated (its figures are not trusted)."""

from __future__ import annotations

import pytest

from loadtests.calibrate import static_target
from stage_helpers import run_stage
from siteward.records import Finding, Measurement

pytestmark = pytest.mark.load


def test_generator_without_think_time_against_a_static_page_is_saturated(make_ctx):
    # nginx (or the asyncio fallback) answers faster than one Locust process can ask:
    # the generator, not the site, is the limit.
    with static_target() as (url, _server):
        ctx = make_ctx(url, {"workers": 1}, profile="steady", peak_users=24, multiplier=1, duration_s=8,
                       think_time_s=[0, 0], routes=[{"name": "/", "path": "/"}], thresholds={"p95_ms": {}})
        run_stage(ctx)
    records = ctx.store.records(ctx.run_id)
    finding = next(r for r in records if isinstance(r, Finding) and r.check == "generator-saturated")
    assert finding.status == "fail", finding.message
    assert "not trusted" in finding.message
    assert finding.data["local"]["busy_share"] >= 0.2
    demand = next(r for r in records if isinstance(r, Measurement) and r.metric == "generator_cpu_demand_percent")
    assert demand.value >= 90  # wanted a whole core most of the time (even if a busy machine gave it less)
