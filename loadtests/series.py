"""Per-second statistics from Locust request events. Pure; no Locust, no network.

Load generators bucket every request by the second it started and its route:
`buckets[second][route] = [requests, failures, {rounded_ms: count}]`, response times
rounded the way Locust rounds them (exact below 100 ms, then 2-3 significant digits),
so a histogram stays small at any request count and merges across workers by addition.
From the merged buckets come the charts' series, exact percentiles per route and group,
and response-time samples for regression analysis.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

Histogram = dict[int, int]
Bucket = list  # [requests, failures, Histogram]
Buckets = dict[int, dict[str, Bucket]]


def round_ms(response_time: float) -> int:
    """Locust's rounding: keeps histograms small, error below 1 % above 100 ms."""
    if response_time < 100:
        return int(round(response_time))
    if response_time < 1000:
        return int(round(response_time, -1))
    if response_time < 10000:
        return int(round(response_time, -2))
    return int(round(response_time, -3))


def add_request(buckets: Buckets, second: int, route: str, response_time: float, failed: bool) -> None:
    row = buckets.setdefault(second, {}).get(route)
    if row is None:
        row = buckets[second][route] = [0, 0, {}]
    row[0] += 1
    row[1] += failed
    key = round_ms(response_time)
    row[2][key] = row[2].get(key, 0) + 1


def merge_buckets(into: Buckets, other: Mapping[Any, Mapping[str, Bucket]]) -> Buckets:
    """Add `other` (e.g. a worker's report, keys possibly strings after JSON) into `into`."""
    for second, routes in other.items():
        for route, (requests, failures, hist) in routes.items():
            row = into.setdefault(int(second), {}).setdefault(route, [0, 0, {}])
            row[0] += requests
            row[1] += failures
            for ms, count in hist.items():
                row[2][int(ms)] = row[2].get(int(ms), 0) + count
    return into


def merge_histograms(histograms: Iterable[Mapping[int, int]]) -> Histogram:
    merged: Histogram = {}
    for hist in histograms:
        for ms, count in hist.items():
            merged[int(ms)] = merged.get(int(ms), 0) + count
    return merged


def percentile(hist: Mapping[int, int], share: float) -> float | None:
    """The smallest response time with at least `share` of the requests at or below it."""
    total = sum(hist.values())
    if total == 0:
        return None
    wanted = max(1, math.ceil(share * total - 1e-9))
    seen = 0
    for ms in sorted(hist):
        seen += hist[ms]
        if seen >= wanted:
            return float(ms)
    return float(max(hist))


def quantile_samples(hist: Mapping[int, int], limit: int = 2000) -> list[float]:
    """Up to `limit` response times spread evenly over the distribution (for regression tests).

    Below the limit these are the (rounded) response times themselves; above it, the
    (i + 0.5) / limit quantiles: same distribution, bounded size.
    """
    total = sum(hist.values())
    if total == 0:
        return []
    if total <= limit:
        return [float(ms) for ms in sorted(hist) for _ in range(hist[ms])]
    values = sorted(hist)
    cumulative, samples, index, seen = [], [], 0, 0
    for ms in values:
        seen += hist[ms]
        cumulative.append(seen)
    for i in range(limit):
        rank = (i + 0.5) / limit * total
        while cumulative[index] < rank:
            index += 1
        samples.append(float(values[index]))
    return samples


def select(buckets: Buckets, routes: set[str] | None = None, seconds: tuple[float, float] | None = None) -> Histogram:
    """The merged histogram of some routes (all if None) over a span of seconds."""
    hists = []
    for second, per_route in buckets.items():
        if seconds is not None and not seconds[0] <= second < seconds[1]:
            continue
        hists.extend(row[2] for route, row in per_route.items() if routes is None or route in routes)
    return merge_histograms(hists)


def counts(buckets: Buckets, routes: set[str] | None = None) -> tuple[int, int]:
    """(requests, failures) over the whole run."""
    requests = failures = 0
    for per_route in buckets.values():
        for route, row in per_route.items():
            if routes is None or route in routes:
                requests += row[0]
                failures += row[1]
    return requests, failures


