"""siteward.toml: schema, defaults and the loader that turns bad config into one clear message.

Defaults are what site-maintenance contracts promise: page response <= 2 s, first
contentful paint <= 1.5 s on mobile, API p95 <= 300 ms and error ratio <= 0.1 % under
load at 10x the observed peak. Secrets are named here (env var names), never stored.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from audits.config import AuditsConfig
from browsers.config import BrowsersConfig, JourneyConfig, VisualConfig
from loadtests.config import LoadConfig
from siteward.errors import ConfigError
from siteward.secrets import REFERENCE

DEFAULT_CONFIG_NAME = "siteward.toml"
BUILTIN_SOURCE = "<built-in demo config>"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetConfig(_Strict):
    base_url: str = Field(description="the site under test, e.g. https://shop.example.com")
    name: str = ""

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
        return url.rstrip("/")


class PageConfig(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    path: str = Field(description="path below base_url, e.g. /product/canvas-sneaker")
    required: list[str] = Field(default_factory=list, description="selectors that must be visible")
    mask: list[str] = Field(default_factory=list, description="selectors masked in screenshots")
    journey_state: str | None = Field(None, description="journey whose browser state this page needs")

    @field_validator("path")
    @classmethod
    def _absolute_path(cls, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"expected a path starting with '/', got {path!r}")
        return path


def _default_budgets() -> dict[str, float]:
    return {"response_ms": 2000.0, "visual_diff_ratio": 0.001, "cls": 0.1}


class BudgetsConfig(_Strict):
    """Global limits, then per form factor, then per page (the most specific wins)."""

    global_: dict[str, float] = Field(default_factory=_default_budgets, alias="global")
    mobile: dict[str, float] = Field(default_factory=lambda: {"fcp_ms": 1500.0})
    desktop: dict[str, float] = Field(default_factory=dict)
    pages: dict[str, dict[str, float]] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("global_", "mobile", "desktop")
    @classmethod
    def _non_negative(cls, limits: dict[str, float]) -> dict[str, float]:
        for key, value in limits.items():
            if value < 0:
                raise ValueError(f"budget {key!r} must be >= 0, got {value:g}")
        return limits

    @field_validator("pages")
    @classmethod
    def _pages_non_negative(cls, pages: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for page, limits in pages.items():
            for key, value in limits.items():
                if value < 0:
                    raise ValueError(f"budget {page}.{key} must be >= 0, got {value:g}")
        return pages

    def limit_for(self, metric: str, *, page: str | None = None, form_factor: str | None = None) -> float | None:
        limit = self.global_.get(metric)
        if form_factor in ("mobile", "desktop"):
            limit = getattr(self, form_factor).get(metric, limit)
        if page is not None:
            limit = self.pages.get(page, {}).get(metric, limit)
        return limit


class ResultsConfig(_Strict):
    root: str = "results"
    history: str | None = Field(None, description="SQLite history; default <root>/history.sqlite")


STAGES = ("browsers", "audits", "loadtests")
Stage = Literal["browsers", "audits", "loadtests"]


class SitewardConfig(_Strict):
    target: TargetConfig
    stages: list[Stage] = Field(default_factory=lambda: list(STAGES), description="what `siteward run` runs")
    pages: list[PageConfig] = Field(default_factory=list)
    journeys: list[JourneyConfig] = Field(default_factory=list)
    browsers: BrowsersConfig = Field(default_factory=BrowsersConfig)
    visual: VisualConfig = Field(default_factory=VisualConfig)
    budgets: BudgetsConfig = Field(default_factory=BudgetsConfig)
    audits: AuditsConfig = Field(default_factory=AuditsConfig)
    load: LoadConfig = Field(default_factory=LoadConfig)
    results: ResultsConfig = Field(default_factory=ResultsConfig)
    secrets: dict[str, str] = Field(default_factory=dict, description="name -> environment variable")

    # Where the config came from: not a key of the file (a private attribute cannot be set from TOML).
    _source: str = PrivateAttr(BUILTIN_SOURCE)

    @property
    def source(self) -> str:
        return self._source

    @model_validator(mode="after")
    def _cross_checks(self) -> "SitewardConfig":
        names = [p.name for p in self.pages]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"pages: page names must be unique; repeated: {', '.join(dupes)}")
        journeys = {j.name for j in self.journeys}
        for index, page in enumerate(self.pages):
            if page.journey_state and page.journey_state not in journeys:
                raise ValueError(f"pages[{index}].journey_state: page {page.name!r} names journey_state"
                                 f" {page.journey_state!r}, which is not a journey")
        for unknown in sorted(set(self.budgets.pages) - set(names)):
            raise ValueError(f"budgets.pages.{unknown} names no configured page (pages: {', '.join(names) or 'none'})")
        for name, env in self.secrets.items():
            if not env.replace("_", "").isalnum():
                raise ValueError(f"secrets.{name} must name an environment variable, got {env!r}")
        for j_index, journey in enumerate(self.journeys):
            for index, step in enumerate(journey.steps):
                for ref in REFERENCE.findall(step.value or ""):
                    if ref not in self.secrets:
                        declared = ", ".join(sorted(self.secrets)) or "none"
                        raise ValueError(
                            f"journeys[{j_index}].steps[{index}].value: journey '{journey.name}' step {index + 1}"
                            f" uses ${{secrets.{ref}}},"
                            f" which is not declared under [secrets] (declared: {declared})"
                        )
        return self

    def page(self, name: str) -> PageConfig:
        for page in self.pages:
            if page.name == name:
                return page
        raise KeyError(name)

    def url(self, path: str) -> str:
        return self.target.base_url + path

    def fingerprint(self) -> str:
        """Hash of what decides comparability of runs (not the target URL's port)."""
        data = self.model_dump(mode="json", exclude={"target", "results"}, by_alias=True)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def results_root(self) -> Path:
        return Path(self.results.root)

    def history_path(self) -> Path:
        return Path(self.results.history) if self.results.history else self.results_root() / "history.sqlite"


# --------------------------------------------------------------------------- loading


def _model_at(loc: tuple, model: type[BaseModel] | None) -> type[BaseModel] | None:
    """Follow a validation error's location down the schema to the model it is in."""
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        field = model.model_fields.get(part) or next(
            (f for f in model.model_fields.values() if f.alias == part), None
        )
        if field is None:
            return model
        ann = field.annotation
        inner = getattr(ann, "__args__", None)
        candidates = [ann, *(inner or ())]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if model is None:
            for c in inner or ():
                for cc in getattr(c, "__args__", ()) or ():
                    if isinstance(cc, type) and issubclass(cc, BaseModel):
                        model = cc
    return model


def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def format_validation_error(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if p not in ("function-after", "function-before"))
        key = _key_path(loc)
        if e["type"] == "extra_forbidden":
            parent = _model_at(loc[:-1], SitewardConfig)
            valid = [f.alias or n for n, f in parent.model_fields.items()] if parent else []
            close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(valid)}"
            lines.append(f"{key}: unknown key; {hint}")
        elif e["type"] == "missing":
            lines.append(f"{key}: required key is missing")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            got = e.get("input")
            shown = "" if isinstance(got, (dict, list)) or got is None else f" (got {got!r})"
            if "got" in msg:
                shown = ""
            lines.append(f"{key}: {msg}{shown}")
    # Whole-config checks name their key path in the message itself.
    lines = [line.removeprefix("(top level): ") for line in lines]
    head = f"{source}: invalid config"
    return head + ("\n  " + "\n  ".join(lines) if len(lines) > 1 else ": " + lines[0])


