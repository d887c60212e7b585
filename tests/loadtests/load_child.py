"""Run the load stage in its own process (for the signal tests): load_child.py TARGET RESULTS_DIR."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console

from load_helpers import demo_config
from stage_helpers import StagedContext, run_stage
from siteward.secrets import Secrets
from siteward.store import Store

if __name__ == "__main__":
    target, results = sys.argv[1], Path(sys.argv[2])
    config = demo_config(target, results)
    store = Store.for_config(config)
    run_dir = (results / "run").resolve()
    run_dir.mkdir(parents=True)
    run_id = store.create_run(target=target, fingerprint="x", config=config.snapshot(), stages=["loadtests"],
                              run_dir=run_dir, run_id="signal-run")
    ctx = StagedContext(config=config, run_id=run_id, run_dir=run_dir, store=store, secrets=Secrets({}),
                        console=Console(stderr=True, quiet=True), quiet=True, stage="loadtests",
                        options={"peak_rps": 3, "duration_s": 40, "workers": 2})
    try:
        run_stage(ctx)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(0)
