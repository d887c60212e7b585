"""siteward's locustfile: shop visitors, the load shape, per-second stats and the abort rule.

`siteward load` runs it for you. It is also a plain locustfile, so a team that outgrows
one machine adds workers, not code (the spec travels from master to workers with the
spawn message; workers need this repository or `pip install siteward`, nothing else):

    # master (writes the spec with `siteward load --master`, or by hand):
    locust -f loadtests/locustfile.py --headless --master --expect-workers 4 \
        --siteward-spec results/RUN/load/spec.json --siteward-out results/RUN/load \
        --host http://127.0.0.1:8765 --csv results/RUN/load/locust --csv-full-history
    # each worker machine:
    locust -f loadtests/locustfile.py --worker --master-host MASTER_IP --processes -1

Secrets in route bodies (${secrets.NAME}) are read on each worker from its own
environment (the spec names the variables, never the values).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import random
import sys
import time
from collections import deque
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import gevent
import gevent.ssl
from gevent.queue import Queue
from locust import FastHttpUser, LoadTestShape, events, task
from locust.contrib.fasthttp import FastRequest
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner

try:
    import loadtests  # noqa: F401
except ImportError:  # run as a plain file by `locust -f`: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadtests import series  # noqa: E402
from loadtests.model import TrafficModel  # noqa: E402
from loadtests.shapes import LoadPlan, PlanShape  # noqa: E402
from siteward.secrets import REFERENCE as SECRET_REFERENCE  # noqa: E402
from siteward.target import TargetAccess  # noqa: E402

LATE_TICKET_S = 1.0  # an arrival that waited longer than this for a free user is dropped
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class _State:
    """What this process knows about the run (master, worker or local alike)."""

    def __init__(self) -> None:
        self.environment = None
        self.spec: dict | None = None
        self.model: TrafficModel | None = None
        self.plan: LoadPlan | None = None
        self.buckets: series.Buckets = {}  # this process's requests since its last report
        self.merged: series.Buckets = {}  # master/local: everything
        self.users: dict[float, int] = {}
        self.tickets: Queue | None = None
        self.dispatcher = None
        self.dropped = 0
        self.dropped_total = 0
        self.aborted: str | None = None
        self.start_epoch: float | None = None
        self.cpu_warnings: list[dict] = []
        self.rate_share = 1.0

    def load(self, text: str) -> None:
        self.spec = json.loads(text)
        self.model = TrafficModel.from_spec(self.spec["model"])
        self.plan = LoadPlan.from_spec(self.spec["plan"])


STATE = _State()


@events.init_command_line_parser.add_listener
def _options(parser) -> None:
    parser.add_argument("--siteward-spec", default="", include_in_web_ui=False,
                        help="siteward load spec (JSON file written by `siteward load`)")
    parser.add_argument("--siteward-out", default="", include_in_web_ui=False,
                        help="directory for siteward's per-second statistics (master/local only)")
    parser.add_argument("--siteward-workers", type=int, default=0, include_in_web_ui=False,
                        help="set by the master: how many workers share the open model's arrival rate")


@events.init.add_listener
def _init(environment, **_) -> None:
    STATE.environment = environment
    options = environment.parsed_options
    if options is not None and options.siteward_spec and not isinstance(environment.runner, WorkerRunner):
        spec = options.siteward_spec
        text = spec if spec.lstrip().startswith("{") else Path(spec).read_text(encoding="utf-8")
        STATE.load(text)
        options.siteward_spec = text  # inline, so the spawn message carries it to workers


@events.request.add_listener
def _on_request(request_type, name, response_time, exception=None, **_) -> None:
    second = int(time.time() - (response_time or 0) / 1000.0)
    series.add_request(STATE.buckets, second, f"{request_type} {name}", response_time or 0.0, exception is not None)


@events.report_to_master.add_listener
def _report(client_id, data, **_) -> None:
    data["siteward"] = {"buckets": STATE.buckets, "dropped": STATE.dropped, "cpu_warnings": STATE.cpu_warnings}
    STATE.buckets, STATE.dropped, STATE.cpu_warnings = {}, 0, []


@events.worker_report.add_listener
def _worker_report(client_id, data, **_) -> None:
    report = data.get("siteward")
    if report:
        series.merge_buckets(STATE.merged, report["buckets"])
        STATE.dropped_total += report.get("dropped", 0)
        STATE.cpu_warnings.extend({**w, "worker": client_id} for w in report.get("cpu_warnings", []))


@events.test_start.add_listener
def _test_start(environment, **_) -> None:
    runner = environment.runner
    options = environment.parsed_options
    if isinstance(runner, WorkerRunner):
        STATE.load(options.siteward_spec)
        if _host(environment.host) != _host(STATE.spec.get("target", environment.host)):
            # The master's siteward checked the spec's target against its allow list; nothing else.
            logging.error("refusing load: host %s is not the checked target %s", environment.host,
                          STATE.spec.get("target"))
            STATE.model = None
            runner.quit()
            return
        workers = max(1, getattr(options, "siteward_workers", 1) or 1)
        STATE.rate_share = 1.0 / workers
        return
    if STATE.spec is None:
        raise RuntimeError("siteward's locustfile needs --siteward-spec (written by `siteward load`)")
    if isinstance(runner, MasterRunner):
        options.siteward_workers = runner.worker_count
    STATE.start_epoch = time.time()
    gevent.spawn(_monitor, environment)


def _host(url: str | None) -> str:
    return (urlsplit(url or "").hostname or "").lower()


def _monitor(environment) -> None:
    """Master/local, every second: users for the charts, and the abort rule."""
    abort = STATE.spec["abort"]
    snapshots: deque = deque(maxlen=int(abort["window_s"]) + 30)
    runner = environment.runner
    while True:
        gevent.sleep(1.0 - (time.time() % 1.0))
        now = time.time()
        STATE.users[int(now - STATE.start_epoch)] = runner.user_count
        total = environment.stats.total
        snapshots.append((now, total.num_requests, total.num_failures))
        reason = series.abort_reason(list(snapshots), abort["ratio"], abort["window_s"])
        if reason and STATE.aborted is None:
            STATE.aborted = reason
            environment.process_exit_code = 3
            runner.quit()
            return


@events.cpu_warning.add_listener
def _cpu_warning(environment, cpu_usage, **_) -> None:
    STATE.cpu_warnings.append({"time": time.time(), "cpu_percent": cpu_usage})


@events.quit.add_listener
def _write_output(**_) -> None:
    """Master/local, after the final worker reports: the raw per-second statistics."""
    options = STATE.environment.parsed_options if STATE.environment else None
    out = getattr(options, "siteward_out", "") if options else ""
    if not out or STATE.spec is None or STATE.start_epoch is None:
        return
    series.merge_buckets(STATE.merged, STATE.buckets)  # local mode: own requests
    STATE.buckets = {}
    raw = {
        "start_epoch": STATE.start_epoch,
        "end_epoch": time.time(),
        "buckets": {str(s): {r: [row[0], row[1], {str(k): v for k, v in row[2].items()}]
                             for r, row in routes.items()} for s, routes in STATE.merged.items()},
        "users": {str(k): v for k, v in STATE.users.items()},
        "aborted": STATE.aborted,
        "dropped_arrivals": STATE.dropped_total + STATE.dropped,
        "cpu_warnings": STATE.cpu_warnings,
    }
    Path(out).mkdir(parents=True, exist_ok=True)
    tmp = Path(out) / "raw.json.tmp"
    tmp.write_text(json.dumps(raw), encoding="utf-8")
    tmp.replace(Path(out) / "raw.json")


@events.test_stopping.add_listener
def _stop_dispatcher(**_) -> None:
    if STATE.dispatcher is not None:
        STATE.dispatcher.kill(block=False)
        STATE.dispatcher = None


def _dispatch(rate: float) -> None:
    """Open model: issue one ticket per arrival at a fixed rate, late or not (no back-off)."""
    start, issued = time.monotonic(), 0
    while True:
        due = start + issued / rate
        delay = due - time.monotonic()
        if delay > 0:
            gevent.sleep(delay)
        STATE.tickets.put(due)
        issued += 1


def _take_ticket() -> None:
    if STATE.dispatcher is None:
        STATE.tickets = Queue()
        STATE.dispatcher = gevent.spawn(_dispatch, STATE.plan.target_rps * STATE.rate_share)
    while True:
        due = STATE.tickets.get()
        if time.monotonic() - due <= LATE_TICKET_S:
            return
        STATE.dropped += 1  # no user was free in time: the arrival is lost (k6: dropped_iterations)


class RedirectOffTarget(OSError):
    """An OSError, so Locust records it as the request's failure rather than a crash of the user."""


