"""More page loads on the timing profiles, so that a run's timing medians are steady enough to compare.

One page load is one sample of first paint, and on a shared 2-core machine single loads of
one page vary by ~30 % (log SD, reports/stats.py): a +30 % regression is then one SD, never
significant. With `[browsers] samples = N` every page is loaded N times on each timing
profile (`[browsers] timing_profiles`): the page check is the first load; the N-1 more are
timing-only loads (browsers/execute.py timing_load), run round by round across the pages
(page 1, page 2, ..., page 1, page 2, ...), so a slow minute of the machine touches every
page a little rather than one page a lot. The other profiles check compatibility and load once.

A page's timing measurements are held back from its check until its last load ends, then
emitted as one Measurement per metric holding every sample; if the sweep is interrupted,
what was measured so far is emitted all the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from browsers.checks import STAGE
from browsers.plan import PageTask, SweepPlan
from siteward.records import AnyRecord, Finding, Measurement
from siteward.stage import StageContext

Key = tuple[str, str, str]  # page, engine, device


def _key(task: PageTask) -> Key:
    return task.page.name, task.profile.engine, task.profile.device


@dataclass
class TimingSamples:
    """The held measurements of the pages on the timing profiles, and their extra loads."""

    ctx: StageContext
    plan: SweepPlan
    held: dict[Key, dict[str, Measurement]] = field(default_factory=dict)
    tasks: dict[Key, PageTask] = field(default_factory=dict)
    failures: dict[Key, list[str]] = field(default_factory=dict)

    def wants(self, task) -> bool:
        return (self.plan.samples > 1 and isinstance(task, PageTask)
                and task.profile in self.plan.timing_profiles)

    def hold(self, task, records: list[AnyRecord]) -> list[AnyRecord]:
        """The records to emit now; a timing-profile page's measurements wait for its other loads."""
        if not self.wants(task):
            return records
        measured = {r.metric: r for r in records if isinstance(r, Measurement)}
        if not measured:  # the check failed to load the page: no timings to add samples to
            return records
        self.held[_key(task)] = measured
        self.tasks[_key(task)] = task
        return [r for r in records if not isinstance(r, Measurement)]

    def rounds(self) -> list[PageTask]:
        """The extra loads, round by round across the pages held."""
        return [task for _ in range(self.plan.samples - 1) for task in self.tasks.values()]

    def add(self, task: PageTask, measurements: list[Measurement]) -> None:
        held = self.held[_key(task)]
        for m in measurements:
            if m.metric in held:
                held[m.metric] = held[m.metric].model_copy(update={"samples": [*held[m.metric].samples, *m.samples]})

    def failed(self, task: PageTask, why: str) -> None:
        self.failures.setdefault(_key(task), []).append(why)

    def flush(self) -> None:
        """Emit every held measurement (with the samples it has), and a warning per page whose extra loads failed."""
        held, self.held = self.held, {}
        for key, measured in held.items():
            for measurement in measured.values():
                self.ctx.emit(measurement)
            failures = self.failures.get(key, [])
            if failures:
                task = self.tasks[key]
                first = next(iter(measured.values()))
                self.ctx.emit(Finding(
                    stage=STAGE, subject=first.subject, tags=first.tags, check="timing-samples", status="warn",
                    severity="minor", data={"failed": len(failures), "planned": self.plan.samples - 1,
                                            "errors": failures[:5]},
                    message=f"{len(failures)} of {self.plan.samples - 1} extra timing loads of {task.page.name!r} "
                            f"failed ({failures[0]}); its timings hold the samples that were measured"))
