"""Bad input on the command line, generated: every bad flag value exits 2 naming the flag.

Each command gets a target on a closed loopback port, so a bad value that slipped through
would end as exit 3 (target unreachable) and fail the test instead of measuring anything.
Validation happens before the run directory exists: nothing is written for bad usage.
"""

from __future__ import annotations

import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from browsers.config import ENGINES
from browsers.devices import check_device_name
from siteward.cli import main

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
WORDS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=16)
LONG_NAMES = st.text(st.characters(categories=["L", "N"]), min_size=201, max_size=210)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TARGET = f"http://127.0.0.1:{_closed_port()}"


def _is_device(name: str) -> bool:
    try:
        check_device_name(name)
    except ValueError:
        return False
    return True


def _not_a_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return True
    return False


# command, flag, strategy of bad values
BAD_FLAGS = [
    ("sweep", "--engine", WORDS.filter(lambda w: w not in ENGINES)),
    ("sweep", "--device", WORDS.filter(lambda w: not _is_device(w))),
    ("sweep", "--page", WORDS.filter(lambda w: w not in {"home", "category", "search", "product", "cart", "checkout"})),
    ("sweep", "--journey", WORDS.filter(lambda w: w not in {"fill-cart", "checkout", "login"})),
    ("audit", "--preset", WORDS.filter(lambda w: w not in ("mobile", "desktop"))),
    ("audit", "--runs", st.one_of(st.integers(max_value=0), st.integers(min_value=26), WORDS.filter(_not_a_number))),
    ("audit", "--page", WORDS.filter(lambda w: w not in {"home", "category", "search", "product", "cart", "checkout"})),
    ("audit", "--lighthouserc", st.just("/nonexistent/lighthouserc.json")),
    ("load", "--peak-rps", st.one_of(st.floats(max_value=0.0099, allow_nan=False), st.floats(min_value=1e6),
                                     WORDS.filter(_not_a_number))),
    ("load", "--multiplier", st.one_of(st.floats(max_value=0.0099, allow_nan=False), st.floats(min_value=1e6),
                                       WORDS.filter(_not_a_number))),
    ("load", "--duration", st.one_of(st.floats(max_value=0.99, allow_nan=False), st.floats(min_value=3601),
                                     WORDS.filter(_not_a_number))),
    ("load", "--profile", WORDS.filter(lambda w: w not in ("peak", "open"))),
    # --workers 1000 once started ~900 Locust processes and filled the memory: bounded at 64.
    ("load", "--workers", st.one_of(st.integers(max_value=-1), st.integers(min_value=65), WORDS.filter(_not_a_number))),
    ("load", "--expect-workers", st.one_of(st.integers(max_value=0), st.integers(min_value=257))),
    ("run", "--stage", WORDS.filter(lambda w: w not in ("browsers", "audits", "loadtests"))),
    # A branch or commit name with spaces, control characters or 201+ characters.
    ("run", "--branch", st.one_of(st.just(" "), WORDS.map(lambda w: f"{w} {w}"), LONG_NAMES)),
    ("sweep", "--commit", st.one_of(WORDS.map(lambda w: f"{w}\tx"), LONG_NAMES)),
    # An unknown baseline used to surface only after the whole run, with no report written.
    ("sweep", "--baseline", WORDS),
    ("audit", "--baseline", WORDS),
    ("load", "--baseline", WORDS),
]


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # error boxes must not wrap a flag name


@SETTINGS
@given(case=st.sampled_from(BAD_FLAGS), data=st.data())
def test_a_bad_flag_value_exits_2_naming_the_flag(tmp_path, capsys, case, data):
    command, flag, values = case
    value = data.draw(values, label="value")
    results = tmp_path / "results"
    capsys.readouterr()
    code = main([command, f"{flag}={value}", "--target", TARGET, "--results", str(results), "-q"])
    err = capsys.readouterr().err
    assert code == 2, f"{command} {flag}={value!r} -> exit {code}: {err}"
    assert "Traceback" not in err
    assert flag.lstrip("-").split("-")[0] in err or str(value) in err, err
    assert not results.exists() or not any(p.is_dir() for p in results.iterdir()), "a run was started"