class TargetOnlyRequest(FastRequest):
    """A request that follows redirects only within the origin it started at (the checked target):
    a Location on another host is a failed request naming it, and that host sees no connection."""

    def redirect(self, code: int, location: str) -> None:
        new = self.url_split.redirect(location)
        if (new.scheme, new.host, new.port) != self.original_origin:
            raise RedirectOffTarget(f"redirect ({code}) to {location} leaves the load target: not followed"
                                    " (load only goes to the checked target)")
        super().redirect(code, location)


def _trusting(ca_bundle: str, *args, **kwargs):
    """An SSL context that also trusts the target's CA bundle (geventhttpclient passes its own
    cafile, certifi's, so the bundle is loaded on top of whatever it asks for)."""
    context = gevent.ssl.create_default_context(*args, **kwargs)
    context.load_verify_locations(cafile=ca_bundle)
    return context


def _with_secrets(text: str) -> str:
    """${secrets.NAME} from the environment variable the config names for it (as routes do)."""
    secret_env = STATE.model.secret_env if STATE.model is not None else {}
    return SECRET_REFERENCE.sub(lambda m: os.environ.get(secret_env.get(m.group(1), ""), ""), text)


class ShopVisitor(FastHttpUser):
    """One visitor: one request per task, thinking (closed) or waiting for an arrival (open)."""

    def __init__(self, environment) -> None:
        # The target's TLS trust (Locust's FastHttpUser skips verification by default) and basic auth.
        access = (STATE.spec or {}).get("access") or {}
        self.insecure = not access.get("verify", True)
        if access.get("ca_bundle"):
            self.ssl_context_factory = functools.partial(_trusting, access["ca_bundle"])
        auth = access.get("auth")
        header = TargetAccess(base_url="", username=_with_secrets(auth["username"]),
                              password=_with_secrets(auth["password"])).authorization() if auth else None
        self.auth_headers = {"Authorization": header} if header else {}
        super().__init__(environment)

    def wait_time(self) -> float:
        if STATE.plan.profile == "open":
            _take_ticket()
            return 0.0
        # Pacing: the think time counts from the start of the last request, so the planned
        # rate holds while the site answers faster than people think (Locust's constant_pacing).
        low, high = STATE.spec["think_time_s"]
        return max(0.0, self.rng.uniform(low, high) - self.last_request_s)

    def on_start(self) -> None:
        self.client.client.request_type = TargetOnlyRequest
        self.rng = random.Random()
        self.pending: list = []
        self.last_request_s = 0.0
        if STATE.plan.profile == "open":
            _take_ticket()

    @task
    def visit(self) -> None:
        if STATE.model is None:
            raise StopUser()  # this worker refused the target
        started = time.perf_counter()
        try:
            self._send(STATE.model.next_request(self.pending, self.rng, os.environ))
        finally:
            self.last_request_s = time.perf_counter() - started

    def _send(self, request) -> None:
        kwargs: dict = {"name": request.label, "headers": dict(self.auth_headers)}
        if request.form is not None:
            kwargs.update(data=urlencode(request.form))
            kwargs["headers"].update(FORM)
        elif request.json_body is not None:
            kwargs["json"] = request.json_body
        if not request.follow_redirects:
            kwargs["allow_redirects"] = False
        if request.expect_status is None:
            self.client.request(request.method, request.path, **kwargs)
            return
        with self.client.request(request.method, request.path, catch_response=True, **kwargs) as response:
            if response.status_code in request.expect_status:
                response.success()
            else:
                response.failure(f"status {response.status_code}, expected {list(request.expect_status)}")


class SitewardShape(LoadTestShape):
    """Locust's view of the plan's shape (see loadtests.shapes)."""

    def __init__(self) -> None:
        super().__init__()
        self._shape: PlanShape | None = None

    def reset_time(self) -> None:
        super().reset_time()
        if STATE.plan is not None:
            self._shape = PlanShape(STATE.plan, clock=time.perf_counter)

    def tick(self):
        if self._shape is None:
            self.reset_time()
        return self._shape.tick() if self._shape else None
