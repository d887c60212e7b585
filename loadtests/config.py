"""Config section [load]: the traffic model, load shape, thresholds and safety caps.

A route is one request, named by its template so statistics group sensibly:

    [[load.routes]]
    name = "/product/{slug}"        # the statistics key
    path = "/product/{slug}"        # placeholders are filled from [load.samples]
    weight = 12
    group = "page"                  # thresholds are per group

Routes that share a `flow` run in the listed order as one visit (e.g. checkout steps);
the flow is picked with the weight of its first step. Bodies may use ${secrets.NAME}
(resolved on each load generator from its own environment, never written down).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from siteward.schema import Strict, ThresholdsConfig, UnderLoadConfig, absolute_path

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class RouteConfig(Strict):
    name: str = Field(description="route template, e.g. /product/{slug}: statistics group by it")
    path: str = Field(description="path or template; {slug}/{q}/{category} filled from samples")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    weight: int = Field(1, ge=0, le=1000)
    group: str = Field("page", description="threshold group, e.g. page or api")
    json_body: dict | None = None
    form: dict[str, str] | None = Field(None, description="form fields (application/x-www-form-urlencoded)")
    flow: str | None = Field(None, description="routes sharing a flow run in order as one visit")
    follow_redirects: bool = True
    expect_status: list[int] | None = Field(
        None, description="statuses that count as success (default: below 400), e.g. [303] for a login")

    _absolute_path = field_validator("path")(absolute_path)


class LoadConfig(Strict):
    peak_rps: float | None = Field(5, gt=0, le=50_000, description="observed peak requests/s (from analytics)")
    peak_users: int | None = Field(None, gt=0, le=20_000, description="or observed peak concurrent users")
    multiplier: float = Field(10, gt=0, le=1000)
    # peak: warm-up, ramp to multiplier x peak, hold, spike, ramp down (closed model, users
    # with think time); open: a fixed arrival rate whatever the response times;
    # steady: a constant number of users for the whole duration (benchmarks, soak tests).
    profile: Literal["peak", "open", "steady"] = "peak"
    duration_s: float = Field(60, gt=0, le=86_400)
    think_time_s: tuple[float, float] = (0.5, 2.0)
    spike_factor: float = Field(1.5, ge=1, le=10, description="the spike's height relative to the target")
    open_pool_s: float = Field(2.0, gt=0, le=60, description="open model: users kept = rate x this (slowest response it absorbs)")
    workers: int = Field(0, ge=0, le=64, description="Locust worker processes; 0 = one per core")
    allow_hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1", "localhost", "::1"])
    # Caps a run may raise up to the hard ceilings (le=...): past those one machine's Locust and
    # the memory it needs are the limit, not the shop; a run above its caps is refused (exit 2).
    max_users: int = Field(2000, gt=0, le=20_000)
    max_rps: float = Field(5000, gt=0, le=50_000)
    max_duration_s: float = Field(3600, gt=0, le=86_400)
    routes: list[RouteConfig] = Field(default_factory=list, description="empty = the shop model's defaults")
    samples: dict[str, list[str]] = Field(
        default_factory=dict,
        description="values for route placeholders, e.g. slug = [...]; empty = discovered from /api/products",
    )
    thresholds: ThresholdsConfig = Field(default_factory=ThresholdsConfig)
    under_load: UnderLoadConfig = Field(default_factory=UnderLoadConfig)

    @field_validator("think_time_s")
    @classmethod
    def _ordered(cls, span: tuple[float, float]) -> tuple[float, float]:
        low, high = span
        if low < 0 or high < low:
            raise ValueError(f"think_time_s must be [min, max] with 0 <= min <= max, got [{low:g}, {high:g}]")
        return span

    @model_validator(mode="after")
    def _bounded(self) -> "LoadConfig":
        if self.duration_s > self.max_duration_s:
            raise ValueError(f"duration_s {self.duration_s:g} exceeds max_duration_s {self.max_duration_s:g}")
        if self.routes and not any(r.weight for r in self.routes):
            raise ValueError("load.routes: at least one route needs a weight above 0")
        for key, values in self.samples.items():
            if not values:
                raise ValueError(f"samples.{key} needs at least one value")
        return self
