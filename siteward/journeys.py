"""Journeys: the declarative steps, the Session every engine implements, and the one interpreter.

The browsers stage drives it on Chromium, Firefox (Playwright) and WebKit (WebDriver);
the audits stage replays the same steps to prepare Lighthouse's browser state. A journey
stops at its first failing step; the outcome says which step, why, and where the failure
screenshot is. Values may use ``${secrets.NAME}``: substituted for use only, never put
into labels or messages (and the stage's emit redacts anyway).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
import time
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Callable, Protocol
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from siteward.errors import ConfigError
from siteward.schema import MAX_NAME, Strict
from siteward.secrets import REFERENCE, Secrets
from siteward.selectors import selector_problem

STEP_ACTIONS = (
    "goto", "click", "fill", "select", "check", "press", "wait_for",
    "expect_text", "expect_url", "expect_visible", "expect_value", "screenshot", "mark",
)
INTERACTIONS = ("click", "fill", "select", "check", "press")  # what INP (Event Timing) can see
SELECTOR_ACTIONS = ("click", "fill", "select", "check", "press", "wait_for", "expect_text", "expect_visible",
                    "expect_value")
# Waits cut short on a retry that meets the first attempt's failure again (fail fast).
RETRY_WAIT_S = 3.0


class Step(Strict):
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
    expect_value: str | None = None
    screenshot: str | None = None
    mark: str | None = None
    # Arguments of the action.
    value: str | None = Field(None, description="fill/select/expect_value value; may use ${secrets.NAME}")
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
        if action in SELECTOR_ACTIONS and (problem := selector_problem(getattr(self, action))) is not None:
            raise ValueError(f"step '{action}' needs a selector that can match: {problem}")
        if action in ("fill", "select", "expect_value") and self.value is None:
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

    def secret_references(self) -> list[tuple[str, str]]:
        """(field, secret name) for every ${secrets.NAME} in any of the step's fields."""
        return [(key, ref) for key, text in self.model_dump(exclude_none=True).items() if isinstance(text, str)
                for ref in REFERENCE.findall(text)]


class JourneyConfig(Strict):
    """[[journeys]]: engine and device names are checked by the composed config (siteward.config)."""

    name: str = Field(min_length=1, max_length=MAX_NAME, pattern=r"^[A-Za-z0-9_.-]+$")
    steps: list[Step] = Field(default_factory=list)
    python: str | None = Field(None, description="module:function of a Python journey (Playwright engines only)")
    engines: list[str] = Field(default_factory=list, description="empty = all configured engines")
    devices: list[str] = Field(default_factory=list, description="empty = all configured devices")

    @model_validator(mode="after")
    def _steps_or_python(self) -> "JourneyConfig":
        if not self.steps and not self.python:
            raise ValueError(f"journey '{self.name}' needs steps or python = \"module:function\"")
        return self


# ------------------------------------------------------------------------- the session


class StepFailed(Exception):
    """A journey step did not do what it says (the message is shown as is)."""


class BrowserGone(Exception):
    """The browser process died or disconnected under a check: restart and retry."""


class Session(Protocol):
    """What journeys and page checks drive, whatever the engine underneath.

    A session is one fresh browsing context (cookies and storage of its own). Every wait
    has a timeout, so a selector that never matches fails the step instead of hanging.
    The page-check half (settle, facts, console errors, failed requests) is the browsers
    stage's; the interpreter below uses the actions and, when a step fails, the evidence
    (`visible_errors`: what the page shows as an error; `page_errors`: uncaught exceptions
    and console errors so far).
    """

    engine: str
    device: Any
    # Things the engine cannot emulate for this device, said once per check.
    emulation_limits: list[str]

    async def goto(self, url: str, timeout_s: float) -> int | None: ...
    async def click(self, selector: str, timeout_s: float) -> None: ...
    async def fill(self, selector: str, value: str, timeout_s: float) -> None: ...
    async def type_text(self, selector: str, value: str, timeout_s: float) -> None: ...
    async def input_value(self, selector: str, timeout_s: float) -> str: ...
    async def select(self, selector: str, value: str, timeout_s: float) -> None: ...
    async def check(self, selector: str, timeout_s: float) -> None: ...
    async def press(self, selector: str | None, key: str, timeout_s: float) -> None: ...
    async def wait_visible(self, selector: str, timeout_s: float) -> None: ...
    async def wait_text(self, selector: str, text: str, timeout_s: float) -> None: ...
    async def current_url(self) -> str: ...
    async def is_visible(self, selector: str, timeout_s: float) -> bool: ...
    async def settle(self, settle_ms: int) -> None: ...
    async def facts(self) -> dict[str, Any]: ...
    async def page_source(self) -> str: ...
    async def screenshot(self, path: Path, *, mask: list[str], full_page: bool) -> None: ...
    async def visible_errors(self) -> list[str]: ...
    async def page_errors(self) -> list[str]: ...
    def console_errors(self) -> tuple[list[str] | None, str]: ...
    def failed_requests(self) -> tuple[list[dict[str, Any]] | None, str]: ...
    async def close(self) -> None: ...


