"""Does the regression gate catch +30 % and stay quiet when nothing changed? On the demo shop.

    flock /tmp/siteward-heavy.lock .venv/bin/python benchmarks/bench_regressions.py
        [--families paint,load,lighthouse,live] [--clean 7] [--trials 4] [--lighthouse-trials 2]
        [--live-trials 2] [--live-rounds 12]

Per family, `siteward run` (narrowed to one stage) first builds a clean history on branch
"main" (`--clean` runs: the pooled baseline). Then it alternates, as CI does:
- a faulty run on its own branch (a pull request: never a baseline), with +30 % injected on
  one metric: a page's first paint through `slow-paint` (paint: Chromium desktop, four pages
  so that each has peers whose common change is the machine's drift, reports/drift.py; one
  load at a time), a route's response time through `latency` on top of a
  steady 100 ms (load: Locust, open model), Lighthouse's FCP through `slow-paint`
  (lighthouse: desktop, 5 runs). The delay is 30 % of the metric's median in the clean
  history, scaled by what probe runs with it achieved next to clean runs (3 pairs for first
  paint, 1 for Lighthouse): a first paint overlaps part of the delay, Lighthouse simulates;
- an A/A run with nothing changed, on main: when it passes it joins the baseline (the last
  10 runs), as main's runs do in CI, so the baseline follows the machine's slow drift.
A trial detects when the target metric is a (confirmed) regression; an A/A run is a false
alarm when any metric at all is a regression.

`live` is the paint case through `siteward compare --live`: two demo shops side by side, A
clean and B with the first-paint delay (A/A: both clean), measured alternately until
decided or `--live-rounds`; the delay is calibrated on B first, as above.

It prints per family the detection rate, the share of A/A runs with a false alarm (each
with a 95 % Wilson interval), the change the injection actually made, the samples per run
and the wall time per run (95 % t interval), and ends with `detection: X/Y  false-alarm
runs: A/B`. Not run in CI: paint, load and Lighthouse took 70 minutes with the defaults here;
`live` takes over 8 minutes per comparison (4 pages x 10 loads per round).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from siteward.shop import start_shop  # noqa: E402
from siteward.store import Store  # noqa: E402

RELAXED = '[budgets.global]\nresponse_ms = 60000\ncls = 10\n[budgets.mobile]\nfcp_ms = 60000\n'


@dataclass(frozen=True)
class Family:
    name: str
    config: str  # siteward.toml without [target] and [results]
    target: tuple[str, str, str]  # (stage, subject, metric) that gets +30 %
    steady: tuple[str, ...]  # the shop's normal faults
    inject: str  # fault template; {ms} is the delay that makes +30 %
    base_ms: float = 0.0  # a steady part of the metric that the injected fault replaces (load: 100 ms)
    probes: int = 0  # runs that measure what the delay does to the metric first (0: it adds one to one)


FAMILIES = {
    "paint": Family(
        "paint", 'stages = ["browsers"]\n[[pages]]\nname = "home"\npath = "/"\n[[pages]]\nname = "category"\n'
                 'path = "/category/shoes"\n[[pages]]\nname = "product"\npath = "/product/canvas-sneaker"\n'
                 '[[pages]]\nname = "cart"\npath = "/cart"\n[browsers]\nengines = ["chromium"]\n'
                 'devices = ["desktop"]\nconcurrency = 1\nsamples = 10\nsettle_ms = 100\n',
        ("browsers", "product|chromium|desktop", "fcp_ms"), (), "slow-paint=/product:{ms}", probes=3),
    "load": Family(
        "load", 'stages = ["loadtests"]\n[[pages]]\nname = "home"\npath = "/"\n[load]\nprofile = "open"\n'
                'peak_rps = 3\nmultiplier = 5\nduration_s = 20\nworkers = 1\n',
        ("loadtests", "GET /product/{slug}", "response_ms"), ("latency=/product:100",), "latency=/product:{ms}",
        base_ms=100.0),
    "lighthouse": Family(
        "lighthouse", 'stages = ["audits"]\n[[pages]]\nname = "home"\npath = "/"\n[audits]\npresets = ["desktop"]\n'
                      'runs = 5\npage_audits = false\n',
        ("audits", "home|lighthouse|desktop", "fcp_ms"), (), "slow-paint=/:{ms}", probes=1),
}


@dataclass
class Outcome:
    detected: list[bool] = field(default_factory=list)
    false_alarms: list[bool] = field(default_factory=list)
    changes: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    samples: list[int] = field(default_factory=list)
    delay_ms: int = 0
    false_in_faulty: int = 0


def calibrated(family: Family, shop, config: Path, results: Path, median: float, delay: int, probes: int) -> int:
    """Probe runs with `delay`, each beside a clean one (the machine drifts between minutes):
    scale the delay by what it achieved on the target metric (1/3x to 5x)."""
    probed, clean = [], []
    for _ in range(probes):
        shop.set_faults([*family.steady, family.inject.format(ms=delay)])
        probed.append(target_median(run_once(config, results, "calibration")[0], family.target))
        shop.set_faults(list(family.steady))
        clean.append(target_median(run_once(config, results, "calibration")[0], family.target))
    pairs = [(p, c) for p, c in zip(probed, clean) if p and c]
    if not pairs:
        return delay
    achieved = float(np.median([p / c for p, c in pairs])) - 1  # relative change the delay made
    if achieved <= 0:
        return 5 * delay
    return round(min(max(delay * 0.30 / achieved, delay / 3), 5 * delay))


def run_once(config: Path, results: Path, branch: str) -> tuple[dict, float]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "siteward.cli", "run", "-c", str(config), "-q", "--branch", branch],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - started
    latest = Store(results / "history.sqlite").runs(limit=1)[0]
    path = latest.run_dir / "summary.json"
    if not path.is_file():
        raise RuntimeError(f"no summary for {latest.id}: {done.stderr[-2000:]}")
    return json.loads(path.read_text()), elapsed


def samples_of(summary: dict) -> int:
    return sum(m["n"] for stage in summary["stages"].values() for m in stage["measurements"])


def clean_median(results: Path, key: tuple[str, str, str]) -> float:
    store = Store(results / "history.sqlite")
    values = [m.value for run in store.runs(verdict="pass") for m in store.records(run.id, kind="measurement")
              if (m.stage, m.subject, m.metric) == key]
    if not values:
        raise RuntimeError(f"the clean runs never measured {key}")
    return float(np.median(values))


def bench_family(family: Family, clean: int, trials: int, root: Path) -> Outcome:
    results = root / family.name
    config = root / f"{family.name}.toml"
    config.write_text(f'{family.config}{RELAXED}[results]\nroot = "{results}"\n[target]\nname = "bench-{family.name}"\n'
                      'base_url = "http://127.0.0.1:9"\n')
    outcome = Outcome()
    with start_shop(faults=list(family.steady)) as shop:
        text = config.read_text().replace("http://127.0.0.1:9", shop.url)
        config.write_text(text)
        for _ in range(clean):
            summary, seconds = run_once(config, results, "main")
            outcome.seconds.append(seconds)
            outcome.samples.append(samples_of(summary))
        median = clean_median(results, family.target)
        outcome.delay_ms = max(1, round(0.30 * median))
        if family.probes:
            outcome.delay_ms = calibrated(family, shop, config, results, median, outcome.delay_ms, family.probes)
        fault = family.inject.format(ms=round(family.base_ms + outcome.delay_ms))
        print(f"  {family.name}: clean median {median:.1f} -> fault {fault}", flush=True)
        for trial in range(trials):
            shop.set_faults([*(f for f in family.steady if f.split("=")[0] != fault.split("=")[0]), fault])
            faulty, seconds = run_once(config, results, f"trial-{trial}")
            outcome.seconds.append(seconds)
            outcome.samples.append(samples_of(faulty))
            keys = {(r["stage"], r["subject"], r["metric"]): r for r in faulty["regressions"]}
            outcome.detected.append(family.target in keys)
            outcome.false_in_faulty += len(set(keys) - {family.target})
            achieved = target_median(faulty, family.target)
            if achieved is not None:
                outcome.changes.append(achieved / median - 1)
            shop.set_faults(list(family.steady))
            quiet, seconds = run_once(config, results, "main")
            outcome.seconds.append(seconds)
            outcome.samples.append(samples_of(quiet))
            outcome.false_alarms.append(bool(quiet["regressions"]))
            flagged = ", ".join(sorted(f"{r['metric']} {r['subject']} q={r['q_value']:.2g}" for r in faulty["regressions"]))
            print(f"  {family.name} trial {trial + 1}: detected={outcome.detected[-1]} ({flagged or 'nothing flagged'}); "
                  f"A/A false alarm={outcome.false_alarms[-1]} ({', '.join(sorted(r['metric'] + ' ' + r['subject'] for r in quiet['regressions'])) or 'none'})",
                  flush=True)
    return outcome


def run_live(config: Path, results: Path, a_url: str, b_url: str, rounds: int) -> tuple[dict, float, int]:
    """One `siteward compare --live`: B's summary, the wall time, and how many rounds it took."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "siteward.cli", "compare", "--live", "-c", str(config), "-q",
                           "--baseline-url", a_url, "--target", b_url, "--max-rounds", str(rounds), "--branch", "live"],
                          cwd=ROOT, capture_output=True, text=True, timeout=3600)
    elapsed = time.perf_counter() - started
    store = Store(results / "history.sqlite")
    latest = store.runs(limit=1)[0]
    path = latest.run_dir / "summary.json"
    if not path.is_file():
        raise RuntimeError(f"no summary for {latest.id}: {done.stderr[-2000:]}")
    used = len({m.tags.get("round") for m in store.records(latest.id, kind="measurement")})
    return json.loads(path.read_text()), elapsed, used


