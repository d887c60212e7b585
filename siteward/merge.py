"""`siteward merge`: the shards of one sharded run become one run, one report and one verdict
(as Playwright's merge-reports does), and a load run of the same config can join them.

Shards are found by their group id (`--group`), or named by run id; shards that wrote into
histories of their own (one SQLite file per CI job) are imported first from their results
roots (`--from DIR`, the job's downloaded results). The merged run
- is refused (exit 2) when its runs measured different targets, configs or commits, when a
  shard is missing or given twice, or when a run folder is not on this machine (a shared
  history names folders on the machines that ran the shards: copy them into the results root);
- holds every record of its runs once: what every shard reports about the whole site (the
  certificate warning, a journey's browser state) is kept once, its worst status winning;
- is complete only where every run it holds is: a killed shard makes it incomplete, never a PASS;
- is a baseline candidate like any whole run (single shards never are: reports/baselines.py).
"""

from __future__ import annotations

import filecmp
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from siteward.errors import UsageError
from siteward.records import AnyRecord, Artifact, Finding
from siteward.shards import Shard
from siteward.store import RunInfo, Store

RENDERED = {"report.html", "summary.json", "summary.md", "junit.xml", "thumbs"}  # made again for the merged run
STATUS_RANK = {"error": 4, "fail": 3, "warn": 2, "pass": 1, "skip": 0}
MAX_RUNS = 300


@dataclass(frozen=True)
class MergeRequest:
    run_ids: tuple[str, ...] = ()
    group: str | None = None
    sources: tuple[Path, ...] = ()  # results roots with histories of their own


def import_runs(store: Store, results_root: Path, source: Path, group: str | None) -> list[str]:
    """Copy the shard runs of `source` (a results root with its own SQLite history) into this history
    and results root: those of `group`, else every shard run there. Their ids (already there: kept)."""
    history = source / "history.sqlite"
    if not history.is_file():
        raise UsageError(f"--from {source}: no history.sqlite there (expected a siteward results root)")
    other = Store(history)
    try:
        runs = [r for r in other.runs(limit=MAX_RUNS) if r.shard and (group is None or r.shard_group == group)]
        for run in runs:
            if not run.run_dir.is_dir():
                raise UsageError(f"--from {source}: the folder of run {run.id} is missing ({run.run_dir})")
            try:
                store.run(run.id)
                continue  # imported before
            except UsageError:
                pass
            folder = results_root / run.id
            shutil.copytree(run.run_dir, folder, dirs_exist_ok=True)
            store.create_run(run_id=run.id, target=run.target, fingerprint=run.fingerprint, config=run.config,
                             stages=run.stages, run_dir=folder.resolve(), tool_versions=run.tool_versions,
                             branch=run.branch, commit=run.commit, track_stages=run.stages_done is not None,
                             shard=run.shard, shard_group=run.shard_group)
            for stage in run.stages_done or []:
                store.mark_stage_done(run.id, stage)
            for record in other.records(run.id):
                store.add(run.id, record)
            if run.verdict is not None:
                store.finish_run(run.id, verdict=run.verdict, exit_code=run.exit_code or 0)
    finally:
        other.close()
    return [r.id for r in runs]


def pick_runs(store: Store, request: MergeRequest, imported: Sequence[str]) -> list[RunInfo]:
    """The named runs, plus the shards of the group (the latest run of each shard index)."""
    runs = {info.id: info for info in (store.run(run_id) for run_id in [*request.run_ids, *imported])}
    if request.group:
        latest: dict[str, RunInfo] = {}
        for info in store.runs(limit=MAX_RUNS * 10):
            if info.shard and info.shard_group == request.group:
                latest.setdefault(info.shard, info)  # newest first
        if not latest and not runs:
            raise UsageError(f"no shard runs of group {request.group!r} in {store.where}")
        for info in latest.values():
            if not any(r.shard == info.shard for r in runs.values()):
                runs[info.id] = info
    if not runs:
        raise UsageError("name the runs to merge, or their shard group (--group ID)")
    return sorted(runs.values(), key=lambda r: (not r.shard, Shard.parse(r.shard).index if r.shard else 0, r.id))


def check_mergeable(runs: Sequence[RunInfo]) -> None:
    first = runs[0]
    for info in runs[1:]:
        for what, mine, theirs in (("target", info.target, first.target),
                                   ("config (fingerprint)", info.fingerprint, first.fingerprint),
                                   ("commit", info.commit, first.commit)):
            if mine != theirs:
                raise UsageError(f"run {info.id} measured another {what} than {first.id} ({mine!r} vs {theirs!r})")
    shards = [Shard.parse(r.shard) for r in runs if r.shard]
    if shards:
        counts = {s.count for s in shards}
        if len(counts) > 1:
            raise UsageError(f"the shards were split differently ({', '.join(sorted(map(str, shards)))})")
        count = counts.pop()
        indices = [s.index for s in shards]
        twice = sorted({i for i in indices if indices.count(i) > 1})
        missing = sorted(set(range(1, count + 1)) - set(indices))
        if twice:
            raise UsageError(f"shard {twice[0]}/{count} is given twice")
        if missing:
            raise UsageError(f"shard {', '.join(f'{i}/{count}' for i in missing)} missing from the merge",
                             hint="wait for every shard's job, or name the runs of the ones that ran")
    covered: dict[str, str] = {}
    for info in runs:
        for stage in info.stages:
            if not info.shard and stage in covered:
                raise UsageError(f"run {info.id} ran {stage} too, which {covered[stage]} already holds")
            covered.setdefault(stage, info.id)
    for info in runs:
        if not info.run_dir.is_dir():
            raise UsageError(f"the folder of run {info.id} is not on this machine ({info.run_dir})",
                             hint="copy each shard's run folder into the results root (or use --from DIR)")


