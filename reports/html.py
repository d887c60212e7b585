"""report.html: one self-contained file (inlined CSS, JS, chart library) that opens offline.

Images are not inlined (a sweep has hundreds): thumbnails made with Pillow are linked
by relative path and lazy-loaded, full-size files open on click. Everything from the
target is escaped by Jinja2's autoescape; links go through safety.safe_href/file_href;
chart data is embedded with safety.script_json. A Content-Security-Policy allows only
the inline scripts written here (by hash), so an injected script could not run even
if escaping were ever missed.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

from siteward.records import Artifact, Finding

from reports.analysis import RunAnalysis, regressions_config
from reports.journey_chart import journey_chart
from reports.regressions import UNCONFIRMABLE_STRICTNESS
from reports.trends import Trend
from reports.safety import csp_hash, file_href, safe_href, script_json
from reports.thumbnails import is_image, make_thumbnail, make_thumbnails
from reports.verdict import status_counts

SERIES_KEYS = ("t", "users", "rps", "p50_ms", "p95_ms", "p99_ms", "errors_per_s")
STATUS_ORDER = {"fail": 0, "error": 1, "warn": 2, "pass": 3, "skip": 4}
COMPARISON_ORDER = {"regression": 0, "unconfirmed": 1, "improvement": 2}
LIGHTHOUSE_ROLE = "lighthouse-html"
LOAD_SERIES_ROLE = "load-series"
# A Playwright trace of a failure opens in the viewer the playwright package ships (run from the run directory).
TRACE_SUFFIX = ".trace.zip"
SHOW_TRACE = "python -m playwright show-trace"


@lru_cache(maxsize=None)
def static_text(name: str) -> str:
    return resources.files("reports").joinpath("static", name).read_text(encoding="utf-8")


def fmt(value: float | None, unit: str | None = None) -> str:
    """Human-readable number with its unit: 1234.5 ms -> '1,235 ms', 0.93 score -> '0.93'."""
    if value is None:
        return "–"
    unit = unit or ""
    if unit == "bytes":
        for scale, name in ((1 << 20, "MB"), (1 << 10, "KB")):
            if abs(value) >= scale:
                return f"{value / scale:.1f} {name}"
        return f"{value:.0f} B"
    if unit in ("ms", "count") or abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif unit == "ratio":
        text = f"{value:.4g}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip() if unit not in ("score", "") else text


def image_entry(run_dir: Path, path: str, label: str = "") -> dict[str, Any]:
    thumb = make_thumbnail(run_dir, path) if is_image(path) else None
    return {"href": file_href(path), "thumb": file_href(thumb) if thumb else None,
            "label": label or path, "path": path, "image": is_image(path),
            "open": f"{SHOW_TRACE} {path}" if path.endswith(TRACE_SUFFIX) else None}


def _ordered(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def browser_matrix(a: RunAnalysis, run_dir: Path) -> dict[str, Any]:
    """Engine x device cells: status counts of the checks and screenshot thumbnails."""
    records = [r for r in (*a.findings, *a.artifacts, *a.measurements) if r.stage == "browsers"]
    engines = _ordered([r.tags.get("engine", "") for r in records])
    devices = _ordered([r.tags.get("device", "") for r in records])
    cells: dict[str, dict[str, Any]] = {}
    for engine in engines:
        for device in devices:
            here = [r for r in records if r.tags.get("engine") == engine and r.tags.get("device") == device]
            findings = [r for r in here if isinstance(r, Finding)]
            shots = [image_entry(run_dir, r.path, r.tags.get("page") or r.tags.get("step") or r.subject)
                     for r in here if isinstance(r, Artifact) and r.role == "screenshot"]
            counts = status_counts(findings)
            worst = next((s for s in ("fail", "error", "warn", "pass") if counts[s]), "none")
            cells[f"{engine}|{device}"] = {"counts": counts, "shots": shots, "worst": worst}
    return {"engines": engines, "devices": devices, "cells": cells}


def visual_diffs(a: RunAnalysis, run_dir: Path) -> list[dict[str, Any]]:
    """Visual-diff findings with baseline / current / diff images (evidence order of browsers.visual: current, baseline, diff)."""
    out = []
    for f in a.findings:
        if f.check != "visual-diff" or f.status == "skip":
            continue
        images: dict[str, str | None] = {"current": None, "baseline": None, "diff": None}
        if len(f.evidence) == 3:
            images["current"], images["baseline"], images["diff"] = f.evidence
        else:
            for path in f.evidence:
                stem = Path(path).stem.lower()
                kind = "baseline" if stem.endswith("baseline") else "diff" if "diff" in path.lower() else "current"
                images[kind] = images[kind] or path
        for art in a.artifacts:
            if art.subject == f.subject and art.role in ("baseline", "diff") and images[art.role] is None:
                images[art.role] = art.path
        panes = [{"kind": kind, "href": file_href(p), "path": p, "exists": (run_dir / p).is_file()} for kind, p in
                 (("baseline", images["baseline"]), ("current", images["current"]), ("diff", images["diff"])) if p]
        out.append({"finding": f, "panes": panes})
    return sorted(out, key=lambda v: STATUS_ORDER.get(v["finding"].status, 9))


def lighthouse_table(a: RunAnalysis) -> dict[str, Any]:
    """Audits measurements per (page, preset): one row each, metrics as columns; report links."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    metrics: dict[str, str] = {}
    for m in a.measurements:
        if m.stage != "audits":
            continue
        key = (m.tags.get("page") or m.subject, m.tags.get("preset") or m.tags.get("form_factor", ""))
        row = rows.setdefault(key, {"page": key[0], "preset": key[1], "values": {}, "reports": []})
        row["values"][m.metric] = fmt(m.value, m.unit)
        metrics.setdefault(m.metric, m.unit)
    for art in a.artifacts:
        if art.role != LIGHTHOUSE_ROLE:
            continue
        key = (art.tags.get("page") or art.subject, art.tags.get("preset") or art.tags.get("form_factor", ""))
        row = rows.setdefault(key, {"page": key[0], "preset": key[1], "values": {}, "reports": []})
        median = art.tags.get("median") == "yes"
        label = f"run {art.tags['run']}" if art.tags.get("run") else Path(art.path).name
        row["reports"].append({"href": file_href(art.path), "label": label + (" (median)" if median else ""),
                               "median": median})
    for row in rows.values():
        row["reports"].sort(key=lambda r: not r["median"])  # the median run's report first
    # Scores first (what people read first), then timings.
    columns = sorted(metrics, key=lambda name: (metrics[name] != "score", name))
    return {"columns": columns, "units": metrics, "rows": [rows[k] for k in sorted(rows)]}


