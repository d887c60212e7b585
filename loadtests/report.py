"""Turn a finished Locust run (its files in run_dir/load/) into records.

Reads raw.json (our per-second buckets, written by the master at quit) and Locust's
CSVs; never re-runs anything, so a run stopped by Ctrl-C reports what it measured.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loadtests import series
from loadtests.model import TrafficModel
from loadtests.runner import LocustProcesses
from loadtests.shapes import LoadPlan
from loadtests.thresholds import achieved_rate_ratio, evaluate, group_routes
from siteward.records import Artifact, Finding, Measurement, budget_finding
from siteward.stage import StageContext

CSV_FILES = ("locust_stats.csv", "locust_stats_history.csv", "locust_failures.csv", "locust_exceptions.csv")
SAMPLE_LIMIT = 2000


def read_raw(path: Path) -> dict[str, Any] | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    raw["buckets"] = series.merge_buckets({}, raw.get("buckets", {}))
    raw["users"] = {int(k): int(v) for k, v in raw.get("users", {}).items()}
    return raw


def series_document(plan: LoadPlan, raw: dict[str, Any]) -> dict[str, list]:
    doc = series.load_series(raw["buckets"], raw["start_epoch"], raw["users"], raw.get("end_epoch"))
    doc["target_rps"] = [plan.target_rate_at(t + 0.5) for t in doc["t"]]
    return doc


def _evidence_artifacts(ctx: StageContext, result: LocustProcesses) -> list[str]:
    kept = []
    for name in CSV_FILES:
        path = result.out_dir / name
        if path.is_file():
            ctx.emit(Artifact(stage="loadtests", subject="load", role="locust-csv", path=ctx.relative(path),
                              media_type="text/csv"))
            kept.append(ctx.relative(path))
    for log in result.logs:
        if log.is_file():
            ctx.emit(Artifact(stage="loadtests", subject=log.stem, role="locust-log", path=ctx.relative(log),
                              media_type="text/plain"))
    return kept


def _measure(ctx: StageContext, subject: str, tags: dict[str, str], buckets: series.Buckets,
             routes: set[str] | None, hold: list[float] | None) -> None:
    hist = series.select(buckets, routes)
    requests, failures = series.counts(buckets, routes)
    if requests == 0:
        return

    def emit(metric: str, unit: str, samples: list[float], higher: bool = False) -> None:
        ctx.emit(Measurement(stage="loadtests", subject=subject, tags=tags, metric=metric, unit=unit,
                             samples=samples, higher_is_better=higher))

    emit("response_ms", "ms", series.quantile_samples(hist, SAMPLE_LIMIT))
    for metric, share in (("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99)):
        emit(metric, "ms", [series.percentile(hist, share)])
    emit("error_ratio", "ratio", [failures / requests])
    emit("requests", "count", [float(requests)], higher=True)
    if hold:
        emit("achieved_rps", "rps", hold, higher=True)


def _hold_rates(plan: LoadPlan, raw: dict[str, Any], routes: set[str] | None) -> list[float]:
    begin, end = plan.hold_window()
    per_second = series.per_second(raw["buckets"], raw["start_epoch"], routes, raw.get("end_epoch"))
    return [float(per_second[t][0]) for t in sorted(per_second) if begin <= t and t + 1 <= end]


def emit_results(ctx: StageContext, plan: LoadPlan, model: TrafficModel, result: LocustProcesses) -> None:
    csvs = _evidence_artifacts(ctx, result)
    raw = read_raw(result.out_dir / "raw.json")
    _emit_saturation(ctx, result, (raw or {}).get("cpu_warnings", []))
    failed_codes = {n: c for n, c in result.returncodes.items() if c not in (0, None, 3)}
    if raw is None or not raw["buckets"]:
        why = ("stopped before the test started" if result.stopped_early else
               f"Locust exited with {failed_codes or result.returncodes} and measured nothing")
        ctx.emit(Finding(stage="loadtests", subject="load", check="load-run", status="error",
                         message=f"no load results: {why}; see the Locust logs", evidence=
                         [ctx.relative(p) for p in result.logs if p.is_file()]))
        return
    doc = series_document(plan, raw)
    series_path = result.out_dir / "series.json"
    series_rel = ctx.write_json(series_path, doc)
    ctx.emit(Artifact(stage="loadtests", subject="load", role="load-series", path=series_rel,
                      media_type="application/json"))
    evidence = [series_rel, *csvs[:1]]

    base_tags = {"profile": plan.profile}
    route_groups = model.route_keys()
    buckets = raw["buckets"]
    for route in sorted(group_routes(route_groups, buckets).get("other", set()) | set(route_groups)):
        method, _, name = route.partition(" ")
        tags = {**base_tags, "route": route, "method": method, "group": route_groups.get(route, "other")}
        # A route's own rate is set by the generator's random route mix, not by the site:
        # comparing it between runs flags noise, so only the overall rate is a measurement.
        _measure(ctx, route, tags, buckets, {route}, None)
    for group, routes in sorted(group_routes(route_groups, buckets).items()):
        _measure(ctx, f"group:{group}", {**base_tags, "group": group}, buckets, routes, None)
    _measure(ctx, "all", {**base_tags, "group": "all"}, buckets, None, _hold_rates(plan, raw, None))

    for row in evaluate(ctx.config.load.thresholds, plan, buckets, raw["start_epoch"], route_groups):
        tags = {**base_tags, "group": row.group}
        if row.value is None:
            ctx.emit(Finding(stage="loadtests", subject=row.subject, check="threshold", status="skip",
                             message=f"{row.name}: no requests to measure", limit=row.limit, unit=row.unit,
                             tags={**tags, "budget": row.name}))
            continue
        ctx.emit(budget_finding(stage="loadtests", subject=row.subject, name=row.name, limit=row.limit,
                                value=round(row.value, 6), unit=row.unit, higher_is_better=row.higher_is_better,
                                tags=tags, check="threshold", evidence=evidence))

    if raw.get("aborted"):
        ctx.emit(Finding(stage="loadtests", subject="all", check="abort", status="fail", severity="critical",
                         message=f"load test stopped early: {raw['aborted']}", evidence=evidence, tags=base_tags))
    if raw.get("dropped_arrivals"):
        rate = achieved_rate_ratio(plan, buckets, raw["start_epoch"])
        ctx.emit(Finding(stage="loadtests", subject="all", check="dropped-arrivals", status="warn",
                         message=f"{raw['dropped_arrivals']} arrivals found no free user within 1 s "
                                 f"(achieved {rate[0]:.1f} of {rate[1]:.1f} req/s)" if rate else
                                 f"{raw['dropped_arrivals']} arrivals found no free user within 1 s",
                         value=float(raw["dropped_arrivals"]), unit="count", tags=base_tags, evidence=evidence))
    if result.stopped_early:
        ctx.emit(Finding(stage="loadtests", subject="all", check="load-run", status="warn",
                         message=f"load test {result.stopped_early}: results cover only the part that ran",
                         tags=base_tags, evidence=evidence))
    elif failed_codes:
        ctx.emit(Finding(stage="loadtests", subject="all", check="load-run", status="error",
                         message=f"Locust processes exited with {failed_codes}; see the Locust logs",
                         evidence=[ctx.relative(p) for p in result.logs if p.is_file()], tags=base_tags))


def _emit_saturation(ctx: StageContext, result: LocustProcesses, locust_warnings: list[dict]) -> None:
    status, message, data = series.saturation_verdict(result.demand or result.cpu)
    if locust_warnings and status in ("pass", "skip"):
        # Locust's own check (its process above 90 % CPU, sampled every 10 s) saw what we missed.
        status = "warn"
        message = f"Locust reported CPU usage above 90 % {len(locust_warnings)} time(s); {message}"
    data["locust_cpu_warnings"] = len(locust_warnings)
    for name, samples in result.cpu.items():
        if name in data and samples:
            data[name]["cpu_median"] = sorted(samples)[len(samples) // 2]
    ctx.emit(Finding(stage="loadtests", subject="load-generator", check="generator-saturated", status=status,
                     message=message, severity="major" if status == "fail" else "minor", data=data))
    # Per second, the busiest Locust process: % of a core used, and wanted (used + run-queue wait).
    for metric, per_process in (("generator_cpu_percent", result.cpu), ("generator_cpu_demand_percent", result.demand)):
        columns = [s for s in per_process.values() if s]
        if columns:
            ctx.emit(Measurement(stage="loadtests", subject="load-generator", metric=metric, unit="percent",
                                 samples=[max(values) for values in zip(*columns)]))
