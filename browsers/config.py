"""Config sections [browsers] and [visual]; journeys' engine and device names are checked with these too."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from browsers.devices import check_device_name
from siteward.schema import Strict, valid_selectors

ENGINES: tuple[str, ...] = ("chromium", "firefox", "webkit")
# Names people reach for that are not separate engines here, and what to use instead.
ENGINE_ALIASES = {
    "edge": "Microsoft Edge is Chromium-based: configure \"chromium\" (siteward does not fake an Edge build)",
    "msedge": "Microsoft Edge is Chromium-based: configure \"chromium\" (siteward does not fake an Edge build)",
    "chrome": "Chrome is Chromium: configure \"chromium\"",
    "safari": "Safari's engine is WebKit: configure \"webkit\"",
    "gecko": "Gecko is Firefox's engine: configure \"firefox\"",
}


def check_engine_name(name: str) -> str:
    """The engine name, or ValueError naming the valid engines (and what Edge/Safari map to)."""
    if name in ENGINES:
        return name
    alias = ENGINE_ALIASES.get(str(name).lower())
    if alias:
        raise ValueError(f"engine {name!r}: {alias}")
    raise ValueError(f"unknown engine {name!r}; valid engines: {', '.join(ENGINES)}")


def check_engines(names: list[str]) -> list[str]:
    return [check_engine_name(n) for n in names]


def check_devices(names: list[str]) -> list[str]:
    return [check_device_name(n) for n in names]


# axe-core's rule tags (https://github.com/dequelabs/axe-core/blob/develop/doc/API.md#axe-core-tags);
# a misspelt tag would select no rule and pass every page, so names are checked.
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag2aaa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice", "section508",
            "EN-301-549", "ACT", "TTv5", "RGAAv4", "experimental")
AXE_TAG_PATTERN = re.compile(r"^(cat\.[a-z-]+|wcag\d{3,4}|section508\.\d+\.[a-z]|TT\d+\.[a-z]|EN-9\.[\d.]+|"
                             r"RGAA-[\d.]+)$")
DEFAULT_AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def check_axe_tags(names: list[str]) -> list[str]:
    from difflib import get_close_matches

    for name in names:
        if name not in AXE_TAGS and not AXE_TAG_PATTERN.match(str(name)):
            close = get_close_matches(str(name), AXE_TAGS, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown axe-core rule tag {name!r}{hint} (tags: {', '.join(AXE_TAGS)}, cat.*, "
                             "wcagNNN for one success criterion)")
    return list(dict.fromkeys(names))


def check_timing_profiles(names: list[str]) -> list[str]:
    """"engine/device" pairs, both names valid."""
    for name in names:
        engine, sep, device = str(name).partition("/")
        if not sep:
            raise ValueError(f"timing profile {name!r}: write it as ENGINE/DEVICE, e.g. \"chromium/desktop\"")
        check_engine_name(engine)
        check_device_name(device)
    return list(dict.fromkeys(names))


class RemoteEndpoint(Strict):
    """[[browsers.remote]]: browser capacity on another host (started there by `siteward browsers serve`)."""

    engine: str
    endpoint: str = Field(description="chromium, firefox: ws://host:port/path of a Playwright browser server;"
                                      " webkit: http://host:port of a WebKitWebDriver (or a Selenium Grid)")
    slots: int = Field(2, ge=1, le=16, description="checks this endpoint runs at once (a WebKitWebDriver: 1)")

    _engine = field_validator("engine")(check_engine_name)

    @model_validator(mode="after")
    def _endpoint_fits_engine(self) -> "RemoteEndpoint":
        parts = urlsplit(self.endpoint)
        if self.engine == "webkit":
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"browsers.remote endpoint {self.endpoint!r}: WebKit runs over WebDriver,"
                                 " http://host:port (what `siteward browsers serve --engine webkit` prints)")
        elif parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"browsers.remote endpoint {self.endpoint!r}: a Playwright browser server is"
                             " ws://host:port/path (what `siteward browsers serve` prints)")
        if parts.password:
            raise ValueError("browsers.remote endpoint: no credentials in the URL (it is stored with every run)")
        return self


class BrowsersConfig(Strict):
    engines: list[str] = Field(default_factory=lambda: ["chromium", "firefox", "webkit"], min_length=1)
    # Device profile names (see browsers.devices); "desktop" is a plain 1366x768 window.
    devices: list[str] = Field(default_factory=lambda: ["desktop", "iphone-13", "pixel-7"], min_length=1)
    concurrency: int = Field(0, ge=0, le=32, description="parallel checks; 0 = sized to the machine")
    timeout_s: float = Field(60, gt=0, le=600, description="per-check timeout")
    retries: int = Field(1, ge=0, le=3)
    screenshots: bool = True
    step_timeout_s: float = Field(15, gt=0, le=300, description="default wait of one journey step")
    settle_ms: int = Field(500, ge=0, le=10_000, description="wait after load before measuring (late shifts, late errors)")
    first_party_hosts: list[str] = Field(
        default_factory=list, description="hosts whose failed requests fail a page; others warn (empty = the target's)")
    state_max_age_s: float = Field(
        300, gt=0, le=86_400, description="browser state older than this is recorded again before it is used")
    # One page load is one sample: too few for a run's first-paint median to be steadier than a
    # +30 % change (reports/stats.py). The timing profiles load every page `samples` times.
    samples: int = Field(5, ge=1, le=30, description="page loads per page on the timing profiles (timings only)")
    timing_profiles: list[str] = Field(
        default_factory=lambda: ["chromium/desktop", "chromium/pixel-7"],
        description="ENGINE/DEVICE pairs whose timings get `samples` loads; the other profiles load once")

    # axe-core on every page check (engine x device): one finding per violated rule, counts per
    # impact judged against the a11y_* budgets.
    accessibility: bool = Field(True, description="run axe-core on every page check")
    accessibility_tags: list[str] = Field(default_factory=lambda: list(DEFAULT_AXE_TAGS), min_length=1,
                                          description="axe-core rule tags to check (WCAG 2.x A and AA by default)")
    # WebDriver's script timeout is 30 s (browsers/webkit_driver.py): an axe run must end before it.
    accessibility_timeout_s: float = Field(20, gt=0, le=25, description="longest axe run on one page")

    # Playwright traces and HARs (Chromium, Firefox; WebKit keeps page source and console), as
    # pytest-playwright's --tracing: "retain-on-failure" keeps them for failed attempts only.
    trace: Literal["retain-on-failure", "on", "off"] = Field(
        "retain-on-failure", description="keep a Playwright trace and a HAR: of failed attempts, of every check, or none")
    trace_max_mb: float = Field(50, gt=0, le=2048, description="a kept trace or HAR larger than this is dropped (noted)")

    remote: list[RemoteEndpoint] = Field(default_factory=list, max_length=64,
                                         description="Playwright browser servers on other hosts: more parallel checks")

    _engines = field_validator("engines")(check_engines)
    _devices = field_validator("devices")(check_devices)
    _timing_profiles = field_validator("timing_profiles")(check_timing_profiles)
    _axe_tags = field_validator("accessibility_tags")(check_axe_tags)


class VisualConfig(Strict):
    threshold: float = Field(0.1, ge=0, le=1, description=(
        "per-pixel colour tolerance: the OKLab HyAB distance pixelmatch 8 allows (0 exact, black vs white 1)"))
    antialiasing: bool = Field(True, description="ignore anti-aliased edge pixels")
    max_diff_ratio: float | None = Field(
        None, ge=0, le=1, description="budget: share of differing pixels (unset: [budgets] visual_diff_ratio)")
    mask: list[str] = Field(default_factory=list, description="selectors masked on every page")
    full_page: bool = True

    _valid_selectors = field_validator("mask")(valid_selectors)
