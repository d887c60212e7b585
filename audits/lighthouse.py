"""Lighthouse through Lighthouse CI for one page and preset: collect, record, budget, assert.

Every run's value is kept (Measurement.samples in run order); the median run is the one
Lighthouse CI itself would pick (closest to the median FCP and TTI), and its HTML report is
the evidence budgets link to. Each run's LHR JSON and HTML report are kept as artifacts.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from audits import lhci
from audits.lhr import extract_metrics, final_url, median_run_index, metric_specs, run_warnings, runtime_error
from audits.tools import NodeTools
from siteward import processes
from siteward.browser_state import same_page
from siteward.records import Artifact, Finding, Measurement
from siteward.secrets import MASK
from siteward.stage import StageContext


@dataclass(frozen=True)
class LighthouseJob:
    page: str
    url: str
    preset: str  # "mobile" | "desktop"
    runs: int
    state: Path | None = None  # a journey's browser state (siteward.browser_state) the page needs

    @property
    def subject(self) -> str:
        return f"{self.page}|lighthouse|{self.preset}"

    @property
    def tags(self) -> dict[str, str]:
        return {"page": self.page, "preset": self.preset, "form_factor": self.preset}


def _state_cookies(job: LighthouseJob) -> list[dict]:
    """The session cookies Lighthouse was given: masked wherever Lighthouse echoes them."""
    if job.state is None:
        return []
    try:
        return list(json.loads(job.state.read_text(encoding="utf-8")).get("cookies") or [])
    except (OSError, ValueError):
        return []


def _error(ctx: StageContext, job: LighthouseJob, message: str, *, code: str | None = None,
           evidence: list[str] | None = None, killed: list[str] | None = None) -> Finding:
    return ctx.emit(Finding(
        stage="audits", subject=job.subject, check="lighthouse", status="error", severity="major",
        message=message, tags=job.tags, evidence=evidence or [], data={"code": code, "url": job.url, **({"killed": killed} if killed else {})},
    ))


def _scrubbed_copy(src: Path, dest: Path, ctx: StageContext, hidden: list[str]) -> None:
    """Copy a Lighthouse file, masking the journey's header values (session cookies) and secrets."""
    text = src.read_text(encoding="utf-8")
    for value in hidden:
        for form in {value, json.dumps(value)[1:-1]}:
            text = text.replace(form, MASK)
    dest.write_text(ctx.secrets.redact(text), encoding="utf-8")


def _keep_evidence(ctx: StageContext, job: LighthouseJob, result: lhci.CollectResult) -> list[tuple[Path, Path | None]]:
    """Copy each run's LHR JSON and HTML report into the run dir; (json, html) per run."""
    folder = ctx.evidence_dir("lighthouse", f"{job.page}-{job.preset}")
    # Lighthouse echoes extraHeaders in configSettings; a session cookie must not reach the report.
    hidden = [c["value"] for c in _state_cookies(job) if len(str(c.get("value", ""))) >= 4]
    kept = []
    for index, lhr_path in enumerate(result.lhr_paths, 1):
        json_dest = folder / f"run-{index}.json"
        _scrubbed_copy(lhr_path, json_dest, ctx, hidden)
        html = result.html_path(lhr_path)
        html_dest = None
        if html is not None:
            html_dest = folder / f"run-{index}.html"
            _scrubbed_copy(html, html_dest, ctx, hidden)
        kept.append((json_dest, html_dest))
    return kept


