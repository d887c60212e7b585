"""Which earlier runs a run is compared with: pure functions over run metadata.

The baseline pools the last `baseline_runs` (10) runs of the same target and config
fingerprint that
- passed (their verdict was recorded as "pass": a killed run that was never rendered has
  none; a fail or error is no yardstick),
- are complete (every stage they were asked to run reached its end: a run killed with
  SIGKILL and re-rendered later has stages that never finished), and
- measured the baseline branch (`baseline_branch`, "main"): a pull request is compared with
  main, never with another pull request, nor with itself, and
- are whole: one shard of a sharded run is not (`siteward merge` makes the run that is).

A run on an unknown branch (no --branch, no CI variable, no git) counts as a baseline-branch
run only for a current run whose branch is unknown too: local runs without git compare with
each other and with main, while a known feature branch never takes an unlabelled run (which
may have measured anything) as its yardstick.

Fewer than `min_baseline_runs` (5) such runs: no regression verdict, and the note says how
many more are needed. `--baseline RUN` names one run instead (compared sample by sample).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from siteward.schema import RegressionsConfig
from siteward.store import RunInfo

Method = str  # "run-medians" | "mann-whitney"


@dataclass(frozen=True)
class BaselineChoice:
    runs: list[RunInfo]  # newest first
    note: str
    method: Method | None  # None: no regression verdicts (too few runs)
    more_needed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # why candidates were left out -> how many

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.runs]


def passed(run: RunInfo) -> bool:
    """Its verdict was recorded, and it was a pass."""
    return run.verdict == "pass" and run.finished is not None


def is_complete(run: RunInfo) -> bool:
    """Every stage it started reached its end (runs from before stages were tracked: assumed)."""
    return not run.unfinished_stages


def on_baseline_branch(run: RunInfo, current_branch: str, baseline_branch: str) -> bool:
    if run.branch == baseline_branch:
        return True
    return run.branch == "" and current_branch == ""


def branch_words(current_branch: str, baseline_branch: str) -> str:
    if current_branch:
        return f"on {baseline_branch}"
    return f"on {baseline_branch} or an unknown branch (this run's branch is unknown)"


def choose_baseline(candidates: Sequence[RunInfo], current: RunInfo, settings: RegressionsConfig) -> BaselineChoice:
    """`candidates`: earlier runs of the same target and fingerprint, newest first."""
    skipped = {"not passing": 0, "incomplete": 0, "other branch": 0, "one shard": 0}
    chosen: list[RunInfo] = []
    for run in candidates:
        if run.id == current.id:
            continue
        if not on_baseline_branch(run, current.branch, settings.baseline_branch):
            skipped["other branch"] += 1
        elif not passed(run):
            skipped["not passing"] += 1
        elif not is_complete(run):
            skipped["incomplete"] += 1
        elif run.shard:  # a share of the checks; the merged run of its group is the baseline
            skipped["one shard"] += 1
        else:
            chosen.append(run)
        if len(chosen) == settings.baseline_runs:
            break
    where = branch_words(current.branch, settings.baseline_branch)
    left_out = ", ".join(f"{n} {why}" for why, n in skipped.items() if n)
    left_out = f" ({left_out} left out)" if left_out else ""
    if len(chosen) < settings.min_baseline_runs:
        more = settings.min_baseline_runs - len(chosen)
        note = (f"{len(chosen)} complete passing run(s) of this target and config {where}{left_out}; "
                f"{more} more needed before regressions are judged (min_baseline_runs = {settings.min_baseline_runs})")
        return BaselineChoice(chosen, note, None, more, skipped)
    span = chosen[0].id if len(chosen) == 1 else f"{chosen[-1].id} .. {chosen[0].id}"
    note = f"baseline: the last {len(chosen)} complete passing runs of this target and config {where} ({span}){left_out}"
    return BaselineChoice(chosen, note, "run-medians", 0, skipped)


def explicit_baseline(base: RunInfo, current: RunInfo) -> BaselineChoice:
    """`--baseline RUN`: that one run, compared sample by sample."""
    note = f"baseline {base.id} (chosen; compared sample by sample)"
    if base.fingerprint != current.fingerprint:
        note += "; its config differs from this run's, so some metrics may not match"
    elif base.target != current.target:
        note += f"; it measured another target ({base.target})"
    return BaselineChoice([base], note, "mann-whitney")
