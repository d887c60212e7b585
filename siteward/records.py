"""Typed records every stage emits; the store persists them the moment they exist.

Three kinds, one shape in the store (records table):
- Measurement: a metric of a subject with its raw samples (regression analysis needs them).
- Finding: a check's outcome (pass/fail/warn/error/skip) with a message and evidence.
  Stages never judge budgets: reports/ turns measurements into "budget"/"threshold"
  findings (with limit/value/unit) from the run's stored config.
- Artifact: a file kept as evidence (screenshot, diff, Lighthouse report, Locust stats).

`subject` names what was measured, e.g. "home|chromium|pixel-7" or "GET /product/{slug}";
`tags` hold its parts (page, engine, device, preset, route) for grouping in reports.
"""

from __future__ import annotations

import statistics
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

Stage = Literal["browsers", "audits", "loadtests", "reports", "run"]
Status = Literal["pass", "fail", "warn", "error", "skip"]
Severity = Literal["info", "minor", "major", "critical"]


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


# Records of a journey measured before a load test and while it held (siteward/under_load.py):
# compared with each other by reports/under_load.py, never with the run's history.
LOAD_PHASE_TAG = "load_phase"
BEFORE_LOAD, UNDER_LOAD = "before-load", "under-load"  # its values
LOAD_WINDOW = "load-window"  # the load stage's finding: when the load started and when it holds


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    stage: Stage
    subject: str
    tags: dict[str, str] = Field(default_factory=dict)
    created: str = Field(default_factory=utcnow)


class Measurement(_Record):
    kind: Literal["measurement"] = "measurement"
    metric: str  # e.g. "fcp_ms", "lighthouse_performance", "p95_ms"
    unit: str  # "ms", "s", "score", "bytes", "count", "ratio", "rps"
    samples: list[float]
    # Lower is better for timings; scores and rates are higher-is-better.
    higher_is_better: bool = False
    # Files that show what was measured (screenshot, Lighthouse report, load series), relative
    # to the run dir, and facts about how (e.g. differing pixels): a budget line cites both.
    evidence: list[str] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("samples")
    @classmethod
    def _has_samples(cls, samples: list[float]) -> list[float]:
        if not samples:
            raise ValueError("a measurement needs at least one sample")
        return [float(s) for s in samples]

    @property
    def value(self) -> float:
        """The median of the raw samples: what budgets compare against."""
        return float(statistics.median(self.samples))


class Finding(_Record):
    kind: Literal["finding"] = "finding"
    check: str  # e.g. "console-errors", "overflow", "budget", "threshold", "visual-diff"
    status: Status
    message: str = ""
    severity: Severity = "major"
    evidence: list[str] = Field(default_factory=list)  # paths relative to the run dir
    # Budgets/thresholds: what was promised and what was measured.
    limit: float | None = None
    value: float | None = None
    unit: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == "fail"


class Artifact(_Record):
    kind: Literal["artifact"] = "artifact"
    role: str  # "screenshot", "diff", "baseline", "lighthouse-html", "lighthouse-json", "locust-csv", ...
    path: str  # relative to the run directory
    media_type: str = "application/octet-stream"


AnyRecord = Measurement | Finding | Artifact
Record = Annotated[Union[Measurement, Finding, Artifact], Field(discriminator="kind")]


_record_adapter: TypeAdapter = TypeAdapter(Record)


def parse_record(data: str | bytes | dict) -> AnyRecord:
    """Parse any record from its stored JSON form."""
    if isinstance(data, dict):
        return _record_adapter.validate_python(data)
    return _record_adapter.validate_json(data)