# ------------------------------------------------------------------------ the interpreter


@dataclass(frozen=True)
class FirstFailure:
    """What the first attempt of a journey met: a retry that meets it again stops early."""

    index: int
    visible_errors: tuple[str, ...]
    timed_out: bool


@dataclass
class StepResult:
    index: int  # 1-based, as people count steps
    label: str
    action: str
    ms: float
    inp_ms: float | None = None  # the worst interaction latency web-vitals saw for this step (INP)
    started: float = 0.0  # wall-clock start (epoch s): where the step sits on a load test's time axis


@dataclass
class JourneyOutcome:
    steps: list[StepResult] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)  # mark -> ms since the journey started
    screenshots: list[tuple[str, Path]] = field(default_factory=list)
    failed_step: str | None = None  # "3. click [data-testid=x]"
    failed_index: int | None = None  # 1-based index of the failed step
    error: str | None = None
    failure_screenshot: Path | None = None
    total_ms: float = 0.0
    # Evidence of a failure: the URL, what the page shows as errors, exceptions and console errors.
    url: str | None = None
    visible_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    repeated: bool = False  # a retry met the first attempt's failure again (deterministic)

    @property
    def passed(self) -> bool:
        return self.error is None


def absolute_url(target: str, base_url: str) -> str:
    return target if urlsplit(target).scheme in ("http", "https") else base_url + "/" + target.lstrip("/")


def url_matches(current: str, expected: str, base_url: str) -> bool:
    """expect_url semantics: a path ("/account", query compared only if given), a full URL, or a glob."""
    parts = urlsplit(current)
    if expected.startswith("/"):
        actual = parts.path + (f"?{parts.query}" if "?" in expected else "")
        if "*" in expected:
            return fnmatchcase(actual, expected)
        return actual.rstrip("/") == expected.rstrip("/")
    wanted = absolute_url(expected, base_url)
    return fnmatchcase(current, wanted) if "*" in wanted else current.rstrip("/") == wanted.rstrip("/")


def secret_problem(journey: JourneyConfig, secrets: Secrets) -> str | None:
    """Why the journey cannot run for lack of a secret, or None."""
    for step in journey.steps:
        for _, name in step.secret_references():
            try:
                secrets.value(name)
            except ConfigError as exc:
                return exc.message
    return None


