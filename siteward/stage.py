"""What a stage gets: the config, where to put evidence, and `emit` for its records.

A stage is `run_stage(ctx: StageContext) -> None` in `<package>/stage.py`. It emits
records as they exist (each is committed at once), turns a broken check into an
error record, and raises only `CannotMeasure` when nothing at all can be measured.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from siteward.config import SitewardConfig
from siteward.records import Artifact, Finding, Measurement, budget_finding, parse_record
from siteward.secrets import Secrets
from siteward.store import Store

AnyRecord = Measurement | Finding | Artifact


@dataclass
class StageContext:
    config: SitewardConfig
    run_id: str
    run_dir: Path
    store: Store
    secrets: Secrets
    console: Console = field(default_factory=lambda: Console(stderr=True))
    # Command-line overrides for a stage, e.g. {"engines": [...], "devices": [...], "peak_rps": 20}.
    options: dict[str, Any] = field(default_factory=dict)
    # Shared between stages of one run, e.g. journey storage-state files for the audits stage.
    handoff: dict[str, Any] = field(default_factory=dict)

    def emit(self, record: AnyRecord) -> AnyRecord:
        """Persist a record now (secrets scrubbed) and return what was stored."""
        if self.secrets:
            record = parse_record(self.secrets.redact(record.model_dump_json()))
        self.store.add(self.run_id, record)
        return record

    def check_budget(self, measurement: Measurement, *, page: str | None = None,
                     form_factor: str | None = None, evidence: list[str] | None = None) -> Finding | None:
        """Emit the pass/fail budget record for a measurement, if a budget covers its metric."""
        limit = self.config.budgets.limit_for(measurement.metric, page=page, form_factor=form_factor)
        if limit is None:
            return None
        finding = budget_finding(
            stage=measurement.stage, subject=measurement.subject, name=measurement.metric,
            limit=limit, value=measurement.value, unit=measurement.unit,
            higher_is_better=measurement.higher_is_better, tags=measurement.tags, evidence=evidence,
        )
        return self.emit(finding)

    def evidence_dir(self, *parts: str) -> Path:
        path = self.run_dir.joinpath(*parts)
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
            console=self.console, transient=False, disable=self.options.get("quiet", False),
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