def record_runs(ctx: StageContext, job: LighthouseJob, kept: list[tuple[Path, Path | None]],
                lhci_s: float | None = None) -> int | None:
    """Emit artifacts and measurements (all runs); returns the median run (1-based)."""
    lhrs, good = [], []
    for index, (json_path, html_path) in enumerate(kept, 1):
        evidence = [ctx.relative(html_path or json_path)]
        try:
            lhr = json.loads(json_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # e.g. cut short by a timeout kill
            _error(ctx, job, f"run {index}: unreadable Lighthouse result: {exc}", evidence=evidence)
            continue
        failure = runtime_error(lhr)
        if failure:
            _error(ctx, job, f"run {index}: {failure[1]}", code=failure[0], evidence=evidence)
        else:
            lhrs.append(lhr)
            good.append(index)
    if not lhrs:
        return None
    median_pos = median_run_index(lhrs)
    median_run = good[median_pos]
    for index, (json_path, html_path) in enumerate(kept, 1):
        run_tags = {**job.tags, "run": str(index), "median": "yes" if index == median_run else "no"}
        ctx.emit(Artifact(stage="audits", subject=job.subject, role="lighthouse-json", path=ctx.relative(json_path),
                          media_type="application/json", tags=run_tags))
        if html_path is not None:
            ctx.emit(Artifact(stage="audits", subject=job.subject, role="lighthouse-html",
                              path=ctx.relative(html_path), media_type="text/html", tags=run_tags))
    median_json, median_html = kept[median_run - 1]
    median_evidence = [ctx.relative(median_html or median_json)]
    elsewhere = [final_url(r) for r in lhrs if not same_page(final_url(r) or "", job.url)]
    if job.state is not None and elsewhere:
        # Lighthouse measured another page (a login page, an empty cart): none of it is this page's.
        ctx.emit(Finding(
            stage="audits", subject=job.subject, check="lighthouse", status="fail", severity="critical",
            message=f"Lighthouse was asked for {job.url} with the browser state of a journey but ended on "
                    f"{elsewhere[0]} in {len(elsewhere)} of {len(lhrs)} run(s): the state did not apply, "
                    "so nothing was measured for this page",
            tags=job.tags, evidence=median_evidence,
            data={"requested": job.url, "final_urls": [final_url(r) for r in lhrs], "runs": good},
        ))
        return median_run
    values = [extract_metrics(lhr) for lhr in lhrs]
    missing = []
    for spec in metric_specs():
        samples = [v[spec.name] for v in values if v[spec.name] is not None]
        if not samples:
            missing.append(spec.name)
            continue
        ctx.emit(Measurement(
            stage="audits", subject=job.subject, metric=spec.name, unit=spec.unit, samples=samples,
            higher_is_better=spec.higher_is_better, tags=job.tags, evidence=median_evidence,
        ))
    ctx.emit(Finding(
        stage="audits", subject=job.subject, check="lighthouse", status="pass", severity="info",
        message=f"{len(lhrs)} Lighthouse run(s) of {final_url(lhrs[median_pos])}; median run {median_run}",
        tags=job.tags, evidence=median_evidence,
        data={"median_run": median_run, "runs": good, "final_urls": [final_url(r) for r in lhrs],
              "requested": job.url, "with_state": job.state is not None,
              "lighthouse_version": lhrs[median_pos].get("lighthouseVersion"),
              "warnings": run_warnings(lhrs[median_pos]), "metrics_missing": missing,
              "lhci_collect_s": None if lhci_s is None else round(lhci_s, 3)},
    ))
    return median_run


def record_assertions(ctx: StageContext, job: LighthouseJob, results: list[lhci.AssertionResult],
                      evidence: list[str]) -> None:
    for item in results:
        status = "pass" if item.passed else ("warn" if item.level == "warn" else "fail")
        audit = item.raw.get("auditId", "?") + (f".{item.raw['auditProperty']}" if item.raw.get("auditProperty") else "")
        ctx.emit(Finding(
            stage="audits", subject=job.subject, check="lhci-assert", status=status, message=item.message,
            severity="info" if item.passed else "major", tags={**job.tags, "assertion": audit},
            evidence=evidence, limit=_number(item.raw.get("expected")), value=_number(item.raw.get("actual")),
            data={k: item.raw.get(k) for k in ("name", "operator", "expected", "actual", "values", "level", "url")},
        ))


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def run_job(ctx: StageContext, tools: NodeTools, job: LighthouseJob, *, rc_path: Path | None,
            on_run_done: Callable[[], None]) -> None:
    """Collect, record and (optionally) assert one page x preset; never raises for a broken check."""
    cfg = ctx.config.audits
    done = 0

    def advance(_: int) -> None:
        nonlocal done
        done += 1
        on_run_done()

    workdir = processes.temp_dir("lh")
    try:
        access = ctx.access
        flags = [*cfg.chrome_flags, *(["--ignore-certificate-errors"] if access.browsers_accept_any_certificate else [])]
        authorization = access.authorization()
        result = lhci.collect(tools, job.url, workdir=workdir, preset=job.preset, runs=job.runs,
                              timeout_s=cfg.timeout_s, chrome_flags=flags, state=job.state,
                              extra_headers={"Authorization": authorization} if authorization else None,
                              on_run_done=advance)
        kept = _keep_evidence(ctx, job, result)
        median_run = record_runs(ctx, job, kept, result.elapsed_s)
        if result.error:
            log = ctx.evidence_dir("lighthouse", f"{job.page}-{job.preset}") / "lhci-collect.log"
            log.write_text(ctx.secrets.redact(result.stdout + "\n--- stderr ---\n" + result.stderr), encoding="utf-8")
            _error(ctx, job, f"Lighthouse failed on {job.url}: {result.error}", code=result.error_code,
                   evidence=[ctx.relative(log)], killed=result.killed)
        if rc_path is not None and median_run is not None:
            results, error = lhci.assert_results(tools, workdir=workdir, rc_path=rc_path, timeout_s=cfg.timeout_s)
            if error:
                ctx.emit(Finding(stage="audits", subject=job.subject, check="lhci-assert", status="error",
                                 message=f"lhci assert failed: {error}", tags=job.tags))
            evidence = [ctx.relative(kept[median_run - 1][1] or kept[median_run - 1][0])]
            record_assertions(ctx, job, results, evidence)
    except lhci.Stopped:
        ctx.emit(Finding(stage="audits", subject=job.subject, check="lighthouse", status="skip", severity="info",
                         message=f"not audited: the run was interrupted (SIGINT/SIGTERM) before {job.url} was done",
                         tags=job.tags))
    except Exception as exc:  # noqa: BLE001 - one broken check never sinks the run
        _error(ctx, job, f"Lighthouse wrapper failed on {job.url}: {type(exc).__name__}: {exc}")
    finally:
        for _ in range(job.runs - done):
            on_run_done()
        shutil.rmtree(workdir, ignore_errors=True)
