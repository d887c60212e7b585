"""Playwright traces and HARs of failing checks, redacted and size-bounded.

Every Chromium/Firefox session records a trace (screenshots, DOM snapshots, network,
console) and a HAR; an attempt that passes discards them (`tracing.stop()` without a
path writes nothing, the HAR is deleted), one that fails keeps them, as pytest-playwright's
`retain-on-failure` does. A kept file is rewritten before it lands in the run directory:
every secret value (as typed, JSON-escaped, URL-encoded, HTML-escaped) and the password of
every URL with credentials is masked, in every entry of the trace zip but the images.
WebKit runs over WebDriver and has no trace: its failing step keeps the page source and
the console entries next to the screenshot.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from browsers.checks import STAGE
from siteward.records import Artifact, Finding
from siteward.secrets import MASK, MIN_SECRET_LENGTH
from siteward.stage import StageContext, safe_filename

TRACE_MODES = ("retain-on-failure", "on", "off")
TRACE_ROLE = "playwright-trace"
HAR_ROLE = "har"
# Firefox over WebDriver BiDi takes each screencast frame as a screenshot: measured on the demo
# journey, tracing with the screencast cost Firefox +59 % of its time, without it +19 % (Chromium:
# +23 % and +19 %). Its traces keep DOM snapshots, network and console; the failure keeps its screenshot.
SCREENCAST = {"chromium": True, "firefox": False}
STOP_TIMEOUT_S = 20.0
EVIDENCE_READ_S = 3.0  # WebKit's page source at the failing step, if the page still answers  # a hung browser must not hold a check past its own timeout for ever
# Entries never rewritten: screencast frames and images are binary (and hold no typed text).
BINARY_SUFFIXES = (".jpeg", ".jpg", ".png", ".webp", ".gif", ".avif", ".ico", ".woff", ".woff2", ".ttf")
_MASK = MASK.encode()
# scheme://user:password@ -> scheme://user:********@ (also inside JSON, where '/' may be '\/').
_URL_PASSWORD = re.compile(rb"((?:/|\\/){2}[^/\\@\s:\"'<>]*):[^@/\\\s\"'<>]+@")
# The same URL percent-encoded, as in a query parameter: %2F%2Fuser%3Apassword%40.
_ENCODED_URL_PASSWORD = re.compile(rb"((?i:%2F){2}(?:(?!(?i:%2F|%40|%3A))[^/@\s\"'<>&])*)(?i:%3A)"
                                   rb"(?:(?!(?i:%2F|%40))[^/@\s\"'<>&])+(?i:%40)")


# ------------------------------------------------------------------ pure redaction
def secret_forms(values: Iterable[str]) -> list[bytes]:
    """Every spelling of each secret a trace or HAR may hold, longest first (a secret that
    contains another is masked whole): as typed, JSON-escaped (ASCII or not, '/' escaped or
    not), URL-encoded (path and form style) and HTML-escaped."""
    forms: set[bytes] = set()
    for value in values:
        if len(value) < MIN_SECRET_LENGTH:
            continue
        spellings = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
                     json.dumps(value)[1:-1].replace("/", "\\/"), quote(value, safe=""), quote_plus(value),
                     quote(value, safe="/:@"), html.escape(value), html.escape(value, quote=False)}
        forms.update(s.encode("utf-8") for s in spellings if s)
        forms.update(re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), s).encode()  # %2f as well as %2F
                     for s in (quote(value, safe=""), quote_plus(value)))
    return sorted(forms, key=len, reverse=True)


def redact_bytes(data: bytes, forms: list[bytes]) -> bytes:
    """data with every secret form and every URL password replaced by the mask."""
    for form in forms:
        data = data.replace(form, _MASK)
    data = _URL_PASSWORD.sub(lambda m: m.group(1) + b":" + _MASK + b"@", data)
    return _ENCODED_URL_PASSWORD.sub(lambda m: m.group(1) + b"%3A" + _MASK + b"%40", data)


def redact_trace(source: Path, target: Path, forms: list[bytes]) -> None:
    """A copy of a trace zip with every non-image entry redacted; names and order kept, so
    the trace viewer loads it as it would the original (it finds resources by name)."""
    tmp = target.with_name(target.name + ".part")
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(tmp, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            binary = info.filename.lower().endswith(BINARY_SUFFIXES)
            if not binary:
                data = redact_bytes(data, forms)
            zout.writestr(info.filename, data, compress_type=zipfile.ZIP_STORED if binary else zipfile.ZIP_DEFLATED)
    tmp.replace(target)


def redact_file(source: Path, target: Path, forms: list[bytes]) -> None:
    target.write_bytes(redact_bytes(source.read_bytes(), forms))


def trace_manifest(path: Path) -> dict[str, Any]:
    """What a trace zip holds, checked the way the trace viewer reads it: trace.trace is JSON
    lines starting with the context options; every resource an event names is in the zip.
    ValueError when it is not a loadable trace."""
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        if "trace.trace" not in names:
            raise ValueError(f"{path.name}: no trace.trace entry (not a Playwright trace)")
        events = [json.loads(line) for line in archive.read("trace.trace").decode("utf-8").splitlines() if line]
        network = [json.loads(line) for line in archive.read("trace.network").decode("utf-8").splitlines()
                   if line] if "trace.network" in names else []
    if not events or events[0].get("type") != "context-options":
        raise ValueError(f"{path.name}: trace.trace does not start with the context options")
    wanted = {e["sha1"] for e in events if e.get("type") == "screencast-frame" and e.get("sha1")}
    for entry in network:
        content = (entry.get("snapshot") or {}).get("response", {}).get("content", {})
        wanted.update(v for k, v in content.items() if k == "_sha1" and v)
    missing = sorted(s for s in wanted if f"resources/{s}" not in names)
    if missing:
        raise ValueError(f"{path.name}: {len(missing)} resource(s) named by events are missing, e.g. {missing[0]}")
    return {"version": events[0].get("version"), "browser": events[0].get("browserName"),
            "actions": [e.get("method") for e in events if e.get("type") == "before"],
            "network": len(network), "entries": len(names)}


# ------------------------------------------------------------------ recording
@dataclass
class Recording:
    """One session's trace and HAR while it runs: in a temporary folder until kept or dropped."""

    engine: str
    folder: Path  # where kept files go (the run's evidence)
    stem: str
    traced: bool = True  # False: WebKit over WebDriver, which keeps page source and console instead
    snapshots: bool = True  # DOM snapshots around every call: a journey's steps (a page check makes dozens)
    scratch: Path | None = None

    @property
    def har_scratch(self) -> Path:
        if self.scratch is None:
            self.scratch = Path(tempfile.mkdtemp(prefix="siteward-trace-"))
        return self.scratch / "session.har"

    def context_options(self) -> dict[str, Any]:
        # Response bodies omitted: the trace already holds what a failure needs, the HAR stays small.
        return {"record_har_path": str(self.har_scratch), "record_har_content": "omit"}

    broken: str | None = None  # why tracing could not start (the HAR is still recorded)

    async def start(self, context: Any, title: str) -> None:
        try:
            await context.tracing.start(screenshots=SCREENCAST.get(self.engine, True), snapshots=self.snapshots,
                                        sources=False, title=title)
        except Exception as exc:  # noqa: BLE001 - an engine without tracing still runs its checks
            self.broken = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__

    async def stop(self, context: Any, keep: bool) -> Path | None:
        """Stop tracing: written to scratch when kept, discarded (nothing written) when not."""
        path = self.har_scratch.with_name("trace.zip") if keep else None
        if self.broken:
            return None
        try:
            await asyncio.wait_for(context.tracing.stop(path=str(path) if path else None), STOP_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - a crashed browser leaves no trace to keep
            return None
        return path if path and path.is_file() else None

    def discard(self) -> None:
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


class Traces:
    """Where a sweep's traces go and what they may hold: the mode, the size limit, the secrets."""

    def __init__(self, ctx: StageContext):
        self.ctx = ctx
        settings = ctx.config.browsers
        self.mode: str = settings.trace
        self.max_bytes = int(settings.trace_max_mb * 1024 * 1024)
        self._attempts: dict[str, int] = {}

    def recording(self, engine: str, subject: str, kind: str, name: str, device: str) -> Recording | None:
        """What one attempt records (numbered: a retry keeps its own files), or None when off."""
        if self.mode == "off":
            return None
        number = self._attempts[subject] = self._attempts.get(subject, 0) + 1
        folder = self.ctx.run_dir.joinpath(*filter(None, (self.ctx.evidence_subdir, "traces", kind,
                                                          safe_filename(name))))
        return Recording(engine, folder, safe_filename(f"{engine}-{device}-attempt{number}"), traced=engine != "webkit",
                         snapshots=kind == "journeys")

    def forms(self) -> list[bytes]:
        basic_auth = [self.ctx.access.password] if self.ctx.access.password else []
        return secret_forms([*self.ctx.secrets.values_to_mask(), *basic_auth])

    async def close(self, session: Any, recording: Recording | None, failed: bool, subject: str,
                    tags: dict[str, str]) -> list[Any]:
        """Close the session; the trace and HAR kept (redacted, bounded) when failed or mode "on".
        Returns their Artifacts and, for a file over the limit, a note Finding."""
        keep = recording is not None and (failed or self.mode == "on")
        if recording is None or not recording.traced:
            kept = await webdriver_evidence(self.ctx, session, subject, tags, recording, self.forms()) if keep else []
            await session.close()
            return kept
        try:
            trace = await recording.stop(session.context, keep)
            await session.close()  # the HAR is written when its context closes
            if not keep:
                return []
            return self._keep(recording, trace, subject, tags)
        finally:
            recording.discard()

    def _keep(self, recording: Recording, trace: Path | None, subject: str, tags: dict[str, str]) -> list[Any]:
        forms, kept, notes = self.forms(), [], []
        for source, suffix, role, media in ((trace, ".trace.zip", TRACE_ROLE, "application/zip"),
                                            (recording.har_scratch, ".har", HAR_ROLE, "application/json")):
            if source is None or not source.is_file():
                why = (f"tracing did not start: {recording.broken}" if recording.broken and role == TRACE_ROLE
                       else "the session ended before it could be saved")
                notes.append(f"no {role} kept on {recording.engine} ({why})")
                continue
            recording.folder.mkdir(parents=True, exist_ok=True)
            target = recording.folder / f"{recording.stem}{suffix}"
            (redact_trace if suffix == ".trace.zip" else redact_file)(source, target, forms)
            size = target.stat().st_size
            if size > self.max_bytes:
                target.unlink()
                notes.append(f"{role} of {size / 1048576:.1f} MB dropped: over [browsers] trace_max_mb"
                             f" = {self.max_bytes / 1048576:g}")
                continue
            kept.append(Artifact(stage=STAGE, subject=subject, tags={**tags, "step": "failed"}, role=role,
                                 path=self.ctx.relative(target), media_type=media))
        if notes:
            kept.append(Finding(stage=STAGE, subject=subject, tags=tags, check="trace", status="warn",
                                severity="info", message="; ".join(notes)))
        return kept


async def webdriver_evidence(ctx: StageContext, session: Any, subject: str, tags: dict[str, str],
                             recording: Recording, forms: list[bytes]) -> list[Artifact]:
    """WebKit's failing step (no trace over WebDriver): the page source and the console entries."""
    folder, stem = recording.folder, recording.stem
    folder.mkdir(parents=True, exist_ok=True)
    source = None
    # A page stuck in a script answers no WebDriver command: reading it would spend the check's
    # time and turn "the main thread is unresponsive" into a bare timeout.
    if not getattr(session, "stuck", False):
        try:
            source = await asyncio.wait_for(session.page_source(), EVIDENCE_READ_S)
        except Exception:  # noqa: BLE001 - a dead or slow session has no page to read
            source = None
    console, note = session.console_errors()
    files = [("page-source", ".page.html", "text/html", source),
             ("console-log", ".console.json", "application/json",
              json.dumps({"entries": console or [], "note": note}, indent=2))]
    out = []
    for role, suffix, media, text in files:
        if text is None:
            continue
        path = folder / f"{safe_filename(stem)}{suffix}"
        path.write_bytes(redact_bytes(text.encode("utf-8"), forms))
        out.append(Artifact(stage=STAGE, subject=subject, tags={**tags, "step": "failed"}, role=role,
                            path=ctx.relative(path), media_type=media))
    return out


def evidence_paths(kept: list[Any]) -> list[str]:
    return [a.path for a in kept if isinstance(a, Artifact)]
