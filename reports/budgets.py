"""Budgets judged: the run's measurements against the limits of its stored config. Pure.

One resolver for every promise: page and Lighthouse budgets (global -> form factor ->
page), the visual diff limit, and the load thresholds. Stages only measure; judging
here means `siteward report RUN` judges exactly as the run did, and `--config` can
re-judge a stored run against other limits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from siteward.errors import ConfigError
from siteward.records import Finding, Measurement
from siteward.schema import BudgetsConfig, ThresholdsConfig

VISUAL_METRIC = "visual_diff_ratio"
VISUAL_FALLBACK = 0.001  # when neither [visual] nor [budgets] names a visual limit
LOAD_PERCENTILES = ("p50_ms", "p95_ms", "p99_ms")


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _VisualLimits(_Lenient):
    max_diff_ratio: float | None = None


class _LoadLimits(_Lenient):
    thresholds: ThresholdsConfig = Field(default_factory=ThresholdsConfig)


class Limits(_Lenient):
    """The parts of a config snapshot that hold limits; everything else is ignored."""

    budgets: BudgetsConfig = Field(default_factory=BudgetsConfig)
    visual: _VisualLimits = Field(default_factory=_VisualLimits)
    load: _LoadLimits = Field(default_factory=_LoadLimits)

    @classmethod
    def from_snapshot(cls, snapshot: Mapping[str, Any], source: str = "the run's stored config") -> "Limits":
        try:
            return cls.model_validate(dict(snapshot))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"{source}: cannot judge budgets: {where}: {first['msg']}") from None

    def visual_limit(self, page: str | None, form_factor: str | None) -> float:
        """A page's own budget wins; then [visual] max_diff_ratio if set; then the global budgets."""
        page_limit = self.budgets.pages.get(page or "", {}).get(VISUAL_METRIC)
        if page_limit is not None:
            return page_limit
        if self.visual.max_diff_ratio is not None:
            return self.visual.max_diff_ratio
        limit = self.budgets.limit_for(VISUAL_METRIC, form_factor=form_factor)
        return VISUAL_FALLBACK if limit is None else limit


def budget_finding(
    *, stage: str, subject: str, name: str, limit: float, value: float, unit: str,
    higher_is_better: bool = False, tags: dict[str, str] | None = None, check: str = "budget",
    evidence: list[str] | None = None,
) -> Finding:
    """A pass/fail record for one budget or threshold: value within limit passes."""
    passed = value >= limit if higher_is_better else value <= limit
    op = ">=" if higher_is_better else "<="
    return Finding(
        stage=stage, subject=subject, check=check, status="pass" if passed else "fail",
        message=f"{name}: {value:g} {unit} (budget {op} {limit:g} {unit})",
        limit=limit, value=value, unit=unit, tags={**(tags or {}), "budget": name},
        evidence=evidence or [], data={"higher_is_better": higher_is_better},
    )


def _judged(m: Measurement, limit: float, *, name: str | None = None, check: str = "budget",
            value: float | None = None) -> Finding:
    return budget_finding(
        stage=m.stage, subject=m.subject, name=name or m.metric, limit=limit,
        value=m.value if value is None else value, unit=m.unit, higher_is_better=m.higher_is_better,
        tags=dict(m.tags), check=check, evidence=list(m.evidence),
    )


def _visual(m: Measurement, limits: Limits) -> Finding:
    finding = _judged(m, limits.visual_limit(m.tags.get("page"), m.tags.get("form_factor")), check="visual-diff")
    described = m.data.get("description")
    return finding.model_copy(update={
        "message": f"{finding.message}: {described}" if described else finding.message,
        "data": {**finding.data, **{k: v for k, v in m.data.items() if k != "description"}},
    })


def _page_budgets(measurements: Iterable[Measurement], limits: Limits) -> list[Finding]:
    found = []
    for m in measurements:
        if m.stage == "browsers" and m.metric == VISUAL_METRIC:
            found.append(_visual(m, limits))
            continue
        limit = limits.budgets.limit_for(m.metric, page=m.tags.get("page"), form_factor=m.tags.get("form_factor"))
        if limit is not None:
            found.append(_judged(m, limit))
    return found


def _load_thresholds(measurements: list[Measurement], limits: Limits) -> list[Finding]:
    """k6-style thresholds: percentiles per route group, error ratio and achieved rate overall."""
    thresholds = limits.load.thresholds
    by_key = {(m.subject, m.metric): m for m in measurements}
    overall = by_key.get(("all", "requests"))
    if overall is None:
        return []  # no traffic at all: the stage says why in its own findings
    base_tags = {k: v for k, v in overall.tags.items() if k == "profile"}
    found = []
    for metric in LOAD_PERCENTILES:
        for group, limit in sorted(getattr(thresholds, metric).items()):
            name, subject = f"{metric}[{group}]", f"group:{group}"
            m = by_key.get((subject, metric))
            if m is None:
                found.append(Finding(
                    stage="loadtests", subject=subject, check="threshold", status="skip",
                    message=f"{name}: no requests to measure", limit=limit, unit="ms",
                    tags={**base_tags, "group": group, "budget": name}))
            else:
                found.append(_judged(m, limit, name=name, check="threshold", value=round(m.value, 6)))
    for metric, name, limit in (("error_ratio", "error_ratio", thresholds.error_ratio),
                                ("rate_ratio", "rate_ratio", thresholds.min_rate_ratio)):
        m = by_key.get(("all", metric))
        if m is not None:
            found.append(_judged(m, limit, name=name, check="threshold", value=round(m.value, 6)))
    return found


def judge(measurements: Iterable[Measurement], limits: Limits) -> list[Finding]:
    """Every budget and threshold line of a run, in the order the measurements came."""
    measurements = list(measurements)
    pages = _page_budgets((m for m in measurements if m.stage in ("browsers", "audits")), limits)
    return pages + _load_thresholds([m for m in measurements if m.stage == "loadtests"], limits)
