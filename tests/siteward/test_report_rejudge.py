"""`siteward report RUN` judges budgets from the run's stored config; `--config` re-judges it."""

from __future__ import annotations

import json

from siteward.cli import main
from siteward.config import load_config
from siteward.records import Finding, Measurement
from siteward.store import Store


def _stored_run(results) -> str:
    """A run as the browsers stage leaves it: a mobile FCP of 1.8 s, no judgement stored."""
    config = load_config(None, results=str(results))
    store = Store.for_config(config)
    run_dir = results / "run-1"
    run_dir.mkdir(parents=True)
    run_id = store.create_run(target="demo", fingerprint=config.fingerprint(), config=config.snapshot(),
                              stages=["browsers"], run_dir=run_dir, run_id="run-1")
    store.add(run_id, Measurement(stage="browsers", subject="home|chromium|pixel-7", metric="fcp_ms", unit="ms",
                                  samples=[1800.0], tags={"page": "home", "engine": "chromium",
                                                          "device": "pixel-7", "form_factor": "mobile"}))
    assert not any(isinstance(r, Finding) for r in store.records(run_id))
    return run_id


def _fcp_line(results, run_id: str) -> dict:
    summary = json.loads((results / run_id / "summary.json").read_text())
    [line] = [b for b in summary["budgets"] if b["name"] == "fcp_ms"]
    return line


def test_report_judges_as_the_run_did_and_rejudges_with_another_config(tmp_path):
    results = tmp_path / "results"
    run_id = _stored_run(results)

    assert main(["report", run_id, "--results", str(results)]) == 1
    line = _fcp_line(results, run_id)
    assert (line["limit"], line["value"], line["passed"]) == (1500.0, 1800.0, False)

    other = tmp_path / "other.toml"
    other.write_text(f'[target]\nbase_url = "http://127.0.0.1:9"\n[results]\nroot = "{results}"\n'
                     '[budgets.mobile]\nfcp_ms = 2000\n')
    assert main(["report", run_id, "--config", str(other)]) == 0
    line = _fcp_line(results, run_id)
    assert (line["limit"], line["value"], line["passed"]) == (2000.0, 1800.0, True)

    assert main(["report", run_id, "--results", str(results)]) == 1  # without --config: the run's own limits again
