"""Nothing siteward starts outlives it, and nothing it leaves in the temp directory stays.

A killed siteward (SIGKILL, the OOM killer, a CI runner giving up) cannot clean up after
itself, and its children do not notice: Locust kept loading the shop for 43 s, lhci,
Lighthouse and Chromium lived on, `siteward demo` left its shop listening. So a process of
`siteward` starts a watchdog (siteward/watchdog.py): a small process of its own that holds
the reading end of a pipe from siteward, remembers siteward's descendants every
WATCHDOG_POLL_S, and the moment the pipe closes (siteward ended, however) ends every
remembered process still alive and what it started since - by process id and start time,
so a recycled pid is never hit. It does not depend on which part started a process (the
Playwright driver and its browsers, WebKitWebDriver and MiniBrowser, Xvfb, lhci and its
Chrome, Locust master and workers, the demo shop).

Temp directories are named `siteward-KIND-PID-XXXX`: the watchdog removes its siteward's
at the end, and every start removes those whose process is gone (a watchdog killed too).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

WATCHDOG_POLL_S = 0.5
STALE_AFTER_S = 60  # a temp directory younger than this may belong to a process just starting
TEMP_NAME = re.compile(r"^siteward-[a-z-]+?-(\d+)-")


def temp_dir(kind: str) -> Path:
    """A new private temp directory whose name says which siteward process it belongs to."""
    return Path(tempfile.mkdtemp(prefix=f"siteward-{kind}-{os.getpid()}-"))


def owner_of(path: Path) -> int | None:
    match = TEMP_NAME.match(path.name)
    return int(match.group(1)) if match else None


def remove_temp_dirs_of(pid: int, root: Path | None = None) -> list[Path]:
    """Remove the temp directories of one (ended) siteward process."""
    removed = []
    for path in Path(root or tempfile.gettempdir()).glob(f"siteward-*-{pid}-*"):
        if owner_of(path) == pid and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def clean_stale_temp_dirs(root: Path | None = None, *, now: float | None = None) -> list[Path]:
    """Remove temp directories left by siteward processes that no longer run."""
    now = time.time() if now is None else now
    removed = []
    for path in Path(root or tempfile.gettempdir()).glob("siteward-*-*-*"):
        pid = owner_of(path)
        try:
            old = now - path.lstat().st_mtime > STALE_AFTER_S
        except OSError:
            continue
        if pid is None or pid == os.getpid() or psutil.pid_exists(pid) or not old:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


class Watchdog:
    """The watchdog process of this siteward process (see the module docstring)."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # Its own session: a terminal's Ctrl-C reaches siteward, which then ends in order, and
        # the watchdog only acts when the pipe closes. close_fds: no other child holds the pipe.
        self.process = subprocess.Popen([sys.executable, "-m", "siteward.watchdog", str(os.getpid())],
                                        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Close the pipe (the watchdog ends what is left of ours) and wait for it."""
        if self.process is None:
            return
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
            self.process.wait(timeout=timeout_s)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
        self.process = None
