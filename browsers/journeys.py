"""Journeys: declarative steps (or a Python function) run on one session, every step timed.

A journey stops at its first failing step; the outcome says which step, why, and
where the failure screenshot is. Values may use ``${secrets.NAME}``: substituted for
use only, never put into labels or messages (and the stage's emit redacts anyway).
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
from typing import Any, Callable
from urllib.parse import urlsplit

from browsers.config import JourneyConfig, Step
from browsers.session import Session, StepFailed
from siteward.errors import ConfigError
from siteward.secrets import Secrets


@dataclass
class StepResult:
    index: int  # 1-based, as people count steps
    label: str
    action: str
    ms: float


@dataclass
class JourneyOutcome:
    steps: list[StepResult] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)  # mark -> ms since the journey started
    screenshots: list[tuple[str, Path]] = field(default_factory=list)
    failed_step: str | None = None  # "3. click [data-testid=x]"
    error: str | None = None
    failure_screenshot: Path | None = None
    total_ms: float = 0.0

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
        for text in (step.value, step.target):
            for name in secrets.references(text or ""):
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
        await session.fill(target, value or "", timeout_s)
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
    elif action == "screenshot":
        path = screenshot_path(target)
        await session.screenshot(path, mask=[], full_page=False)
        outcome.screenshots.append((target, path))
    elif action == "mark":
        outcome.marks[target] = (time.perf_counter() - started) * 1000
    else:  # pragma: no cover - Step validates actions
        raise StepFailed(f"unknown action {action}")


async def run_steps(session: Session, journey: JourneyConfig, *, base_url: str, secrets: Secrets,
                    default_timeout_s: float, screenshot_path: Callable[[str], Path]) -> JourneyOutcome:
    outcome = JourneyOutcome()
    started = time.perf_counter()
    for index, step in enumerate(journey.steps, start=1):
        timeout_s = step.timeout_ms / 1000 if step.timeout_ms else default_timeout_s
        step_started = time.perf_counter()
        try:
            await run_step(session, step, base_url=base_url, secrets=secrets, timeout_s=timeout_s,
                           screenshot_path=screenshot_path, outcome=outcome, started=started)
        except StepFailed as exc:
            outcome.failed_step = f"{index}. {step.label}"
            outcome.error = str(exc)
            break
        outcome.steps.append(StepResult(index, step.label, step.action, (time.perf_counter() - step_started) * 1000))
    outcome.total_ms = (time.perf_counter() - started) * 1000
    if not outcome.passed:
        path = screenshot_path("failed")
        try:
            await session.screenshot(path, mask=[], full_page=False)
            outcome.failure_screenshot = path
        except Exception:  # noqa: BLE001 - evidence is best effort; the failure is what counts
            outcome.failure_screenshot = None
    return outcome


def config_dir(config) -> Path | None:
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
        outcome.failed_step = f"1. {function.__name__}"
        outcome.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip()
        path = screenshot_path("failed")
        try:
            await session.screenshot(path, mask=[], full_page=False)
            outcome.failure_screenshot = path
        except Exception:  # noqa: BLE001
            pass
    outcome.total_ms = (time.perf_counter() - started) * 1000
    return outcome
