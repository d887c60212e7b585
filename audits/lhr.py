"""Pure functions over Lighthouse results (LHR JSON): metrics, errors, the median run.

Names here are the contract with budgets and reports: scores are 0..1 and higher is
better, timings are milliseconds, resource sizes are transfer bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LHR = dict[str, Any]


@dataclass(frozen=True)
class MetricSpec:
    name: str
    unit: str
    higher_is_better: bool = False


# metric name -> (LHR location, spec). "categories:<id>" reads a category score,
# anything else an audit's numericValue.
CATEGORY_METRICS = {
    "performance_score": "performance",
    "accessibility_score": "accessibility",
    "best_practices_score": "best-practices",
    "seo_score": "seo",
}
AUDIT_METRICS = {
    "fcp_ms": ("first-contentful-paint", "ms"),
    "lcp_ms": ("largest-contentful-paint", "ms"),
    "speed_index_ms": ("speed-index", "ms"),
    "tbt_ms": ("total-blocking-time", "ms"),
    "tti_ms": ("interactive", "ms"),
    "server_response_ms": ("server-response-time", "ms"),
    "cls": ("cumulative-layout-shift", "score"),
}
# Lighthouse's resource-summary rows, in its own order.
RESOURCE_TYPES = ("total", "document", "script", "stylesheet", "image", "media", "font", "other", "third-party")


def metric_specs() -> list[MetricSpec]:
    specs = [MetricSpec(name, "score", True) for name in CATEGORY_METRICS]
    specs += [MetricSpec(name, unit) for name, (_, unit) in AUDIT_METRICS.items()]
    for kind in RESOURCE_TYPES:
        specs.append(MetricSpec(f"bytes_{_slug(kind)}", "bytes"))
        specs.append(MetricSpec(f"requests_{_slug(kind)}", "count"))
    return specs


def _slug(kind: str) -> str:
    return kind.replace("-", "_")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def extract_metrics(lhr: LHR) -> dict[str, float | None]:
    """Every metric of `metric_specs()` from one LHR; None where Lighthouse has no value."""
    out: dict[str, float | None] = {}
    categories = lhr.get("categories") or {}
    for name, category in CATEGORY_METRICS.items():
        out[name] = _number((categories.get(category) or {}).get("score"))
    audits = lhr.get("audits") or {}
    for name, (audit_id, _) in AUDIT_METRICS.items():
        out[name] = _number((audits.get(audit_id) or {}).get("numericValue"))
    items = (((audits.get("resource-summary") or {}).get("details") or {}).get("items")) or []
    rows = {item.get("resourceType"): item for item in items if isinstance(item, dict)}
    for kind in RESOURCE_TYPES:
        row = rows.get(kind)
        out[f"bytes_{_slug(kind)}"] = _number(row.get("transferSize")) if row else None
        out[f"requests_{_slug(kind)}"] = _number(row.get("requestCount")) if row else None
    return out


def runtime_error(lhr: LHR) -> tuple[str, str] | None:
    """(code, message) when Lighthouse could not audit the page (NO_FCP, FAILED_DOCUMENT_REQUEST...)."""
    err = lhr.get("runtimeError")
    if not err:
        return None
    return str(err.get("code", "UNKNOWN")), str(err.get("message", "Lighthouse runtime error"))


def _audit_value(lhr: LHR, audit_id: str) -> float:
    return _number(((lhr.get("audits") or {}).get(audit_id) or {}).get("numericValue")) or 0.0


def median_run_index(lhrs: list[LHR]) -> int:
    """Lighthouse CI's representative run: closest to the median FCP and TTI.

    A port of @lhci/utils representative-runs.js (same median pick, floor(n/2) of the
    sorted values, same squared distance; ties keep run order as JS's stable sort does).
    """
    if not lhrs:
        raise ValueError("no Lighthouse runs to choose a median from")
    n = len(lhrs)
    median_fcp = sorted(_audit_value(r, "first-contentful-paint") for r in lhrs)[n // 2]
    median_tti = sorted(_audit_value(r, "interactive") for r in lhrs)[n // 2]

    def distance(i: int) -> float:
        d_fcp = median_fcp - _audit_value(lhrs[i], "first-contentful-paint")
        d_tti = median_tti - _audit_value(lhrs[i], "interactive")
        return d_fcp * d_fcp + d_tti * d_tti

    return min(range(n), key=distance)


def final_url(lhr: LHR) -> str:
    return str(lhr.get("finalDisplayedUrl") or lhr.get("finalUrl") or lhr.get("requestedUrl") or "")


def run_warnings(lhr: LHR) -> list[str]:
    return [str(w) for w in lhr.get("runWarnings") or []]
