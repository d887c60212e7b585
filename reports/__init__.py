"""Reports: budget verdicts, regressions against history, HTML/JUnit/JSON/Markdown outputs.

Reads records only (siteward.store), never runs a stage. Public API:
- render_run(store, run_id, *, baseline_id=None, console=None, limits=None) -> RunOutcome
- compare_runs(store, a_id, b_id, console=None) -> RunOutcome
- Limits.from_snapshot(config_snapshot): the limits budgets are judged against
- screen_run(store, run_id, *, baseline_id=None) -> the flagged metrics the runner re-measures
summary.json's schema is documented in reports/SCHEMA.md.
"""

from reports.analysis import screen_run
from reports.budgets import Limits
from reports.render import RunOutcome, compare_runs, render_run

__all__ = ["Limits", "RunOutcome", "compare_runs", "render_run", "screen_run"]
