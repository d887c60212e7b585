"""`siteward a11y ...`: accept known accessibility violations, so the gate is on new ones."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.console import Console

from siteward.cli_options import ConfigOpt, PagesOpt, ResultsOpt

a11y_app = typer.Typer(no_args_is_help=True, help="Accept and list known accessibility violations (axe-core).")


def register(app: typer.Typer, store_for, resolve_run, console: Console) -> None:
    app.add_typer(a11y_app, name="a11y")

    @a11y_app.command("approve")
    def approve(
        run_id: Annotated[str, typer.Argument(help="run whose violations become the accepted ones")] = "latest",
        page: PagesOpt = None,
        profile: Annotated[Optional[list[str]], typer.Option("--profile", help="engine or device name (repeatable)")] = None,
        rule: Annotated[Optional[list[str]], typer.Option("--rule", help="axe rule id, e.g. color-contrast (repeatable)")] = None,
        config: ConfigOpt = None, results: ResultsOpt = None,
    ) -> None:
        """Accept a run's accessibility violations: per page x engine x device, they replace the accepted set."""
        from browsers.a11y_baseline import approve as approve_run

        _, store = store_for(config, results)
        run_info = resolve_run(store, run_id)
        approval = approve_run(store, run_info, pages=page or [], profiles=profile or [], rules=rule or [])
        console.print(f"accepted {len(approval.keys)} violation(s) of run {run_info.id} on "
                      f"{len(approval.profiles)} page check(s)", markup=False)
        for key in approval.keys:
            console.print(f"  {key}", markup=False, soft_wrap=True)

    @a11y_app.command("list")
    def listing(config: ConfigOpt = None, results: ResultsOpt = None) -> None:
        """List accepted violations."""
        from browsers.a11y_baseline import list_acceptances

        _, store = store_for(config, results)
        for b in list_acceptances(store):
            console.print(f"{b.key}  run {b.run_id}  approved {b.approved}", markup=False, soft_wrap=True)
