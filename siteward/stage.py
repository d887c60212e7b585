"""The stage contract: what every stage gets (the config's shared part, a context) and gives.

A stage package exposes, in its ``stage`` module:

    Options                      a typed value of its command-line overrides (defaults = none)
    plan(config, options) -> P   pure: validates, raises UsageError/ConfigError (exit 2), no request
    run(ctx, plan) -> None       measures and emits records as they exist

`run` turns a broken check into an error record and raises only `CannotMeasure` when
nothing at all can be measured. Stages never judge budgets (reports/ does) and share
data only through records in the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Coroutine, Iterator, Literal, Protocol

from pydantic import Field, PrivateAttr, model_validator
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from siteward.history_db import is_postgres_url
from siteward.journeys import JourneyConfig, config_dir
from siteward.records import AnyRecord, parse_record
from siteward.schema import BudgetsConfig, PageConfig, RegressionsConfig, ResultsConfig, Strict, TargetConfig
from siteward.secrets import REFERENCE, Secrets
from siteward.store import Store
from siteward.target import TargetAccess, target_access

STAGES = ("browsers", "audits", "loadtests")
StageName = Literal["browsers", "audits", "loadtests"]
BUILTIN_SOURCE = "<built-in demo config>"


class CoreConfig(Strict):
    """The part of siteward.toml every stage reads. The roof (siteward.config) adds the stage
    sections ([browsers], [visual], [audits], [load]) to it; a stage reads its own section."""

    target: TargetConfig
    stages: list[StageName] = Field(default_factory=lambda: list(STAGES), min_length=1,
                                    description="what `siteward run` runs")
    pages: list[PageConfig] = Field(default_factory=list)
    journeys: list[JourneyConfig] = Field(default_factory=list)
    budgets: BudgetsConfig = Field(default_factory=BudgetsConfig)
    results: ResultsConfig = Field(default_factory=ResultsConfig)
    regressions: RegressionsConfig = Field(default_factory=RegressionsConfig)
    secrets: dict[str, str] = Field(default_factory=dict, description="name -> environment variable")

    # Where the config came from: not a key of the file (a private attribute cannot be set from TOML).
    _source: str = PrivateAttr(BUILTIN_SOURCE)

    @property
    def source(self) -> str:
        return self._source

    @model_validator(mode="after")
    def _cross_checks(self) -> "CoreConfig":
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
        for ref in REFERENCE.findall(self.results.history or ""):
            if ref not in self.secrets:
                raise ValueError(f"results.history uses ${{secrets.{ref}}}, which is not declared under [secrets]"
                                 f" (declared: {', '.join(sorted(self.secrets)) or 'none'})")
        journey_names = [j.name for j in self.journeys]
        dupes = sorted({n for n in journey_names if journey_names.count(n) > 1})
        if dupes:
            raise ValueError(f"journeys: journey names must be unique; repeated: {', '.join(dupes)}")
        for j_index, journey in enumerate(self.journeys):
            for index, step in enumerate(journey.steps):
                for key, ref in step.secret_references():
                    if ref not in self.secrets:
                        declared = ", ".join(sorted(self.secrets)) or "none"
                        raise ValueError(
                            f"journeys[{j_index}].steps[{index}].{key}: journey '{journey.name}' step"
                            f" {index + 1} uses ${{secrets.{ref}}}, which is not declared under [secrets]"
                            f" (declared: {declared})"
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
        """Hash of what decides comparability of runs (not the target URL's port, nor how runs are judged)."""
        data = self.model_dump(mode="json", exclude={"target", "results", "regressions"}, by_alias=True)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def snapshot(self) -> dict[str, Any]:
        """What the history keeps of the config: reports judge budgets from it."""
        data = self.model_dump(mode="json", by_alias=True)
        data["source"] = self.source
        return data

    def results_root(self) -> Path:
        return Path(self.results.root)

    def history_location(self) -> str | Path:
        """The SQLite file, or the PostgreSQL URL with its ${secrets.NAME} password filled in (for use, not output)."""
        history = self.results.history
        if history and is_postgres_url(history):
            return Secrets(self.secrets, source=self.source).substitute(history)
        return Path(history) if history else self.results_root() / "history.sqlite"


def safe_filename(text: str) -> str:
    """A file name for evidence: letters, digits and . _ - only, never empty or hidden."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "_"


def run_async(coroutine: Coroutine, run: Callable[[Coroutine], Any] = asyncio.run) -> None:
    """`run(coroutine)` (asyncio.run), also when the caller already runs an event loop (then in a thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        run(coroutine)
        return
    failure: list[BaseException] = []

    def in_thread() -> None:
        try:
            asyncio.run(coroutine)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failure.append(exc)
    thread = threading.Thread(target=in_thread, name="siteward-async")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


@dataclass
class StageContext:
    config: CoreConfig  # at run time the whole composed config: a stage reads its own section
    run_id: str
    run_dir: Path
    store: Store
    secrets: Secrets
    console: Console = field(default_factory=lambda: Console(stderr=True))
    quiet: bool = False  # no progress bars
    # A re-measurement (regression confirmation) tags every record it emits and keeps its
    # evidence in a subdirectory, so the run's own records and files stay as they were.
    record_tags: dict[str, str] = field(default_factory=dict)
    evidence_subdir: str = ""

    @cached_property
    def access(self) -> TargetAccess:
        """How to reach the target (TLS trust, basic auth), resolved once per run."""
        access = target_access(self.config.target, self.secrets, config_dir(self.config))
        if (header := access.authorization()) is not None:
            self.secrets.also_mask(header.split(" ", 1)[1])  # the credentials, base64-encoded in headers
        return access

    def emit(self, record: AnyRecord) -> AnyRecord:
        """Persist a record now (secrets scrubbed) and return what was stored."""
        if self.record_tags:
            record = record.model_copy(update={"tags": {**record.tags, **self.record_tags}})
        if self.secrets:
            record = parse_record(self.secrets.redact(record.model_dump_json()))
        self.store.add(self.run_id, record)
        return record

    def records(self, *, kind: str | None = None, stage: str | None = None) -> list[AnyRecord]:
        """What this run has stored so far (how one stage reads another's artifacts)."""
        return self.store.records(self.run_id, kind=kind, stage=stage)

    def evidence_dir(self, *parts: str) -> Path:
        path = self.run_dir.joinpath(*filter(None, (self.evidence_subdir, *parts)))
        path.mkdir(parents=True, exist_ok=True)
        return path

    def relative(self, path: Path) -> str:
        """Evidence paths are stored relative to the run directory (the report links them)."""
        return os.path.relpath(path, self.run_dir)

    def write_json(self, path: Path, data: Any) -> str:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.secrets.redact(json.dumps(data, indent=2, default=str)), encoding="utf-8")
        return self.relative(path)

    @contextmanager
    def progress(self, description: str, total: int) -> Iterator["ProgressTask"]:
        """A progress bar on stderr (plain lines when stderr is not a terminal)."""
        bar = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("{task.fields[current]}"),
            console=self.console, transient=False, disable=self.quiet,
        )
        with bar:
            task = bar.add_task(description, total=total, current="")
            yield ProgressTask(bar, task)


@dataclass
class ProgressTask:
    bar: Progress
    task: Any

    def advance(self, label: str = "", n: int = 1) -> None:
        self.bar.update(self.task, advance=n, current=label)

    def label(self, label: str) -> None:
        self.bar.update(self.task, current=label)


class StageModule(Protocol):
    """What the runner's static registry holds for each stage (a stage package's `stage` module)."""

    NAME: str
    Options: type

    def plan(self, config: Any, options: Any) -> Any: ...
    def run(self, ctx: StageContext, plan: Any) -> None: ...
