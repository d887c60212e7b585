"""How much do unchanged runs of the demo shop drift, next to the spread inside one run?

    flock /tmp/siteward-heavy.lock .venv/bin/python benchmarks/bench_spread.py [--runs 8]
        [--families browsers,load,lighthouse] [--out spread.json]

The regression test in reports/stats.py was chosen from these figures. For each family it
runs `siteward run` on the demo shop several times with nothing changed and prints, per metric:

- within: the spread of single samples inside one run (SD of log values, ~ the CV);
- predicted: the SD of a run's median that the within-run spread alone explains
  (bootstrap of each run's samples at that run's real sample count);
- observed: the SD of the run medians across runs (log);
- drift: observed / predicted. 1 means runs differ only by sampling noise (pooling every
  sample and testing them, Mann-Whitney, is sound); well above 1 means whole runs shift
  together (the unit of evidence is the run, so test the run medians).

Browser timings have one page load per page per run, so each page is listed five times
under different names ("home.1" ... "home.5", same path): that gives five samples a run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from siteward.shop import start_shop  # noqa: E402
from siteward.store import Store  # noqa: E402

COPIES = 5
BROWSER_PATHS = {"home": "/", "product": "/product/canvas-sneaker"}
BROWSER_METRICS = ("ttfb_ms", "fp_ms", "fcp_ms", "lcp_ms", "dcl_ms", "load_ms")
LIGHTHOUSE_METRICS = ("fcp_ms", "lcp_ms", "speed_index_ms", "tbt_ms", "server_response_ms", "performance_score")
LOAD_ROUTES = ("GET /", "GET /product/{slug}", "GET /category/{slug}", "GET /search", "GET /api/products")


def config_text(family: str, url: str, results: Path) -> str:
    head = f'[target]\nname = "spread-{family}"\nbase_url = "{url}"\n[results]\nroot = "{results}"\n'
    head += '[budgets.global]\nresponse_ms = 60000\n[budgets.mobile]\nfcp_ms = 60000\n'
    if family == "browsers":
        pages = "".join(f'[[pages]]\nname = "{name}.{i}"\npath = "{path}"\n'
                        for i in range(1, COPIES + 1) for name, path in BROWSER_PATHS.items())
        return 'stages = ["browsers"]\n' + head + pages + \
            '[browsers]\nengines = ["chromium"]\ndevices = ["desktop"]\n[visual]\nmax_diff_ratio = 1.0\n'
    if family == "lighthouse":
        return 'stages = ["audits"]\n' + head + '[[pages]]\nname = "home"\npath = "/"\n' + \
            '[audits]\npresets = ["desktop"]\nruns = 5\npage_audits = false\n'
    return 'stages = ["loadtests"]\n' + head + '[[pages]]\nname = "home"\npath = "/"\n' + \
        '[load]\nprofile = "open"\npeak_rps = 3\nmultiplier = 5\nduration_s = 20\nworkers = 1\n'


def run_family(family: str, runs: int, url: str, root: Path) -> tuple[list[dict], float]:
    """One dict per run: (subject key, metric) -> samples (and load request counts)."""
    results = root / family
    config = root / f"{family}.toml"
    config.write_text(config_text(family, url, results))
    started = time.perf_counter()
    for _ in range(runs):
        subprocess.run([sys.executable, "-m", "siteward.cli", "run", "-c", str(config), "-q"],
                       cwd=ROOT, capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - started
    store = Store(results / "history.sqlite")
    per_run = []
    for info in reversed(store.runs()):
        samples: dict[str, list[float]] = defaultdict(list)
        counts: dict[str, float] = {}
        for m in store.records(info.id, kind="measurement"):
            if family == "browsers":
                page = m.tags.get("page", "").split(".")[0]
                samples[f"{page} {m.metric}"] += m.samples
            elif family == "lighthouse":
                samples[f"{m.tags.get('page')} {m.metric}"] += m.samples
            elif m.subject in LOAD_ROUTES and m.metric == "response_ms":
                samples[f"{m.subject} response_ms"] += m.samples
            elif m.subject in LOAD_ROUTES and m.metric == "requests":
                counts[f"{m.subject} response_ms"] = m.samples[0]
        per_run.append({"samples": dict(samples), "counts": counts})
    return per_run, elapsed / max(runs, 1)


def spread_figures(runs: list[list[float]], counts: list[float | None], seed: int = 0) -> dict[str, float]:
    """within, predicted, observed log-SDs and drift = observed / predicted (see the docstring)."""
    rng = np.random.default_rng(seed)
    logs = [np.log(np.asarray(r, dtype=float)[np.asarray(r) > 0]) for r in runs]
    logs = [r for r in logs if len(r)]
    within = float(np.sqrt(np.mean([np.var(r, ddof=1) for r in logs if len(r) > 1])))
    predicted = []
    for values, n in zip(logs, counts):
        draws = int(n or len(values))
        medians = [np.median(rng.choice(values, size=draws)) for _ in range(300)]
        predicted.append(np.std(medians, ddof=1))
    predicted_sd = float(np.sqrt(np.mean(np.square(predicted))))
    observed = float(np.std([np.median(r) for r in logs], ddof=1))
    return {"within": within, "predicted": predicted_sd, "observed": observed,
            "drift": observed / predicted_sd if predicted_sd > 0 else float("inf"),
            "runs": len(logs), "per_run": float(np.mean([len(r) for r in logs]))}


def report(family: str, per_run: list[dict]) -> list[dict]:
    keys = sorted({k for run in per_run for k in run["samples"]})
    rows = []
    for key in keys:
        runs = [run["samples"][key] for run in per_run if key in run["samples"]]
        counts = [run["counts"].get(key) for run in per_run if key in run["samples"]]
        if len(runs) < 3 or any(v <= 0 for r in runs for v in r):
            continue
        if all(len(r) == 1 for r in runs) or np.ptp(np.concatenate(runs)) == 0:
            continue  # one sample per run, or constant (scores, byte counts): nothing to learn
        rows.append({"family": family, "metric": key, **spread_figures(runs, counts)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--families", default="browsers,load,lighthouse")
    parser.add_argument("--out", type=Path, default=None, help="also write the raw samples as JSON")
    args = parser.parse_args()
    rows, raw = [], {}
    with tempfile.TemporaryDirectory(prefix="bench-spread-") as tmp, start_shop() as shop:
        for family in args.families.split(","):
            per_run, per_run_s = run_family(family, args.runs, shop.url, Path(tmp))
            raw[family] = per_run
            if args.out:
                args.out.write_text(json.dumps(raw))
            found = report(family, per_run)
            rows += found
            print(f"{family}: {len(per_run)} runs, {per_run_s:.0f} s per run", flush=True)
    print(f"\n{'family':<11} {'metric':<34} {'runs':>4} {'n/run':>6} {'within':>7} {'predicted':>9} "
          f"{'observed':>8} {'drift':>6}")
    for r in rows:
        print(f"{r['family']:<11} {r['metric']:<34} {r['runs']:>4} {r['per_run']:>6.0f} {r['within']:>7.3f} "
              f"{r['predicted']:>9.4f} {r['observed']:>8.4f} {r['drift']:>6.1f}")
    for family in dict.fromkeys(r["family"] for r in rows):
        drifts = [r["drift"] for r in rows if r["family"] == family]
        observed = [r["observed"] for r in rows if r["family"] == family]
        print(f"{family}: drift median {np.median(drifts):.1f} (range {min(drifts):.1f}-{max(drifts):.1f}); "
              f"run-median log-SD median {np.median(observed):.3f}")


if __name__ == "__main__":
    main()