async def _wait_for_url(session: Session, expected: str, base_url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        current = await session.current_url()
        if url_matches(current, expected, base_url):
            return
        if time.monotonic() >= deadline:
            raise StepFailed(f"expected URL {expected!r}, at {current!r} after {timeout_s:g} s")
        await asyncio.sleep(0.1)


def same_text(actual: str, wanted: str) -> bool:
    """A field holds what was typed, allowing the formatting inputs add (spaces, dashes, slashes)."""
    keep = lambda text: "".join(c for c in text if c.isalnum())  # noqa: E731
    return actual == wanted or (keep(actual) == keep(wanted) and bool(keep(wanted)))


def _shown(text: str, secret: bool) -> str:
    return f"{len(text)} hidden character(s)" if secret else repr(text[:80])


async def fill_and_verify(session: Session, selector: str, value: str, timeout_s: float, *, secret: bool) -> None:
    """Fill, read the field back, type key by key where the fill did not take, and say so if still not.

    A framework handler (React's onChange) that rejects the value shows as a field that does
    not hold it afterwards; an engine whose fill frameworks do not see types key by key itself
    (see the sessions' `fill`).
    """
    await session.fill(selector, value, timeout_s)
    if same_text(await session.input_value(selector, timeout_s), value):
        return
    await session.type_text(selector, value, timeout_s)
    actual = await session.input_value(selector, timeout_s)
    if not same_text(actual, value):
        raise StepFailed(f"fill {selector}: the field holds {_shown(actual, secret)} after typing"
                         f" {_shown(value, secret)} (an input handler rejected or rewrote it)")


async def _wait_for_value(session: Session, selector: str, expected: str, timeout_s: float, *, secret: bool) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        actual = await session.input_value(selector, max(0.1, deadline - time.monotonic()))
        if actual == expected:
            return
        if time.monotonic() >= deadline:
            raise StepFailed(f"expected {selector} to hold {_shown(expected, secret)}, it holds {_shown(actual, secret)}")
        await asyncio.sleep(0.1)


async def run_step(session: Session, step: Step, *, base_url: str, secrets: Secrets, timeout_s: float,
                   screenshot_path: Callable[[str], Path], outcome: JourneyOutcome, started: float) -> None:
    action, target = step.action, step.target
    value = secrets.substitute(step.value) if step.value is not None else None
    if action == "goto":
        status = await session.goto(absolute_url(secrets.substitute(target), base_url), timeout_s)
        if status is not None and status >= 400:
            raise StepFailed(f"goto {target}: HTTP {status}")
    elif action == "click":
        await session.click(target, timeout_s)
    elif action == "fill":
        await fill_and_verify(session, target, value or "", timeout_s, secret=bool(REFERENCE.search(step.value or "")))
    elif action == "select":
        await session.select(target, value or "", timeout_s)
    elif action == "check":
        await session.check(target, timeout_s)
    elif action == "press":
        await session.press(target, step.key or "", timeout_s)
    elif action in ("wait_for", "expect_visible"):
        await session.wait_visible(target, timeout_s)
    elif action == "expect_text":
        await session.wait_text(target, step.text or "", timeout_s)
    elif action == "expect_url":
        await _wait_for_url(session, target, base_url, timeout_s)
    elif action == "expect_value":
        await _wait_for_value(session, target, value or "", timeout_s, secret=bool(REFERENCE.search(step.value or "")))
    elif action == "screenshot":
        path = screenshot_path(target)
        await session.screenshot(path, mask=[], full_page=False)
        outcome.screenshots.append((target, path))
    elif action == "mark":
        outcome.marks[target] = (time.perf_counter() - started) * 1000
    else:  # pragma: no cover - Step validates actions
        raise StepFailed(f"unknown action {action}")


async def run_steps(session: Session, journey: JourneyConfig, *, base_url: str, secrets: Secrets,
                    default_timeout_s: float, screenshot_path: Callable[[str], Path],
                    first_failure: FirstFailure | None = None) -> JourneyOutcome:
    """Run every step; `first_failure`: a retry's knowledge of how the first attempt failed.

    On a retry, the step that failed before waits only RETRY_WAIT_S when the first failure
    left evidence (the page showed an error, or the step failed without timing out): meeting
    the same error again is a deterministic failure, not worth a second full wait.
    """
    outcome = JourneyOutcome()
    read_inp = getattr(session, "new_interaction_latency", None)  # browsers' sessions have it
    started = time.perf_counter()
    for index, step in enumerate(journey.steps, start=1):
        timeout_s = step.timeout_ms / 1000 if step.timeout_ms else default_timeout_s
        retrying_failed_step = first_failure is not None and first_failure.index == index and (
            first_failure.visible_errors or not first_failure.timed_out)
        if retrying_failed_step:
            timeout_s = min(timeout_s, RETRY_WAIT_S)
        step_started, step_wall = time.perf_counter(), time.time()
        try:
            await run_step(session, step, base_url=base_url, secrets=secrets, timeout_s=timeout_s,
                           screenshot_path=screenshot_path, outcome=outcome, started=started)
        except StepFailed as exc:
            outcome.failed_step = f"{index}. {step.label}"
            outcome.failed_index = index
            outcome.error = str(exc)
            break
        result = StepResult(index, step.label, step.action, (time.perf_counter() - step_started) * 1000,
                            started=step_wall)
        outcome.steps.append(result)
        if read_inp is not None and step.action in INTERACTIONS:
            # Read after the interaction; the read itself lets the next paint and an idle period pass,
            # after which web-vitals has reported it (browsers/vitals.py).
            result.inp_ms = await read_inp()
    outcome.total_ms = (time.perf_counter() - started) * 1000
    if not outcome.passed:
        await gather_evidence(session, outcome, screenshot_path)
        outcome.repeated = first_failure is not None and first_failure.index == outcome.failed_index and \
            tuple(outcome.visible_errors) == first_failure.visible_errors
    return outcome


def first_failure_of(outcome: JourneyOutcome) -> FirstFailure | None:
    if outcome.passed or outcome.failed_index is None:
        return None
    return FirstFailure(outcome.failed_index, tuple(outcome.visible_errors), "timed out" in (outcome.error or ""))


async def gather_evidence(session: Any, outcome: JourneyOutcome, screenshot_path: Callable[[str], Path]) -> None:
    """Why a journey failed, as the page shows it: best effort, each part on its own."""
    outcome.failure_screenshot = await _failure_screenshot(session, screenshot_path)
    for attribute, read in (("url", "current_url"), ("visible_errors", "visible_errors"),
                            ("page_errors", "page_errors")):
        try:
            setattr(outcome, attribute, await asyncio.wait_for(getattr(session, read)(), 10))
        except Exception:  # noqa: BLE001 - a gone page leaves the failure itself as the evidence
            pass


async def _failure_screenshot(session: Any, screenshot_path: Callable[[str], Path]) -> Path | None:
    path = screenshot_path("failed")
    try:
        await session.screenshot(path, mask=[], full_page=False)
        return path
    except Exception:  # noqa: BLE001 - evidence is best effort; the failure is what counts
        return None


# ---------------------------------------------------------------------- Python journeys


def config_dir(config: Any) -> Path | None:
    """The folder of the config file (None for the built-in config): Python journeys live beside it."""
    source = Path(config.source)
    return source.resolve().parent if source.is_file() else None


def load_python_journey(spec: str, config_dir: Path | None) -> Callable[..., Any]:
    """Import "module:function"; the config's folder is importable, as pytest's rootdir is."""
    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise ConfigError(f"python journey {spec!r}: expected \"module:function\"")
    if config_dir is not None and str(config_dir) not in sys.path:
        sys.path.insert(0, str(config_dir))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"python journey {spec!r}: cannot import {module_name}: {exc}") from None
    function = getattr(module, function_name, None)
    if function is None:
        raise ConfigError(f"python journey {spec!r}: {module_name} has no {function_name}")
    if not inspect.iscoroutinefunction(function):
        raise ConfigError(
            f"python journey {spec!r} must be `async def {function_name}(page, base_url, secrets)`: "
            "it receives a Playwright async Page"
        )
    return function


async def run_python(session: Any, function: Callable[..., Any], *, base_url: str, secrets: Secrets,
                     screenshot_path: Callable[[str], Path]) -> JourneyOutcome:
    """Run a Python journey on a Playwright session; an exception fails it like a step."""
    outcome = JourneyOutcome()
    started = time.perf_counter()
    try:
        await function(session.page, base_url, secrets)
        outcome.steps.append(StepResult(1, function.__name__, "python", (time.perf_counter() - started) * 1000))
    except (AssertionError, Exception) as exc:  # noqa: BLE001 - user code: any exception fails the journey
        outcome.failed_step, outcome.failed_index = f"1. {function.__name__}", 1
        outcome.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip()
        await gather_evidence(session, outcome, screenshot_path)
    outcome.total_ms = (time.perf_counter() - started) * 1000
    return outcome
