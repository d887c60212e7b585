"""Requests/s of siteward's load stage at saturation, next to plain Locust (FastHttpUser).

Against a static page on loopback (nginx if installed, else a minimal asyncio server; see
loadtests/calibrate.py), four runs of the same length and user count:

    plain Locust, 1 process      locust -f <FastHttpUser GET /> --headless
    siteward,     1 process      the load stage, steady profile, no think time, --workers 1
    plain Locust, all cores      ... --processes -1 (master + one worker per core)
    siteward,     all cores      the load stage, --workers <cores> (master + workers)

Targets: siteward 1 process >= 0.95x plain Locust 1 process; siteward all cores >= 1.6x
siteward 1 process (on a 2-core machine).

--decompose adds two plain-Locust runs per round that locate the all-cores gap to plain
Locust `--processes`: the same plain locustfile run the way siteward runs Locust (a master
plus separately started workers), and that layout driven by a LoadTestShape of constant
users, as siteward's plan drives Locust. Prints the figures and the ratios; each ratio is the
median of per-round ratios of two neighbouring runs, because this kind of shared virtual machine
drifts up to 2x in speed over minutes (identical runs minutes apart are no fair comparison).

    .venv/bin/python benchmarks/bench_load.py [--duration 12] [--users 32] [--rounds 6]
"""

from __future__ import annotations

import argparse
import csv
import resource
import statistics
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import psutil
from rich.console import Console

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loadtests.calibrate import static_target  # noqa: E402
from loadtests.runner import free_port  # noqa: E402
from loadtests import stage as load_stage  # noqa: E402
from siteward.config import builtin_config_text, parse_config  # noqa: E402
from siteward.records import Finding  # noqa: E402
from siteward.secrets import Secrets  # noqa: E402
from siteward.stage import StageContext  # noqa: E402
from siteward.store import Store  # noqa: E402

PLAIN_LOCUSTFILE = """\
from locust import FastHttpUser, constant, task


class StaticPage(FastHttpUser):
    wait_time = constant(0)

    @task
    def page(self):
        self.client.get("/", name="/")
"""


@dataclass
class Figures:
    rps: float  # requests / run length
    requests: int
    cpu_s: float  # CPU seconds of every Locust process of the run (start-up included)

    @property
    def per_cpu_s(self) -> float:
        """Requests per CPU-second: the generator's efficiency, robust to a busy machine."""
        return self.requests / self.cpu_s if self.cpu_s else 0.0


