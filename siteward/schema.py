"""The config's building blocks every floor may use: the strict base and the shared sections.

Defaults are what site-maintenance contracts promise: page response <= 2 s, first
contentful paint <= 1.5 s on mobile, API p95 <= 300 ms and error ratio <= 0.1 % under
load. Stage sections ([browsers], [audits], [load]) live in their stage packages; the
roof (siteward.config) composes them into the whole siteward.toml schema.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from siteward.selectors import selector_problem


MAX_NAME = 80  # page and journey names end up in file names and report ids


class Strict(BaseModel):
    """Every config table: unknown keys are errors (the loader suggests the closest name)."""

    model_config = ConfigDict(extra="forbid")


def absolute_path(path: str) -> str:
    """A path below the base URL, e.g. /product/canvas-sneaker."""
    if not path.startswith("/"):
        raise ValueError(f"expected a path starting with '/', got {path!r}")
    return path


SECRET_ONLY = re.compile(r"^\$\{secrets\.[A-Za-z0-9_]+\}$")


class BasicAuth(Strict):
    """[target.auth]: HTTP basic auth of a staging site, for browsers, Lighthouse and load alike."""

    username: str = Field(min_length=1, description='user name, or "${secrets.NAME}"')
    password: str = Field(description='"${secrets.NAME}": never the password itself (the config is stored)')

    @field_validator("password")
    @classmethod
    def _secret_password(cls, value: str) -> str:
        if not SECRET_ONLY.match(value):
            raise ValueError('expected a secret reference like "${secrets.STAGING_PASSWORD}": the config is stored '
                             "with every run, so a password written here would be in the history")
        return value


class TargetConfig(Strict):
    base_url: str = Field(description="the site under test, e.g. https://shop.example.com")
    name: str = ""
    tls_verify: bool = Field(True, description="false: accept any certificate (self-signed staging); said in a warning")
    ca_bundle: str | None = Field(None, min_length=1, description="PEM file of CAs to trust, relative to the config")
    auth: BasicAuth | None = Field(None, description="HTTP basic auth")

    @model_validator(mode="after")
    def _one_trust_setting(self) -> "TargetConfig":
        if self.ca_bundle is not None and not self.tls_verify:
            raise ValueError("target.ca_bundle and target.tls_verify = false contradict each other: a CA bundle "
                             "is for verifying; keep one")
        return self

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http(s) URL like http://127.0.0.1:8000, got {url!r}")
        try:
            port = parts.port  # raises on a port that is not a number in 0..65535
        except ValueError:
            port = 0
        if port == 0:
            raise ValueError(f"expected a port number 1-65535 in {url!r}")
        if parts.username is not None or parts.password is not None:
            raise ValueError("expected a base URL without user:password@ (it would be written to every report "
                             "and the history); keep credentials in [secrets] and journeys")
        if parts.query or parts.fragment or url.rstrip("/").endswith(("?", "#")):
            raise ValueError(f"expected a base URL without ?query or #fragment (pages add their paths to it), "
                             f"got {url!r}")
        return url.rstrip("/")


def valid_selectors(selectors: list[str]) -> list[str]:
    for selector in selectors:
        if (problem := selector_problem(selector)) is not None:
            raise ValueError(f"expected selectors that can match: {problem}")
    return selectors


class PageConfig(Strict):
    name: str = Field(min_length=1, max_length=MAX_NAME, pattern=r"^[A-Za-z0-9_.-]+$")
    path: str = Field(description="path below base_url, e.g. /product/canvas-sneaker")
    required: list[str] = Field(default_factory=list, description="selectors that must be visible")
    mask: list[str] = Field(default_factory=list, description="selectors masked in screenshots")
    journey_state: str | None = Field(None, description="journey whose browser state this page needs")

    _absolute_path = field_validator("path")(absolute_path)
    _valid_selectors = field_validator("required", "mask")(valid_selectors)


DEFAULT_BUDGETS: dict[str, dict[str, float]] = {
    # step_ms: one journey step (a click and what it loads) within 3 s, a shopper's patience.
    # inp_ms: web.dev's "good" Interaction to Next Paint.
    # a11y_*: rules axe finds violated on a page and not accepted (browsers/a11y.py).
    "global": {"response_ms": 2000.0, "visual_diff_ratio": 0.001, "cls": 0.1, "step_ms": 3000.0, "inp_ms": 200.0,
               "a11y_critical": 0.0, "a11y_serious": 0.0},
    "mobile": {"fcp_ms": 1500.0},
    "desktop": {},
}
OFF = "off"  # a budget set to "off" has no limit at that level (e.g. remove a default)
Limit = float | None  # None: explicitly no limit here


def _off(table: object) -> object:
    """"off" -> None (no limit at this level)."""
    return {k: None if v == OFF else v for k, v in table.items()} if isinstance(table, dict) else table


# Every metric a budget can limit (browsers and Lighthouse; load has [load.thresholds]).
# The stages' tests check that what they measure is named here.
RESOURCE_TYPES = ("total", "document", "script", "stylesheet", "image", "media", "font", "other", "third_party")
BUDGET_METRICS = (
    "ttfb_ms", "response_ms", "fp_ms", "fcp_ms", "lcp_ms", "dcl_ms", "load_ms", "cls", "inp_ms", "step_ms", "mark_ms",
    "journey_ms", "visual_diff_ratio",
    "performance_score", "accessibility_score", "best_practices_score", "seo_score", "speed_index_ms",
    "tbt_ms", "tti_ms", "server_response_ms", "a11y_critical", "a11y_serious", "a11y_moderate", "a11y_minor",
    *(f"{kind}_{resource}" for kind in ("bytes", "requests") for resource in RESOURCE_TYPES),
)
RATIO_METRICS = ("cls", "visual_diff_ratio")  # a share or a score, not a count of milliseconds


def _closest(name: str, names: tuple[str, ...]) -> str:
    from difflib import get_close_matches

    match = get_close_matches(name, names, n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def _checked_limits(limits: dict[str, object], where: str = "") -> dict[str, object]:
    """Known metric names, numbers (not booleans or text), >= 0, scores within 0..1."""
    for key, value in limits.items():
        name = f"budgets.{where}{key}"
        if key not in BUDGET_METRICS:
            raise ValueError(f"{name}: unknown metric {key!r}{_closest(key, BUDGET_METRICS)} "
                             f"(metrics: see the README's Budgets section)")
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number or \"off\", got {value!r}")
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value:g}")
        if key.endswith("_score") and value > 1:
            raise ValueError(f"{name} is a minimum score between 0 and 1 (Lighthouse's 90 is 0.9), "
                             f"got {value:g}")
    return limits


class BudgetsConfig(Strict):
    """Global limits, then per form factor, then per page (the most specific wins).

    A table in siteward.toml merges over the defaults key by key: adding `step_ms` keeps the
    default `cls`. `metric = "off"` removes a limit at that level (and, on a page or form
    factor, the limits above it for that metric).
    """

    global_: dict[str, Limit] = Field(default_factory=lambda: dict(DEFAULT_BUDGETS["global"]), alias="global")
    mobile: dict[str, Limit] = Field(default_factory=lambda: dict(DEFAULT_BUDGETS["mobile"]))
    desktop: dict[str, Limit] = Field(default_factory=lambda: dict(DEFAULT_BUDGETS["desktop"]))
    pages: dict[str, dict[str, Limit]] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _over_the_defaults(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for table, defaults in DEFAULT_BUDGETS.items():
            key = "global_" if table == "global" and "global_" in merged else table
            if isinstance(merged.get(key), dict):
                merged[key] = {**defaults, **_checked_limits(_off(merged[key]), f"{table}.")}
        if isinstance(merged.get("pages"), dict):
            merged["pages"] = {page: _checked_limits(_off(limits), f"pages.{page}.") if isinstance(limits, dict)
                               else limits for page, limits in merged["pages"].items()}
        return merged

    def limit_for(self, metric: str, *, page: str | None = None, form_factor: str | None = None) -> float | None:
        limit = self.global_.get(metric)
        if form_factor in ("mobile", "desktop"):
            limit = getattr(self, form_factor).get(metric, limit)
        if page is not None:
            limit = self.pages.get(page, {}).get(metric, limit)
        return limit


class ThresholdsConfig(Strict):
    """[load.thresholds]: k6-style limits over a load run, judged by reports/ like budgets."""

    p50_ms: dict[str, float] = Field(default_factory=dict, description="per route group")
    p95_ms: dict[str, float] = Field(default_factory=lambda: {"api": 300.0, "page": 2000.0})
    p99_ms: dict[str, float] = Field(default_factory=dict)
    error_ratio: float = Field(0.001, ge=0, le=1)
    min_rate_ratio: float = Field(0.9, ge=0, le=1, description="achieved / target request rate")
    abort_error_ratio: float = Field(0.2, ge=0, le=1, description="stop early above this...")
    abort_window_s: float = Field(10, gt=0, description="...sustained for this long")

    @field_validator("p50_ms", "p95_ms", "p99_ms")
    @classmethod
    def _non_negative(cls, limits: dict[str, float]) -> dict[str, float]:
        for group, value in limits.items():
            if value < 0:
                raise ValueError(f"the limit of group {group!r} must be >= 0, got {value:g}")
        return limits


class ResultsConfig(Strict):
    root: str = "results"
    history: str | None = Field(None, description="SQLite file (default <root>/history.sqlite) or a postgresql:// URL"
                                                  " whose password is ${secrets.NAME} (or PGPASSWORD / ~/.pgpass)")

    @field_validator("history")
    @classmethod
    def _history_location(cls, value: str | None) -> str | None:
        if value is None or "://" not in value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError(f"a history is a SQLite file path or a postgresql:// URL, not {parts.scheme}://")
        if not parts.hostname and "host=" not in parts.query:
            raise ValueError("a postgresql:// history URL needs a host (postgresql://user@host:5432/database)")
        try:
            password = parts.password
        except ValueError:
            password = None
        if password and not re.fullmatch(r"\$\{secrets\.[A-Za-z0-9_]+\}", password):
            raise ValueError("the history URL holds a password: write ${secrets.NAME} in its place (declared under"
                             " [secrets]) or leave it out and set PGPASSWORD; a config file is no place for one")
        return value


class UnderLoadConfig(Strict):
    """[load.under_load]: a journey (checkout) on every engine, measured before the load test and
    again while it holds its peak (siteward/under_load.py runs it; reports/under_load.py judges)."""

    journey: str | None = Field(None, description="the journey to measure; none = off")
    rounds: int = Field(3, ge=1, le=20, description="runs per engine before the load, and at most as many under it")
    device: str = Field("desktop", description="the device profile the journey runs on")
    slowdown: float = Field(0.5, ge=0.05, le=20, description="a journey this much slower under load (0.5 = +50 %) is a finding")
    significance: float = Field(0.05, gt=0, lt=1, description="one-sided test level of the slowdown")


class RegressionsConfig(Strict):
    """[regressions]: how runs are compared with their history; judged by reports/ from the run's
    stored config (reports/stats.py explains the test, reports/baselines.py the baseline)."""

    baseline_branch: str = Field("main", min_length=1, description="runs of this branch are the baselines")
    baseline_runs: int = Field(10, ge=2, le=100, description="the baseline pools the last N complete, passing runs")
    min_baseline_runs: int = Field(5, ge=2, le=100, description="fewer baseline runs than this: no regression verdict")
    fdr: float = Field(0.05, gt=0, lt=1, description="Benjamini-Hochberg false discovery rate over a run's metrics")
    min_change: float = Field(0.10, ge=0, le=10, description="smallest relative change that is a regression")
    confirm_runs: int = Field(3, ge=0, le=20, description="re-measurements of flagged pages and audits; 0 = none")

    @model_validator(mode="after")
    def _enough_runs(self) -> "RegressionsConfig":
        if self.min_baseline_runs > self.baseline_runs:
            raise ValueError(f"regressions.min_baseline_runs ({self.min_baseline_runs}) cannot exceed"
                             f" regressions.baseline_runs ({self.baseline_runs})")
        return self
