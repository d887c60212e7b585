"""Config section [load]: the traffic model, load shape, thresholds and safety caps."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RouteConfig(_Strict):
    name: str = Field(description="route template, e.g. /product/{slug}: statistics group by it")
    path: str = Field(description="path or template; {slug}/{q}/{category} filled from samples")
    method: Literal["GET", "POST"] = "GET"
    weight: int = Field(1, ge=0, le=1000)
    group: str = Field("page", description="threshold group, e.g. page or api")
    json_body: dict | None = None


class ThresholdsConfig(_Strict):
    p50_ms: dict[str, float] = Field(default_factory=dict, description="per route group")
    p95_ms: dict[str, float] = Field(default_factory=lambda: {"api": 300.0, "page": 2000.0})
    p99_ms: dict[str, float] = Field(default_factory=dict)
    error_ratio: float = Field(0.001, ge=0, le=1)
    min_rate_ratio: float = Field(0.9, ge=0, le=1, description="achieved / target request rate")
    abort_error_ratio: float = Field(0.2, ge=0, le=1, description="stop early above this...")
    abort_window_s: float = Field(10, gt=0, description="...sustained for this long")


class LoadConfig(_Strict):
    peak_rps: float | None = Field(5, gt=0, description="observed peak requests/s (from analytics)")
    peak_users: int | None = Field(None, gt=0, description="or observed peak concurrent users")
    multiplier: float = Field(10, gt=0, le=1000)
    profile: Literal["peak", "open"] = "peak"
    duration_s: float = Field(60, gt=0)
    think_time_s: tuple[float, float] = (0.5, 2.0)
    workers: int = Field(0, ge=0, le=64, description="Locust worker processes; 0 = one per core")
    allow_hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1", "localhost", "::1"])
    max_users: int = Field(2000, gt=0)
    max_rps: float = Field(5000, gt=0)
    max_duration_s: float = Field(3600, gt=0)
    routes: list[RouteConfig] = Field(default_factory=list, description="empty = the shop model's defaults")
    thresholds: ThresholdsConfig = Field(default_factory=ThresholdsConfig)

    @model_validator(mode="after")
    def _bounded(self) -> "LoadConfig":
        if self.duration_s > self.max_duration_s:
            raise ValueError(f"duration_s {self.duration_s:g} exceeds max_duration_s {self.max_duration_s:g}")
        return self
