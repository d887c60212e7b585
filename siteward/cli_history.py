"""`siteward history ...`: look after the history itself (SQLite file or shared PostgreSQL)."""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta, timezone
from typing import Annotated, Optional

import typer
from rich.console import Console

from siteward.cli_options import ConfigOpt, ResultsOpt
from siteward.errors import UsageError

history_app = typer.Typer(no_args_is_help=True, help="Look after the history: its database, pruning old runs.")
AGE = re.compile(r"(\d{1,5})\s*([hdw])")
AGE_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_age(text: str) -> timedelta:
    """"90d", "12h", "6w" -> a timedelta; anything else is a usage error."""
    match = AGE.fullmatch(text.strip())
    if not match:
        raise UsageError(f"--older-than {text!r}: expected a number and a unit, e.g. 90d, 12h or 6w")
    return int(match.group(1)) * AGE_UNITS[match.group(2)]


def register(app: typer.Typer, store_for, console: Console) -> None:
    app.add_typer(history_app, name="history")

    @history_app.command("info")
    def info(config: ConfigOpt = None, results: ResultsOpt = None) -> None:
        """Where the history is, its schema version and how many runs it holds."""
        _, store = store_for(config, results)
        runs = store.runs()
        versions = sorted(store.db.applied_versions())
        console.print(f"history: {store.where} ({store.db.backend}), schema version {versions[-1]}"
                      f" (migrations {', '.join(map(str, versions))})", soft_wrap=True)
        console.print(f"runs: {len(runs)} of {len({r.target for r in runs})} target(s)"
                      + (f", newest {runs[0].id}, oldest {runs[-1].id}" if runs else ""))

    @history_app.command("prune")
    def prune(
        keep: Annotated[Optional[int], typer.Option("--keep", min=1, max=100_000, help="keep the N newest runs of each target")] = None,
        older_than: Annotated[Optional[str], typer.Option("--older-than", help="delete runs started before this age, e.g. 90d, 12h, 6w")] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="list what would be deleted, delete nothing")] = False,
        config: ConfigOpt = None, results: ResultsOpt = None,
    ) -> None:
        """Delete old runs and their records (and their folders under the local results root).
        Runs that may still be going (unfinished, under a day old) are kept."""
        cfg, store = store_for(config, results)
        cutoff = datetime.now(timezone.utc) - parse_age(older_than) if older_than else None
        if keep is not None and keep < cfg.regressions.baseline_runs:
            console.print(f"siteward: warning: --keep {keep} is fewer than regressions.baseline_runs"
                          f" ({cfg.regressions.baseline_runs}): the regression baselines will be smaller", markup=False)
        removed = store.prune(keep=keep, older_than=cutoff, dry_run=dry_run)
        folders = 0
        for run in removed:
            console.print(f"{'would delete' if dry_run else 'deleted'} {run.id}  {run.target}  {run.started}"
                          f"  {run.verdict or 'unfinished'}", markup=False)
            # Only a folder under this machine's results root, named as the run: a shared history's paths
            # are other machines' and are never followed.
            folder = cfg.results_root() / run.id
            if not dry_run and run.run_dir.name == run.id and folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)
                folders += 1
        verb = "would delete" if dry_run else "deleted"
        console.print(f"{verb} {len(removed)} run(s) from {store.where}; {folders} run folder(s) removed",
                      soft_wrap=True)