def load_series(a: RunAnalysis, run_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Time series from "load-series" artifacts (JSON of equal-length arrays); problems as notes."""
    series, notes = [], []
    for art in a.artifacts:
        if art.role != LOAD_SERIES_ROLE:
            continue
        try:
            data = json.loads((run_dir / art.path).read_text(encoding="utf-8"))
            columns = {k: [None if v is None else float(v) for v in data.get(k) or []] for k in SERIES_KEYS}
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            notes.append(f"{art.path}: unreadable load series ({type(exc).__name__}: {exc})")
            continue
        n = len(columns["t"])
        if not n or any(columns[k] and len(columns[k]) != n for k in SERIES_KEYS):
            notes.append(f"{art.path}: load series without time points or with ragged columns")
            continue
        series.append({"name": art.subject, "path": art.path, "href": file_href(art.path),
                       "data": {k: (v or [None] * n) for k, v in columns.items()}})
    return series, notes


def route_table(a: RunAnalysis) -> dict[str, Any]:
    rows: dict[str, dict[str, str]] = defaultdict(dict)
    metrics: dict[str, str] = {}
    for m in a.measurements:
        if m.stage != "loadtests":
            continue
        # Per route, then per route group (subjects "group:<name>" of loadtests.report).
        name = m.tags.get("route") or (f"all {m.tags['group']} routes" if m.subject.startswith("group:") and m.tags.get("group") else None)
        if name:
            rows[name][m.metric] = fmt(m.value, m.unit)
            metrics.setdefault(m.metric, m.unit)
    ordered = sorted(rows.items(), key=lambda kv: (kv[0].startswith("all "), kv[0]))
    return {"columns": list(metrics), "rows": [{"route": r, "values": v} for r, v in ordered]}


def sparkline(values: list[float], width: int = 160, height: int = 32) -> str:
    """SVG polyline points for a small trend line (drawn server-side: no script needed)."""
    if len(values) < 2:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    step = width / (len(values) - 1)
    return " ".join(f"{i * step:.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}" for i, v in enumerate(values))


def trend_rows(trends: list[Trend]) -> list[dict[str, Any]]:
    return [{"trend": t, "points": sparkline(t.values), "first": fmt(t.values[0], t.unit),
             "last": fmt(t.values[-1], t.unit), "runs": len(t.values)} for t in trends]


def _rules(a: RunAnalysis) -> dict[str, float]:
    """The regression rules the run was judged by (its stored [regressions]), for the explanation."""
    config = regressions_config(a.info.config)
    return {"fdr": config.fdr, "min_change": config.min_change, "strict": config.fdr * UNCONFIRMABLE_STRICTNESS}


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(Path(__file__).with_name("templates"))),
        autoescape=True, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters.update(fmt=fmt, safe_href=safe_href, file_href=file_href)
    return env


def render_html(a: RunAnalysis, run_dir: Path) -> str:
    # Make every thumbnail up front, in parallel; image_entry then finds them made.
    make_thumbnails(run_dir, [*(r.path for r in a.artifacts if r.role == "screenshot"),
                              *(p for f in a.findings if f.status in ("fail", "error") for p in f.evidence)])
    series, series_notes = load_series(a, run_dir)
    journey = journey_chart(series[0]["data"], a.measurements, a.findings) if series else None
    failing = [f for f in a.findings if f.status in ("fail", "error")]
    findings = sorted(a.findings, key=lambda f: (STATUS_ORDER.get(f.status, 9), f.stage, f.check))
    chart_script = static_text("report.js")
    scripts = [static_text("uPlot.iife.min.js"), chart_script]
    csp = ("default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'; "
           "script-src " + " ".join(csp_hash(s) for s in scripts) + "; base-uri 'none'; form-action 'none'")
    context = {
        "a": a,
        "info": a.info,
        "csp": csp,
        "css": static_text("uPlot.min.css") + "\n" + static_text("report.css"),
        "scripts": scripts,
        "counts": status_counts(a.findings),
        "budgets_failed": sum(1 for b in a.budgets if b.status == "fail"),
        "failing": [{"finding": f, "evidence": [image_entry(run_dir, p) for p in f.evidence]} for f in failing],
        "matrix": browser_matrix(a, run_dir),
        "visual": visual_diffs(a, run_dir),
        "lighthouse": lighthouse_table(a),
        "series": series,
        "series_notes": series_notes,
        "series_json": script_json([s["data"] for s in series]),
        "journey_json": script_json(journey) if journey else None,
        "routes": route_table(a),
        "findings": findings,
        "stage_counts": Counter(f.stage for f in a.findings),
        "comparisons": sorted(a.comparisons, key=lambda c: (COMPARISON_ORDER.get(c.state, 9), c.stage, c.subject,
                                                            c.metric)),
        "rules": _rules(a),
        "trends": trend_rows(a.trends),
        "config_json": json.dumps(a.info.config, indent=2, sort_keys=True, default=str),
    }
    return _environment().get_template("report.html.j2").render(**context)
