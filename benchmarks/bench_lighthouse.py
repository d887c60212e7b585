"""Wall time of the audits stage's Lighthouse part vs `lhci collect` alone, same pages and settings.

Runs against the demo shop (started here). Prints both totals, their ratio, and the
wrapper's own time (everything outside the lhci subprocesses), which is the overhead
the goal is about: under 5 % of the wall time. Lighthouse itself varies by +-10 % run
to run on a busy machine, so the direct ratio is noisy; the in-process figure is exact.

    .venv/bin/python benchmarks/bench_lighthouse.py [--pages home,product] [--runs 1] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audits import lhci  # noqa: E402
from audits import stage as audits_stage  # noqa: E402
from audits.tools import find_node_tools  # noqa: E402
from siteward.config import builtin_config_text, parse_config  # noqa: E402
from siteward.secrets import Secrets  # noqa: E402
from siteward.shop import start_shop  # noqa: E402
from siteward.stage import StageContext  # noqa: E402
from siteward.store import Store  # noqa: E402


def wrapper_once(config, pages: list[str], preset: str, runs: int) -> tuple[float, float]:
    """(wall seconds of the stage, seconds spent inside lhci collect)."""
    root = Path(tempfile.mkdtemp(prefix="bench-wrapper-"))
    store = Store(root / "history.sqlite")
    run_id = store.create_run(target=config.target.base_url, fingerprint="bench", config={}, stages=["audits"],
                              run_dir=root / "run")
    (root / "run").mkdir()
    ctx = StageContext(config=config, run_id=run_id, run_dir=root / "run", store=store, secrets=Secrets({}),
                       quiet=True)
    started = time.perf_counter()
    audits_stage.run(ctx, audits_stage.plan(config, audits_stage.Options(pages=tuple(pages), presets=(preset,),
                                                                          runs=runs)))
    wall = time.perf_counter() - started
    inside = sum(f.data.get("lhci_collect_s") or 0 for f in store.records(run_id, kind="finding")
                 if f.check == "lighthouse")
    errors = [f.message for f in store.records(run_id, kind="finding") if f.status == "error"]
    store.close()
    shutil.rmtree(root, ignore_errors=True)
    if errors:
        raise SystemExit(f"wrapper run had errors: {errors}")
    return wall, inside


def lhci_alone_once(config, pages: list[str], preset: str, runs: int) -> float:
    """The reference: the plain `lhci collect` CLI, same generated config, one call per page."""
    tools = find_node_tools(config.audits.chrome_path)
    workdirs = []
    for name in pages:
        workdir = Path(tempfile.mkdtemp(prefix="bench-lhci-"))
        settings = lhci.collect_config(config.url(config.page(name).path), preset=preset, runs=runs,
                                       chrome_path=str(tools.chrome), chrome_flags=config.audits.chrome_flags)
        (workdir / "lhci.json").write_text(json.dumps(settings))
        workdirs.append(workdir)
    started = time.perf_counter()
    for workdir in workdirs:
        subprocess.run([str(tools.lhci), "collect", "--config=lhci.json"], cwd=workdir, env=tools.env(),
                       check=True, capture_output=True, timeout=config.audits.timeout_s)
    elapsed = time.perf_counter() - started
    for workdir in workdirs:
        shutil.rmtree(workdir, ignore_errors=True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", default="home,product")
    parser.add_argument("--preset", default="mobile", choices=["mobile", "desktop"])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    pages = args.pages.split(",")
    with start_shop() as shop:
        data = tomllib.loads(builtin_config_text())
        data["target"]["base_url"] = shop.url
        data["audits"] = {"page_audits": False}
        config = parse_config(data, "<bench>")
        walls, insides, alones = [], [], []
        for repeat in range(args.repeats):  # interleaved, order alternating, so load drift hits both alike
            if repeat % 2 == 0:
                alone = lhci_alone_once(config, pages, args.preset, args.runs)
                wall, inside = wrapper_once(config, pages, args.preset, args.runs)
            else:
                wall, inside = wrapper_once(config, pages, args.preset, args.runs)
                alone = lhci_alone_once(config, pages, args.preset, args.runs)
            alones.append(alone)
            walls.append(wall)
            insides.append(inside)
            print(f"repeat {repeat + 1}: lhci alone {alone:7.2f} s | wrapper {wall:7.2f} s "
                  f"(inside lhci {inside:7.2f} s, own {wall - inside:5.2f} s)", flush=True)
    total_alone, total_wall, total_inside = sum(alones), sum(walls), sum(insides)
    print(f"\npages {pages}, preset {args.preset}, {args.runs} run(s), {args.repeats} repeat(s)")
    print(f"lhci collect alone : {total_alone:8.2f} s")
    print(f"siteward wrapper   : {total_wall:8.2f} s")
    print(f"ratio wrapper/alone: {total_wall / total_alone:8.3f}  (goal < 1.05; Lighthouse noise is ~+-10 %)")
    ratios = sorted(w / a for w, a in zip(walls, alones))
    print(f"median repeat ratio: {statistics.median(ratios):8.3f}  (per repeat: {', '.join(f'{r:.3f}' for r in ratios)})")
    print(f"wrapper's own time : {total_wall - total_inside:8.2f} s = "
          f"{100 * (total_wall - total_inside) / total_wall:.1f} % of its wall time (goal < 5 %)")


if __name__ == "__main__":
    main()