def live_change(results: Path, summary: dict, key: tuple[str, str, str]) -> float:
    """B's median of the target over A's, from the two runs of one live comparison."""
    store = Store(results / "history.sqlite")
    medians = []
    for run_id in (summary["baseline_run_id"], summary["run_id"]):
        values = [v for m in store.records(run_id, kind="measurement") if (m.stage, m.subject, m.metric) == key
                  for v in m.samples]
        medians.append(float(np.median(values)))
    return medians[1] / medians[0] - 1


def bench_live(trials: int, rounds: int, root: Path) -> Outcome:
    """The paint family through `compare --live`: two shops, B with the delay (A/A: none)."""
    family = FAMILIES["paint"]
    results = root / "live"
    config = root / "live.toml"
    outcome = Outcome()
    with start_shop() as a, start_shop() as b:
        config.write_text(f'{family.config}{RELAXED}[results]\nroot = "{results}"\n[target]\nname = "bench-live"\n'
                          f'base_url = "{b.url}"\n')
        calibration = [run_once(config, results, "calibration")[0] for _ in range(3)]
        median = float(np.median([m for m in (target_median(s, family.target) for s in calibration) if m]))
        outcome.delay_ms = calibrated(family, b, config, results, median, max(1, round(0.30 * median)), 3)
        for trial in range(trials):
            b.set_faults([family.inject.format(ms=outcome.delay_ms)])
            faulty, seconds, used = run_live(config, results, a.url, b.url, rounds)
            outcome.changes.append(live_change(results, faulty, family.target))
            outcome.seconds.append(seconds)
            outcome.samples.append(2 * samples_of(faulty))
            keys = {(r["stage"], r["subject"], r["metric"]) for r in faulty["regressions"]}
            outcome.detected.append(family.target in keys)
            outcome.false_in_faulty += len(keys - {family.target})
            b.set_faults([])
            quiet, seconds, used_aa = run_live(config, results, a.url, b.url, rounds)
            outcome.seconds.append(seconds)
            outcome.samples.append(2 * samples_of(quiet))
            outcome.false_alarms.append(bool(quiet["regressions"]))
            print(f"  live trial {trial + 1}: detected={outcome.detected[-1]} in {used} rounds; "
                  f"A/A false alarm={outcome.false_alarms[-1]} in {used_aa} rounds", flush=True)
    return outcome


