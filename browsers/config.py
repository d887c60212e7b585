"""Config section [browsers], [visual] and [[journeys]]: validated by siteward.config."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from browsers.devices import check_device_name

Engine = Literal["chromium", "firefox", "webkit"]
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


def _check_engines(names: list[str]) -> list[str]:
    return [check_engine_name(n) for n in names]


def _check_devices(names: list[str]) -> list[str]:
    return [check_device_name(n) for n in names]
STEP_ACTIONS = (
    "goto", "click", "fill", "select", "check", "press", "wait_for",
    "expect_text", "expect_url", "expect_visible", "screenshot", "mark",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BrowsersConfig(_Strict):
    engines: list[str] = Field(default_factory=lambda: ["chromium", "firefox", "webkit"])
    # Device profile names (see browsers.devices); "desktop" is a plain 1366x768 window.
    devices: list[str] = Field(default_factory=lambda: ["desktop", "iphone-13", "pixel-7"])
    concurrency: int = Field(0, ge=0, le=32, description="parallel checks; 0 = sized to the machine")
    timeout_s: float = Field(60, gt=0, le=600, description="per-check timeout")
    retries: int = Field(1, ge=0, le=3)
    screenshots: bool = True
    step_timeout_s: float = Field(15, gt=0, le=300, description="default wait of one journey step")
    settle_ms: int = Field(500, ge=0, le=10_000, description="wait after load before measuring (late shifts, late errors)")

    _engines = field_validator("engines")(_check_engines)
    _devices = field_validator("devices")(_check_devices)


class VisualConfig(_Strict):
    threshold: float = Field(0.1, ge=0, le=1, description="per-pixel colour tolerance (0 exact .. 1 anything)")
    antialiasing: bool = Field(True, description="ignore anti-aliased edge pixels")
    max_diff_ratio: float = Field(0.001, ge=0, le=1, description="budget: share of differing pixels")
    mask: list[str] = Field(default_factory=list, description="selectors masked on every page")
    full_page: bool = True


class Step(_Strict):
    """One journey step: exactly one action key, e.g. {click = "text=Add to cart"}."""

    goto: str | None = None
    click: str | None = None
    fill: str | None = None
    select: str | None = None
    check: str | None = None
    press: str | None = None
    wait_for: str | None = None
    expect_text: str | None = None
    expect_url: str | None = None
    expect_visible: str | None = None
    screenshot: str | None = None
    mark: str | None = None
    # Arguments of the action.
    value: str | None = Field(None, description="fill/select value; may use ${secrets.NAME}")
    key: str | None = Field(None, description="press: key name, e.g. Enter")
    text: str | None = Field(None, description="expect_text: text the element must contain")
    name: str | None = Field(None, description="label shown in reports")
    timeout_ms: int | None = Field(None, gt=0, le=300_000)

    @model_validator(mode="after")
    def _exactly_one_action(self) -> "Step":
        actions = [a for a in STEP_ACTIONS if getattr(self, a) is not None]
        if len(actions) != 1:
            found = ", ".join(actions) or "none"
            raise ValueError(
                f"a step needs exactly one action of {', '.join(STEP_ACTIONS)} (found: {found})"
            )
        action = actions[0]
        if action in ("fill", "select") and self.value is None:
            raise ValueError(f"step '{action}' needs a value")
        if action == "press" and self.key is None:
            raise ValueError("step 'press' needs a key, e.g. key = \"Enter\"")
        if action == "expect_text" and self.text is None:
            raise ValueError("step 'expect_text' needs text = \"...\"")
        return self

    @property
    def action(self) -> str:
        return next(a for a in STEP_ACTIONS if getattr(self, a) is not None)

    @property
    def target(self) -> str:
        return getattr(self, self.action)

    @property
    def label(self) -> str:
        return self.name or f"{self.action} {self.target}"


class JourneyConfig(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    steps: list[Step] = Field(default_factory=list)
    python: str | None = Field(None, description="module:function of a Python journey (Playwright engines only)")
    engines: list[str] = Field(default_factory=list, description="empty = all configured engines")
    devices: list[str] = Field(default_factory=list, description="empty = all configured devices")

    _engines = field_validator("engines")(_check_engines)
    _devices = field_validator("devices")(_check_devices)

    @model_validator(mode="after")
    def _steps_or_python(self) -> "JourneyConfig":
        if not self.steps and not self.python:
            raise ValueError(f"journey '{self.name}' needs steps or python = \"module:function\"")
        return self
