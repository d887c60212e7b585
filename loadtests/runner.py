"""Start Locust headless in subprocesses: one local process, or its master plus N workers.

Locust runs in its own processes because it gevent-patches the interpreter that imports
it (siteward's browsers and store must not be patched). The master is Locust's own: with
`master_bind_host="*"` workers on other machines join it with a plain
`locust -f loadtests/locustfile.py --worker --master-host H`.

While Locust runs we sample the CPU of every Locust process (psutil) to tell a saturated
load generator from a slow site. A stop request (Ctrl-C, SIGTERM) sends SIGTERM to the
master, which stops its workers, collects their final reports and writes what was measured.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
STOP_GRACE_S = 30.0  # the master's time to stop workers and write its files after SIGTERM
START_GRACE_S = 60.0  # allowance beyond the planned duration (start-up, waiting for workers)


@dataclass
class LocustProcesses:
    """What ran, and where its evidence is."""

    out_dir: Path
    returncodes: dict[str, int | None] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)  # % of one core used, per second
    # % of one core wanted (on CPU + waiting in the run queue): on a busy machine a CPU-bound
    # generator gets less than a core, and only this shows that it was starved.
    demand: dict[str, list[float]] = field(default_factory=dict)
    logs: list[Path] = field(default_factory=list)
    stopped_early: str | None = None  # "interrupted" | "timeout"
    interruption: BaseException | None = None  # re-raised by the stage once results are written


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def locust_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *args]


def master_args(*, host: str, spec: Path, out_dir: Path, workers: int, bind_host: str, bind_port: int,
                expect_workers: int, wait_workers_s: float) -> list[str]:
    common = ["--headless", "--host", host, "--siteward-spec", str(spec), "--siteward-out", str(out_dir),
              "--csv", str(out_dir / "locust"), "--csv-full-history", "--only-summary",
              "--exit-code-on-error", "0", "--loglevel", "INFO"]
    if workers <= 1 and expect_workers <= 1 and bind_host == "127.0.0.1":
        return common  # one process: Locust's LocalRunner, no master overhead
    return [*common, "--master", "--master-bind-host", bind_host, "--master-bind-port", str(bind_port),
            "--expect-workers", str(max(expect_workers, workers)),
            "--expect-workers-max-wait", str(int(wait_workers_s))]


def worker_args(master_host: str, master_port: int) -> list[str]:
    return ["--worker", "--master-host", master_host, "--master-port", str(master_port), "--loglevel", "WARNING"]


def _spawn(cmd: list[str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as sink:
        # Own process group: the terminal's Ctrl-C reaches us only, and we stop Locust in order.
        # Not an own session: Linux's autogroup scheduler would then schedule each Locust
        # process apart from everything else and cut its share of CPU on a busy machine.
        return subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                process_group=0, env={**os.environ, "PYTHONUNBUFFERED": "1"})


class StopRequested(KeyboardInterrupt):
    """Raised by our SIGTERM handler in the main thread; handled like Ctrl-C."""


def run_locust(*, host: str, spec: Path, out_dir: Path, workers: int, duration_s: float,
               bind_host: str = "127.0.0.1", bind_port: int | None = None, expect_workers: int = 0,
               wait_workers_s: float = 60.0, on_second: Callable[[float], None] | None = None) -> LocustProcesses:
    """Run master (or one local process) plus `workers` local workers until the shape ends."""
    out_dir.mkdir(parents=True, exist_ok=True)
    port = bind_port or free_port()
    result = LocustProcesses(out_dir)
    procs: dict[str, subprocess.Popen] = {}
    master_log = out_dir / "locust-master.log"
    args = master_args(host=host, spec=spec, out_dir=out_dir, workers=workers, bind_host=bind_host,
                       bind_port=port, expect_workers=expect_workers, wait_workers_s=wait_workers_s)
    distributed = "--master" in args
    procs["master" if distributed else "local"] = _spawn(locust_command(*args), master_log)
    result.logs.append(master_log)
    if distributed:
        for index in range(workers):
            log = out_dir / f"locust-worker-{index + 1}.log"
            procs[f"worker-{index + 1}"] = _spawn(locust_command(*worker_args("127.0.0.1", port)), log)
            result.logs.append(log)
    main = next(iter(procs.values()))
    deadline = time.monotonic() + duration_s + START_GRACE_S + (wait_workers_s if distributed else 0)
    watched = {name: _process(p.pid) for name, p in procs.items()}
    demand_base = {name: (time.monotonic(), _cpu_demand_s(p.pid)) for name, p in procs.items()}
    started = time.monotonic()
    try:
        while main.poll() is None:
            time.sleep(1.0)
            for name, proc in watched.items():
                if proc is not None and procs[name].poll() is None:
                    try:
                        result.cpu.setdefault(name, []).append(proc.cpu_percent(None))
                    except psutil.Error:
                        pass
                    now, demand = time.monotonic(), _cpu_demand_s(procs[name].pid)
                    before_t, before = demand_base[name]
                    if demand is not None and before is not None and now > before_t:
                        result.demand.setdefault(name, []).append(100.0 * (demand - before) / (now - before_t))
                    demand_base[name] = (now, demand)
            if on_second is not None:
                on_second(time.monotonic() - started)
            if time.monotonic() > deadline:
                result.stopped_early = "timeout"
                break
    except BaseException as exc:  # Ctrl-C, SIGTERM, or the run's own Interrupted: stop Locust, keep results
        result.stopped_early = "interrupted"
        result.interruption = exc
    finally:
        _stop_all(procs, main)
        result.returncodes = {name: p.returncode for name, p in procs.items()}
        for samples in (*result.cpu.values(), *result.demand.values()):
            del samples[:1]  # the first reading covers start-up (imports), not load
    return result


def _cpu_demand_s(pid: int) -> float | None:
    """Seconds the process's main thread ran or waited to run (Linux /proc/PID/schedstat)."""
    try:
        with open(f"/proc/{pid}/schedstat") as handle:
            on_cpu, waiting = handle.read().split()[:2]
        return (int(on_cpu) + int(waiting)) / 1e9
    except (OSError, ValueError):
        return None


def _process(pid: int) -> psutil.Process | None:
    try:
        proc = psutil.Process(pid)
        proc.cpu_percent(None)  # starts the measurement interval
        return proc
    except psutil.Error:
        return None


def _stop_all(procs: dict[str, subprocess.Popen], main: subprocess.Popen) -> None:
    """SIGTERM to the master first (it quits its workers and writes stats), then the rest."""
    if main.poll() is None:
        # SIGINT: during a shape test Locust handles KeyboardInterrupt, but not yet SIGTERM.
        main.send_signal(signal.SIGINT)
        try:
            main.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            main.kill()
            main.wait()
    for proc in procs.values():
        if proc.poll() is None:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def run_workers(*, master_host: str, master_port: int, workers: int, log_dir: Path) -> dict[str, int | None]:
    """This machine as workers of a remote master (`siteward load --worker`); blocks until it quits."""
    log_dir.mkdir(parents=True, exist_ok=True)
    procs = {f"worker-{i + 1}": _spawn(locust_command(*worker_args(master_host, master_port)),
                                       log_dir / f"locust-worker-{i + 1}.log") for i in range(workers)}
    try:
        while any(p.poll() is None for p in procs.values()):
            time.sleep(1.0)
    except BaseException:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
    finally:
        for proc in procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return {name: p.returncode for name, p in procs.items()}