def per_second(buckets: Buckets, start_epoch: float, routes: set[str] | None = None,
               end_epoch: float | None = None) -> dict[int, tuple[int, int, Histogram]]:
    """Run-time second -> (requests, failures, histogram); seconds without traffic included."""
    first = int(start_epoch)
    seconds = [first, *buckets] + ([int(end_epoch)] if end_epoch else [])
    out: dict[int, tuple[int, int, Histogram]] = {}
    for second in range(min(seconds), max(seconds) + 1):
        rows = [row for route, row in buckets.get(second, {}).items() if routes is None or route in routes]
        out[second - first] = (sum(r[0] for r in rows), sum(r[1] for r in rows),
                               merge_histograms(r[2] for r in rows))
    return out


def load_series(buckets: Buckets, start_epoch: float, users: Mapping[int, int],
                end_epoch: float | None = None) -> dict[str, list]:
    """The charts' series: {"t", "users", "rps", "p50_ms", "p95_ms", "p99_ms", "errors_per_s"}.

    One entry per run-time second; percentiles are null in a second without requests.
    `users` maps run-time seconds to the user count sampled then (missing -> last known).
    """
    series: dict[str, list] = {k: [] for k in ("t", "users", "rps", "p50_ms", "p95_ms", "p99_ms", "errors_per_s")}
    last_users = 0
    for t, (requests, failures, hist) in sorted(per_second(buckets, start_epoch, None, end_epoch).items()):
        last_users = int(users.get(t, last_users))
        series["t"].append(t)
        series["users"].append(last_users)
        series["rps"].append(requests)
        for key, share in (("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99)):
            series[key].append(percentile(hist, share))
        series["errors_per_s"].append(failures)
    return series


def abort_reason(snapshots: list[tuple[float, int, int]], ratio: float, window_s: float,
                 min_requests: int = 20) -> str | None:
    """Why to stop early, if the error ratio stayed above `ratio` for the trailing window.

    `snapshots` are (time, cumulative requests, cumulative failures), oldest first.
    """
    if len(snapshots) < 2 or snapshots[-1][0] - snapshots[0][0] < window_s:
        return None
    now, requests, failures = snapshots[-1]
    base = next(s for s in reversed(snapshots) if now - s[0] >= window_s)
    window_requests, window_failures = requests - base[1], failures - base[2]
    if window_requests < min_requests:
        return None
    observed = window_failures / window_requests
    if observed <= ratio:
        return None
    return (f"error ratio {observed:.1%} over the last {now - base[0]:.0f} s "
            f"({window_failures} of {window_requests} requests) is above abort_error_ratio {ratio:.1%}")


def saturation_verdict(cpu: Mapping[str, list[float]], busy_percent: float = 90.0,
                       warn_percent: float = 75.0, busy_share: float = 0.2) -> tuple[str, str, dict[str, Any]]:
    """Was a load generator process CPU-bound? (status, message, data).

    `cpu` holds per-second samples per process, in % of one core (used, or better wanted:
    used + waiting to run, which also catches a generator starved by a busy machine).
    fail: some process spent >= busy_share of its samples at >= busy_percent of a core;
    warn: its median was >= warn_percent; a saturated generator under-reports the rate and
    over-reports response times, so its results are not to be trusted.
    """
    worst_name, worst_busy, worst_median, data = "", 0.0, 0.0, {}
    for name, samples in cpu.items():
        if not samples:
            continue
        ordered = sorted(samples)
        busy = sum(s >= busy_percent for s in samples) / len(samples)
        median = ordered[len(ordered) // 2]
        data[name] = {"median": median, "max": ordered[-1], "busy_share": round(busy, 3), "samples": len(samples)}
        if (busy, median) > (worst_busy, worst_median):
            worst_name, worst_busy, worst_median = name, busy, median
    if not data:
        return "skip", "no CPU samples of the load generator", data
    if worst_busy >= busy_share:
        return ("fail", f"load generator {worst_name} was CPU-bound ({worst_busy:.0%} of the time at >= "
                f"{busy_percent:g}% of a core): its figures are not trusted; add workers or machines", data)
    if worst_median >= warn_percent:
        return ("warn", f"load generator {worst_name} ran at a median {worst_median:.0f}% of a core: "
                "close to saturation", data)
    peak = max(d["max"] for d in data.values())
    return "pass", f"load generators had CPU to spare (busiest median {worst_median:.0f}%, peak {peak:.0f}% of a core)", data