@SETTINGS
@given(command=st.sampled_from(["run", "sweep", "audit", "load"]),
       option=st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz-"), min_size=2, max_size=12))
def test_an_unknown_option_exits_2(capsys, command, option):
    known = {"config", "target", "results", "quiet", "stage", "baseline", "engine", "device", "page", "journey",
             "no-journeys", "preset", "runs", "lighthouserc", "peak-rps", "multiplier", "duration", "profile",
             "workers", "master", "worker", "master-host", "expect-workers", "allow-host", "i-own-this-host", "help",
             "branch", "commit"}
    name = option.strip("-")
    if not name or any(k.startswith(name) for k in known):
        return
    capsys.readouterr()
    assert main([command, f"--{name}"]) == 2
    err = capsys.readouterr().err
    assert f"--{name}" in err and "Traceback" not in err


@pytest.mark.parametrize("argv,fragment", [
    (["sweep", "--target", "http://127.0.0.1:99999"], "target.base_url"),
    (["sweep", "--target", "javascript:alert(1)"], "target.base_url"),
    (["sweep", "-c", "/nonexistent/siteward.toml"], "config file not found"),
    (["report", "does-not-exist"], "no run"),
    (["compare", "nope-a", "nope-b"], "no run"),
    (["baseline", "approve", "nope"], "no run"),
    (["shop", "--port", "70000"], "--port"),
    (["shop", "--fault", "errors=2"], "--fault errors=2"),
    (["demo", "--fault", "latency=-5"], "--fault latency=-5"),
    (["load", "--worker"], "--master-host"),
    (["load", "--master", "--worker", "--master-host", "127.0.0.1"], "exclude each other"),
])
def test_bad_usage_elsewhere_exits_2(tmp_path, capsys, monkeypatch, argv, fragment):
    monkeypatch.chdir(tmp_path)
    if argv[0] not in ("shop", "demo", "report", "compare", "baseline"):
        argv = [*argv, "--results", str(tmp_path / "r"), "-q"]
    elif argv[0] in ("report", "compare", "baseline"):
        argv = [*argv, "--results", str(tmp_path / "r")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err, err


def test_a_results_root_that_is_a_file_exits_2_before_measuring(tmp_path, capsys):
    blocker = tmp_path / "results"
    blocker.write_text("not a directory")
    assert main(["sweep", "--target", TARGET, "--results", str(blocker), "-q"]) == 2
    err = capsys.readouterr().err
    assert str(blocker) in err and "Traceback" not in err
    assert blocker.read_text() == "not a directory"


def test_the_shop_on_a_busy_port_is_exit_2_not_an_internal_error(tmp_path):
    import socket

    from fault_support import run_cli

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        code, out, err = run_cli("shop", "--port", str(busy.getsockname()[1]), out_dir=tmp_path, timeout=60)
    finally:
        busy.close()
    assert code == 2, (out, err)
    assert "cannot listen there" in err and "internal error" not in err and "Traceback" not in err


def test_an_internal_error_writes_its_trace_to_a_new_file_never_through_a_planted_link(tmp_path, monkeypatch, capsys):
    """A bug cannot be made to happen on purpose: a command that raises stands in for one."""
    import siteward.cli as cli

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "siteward-crash.txt").symlink_to(victim)  # the fixed name the trace used to be written to
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(cli.tempfile, "tempdir", None)  # re-read TMPDIR

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "app", broken)
    assert cli.main(["doctor"]) == 3
    out = "".join(capsys.readouterr())
    assert "internal error: RuntimeError: a bug" in out and "Traceback" not in out
    assert victim.read_text() == "precious"
    [trace] = tmp_path.glob("siteward-crash-*.txt")
    assert "RuntimeError: a bug" in trace.read_text() and str(trace) in out