def target_median(summary: dict, key: tuple[str, str, str]) -> float | None:
    """The run's median of the target metric (what the injection achieved, against the clean median)."""
    for m in summary["stages"].get(key[0], {}).get("measurements", []):
        if (m["subject"], m["metric"]) == key[1:]:
            return float(m["median"])
    return None


def wilson(hits: int, n: int) -> str:
    if not n:
        return "-"
    z = 1.959964
    centre = (hits + z * z / 2) / (n + z * z)
    half = z * np.sqrt(hits * (n - hits) / n + z * z / 4) / (n + z * z)
    return f"{100 * max(0.0, centre - half):.0f}-{100 * min(1.0, centre + half):.0f} %"


def mean_ci(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.0f}" if values else "-"
    mean, sem = float(np.mean(values)), float(stats.sem(values))
    half = float(stats.t.ppf(0.975, len(values) - 1)) * sem
    return f"{mean:.0f} ± {half:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default="paint,load,lighthouse,live")
    parser.add_argument("--clean", type=int, default=7, help="clean runs on main: the pooled baseline")
    parser.add_argument("--trials", type=int, default=4, help="faulty + A/A pairs per family")
    parser.add_argument("--lighthouse-trials", type=int, default=2)
    parser.add_argument("--live-trials", type=int, default=2, help="faulty + A/A pairs of compare --live")
    parser.add_argument("--live-rounds", type=int, default=12, help="the round cap of compare --live")
    args = parser.parse_args()
    print("command: " + " ".join(["flock /tmp/siteward-heavy.lock .venv/bin/python benchmarks/bench_regressions.py",
                                   *sys.argv[1:]]), flush=True)
    total = {"detected": 0, "trials": 0, "false": 0, "aa": 0}
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-regressions-") as tmp:
        for name in args.families.split(","):
            if name == "live":
                family, outcome = FAMILIES["paint"], bench_live(args.live_trials, args.live_rounds, Path(tmp))
                family = Family("live", family.config, family.target, (), family.inject)
            else:
                family = FAMILIES[name]
                trials = args.lighthouse_trials if name == "lighthouse" else args.trials
                outcome = bench_family(family, args.clean, trials, Path(tmp))
            rows.append((family, outcome))
            total["detected"] += sum(outcome.detected)
            total["trials"] += len(outcome.detected)
            total["false"] += sum(outcome.false_alarms)
            total["aa"] += len(outcome.false_alarms)
    print(f"\n{'family':<11} {'+30 % =':>8} {'achieved':>8} {'detection':>10} {'95 % CI':>10} {'A/A false':>10} {'95 % CI':>10} "
          f"{'samples/run':>11} {'s/run (95 % CI)':>16}")
    for family, o in rows:
        achieved = f"{100 * np.median(o.changes):+.0f} %" if o.changes else "-"
        print(f"{family.name:<11} {o.delay_ms:>5} ms {achieved:>8} {sum(o.detected):>5}/{len(o.detected):<4} {wilson(sum(o.detected), len(o.detected)):>10} "
              f"{sum(o.false_alarms):>5}/{len(o.false_alarms):<4} {wilson(sum(o.false_alarms), len(o.false_alarms)):>10} "
              f"{np.mean(o.samples):>11.0f} {mean_ci(o.seconds):>16}")
        if o.false_in_faulty:
            print(f"  ({o.false_in_faulty} other metric(s) flagged in {family.name}'s faulty runs)")
    print(f"wall time {time.perf_counter() - started:.0f} s")
    print(f"detection: {total['detected']}/{total['trials']}  false-alarm runs: {total['false']}/{total['aa']}")


if __name__ == "__main__":
    main()