def request_count(stats_csv: Path) -> int:
    # Not Locust's "Requests/s" column: it divides by a span that differs between a
    # --run-time run and a shape run, so it is not comparable.
    with open(stats_csv, newline="") as handle:
        return int(next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")["Request Count"])


def children_cpu_s() -> float:
    """CPU time of every finished (reaped) child process of this benchmark, and theirs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def plain_locust(url: str, processes: int, users: int, duration: int, work: Path) -> Figures:
    locustfile = work / "plain_locustfile.py"
    locustfile.write_text(PLAIN_LOCUSTFILE)
    prefix = work / f"plain-{processes}"
    cmd = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", str(users), "-r", str(users),
           "-t", f"{duration}s", "--host", url, "--only-summary", "--csv", str(prefix), "--exit-code-on-error", "0"]
    if processes > 1:
        cmd += ["--processes", str(processes)]
    cpu_before = children_cpu_s()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=duration + 120)
    requests = request_count(Path(f"{prefix}_stats.csv"))
    return Figures(requests / duration, requests, children_cpu_s() - cpu_before)


SHAPE = """
from locust import LoadTestShape


class ConstantUsers(LoadTestShape):
    def tick(self):
        return None if self.get_run_time() >= {duration} else ({users}, {users})
"""


def plain_spawned(url: str, workers: int, users: int, duration: int, work: Path, *, shaped: bool) -> Figures:
    """Plain Locust as siteward runs it: a master and `workers` separately started workers."""
    locustfile = work / f"plain_{'shaped' if shaped else 'spawned'}.py"
    locustfile.write_text(PLAIN_LOCUSTFILE + (SHAPE.format(duration=duration, users=users) if shaped else ""))
    prefix = work / f"plain-{locustfile.stem}"
    port = free_port()
    base = [sys.executable, "-m", "locust", "-f", str(locustfile)]
    master_cmd = [*base, "--headless", "--host", url, "--only-summary", "--csv", str(prefix), "--exit-code-on-error",
                  "0", "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
                  "--expect-workers", str(workers)]
    if not shaped:
        master_cmd += ["-u", str(users), "-r", str(users), "-t", f"{duration}s"]
    cpu_before = children_cpu_s()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    master = subprocess.Popen(master_cmd, **quiet)
    workers_procs = [subprocess.Popen([*base, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)],
                                      **quiet) for _ in range(workers)]
    try:
        master.wait(timeout=duration + 120)
        for proc in workers_procs:
            proc.wait(timeout=30)
    finally:
        for proc in (master, *workers_procs):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    requests = request_count(Path(f"{prefix}_stats.csv"))
    return Figures(requests / duration, requests, children_cpu_s() - cpu_before)


def siteward_stage(url: str, workers: int, users: int, duration: int, work: Path) -> tuple[Figures, str]:
    data = tomllib.loads(builtin_config_text())
    data["target"]["base_url"] = url
    data["results"] = {"root": str(work / "results")}
    data["load"] = {"profile": "steady", "peak_users": users, "multiplier": 1, "duration_s": duration,
                    "think_time_s": [0, 0], "routes": [{"name": "/", "path": "/"}],
                    "thresholds": {"p95_ms": {}}}
    config = parse_config(data, "<bench config>")
    store = Store.for_config(config)
    run_dir = (work / "results" / f"siteward-{workers}").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    run_id = store.create_run(target=url, fingerprint="bench", config={}, stages=["loadtests"], run_dir=run_dir)
    ctx = StageContext(config=config, run_id=run_id, run_dir=run_dir, store=store, secrets=Secrets({}),
                       console=Console(stderr=True, quiet=True), quiet=True)
    cpu_before = children_cpu_s()
    load_stage.run(ctx, load_stage.plan(config, load_stage.Options(workers=workers)))
    cpu_s = children_cpu_s() - cpu_before
    saturation = next((r.status for r in store.records(run_id)
                       if isinstance(r, Finding) and r.check == "generator-saturated"), "?")
    store.close()
    requests = request_count(run_dir / "load" / "locust_stats.csv")
    return Figures(requests / duration, requests, cpu_s), saturation


def hot_path_us() -> dict[str, float]:
    """CPU our code adds per request inside a Locust process (µs): the traffic model's pick
    and the per-second statistics. Deterministic where wall-clock runs on a shared machine are not."""
    import random
    import timeit

    from loadtests import series
    from loadtests.config import RouteConfig
    from loadtests.model import TrafficModel, shop_routes

    rng, pending, buckets = random.Random(1), [], {}
    static = TrafficModel.from_routes([RouteConfig(name="/", path="/")], {})
    shop = TrafficModel.from_routes(shop_routes(), {"slug": ["a-b"], "product_id": ["1"], "category": ["c"],
                                                     "q": ["shirt"]})
    cases = {
        "next_request, one static route": lambda: static.next_request(pending, rng, {}),
        "next_request, demo shop model": lambda: shop.next_request(pending, rng, {}),
        "per-second statistics (request event)": lambda: series.add_request(buckets, 1, "GET /", 12.3, False),
    }
    return {name: min(timeit.repeat(fn, number=20000, repeat=3)) / 20000 * 1e6 for name, fn in cases.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=12, help="seconds per run")
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=6,
                        help="repeat the four runs (order flipped each round: a shared machine drifts)")
    parser.add_argument("--no-nginx", action="store_true", help="use the asyncio server even if nginx exists")
    parser.add_argument("--decompose", action="store_true",
                        help="also run plain Locust in siteward's process layout, with and without a shape")
    args = parser.parse_args()
    cores = psutil.cpu_count(logical=True) or 1
    runs: dict[str, list[Figures]] = {k: [] for k in ("plain-1", "ours-1", "plain-all", "ours-all",
                                                      *(("spawned-all", "shaped-all") if args.decompose else ()))}
    saturation: dict[str, list[str]] = {"ours-1": [], "ours-all": []}
    with static_target(prefer_nginx=not args.no_nginx) as (url, server), tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(f"target: {server} at {url}; {cores} cores; {args.users} users; {args.duration} s per run; "
              f"load average {', '.join(f'{x:.1f}' for x in psutil.getloadavg())}")
        for round_no in range(args.rounds):
            def plain(processes: int, tag: str) -> None:
                runs[f"plain-{tag}"].append(plain_locust(url, processes, args.users, args.duration, work))

            def ours(processes: int, tag: str) -> None:
                figures, sat = siteward_stage(url, processes, args.users, args.duration, work / f"r{round_no}-{tag}")
                runs[f"ours-{tag}"].append(figures)
                saturation[f"ours-{tag}"].append(sat)

            def spawned(processes: int, tag: str) -> None:
                runs[f"{tag}-all"].append(plain_spawned(url, processes, args.users, args.duration, work,
                                                        shaped=tag == "shaped"))

            # Each goal's two runs are neighbours in time; the order flips every round.
            order = [(plain, 1, "1"), (ours, 1, "1"), (ours, cores, "all"), (plain, cores, "all")]
            if args.decompose:
                order += [(spawned, cores, "spawned"), (spawned, cores, "shaped")]
            for run, processes, tag in (order if round_no % 2 == 0 else order[::-1]):
                run(processes, tag)
    rps = {k: statistics.median(f.rps for f in v) for k, v in runs.items()}
    eff = {k: statistics.median(f.per_cpu_s for f in v) for k, v in runs.items()}
    labels = {"plain-1": "plain Locust, 1 process", "ours-1": "siteward load stage, 1 process",
              "plain-all": f"plain Locust, --processes {cores}", "ours-all": f"siteward load stage, {cores} workers",
              "spawned-all": f"plain Locust, master + {cores} workers", "shaped-all": "  ... driven by a shape"}
    print(f"\n{'run':<36}{'req/s':>8}{'req/CPU-s':>11}   req/s of each round")
    for key, label in labels.items():
        if key not in runs:
            continue
        print(f"{label:<36}{rps[key]:>8.0f}{eff[key]:>11.0f}   {', '.join(f'{f.rps:.0f}' for f in runs[key])}")
    print(f"generator-saturated finding: 1 process {saturation['ours-1']}, all cores {saturation['ours-all']}")
    print(f"load average after: {', '.join(f'{x:.1f}' for x in psutil.getloadavg())} "
          "(above the core count, other work competes and wall-clock figures drift)")

    def paired(top: str, bottom: str, measure: str = "rps") -> list[float]:
        # Ratios within a round: the four runs of a round are adjacent in time, while this
        # (virtual) machine's speed drifts up to 2x over minutes; the median of the per-round
        # ratios is robust to that drift, a ratio of medians is not.
        return [getattr(a, measure) / getattr(b, measure) for a, b in zip(runs[top], runs[bottom])
                if getattr(b, measure)]

    rows = [
        ("siteward / plain Locust, 1 process, req/s", paired("ours-1", "plain-1"), 0.95),
        ("siteward / plain Locust, 1 process, req/CPU-s", paired("ours-1", "plain-1", "per_cpu_s"), 0.95),
        ("siteward all cores / 1 process, req/s", paired("ours-all", "ours-1"), 1.6),
        ("plain Locust all cores / 1 process, req/s", paired("plain-all", "plain-1"), None),
        ("siteward / plain Locust, all cores, req/s", paired("ours-all", "plain-all"), None),
    ]
    if args.decompose:  # where the all-cores gap comes from, step by step from plain --processes
        rows += [("  plain, master + workers / --processes", paired("spawned-all", "plain-all"), None),
                 ("  ... driven by a shape / --processes", paired("shaped-all", "plain-all"), None),
                 ("  siteward / plain driven by a shape", paired("ours-all", "shaped-all"), None)]
    print()
    per_request_us = 1e6 / eff["plain-1"] if eff["plain-1"] else 0.0
    print(f"CPU per request of plain Locust here: {per_request_us:.0f} µs; what siteward adds (best of 3):")
    for name, micros in hot_path_us().items():
        print(f"  {name:<40}{micros:>6.1f} µs  ({micros / per_request_us:.1%} of a request)" if per_request_us
              else f"  {name:<40}{micros:>6.1f} µs")
    print(f"\n{'ratio (median of the per-round ratios)':<48}{'':>7}   goal{'':<22}each round")
    for label, ratios, target in rows:
        ratio = statistics.median(ratios) if ratios else 0.0
        goal = (f">= {target:g}x  {'OK' if ratio >= target else 'BELOW TARGET'}" if target else "(reference)")
        print(f"{label:<48}{ratio:>6.2f}x   {goal:<26}{', '.join(f'{r:.2f}' for r in ratios)}")


if __name__ == "__main__":
    main()
