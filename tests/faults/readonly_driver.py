"""Runs inside `unshare --mount` (a private mount namespace): a results root on a tmpfs
that becomes a truly read-only filesystem, before or during a real run.

Not a test module: test_fault_readonly.py starts it and reads the JSON it prints last.
Usage: readonly_driver.py SCENARIO RESULTS_ROOT TARGET_URL HISTORY_OR_DASH WORK_DIR
  SCENARIO "before": the root is read-only from the start.
  SCENARIO "during": the root turns read-only once the first browser finding is stored;
                     then `siteward report RUN` is tried read-only, and again read-write.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # as pytest has it: tests/faults and tests/

from fault_support import records, run_cli, start_cli  # noqa: E402


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True)


def sweep_args(url: str, root: Path, config: Path | None) -> list[str]:
    args = ["sweep", "--target", url, "--results", str(root), "--engine", "chromium", "--device", "desktop",
            "--no-journeys", "-q", "--page", "home", "--page", "category", "--page", "product", "--page", "cart"]
    return [*args, "-c", str(config)] if config else args


def main() -> None:
    scenario, root, url, history, work = sys.argv[1:6]
    root, work = Path(root), Path(work)
    work.mkdir(parents=True, exist_ok=True)
    mount("-t", "tmpfs", "-o", "size=256m", "siteward-ro-test", str(root))
    out: dict = {"scenario": scenario}
    if scenario == "before":
        mount("-o", "remount,ro", str(root))
        code, stdout, stderr = run_cli(*sweep_args(url, root, None), out_dir=work / "cli")
        out.update(code=code, stderr=stderr, entries=sorted(p.name for p in root.iterdir()))
    else:
        config = work / "siteward.toml"
        demo = (HERE.parents[1] / "siteward" / "demo.toml").read_text()
        config.write_text(demo + f'\n[results]\nhistory = "{history}"\n')
        run = start_cli(*sweep_args(url, root, config), out_dir=work / "cli")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not records(Path(history), stage="browsers", kind="finding"):
            time.sleep(0.2)
        mount("-o", "remount,ro", str(root))
        out["findings_before"] = len(records(Path(history), stage="browsers", kind="finding"))
        out.update(code=run.wait(600), stderr=run.stderr)
        run_dirs = [p for p in root.iterdir() if p.is_dir()]
        run_id = run_dirs[0].name if run_dirs else ""
        out["run_id"] = run_id
        code, _, stderr = run_cli("report", run_id, "-c", str(config), "--results", str(root),
                                  out_dir=work / "report-ro")
        out["report_ro"] = {"code": code, "stderr": stderr}
        mount("-o", "remount,rw", str(root))
        code, _, stderr = run_cli("report", run_id, "-c", str(config), "--results", str(root),
                                  out_dir=work / "report-rw")
        out["report_rw"] = {"code": code, "stderr": stderr,
                            "files": sorted(p.name for p in (root / run_id).iterdir()) if run_id else []}
        out["findings"] = records(Path(history), stage="browsers", kind="finding")
    subprocess.run(["umount", str(root)], check=False)
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":
    main()