def _record_key(record: AnyRecord) -> str:
    name = getattr(record, "metric", None) or getattr(record, "check", None) or getattr(record, "role")
    return json.dumps([record.kind, record.stage, record.subject, name, record.tags], sort_keys=True)


def merged_records(records_by_run: Sequence[list[AnyRecord]]) -> list[AnyRecord]:
    """Every record once, in the runs' order; a finding every run made keeps its worst status (pure)."""
    kept: dict[str, AnyRecord] = {}
    for records in records_by_run:
        for record in records:
            if isinstance(record, Finding) and record.check == "shard":
                continue  # which checks a shard held: said by the merge finding instead
            key = _record_key(record)
            held = kept.get(key)
            if held is None or (isinstance(record, Finding) and isinstance(held, Finding)
                                and STATUS_RANK[record.status] > STATUS_RANK[held.status]):
                kept[key] = record
    return list(kept.values())


def copy_evidence(source: Path, target: Path, run_id: str) -> dict[str, str]:
    """Copy a run folder's files into the merged folder; a file another run already put there with
    other content is renamed. Old relative path -> new, for the renamed ones."""
    renamed: dict[str, str] = {}
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if not path.is_file() or relative.parts[0] in RENDERED:
            continue
        destination = target / relative
        if destination.exists() and not filecmp.cmp(path, destination, shallow=False):
            destination = destination.with_name(f"{destination.stem}.{run_id}{destination.suffix}")
            renamed[relative.as_posix()] = destination.relative_to(target).as_posix()
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    return renamed


def with_paths(record: AnyRecord, renamed: dict[str, str]) -> AnyRecord:
    if not renamed:
        return record
    if isinstance(record, Artifact):
        return record.model_copy(update={"path": renamed.get(record.path, record.path)})
    return record.model_copy(update={"evidence": [renamed.get(p, p) for p in record.evidence]})


def merge_into(store: Store, runs: Sequence[RunInfo], run_id: str, run_dir: Path) -> str:
    """Create the merged run `run_id` in `run_dir` from `runs` (checked); its id."""
    first = runs[0]
    stages = list(dict.fromkeys(s for info in runs for s in info.stages))
    tracked = all(info.stages_done is not None for info in runs)
    groups = sorted({info.shard_group for info in runs if info.shard_group})
    versions: dict[str, str] = {}
    for info in runs:
        versions.update(info.tool_versions)
    store.create_run(run_id=run_id, target=first.target, fingerprint=first.fingerprint, config=first.config,
                     stages=stages, run_dir=run_dir.resolve(), tool_versions=versions, branch=first.branch,
                     commit=first.commit, track_stages=tracked, shard_group=",".join(groups),
                     merged_from=[info.id for info in runs])
    records_by_run = []
    for info in runs:
        renamed = copy_evidence(info.run_dir, run_dir, info.id)
        records_by_run.append([with_paths(r, renamed) for r in store.records(info.id)])
    for record in merged_records(records_by_run):
        store.add(run_id, record)
    shards = [info for info in runs if info.shard]
    store.add(run_id, Finding(
        stage="run", subject="merge", check="merge", status="pass", severity="info",
        data={"runs": [info.id for info in runs], "shards": [info.shard for info in shards], "groups": groups},
        message=f"merged {len(runs)} run(s)" + (f", {len(shards)} shard(s) of group {', '.join(groups)}" if groups else "")
                + f": {', '.join(info.id for info in runs)}"))
    if tracked:
        for stage in stages:  # done only where every run that had the stage finished it
            if all(stage in (info.stages_done or []) for info in runs if stage in info.stages):
                store.mark_stage_done(run_id, stage)
    return run_id


def describe(runs: Sequence[RunInfo], console: Console) -> None:
    for info in runs:
        what = f"shard {info.shard}" if info.shard else ", ".join(info.stages)
        console.print(f"  {info.id}  {what}  {info.verdict or 'unfinished'}", markup=False)


def run_merge(config, request: MergeRequest, console: Console) -> int:
    """`siteward merge`: import, pick, check, merge, then render and judge like any run; the exit code."""
    from siteward.runner import finish, new_run_dir

    store = Store.for_config(config)
    imported = [run_id for source in request.sources
                for run_id in import_runs(store, config.results_root(), source, request.group)]
    runs = pick_runs(store, request, imported)
    check_mergeable(runs)
    run_id, run_dir = new_run_dir(config)
    console.print(f"siteward: merging {len(runs)} run(s) into [bold]{run_id}[/] -> {run_dir}", soft_wrap=True)
    describe(runs, console)
    merge_into(store, runs, run_id, run_dir)
    return finish(store, run_id, console)
