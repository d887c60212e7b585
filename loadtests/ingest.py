"""Turn a finished Locust run (its files in run_dir/load/) into records.

Reads raw.json (our per-second buckets, written by the master at quit) and Locust's
CSVs; never re-runs anything, so a run stopped by Ctrl-C reports what it measured.
Percentiles are exact over every request (from the merged histograms), not averages of
per-second values. Thresholds are judged from these measurements by reports/.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from pathlib import Path
from typing import Any, Callable

from loadtests import series
from loadtests.model import TrafficModel
from loadtests.runner import LocustProcesses
from loadtests.shapes import LoadPlan
from siteward.records import AnyRecord, Artifact, Finding, Measurement
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


def _measure(subject: str, tags: dict[str, str], buckets: series.Buckets, routes: set[str] | None,
             hold: list[float] | None, evidence: list[str]) -> list[Measurement]:
    hist = series.select(buckets, routes)
    requests, failures = series.counts(buckets, routes)
    if requests == 0:
        return []

    def measured(metric: str, unit: str, samples: list[float], higher: bool = False) -> Measurement:
        return Measurement(stage="loadtests", subject=subject, tags=tags, metric=metric, unit=unit,
                           samples=samples, higher_is_better=higher, evidence=evidence)

    found = [measured("response_ms", "ms", series.quantile_samples(hist, SAMPLE_LIMIT))]
    found += [measured(metric, "ms", [series.percentile(hist, share)])
              for metric, share in (("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99))]
    found.append(measured("error_ratio", "ratio", [failures / requests]))
    found.append(measured("requests", "count", [float(requests)], higher=True))
    if hold:
        found.append(measured("achieved_rps", "rps", hold, higher=True))
    return found


def group_routes(route_groups: dict[str, str], buckets: series.Buckets) -> dict[str, set[str]]:
    """Group name -> route keys; routes seen in traffic but not in the model go to "other"."""
    groups: dict[str, set[str]] = {}
    seen = {route for per_route in buckets.values() for route in per_route}
    for route in seen | set(route_groups):
        groups.setdefault(route_groups.get(route, "other"), set()).add(route)
    return groups


def achieved_rate_ratio(plan: LoadPlan, buckets: series.Buckets, start_epoch: float) -> tuple[float, float] | None:
    """(achieved requests/s, target requests/s) over the hold window; None without a rate target."""
    begin, end = plan.hold_window()
    first, last = math.ceil(begin), math.floor(end)
    if plan.target_rps is None or last <= first:
        return None
    seconds = range(first, last)
    target = [plan.target_rate_at(t + 0.5) for t in seconds]
    if any(t is None for t in target):
        return None
    base = int(start_epoch)
    # Shape time 0 is start_epoch; buckets are whole epoch seconds: shift by the fraction.
    offset = start_epoch - base
    achieved = 0.0
    for t in seconds:
        lo, hi = base + t + offset, base + t + 1 + offset
        for second in (math.floor(lo), math.floor(lo) + 1):
            overlap = max(0.0, min(hi, second + 1) - max(lo, second))
            requests = sum(row[0] for row in buckets.get(second, {}).values())
            achieved += requests * overlap
    span = len(seconds)
    return achieved / span, sum(target) / span


def load_measurements(plan: LoadPlan, raw: dict[str, Any], route_groups: dict[str, str],
                      evidence: list[str] = ()) -> list[Measurement]:
    """Per route, per route group and overall (subject "all"); pure: raw buckets in, records out."""
    base_tags = {"profile": plan.profile}
    buckets, evidence = raw["buckets"], list(evidence)
    groups = group_routes(route_groups, buckets)
    found: list[Measurement] = []
    for route in sorted(groups.get("other", set()) | set(route_groups)):
        tags = {**base_tags, "route": route, "method": route.partition(" ")[0], "group": route_groups.get(route, "other")}
        # A route's own rate is set by the generator's random route mix, not by the site:
        # comparing it between runs flags noise, so only the overall rate is a measurement.
        found += _measure(route, tags, buckets, {route}, None, evidence)
    for group, routes in sorted(groups.items()):
        found += _measure(f"group:{group}", {**base_tags, "group": group}, buckets, routes, None, evidence)
    overall = {**base_tags, "group": "all"}
    found += _measure("all", overall, buckets, None, _hold_rates(plan, raw, None), evidence)
    rate = achieved_rate_ratio(plan, buckets, raw["start_epoch"])
    if rate is not None and rate[1]:
        found.append(Measurement(stage="loadtests", subject="all", tags=overall, metric="rate_ratio", unit="ratio",
                                 samples=[round(rate[0] / rate[1], 4)], higher_is_better=True, evidence=evidence))
    return found


def recovered_records(load_dir: Path, relative: Callable[[Path], str]) -> list[AnyRecord]:
    """What a load run measured when its stage never recorded it (interrupted twice, or killed
    while ingesting): measurements from load/raw.json and a finding that says so; [] when there
    is nothing to recover. `relative` names evidence relative to the run directory."""
    try:
        spec = json.loads((load_dir / "spec.json").read_text(encoding="utf-8"))
        plan, model = LoadPlan.from_spec(spec["plan"]), TrafficModel.from_spec(spec["model"])
    except (OSError, ValueError, KeyError, TypeError):
        return []
    raw = read_raw(load_dir / "raw.json")
    if raw is None or not raw["buckets"]:
        return []
    evidence = [relative(load_dir / "raw.json")]
    found: list[AnyRecord] = list(load_measurements(plan, raw, model.route_keys(), evidence))
    requests = sum(len(m.samples) for m in found if m.subject == "all" and m.metric == "response_ms")
    found.append(Finding(stage="loadtests", subject="all", check="load-run", status="warn", tags={"profile": plan.profile},
                         message=f"recovered from load/raw.json when the report was made: the run was interrupted "
                                 f"before the load stage recorded its results ({requests} request samples)",
                         evidence=evidence))
    return found


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
    buckets = raw["buckets"]
    for measurement in load_measurements(plan, raw, model.route_keys(), evidence):
        ctx.emit(measurement)

    _emit_failures(ctx, result.out_dir / "locust_failures.csv", base_tags, evidence)
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


OFF_TARGET = "leaves the load target"  # loadtests/locustfile.py TargetOnlyRequest


def failure_rows(path: Path, limit: int = 200) -> list[tuple[str, str, int]]:
    """(request, error, occurrences) from Locust's failures CSV, most frequent first."""
    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as file:
            rows = list(itertools.islice(csv.DictReader(file), limit))
    except OSError:
        return []
    found = [(f"{r.get('Method', '')} {r.get('Name', '')}".strip(), r.get("Error", ""),
              int(r.get("Occurrences") or 0)) for r in rows]
    return sorted(found, key=lambda row: -row[2])


def _emit_failures(ctx: StageContext, path: Path, tags: dict[str, str], evidence: list[str]) -> None:
    """Why requests failed, in words: the most frequent errors, and any redirect that was not followed
    because it led off the target (a finding that fails the run: the model sends shoppers elsewhere)."""
    rows = failure_rows(path)
    if not rows:
        return
    off_target = [row for row in rows if OFF_TARGET in row[1]]
    if off_target:
        route, error, count = off_target[0]
        ctx.emit(Finding(stage="loadtests", subject=route, check="redirect-off-target", status="fail",
                         severity="critical", tags=tags, evidence=evidence,
                         message=f"{route}: {error} ({count} time(s)); the other host received nothing",
                         data={"routes": [r for r, _, _ in off_target][:10]}))
    top = "; ".join(f"{route}: {ctx.secrets.redact(error)[:200]} x{count}" for route, error, count in rows[:3])
    ctx.emit(Finding(stage="loadtests", subject="all", check="load-errors", status="warn", severity="minor",
                     tags=tags, evidence=evidence, message=f"most frequent request failures: {top}",
                     data={"failures": [{"request": r, "error": ctx.secrets.redact(e)[:300], "count": c}
                                        for r, e, c in rows[:10]]}))


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