def _non_finite_key(data: Any, loc: tuple = ()) -> str | None:
    """The key path of the first nan/inf (TOML allows them; no limit, rate or timeout is one)."""
    if isinstance(data, float) and not math.isfinite(data):
        return _key_path(loc)
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, (list, tuple)) else ()
    for key, value in items:
        found = _non_finite_key(value, (*loc, key))
        if found:
            return found
    return None


def parse_config(data: dict[str, Any], source: str) -> SitewardConfig:
    bad_number = _non_finite_key(data)
    if bad_number:
        raise ConfigError(f"{source}: invalid config: {bad_number}: expected a finite number, got nan or inf")
    try:
        config = SitewardConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, source)) from None
    bad_number = _non_finite_key(config.model_dump(by_alias=True))  # e.g. the string "nan" parsed as a float
    if bad_number:
        raise ConfigError(f"{source}: invalid config: {bad_number}: expected a finite number, got nan or inf")
    config._source = source
    return config


def builtin_config_text() -> str:
    return resources.files("siteward").joinpath("demo.toml").read_text(encoding="utf-8")


def load_config(path: str | Path | None = None, *, target: str | None = None, results: str | None = None) -> SitewardConfig:
    """Load `path`, else ./siteward.toml if present, else the built-in demo shop config."""
    if path is None and Path(DEFAULT_CONFIG_NAME).is_file():
        path = DEFAULT_CONFIG_NAME
    if path is None:
        source, text = BUILTIN_SOURCE, builtin_config_text()
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{source}: config file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{source}: cannot read config: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    if target is not None:
        data.setdefault("target", {})
        if not isinstance(data["target"], dict):
            raise ConfigError(f"{source}: target: expected a table like [target] base_url = \"...\"")
        data["target"]["base_url"] = target
    if results is not None:
        data.setdefault("results", {})
        if isinstance(data["results"], dict):
            data["results"]["root"] = results
    return parse_config(data, source)
