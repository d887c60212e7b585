"""A private X server for WebKitGTK (MiniBrowser needs a display even for automation).

Xvfb picks a free display itself (``-displayfd``), so parallel runs and other
engineers' servers never collide. The screen is tall because full-page WebKit
screenshots are taken by growing the window to the document's height.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time

SCREEN = "2048x8192x24"


class XvfbError(RuntimeError):
    pass


class Xvfb:
    def __init__(self, screen: str = SCREEN, start_timeout_s: float = 20):
        self.screen = screen
        self.start_timeout_s = start_timeout_s
        self.process: subprocess.Popen | None = None
        self.display: str | None = None
        self._read_fd: int | None = None

    def start(self) -> str:
        binary = shutil.which("Xvfb")
        if binary is None:
            raise XvfbError("Xvfb is not installed (install: apt-get install -y xvfb)")
        read_fd, write_fd = os.pipe()
        try:
            self.process = subprocess.Popen(
                [binary, "-displayfd", str(write_fd), "-screen", "0", self.screen, "-nolisten", "tcp"],
                pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        finally:
            os.close(write_fd)
        # Xvfb writes "N\n" and dies if the pipe is closed before its last write: read the
        # whole line and keep our end open while the server runs.
        self._read_fd = read_fd
        number, deadline = b"", time.monotonic() + self.start_timeout_s
        while not number.endswith(b"\n"):
            ready, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(read_fd, 64) if ready else b""
            if not chunk:
                break
            number += chunk
        number = number.decode().strip()
        if not number.isdigit():
            self.stop()
            raise XvfbError(f"Xvfb did not report a display within {self.start_timeout_s:g} s")
        self.display = f":{number}"
        return self.display

    def stop(self) -> None:
        if self._read_fd is not None:
            os.close(self._read_fd)
            self._read_fd = None
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None
        self.display = None

    def __enter__(self) -> "Xvfb":
        self.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()
