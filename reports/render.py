"""render_run and compare_runs: what the runner and the CLI call.

Both read records only (a run killed halfway renders too), write the four outputs
into the run directory, and record the verdict in the store.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from siteward.errors import UsageError
from siteward.store import Store

from reports.analysis import RunAnalysis, analyse
from reports.budgets import Limits
from reports.html import fmt, render_html
from reports.junit import build_junit
from reports.regressions import Comparison
from reports.summary import OUTPUT_NAMES, build_markdown, build_summary

CONSOLE_MAX_LINES = 20
STATE_STYLE = {"regression": "bold red", "improvement": "green", "insufficient": "yellow", "new": "cyan",
               "gone": "magenta", "unconfirmed": "yellow"}


@dataclass
class RunOutcome:
    run_id: str
    verdict: str  # "pass" | "fail" | "error"
    exit_code: int  # 0 / 1 / 3
    run_dir: Path
    paths: dict[str, Path]  # "report.html", "summary.json", "junit.xml", "summary.md" -> file
    regressions: list[Comparison]
    failed: list[str]
    baseline_id: str | None = None
    comparisons: list[Comparison] = field(default_factory=list)


def _write_atomic(path: Path, data: str | bytes) -> None:
    """Write beside, then rename: a CI job reading the file never sees half of it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if isinstance(data, str):
        tmp.write_text(data, encoding="utf-8")
    else:
        tmp.write_bytes(data)
    os.replace(tmp, path)


def _record_verdict(store: Store, a: RunAnalysis) -> None:
    info = a.info
    # Keep the first finish time on a re-render that comes to the same verdict.
    if info.finished is None or info.verdict != a.verdict or info.exit_code != a.exit_code:
        store.finish_run(info.id, verdict=a.verdict, exit_code=a.exit_code)
        a.info = store.run(info.id)


def write_outputs(a: RunAnalysis) -> dict[str, Path]:
    run_dir = a.info.run_dir
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        outputs = {
            OUTPUT_NAMES["summary_json"]: json.dumps(build_summary(a), indent=2, allow_nan=False) + "\n",
            OUTPUT_NAMES["junit_xml"]: build_junit(a),
            OUTPUT_NAMES["summary_md"]: build_markdown(a, report_link=OUTPUT_NAMES["report_html"]),
            OUTPUT_NAMES["report_html"]: render_html(a, run_dir),
        }
        paths = {}
        for name, data in outputs.items():
            _write_atomic(run_dir / name, data)
            paths[name] = run_dir / name
    except OSError as exc:
        raise UsageError(f"cannot write the report into {run_dir}: {exc.strerror or exc}",
                         hint=f"the records are kept in the history: once {run_dir} is writable, "
                              f"render them with `siteward report {a.info.id}`") from None
    return paths


def render_run(store: Store, run_id: str, *, baseline_id: str | None = None, console: Console | None = None,
               limits: Limits | None = None) -> RunOutcome:
    """Verdict, regressions and the four outputs of one run; records the verdict in the store.

    Budgets are judged from the run's stored config, or from `limits` when given (re-judging)."""
    analysis = analyse(store, run_id, baseline_id=baseline_id, limits=limits)
    _record_verdict(store, analysis)
    paths = write_outputs(analysis)
    if console is not None:
        for line in analysis.failed[:CONSOLE_MAX_LINES]:
            console.print(Text(line, style="red" if line.startswith(("FAIL", "REGRESSION")) else "yellow"))
        if len(analysis.failed) > CONSOLE_MAX_LINES:
            console.print(f"... and {len(analysis.failed) - CONSOLE_MAX_LINES} more (see the report)")
    return RunOutcome(
        run_id=analysis.info.id, verdict=analysis.verdict, exit_code=analysis.exit_code,
        run_dir=analysis.info.run_dir, paths=paths, regressions=analysis.regressions,
        failed=analysis.failed, baseline_id=analysis.baseline.id if analysis.baseline else None,
        comparisons=analysis.comparisons,
    )


def comparison_table(comparisons: list[Comparison], a_id: str, b_id: str) -> Table:
    order = {"regression": 0, "unconfirmed": 1, "improvement": 2, "unchanged": 3, "insufficient": 4, "new": 5,
             "gone": 6}
    table = Table(title=f"{a_id} (A) -> {b_id} (B)", show_lines=False)
    table.add_column("metric", overflow="fold")
    table.add_column("subject", overflow="fold")
    for name in ("A median", "B median", "change %", "q-value"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for c in sorted(comparisons, key=lambda c: (order.get(c.state, 9), c.stage, c.subject, c.metric)):
        table.add_row(
            Text(c.metric), Text(c.subject), fmt(c.baseline_median, c.unit), fmt(c.current_median, c.unit),
            "–" if c.change is None else f"{c.change * 100:+.1f}",
            "–" if c.q_value is None else f"{c.q_value:.2g}",
            Text(c.state, style=STATE_STYLE.get(c.state, "")),
        )
    return table


def compare_runs(store: Store, a_id: str, b_id: str, console: Console | None = None) -> RunOutcome:
    """Print how run B differs from run A, and write B's report with A as its baseline."""
    a_info, b_info = store.run(a_id), store.run(b_id)
    outcome = render_run(store, b_info.id, baseline_id=a_info.id)
    console = console or Console()
    if outcome.comparisons:
        console.print(comparison_table(outcome.comparisons, a_info.id, b_info.id))
    else:
        console.print(f"no metric of {b_info.id} was measured in {a_info.id}: nothing to compare")
    counts = {s: sum(c.state == s for c in outcome.comparisons) for s in ("regression", "improvement", "insufficient")}
    console.print(f"{counts['regression']} regression(s), {counts['improvement']} improvement(s), "
                  f"{counts['insufficient']} with too few samples to tell")
    return outcome
