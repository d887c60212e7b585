"""The watchdog process: `python -m siteward.watchdog PID` (see siteward/processes.py).

Reads its stdin, the pipe from siteward: EOF means siteward ended. Until then it remembers
siteward's descendants (pid -> start time) every WATCHDOG_POLL_S; then it kills those still
alive with the same start time and everything they started since, and removes siteward's
temp directories. It imports nothing of siteward but processes.py (which imports no stage).
"""

from __future__ import annotations

import os
import select
import signal
import sys

import psutil

from siteward.processes import WATCHDOG_POLL_S, remove_temp_dirs_of

MAX_REMEMBERED = 10_000


def descendants(pid: int) -> dict[int, float]:
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return {}
    found = {}
    for child in children:
        try:
            found[child.pid] = child.create_time()
        except psutil.Error:
            continue
    return found


def end_all(remembered: dict[int, float]) -> int:
    """SIGKILL the remembered processes that are still the same processes, and their descendants."""
    victims: dict[int, float] = {}
    for pid, started in remembered.items():
        try:
            process = psutil.Process(pid)
            if process.create_time() != started:
                continue  # the pid was recycled: not ours
            victims[pid] = started
            victims.update(descendants(pid))
        except psutil.Error:
            continue
    victims.pop(os.getpid(), None)
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return len(victims)


def watch(parent: int) -> None:
    remembered: dict[int, float] = {}
    while True:
        ready, _, _ = select.select([sys.stdin.fileno()], [], [], WATCHDOG_POLL_S)
        if ready and not os.read(sys.stdin.fileno(), 4096):
            break  # the pipe closed: siteward ended
        if not psutil.pid_exists(parent):
            break
        now = descendants(parent)
        now.pop(os.getpid(), None)
        remembered.update(now)
        if len(remembered) > MAX_REMEMBERED:  # ended ones are dropped; the live ones stay
            remembered = now
    end_all(remembered)
    remove_temp_dirs_of(parent)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is siteward's to handle
    watch(int(sys.argv[1]))
