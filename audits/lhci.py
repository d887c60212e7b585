"""Lighthouse CI as a subprocess: `lhci collect` and `lhci assert` in a private work dir.

Each call gets its own working directory, so the `.lighthouseci/` folders of two
calls never mix. A call that overruns its timeout is killed with its whole process
tree: Chrome is launched detached (its own process group) by chrome-launcher, so
killing lhci's process group alone would leave Chrome running.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import psutil

from audits.tools import NodeTools
from siteward.browser_state import origin_of

LHR_NAME = re.compile(r"^lhr-(\d+)\.json$")
RUN_DONE = re.compile(r"Run #(\d+)\.\.\.done\.")
RUNTIME_ERROR = re.compile(r"Runtime error encountered:\s*(.+)")
# Lighthouse names its error code in the LHR it prints, or in the error stack.
ERROR_CODE = re.compile(r'"runtimeError":\s*\{\s*"code":\s*"([A-Z][A-Z0-9_]+)"|LighthouseError: ([A-Z][A-Z0-9_]+)'
                        r"|\(([A-Z][A-Z0-9_]{3,})\)")


@dataclass
class CollectResult:
    workdir: Path
    lhr_paths: list[Path]  # in run order
    error: str | None = None  # the tool's own message when collect failed
    error_code: str | None = None  # Lighthouse's runtime error code, "TIMEOUT", or None
    elapsed_s: float = 0.0
    stdout: str = ""
    stderr: str = ""
    killed: list[str] = field(default_factory=list)  # "pid name" of processes killed on timeout

    def html_path(self, lhr_path: Path) -> Path | None:
        html = lhr_path.with_suffix(".html")
        return html if html.exists() else None


@dataclass
class _Output:
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)


STATE_SCRIPT = Path(__file__).with_name("lighthouse_state.js")
STATE_FILE = "siteward-state.json"  # what the script reads, in lhci's working directory


def collect_config(url: str, *, preset: str, runs: int, chrome_path: str, chrome_flags: list[str],
                   with_state: bool = False, extra_headers: dict[str, str] | None = None) -> dict:
    """The lhci config for one URL and preset (mobile is Lighthouse's default config).

    With state, Lighthouse runs in the Chrome that lhci's puppeteerScript prepared with the
    journey's cookies and storage, and does not reset that storage before loading the page.
    """
    # lhci appends --headless=new itself; passing it twice is harmless but noisy.
    flags = [f for f in chrome_flags if not f.startswith("--headless")]
    settings: dict = {}
    if preset == "desktop":
        settings["preset"] = "desktop"
    if extra_headers:  # basic auth: Lighthouse sends them with every request of the page
        settings["extraHeaders"] = dict(extra_headers)
    collect: dict = {"url": [url], "numberOfRuns": runs, "chromePath": chrome_path, "settings": settings}
    if with_state:
        settings["disableStorageReset"] = True
        collect["puppeteerScript"] = STATE_SCRIPT.name
        collect["puppeteerLaunchOptions"] = {"args": flags}  # lhci ignores chromeFlags with a puppeteerScript
    else:
        settings["chromeFlags"] = " ".join(flags)
    return {"ci": {"collect": collect}}


def saved_lhrs(workdir: Path) -> list[Path]:
    """LHR files lhci saved, in run order (their names carry Date.now() of each save)."""
    folder = workdir / ".lighthouseci"
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := LHR_NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def kill_tree(pid: int) -> list[str]:
    """SIGKILL a process and every descendant (Chrome included), then its group.

    Returns "pid name" of each process killed (names read before the kill).
    """
    try:
        root = psutil.Process(pid)
        procs = root.children(recursive=True) + [root]
    except psutil.NoSuchProcess:
        procs = []
    names = []
    for proc in procs:
        try:
            names.append(f"{proc.pid} {proc.name()}")
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    psutil.wait_procs(procs, timeout=10)
    return names


def _pump(stream, sink: list[str], on_line: Callable[[str], None] | None) -> None:
    for line in iter(stream.readline, ""):
        sink.append(line)
        if on_line is not None:
            on_line(line)
    stream.close()


class Stopped(RuntimeError):
    """lhci was not started, or was ended, because the run is stopping."""


_RUNNING: set[int] = set()  # pids of running lhci processes (each leads its own process group)
_RUNNING_LOCK = threading.Lock()
_STOPPING = threading.Event()


def run_lhci(tools: NodeTools, args: list[str], *, workdir: Path, timeout_s: float,
             on_line: Callable[[str], None] | None = None,
             killed: list[str] | None = None) -> tuple[int | None, str, str, float]:
    """Run `lhci ARGS` in workdir; returns (exit code or None on timeout, stdout, stderr, seconds).

    On timeout the whole tree is killed; `killed` (if given) receives "pid name" of each process.
    """
    started = time.monotonic()
    with _RUNNING_LOCK:
        if _STOPPING.is_set():
            raise Stopped("the run is stopping: no new Lighthouse run")
        proc = subprocess.Popen(
            [str(tools.lhci), *args], cwd=workdir, env=tools.env(), text=True, errors="replace",
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        _RUNNING.add(proc.pid)
    out = _Output()
    readers = [
        threading.Thread(target=_pump, args=(proc.stdout, out.stdout, on_line), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr, out.stderr, None), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        code: int | None = proc.wait(timeout=timeout_s)
        if _STOPPING.is_set():
            raise Stopped("ended: the run is stopping")  # killed by stop_all, not the tool's own failure
    except subprocess.TimeoutExpired:
        victims = kill_tree(proc.pid)
        if killed is not None:
            killed.extend(victims)
        proc.wait()
        code = None
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(proc.pid)
    for reader in readers:
        reader.join(timeout=10)
    return code, "".join(out.stdout), "".join(out.stderr), time.monotonic() - started


def stop_all() -> None:
    """SIGINT/SIGTERM: end every running lhci tree now and start no other (CI runners kill ~10 s
    after SIGTERM, and one collect takes up to a minute)."""
    with _RUNNING_LOCK:
        _STOPPING.set()
        running = list(_RUNNING)
    for pid in running:
        kill_tree(pid)


def allow_runs() -> None:
    """A new stage may run lhci again (after stop_all)."""
    _STOPPING.clear()


def failure_message(stderr: str, stdout: str, code: int | None) -> tuple[str, str | None]:
    """The tool's own message for a failed collect, and Lighthouse's error code if it gave one."""
    code_match = ERROR_CODE.search(stderr)
    error_code = next((g for g in code_match.groups() if g), None) if code_match else None
    match = RUNTIME_ERROR.search(stderr)
    if match:
        return match.group(1).strip(), error_code
    lines = [ln.strip() for ln in (stderr or stdout).splitlines() if ln.strip() and not ln.strip().startswith("at ")]
    message = " | ".join(lines[-3:]) if lines else f"lhci exited with code {code}"
    return message, error_code


def collect(tools: NodeTools, url: str, *, workdir: Path, preset: str, runs: int, timeout_s: float,
            chrome_flags: list[str], state: Path | None = None, extra_headers: dict[str, str] | None = None,
            on_run_done: Callable[[int], None] | None = None) -> CollectResult:
    """`lhci collect` one URL `runs` times with one preset; LHRs and HTML stay in workdir.

    `state`: a browser state file (siteward.browser_state) to prepare Lighthouse's Chrome with."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "lhci-collect.json"
    if state is not None:  # lhci loads the script relative to its working directory
        shutil.copyfile(STATE_SCRIPT, workdir / STATE_SCRIPT.name)
        data = json.loads(state.read_text(encoding="utf-8"))
        (workdir / STATE_FILE).write_text(json.dumps({**data, "targetOrigin": origin_of(url)}), encoding="utf-8")
    config = collect_config(url, preset=preset, runs=runs, chrome_path=str(tools.chrome),
                            chrome_flags=chrome_flags, with_state=state is not None, extra_headers=extra_headers)
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")

    def on_line(line: str) -> None:
        for match in RUN_DONE.finditer(line):
            if on_run_done is not None:
                on_run_done(int(match.group(1)))

    killed: list[str] = []
    code, stdout, stderr, elapsed = run_lhci(
        tools, ["collect", f"--config={config_path}"], workdir=workdir, timeout_s=timeout_s, on_line=on_line,
        killed=killed,
    )
    result = CollectResult(workdir=workdir, lhr_paths=saved_lhrs(workdir), elapsed_s=elapsed,
                           stdout=stdout, stderr=stderr, killed=killed)
    if code is None:
        result.error = f"Lighthouse timed out after {timeout_s:g} s (lhci collect killed with its Chrome)"
        result.error_code = "TIMEOUT"
    elif code != 0:
        result.error, result.error_code = failure_message(stderr, stdout, code)
    return result


@dataclass(frozen=True)
class AssertionResult:
    passed: bool
    level: str  # "error" | "warn"
    message: str
    raw: dict


def assertion_message(item: dict) -> str:
    """Render one lhci assertion result the way `lhci assert` prints it."""
    target = item.get("auditId", "?") + (f".{item['auditProperty']}" if item.get("auditProperty") else "")
    outcome = "passing" if item.get("passed") else ("warning" if item.get("level") == "warn" else "failure")
    values = ", ".join(f"{v:g}" if isinstance(v, (int, float)) else str(v) for v in item.get("values", []))
    text = (f"{target} {outcome} for {item.get('name')} assertion: expected {item.get('operator', '')}"
            f"{item.get('expected')}, found {item.get('actual')} (all values: {values})")
    extra = " ".join(str(item[k]) for k in ("auditTitle", "message") if item.get(k))
    return f"{text}; {extra}" if extra else text


def assert_results(tools: NodeTools, *, workdir: Path, rc_path: Path, timeout_s: float) -> tuple[list[AssertionResult], str | None]:
    """`lhci assert` the LHRs in workdir against a lighthouserc; (results, error message)."""
    results_file = workdir / ".lighthouseci" / "assertion-results.json"
    results_file.unlink(missing_ok=True)
    code, stdout, stderr, _ = run_lhci(
        tools, ["assert", f"--config={rc_path.resolve()}", "--includePassedAssertions"],
        workdir=workdir, timeout_s=timeout_s,
    )
    if code is None:
        return [], f"lhci assert timed out after {timeout_s:g} s"
    if not results_file.exists():
        if code == 0:  # no assertions configured for these results
            return [], None
        return [], failure_message(stderr, stdout, code)[0]
    try:
        items = json.loads(results_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [], f"cannot read lhci assertion results: {exc}"
    return [AssertionResult(bool(i.get("passed")), str(i.get("level", "error")), assertion_message(i), i)
            for i in items], None
