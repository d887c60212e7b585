"""Bad input, generated: every malformed siteward.toml is a ConfigError (exit 2) naming the key.

Documents are the built-in demo config (every default written out) with one mutation:
a wrong type, an unknown key, a missing required key, a negative or non-finite number,
a bad base URL, or corrupted TOML text. Never a traceback, never any other exception.
"""

from __future__ import annotations

import copy
import tomllib
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from config_schema import Node, delete_at, full_demo_document, key_path, set_at, to_toml, walk
from siteward.cli import main
from siteward.config import builtin_config_text, load_config, parse_config
from siteward.errors import ConfigError

DOCUMENT = full_demo_document()
NODES = walk(DOCUMENT)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _rejects(document: dict) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(document, "fuzz.toml")
    message = str(info.value)
    assert message.startswith("fuzz.toml: "), message
    assert "Traceback" not in message
    return message


def _mutated(node: Node, value) -> dict:
    document = copy.deepcopy(DOCUMENT)
    set_at(document, node.path, value)
    return document


def test_the_walked_document_itself_is_valid_and_covers_every_section():
    parse_config(copy.deepcopy(DOCUMENT), "full.toml")
    kinds = {n.kind for n in NODES}
    assert kinds == {"table", "dict", "list", "str", "number", "bool"}
    tops = {n.path[0] for n in NODES}
    assert {"target", "pages", "journeys", "browsers", "visual", "budgets", "audits", "load", "results",
            "secrets", "stages"} <= tops


def _not_a_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return True
    return False


BOOLISH = {"0", "1", "t", "f", "y", "n", "on", "off", "yes", "no", "true", "false"}
WRONG_TYPE = {
    "str": st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
                     st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)),
    "number": st.one_of(st.text(max_size=12).filter(_not_a_number), st.lists(st.integers(), max_size=2),
                        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)),
    "bool": st.one_of(st.text(max_size=8).filter(lambda t: t.strip().lower() not in BOOLISH),
                      st.integers().filter(lambda i: i not in (0, 1)), st.lists(st.booleans(), max_size=2)),
    "list": st.one_of(st.integers(), st.text(max_size=8), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)),
    "table": st.one_of(st.integers(), st.text(max_size=8), st.lists(st.integers(), max_size=2)),
    "dict": st.one_of(st.integers(), st.text(max_size=8), st.lists(st.integers(), max_size=2)),
}


@SETTINGS
@given(data=st.data())
def test_a_wrong_type_anywhere_names_its_key(data):
    node = data.draw(st.sampled_from(NODES), label="node")
    value = data.draw(WRONG_TYPE[node.kind], label="value")
    message = _rejects(_mutated(node, value))
    assert node.key in message, (node.key, value, message)


@SETTINGS
@given(node=st.sampled_from([n for n in NODES if n.kind == "table"]),
       name=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12),
       value=st.one_of(st.integers(), st.text(max_size=5), st.booleans()))
def test_an_unknown_key_in_any_table_is_named_with_a_suggestion(node, name, value):
    key = "zz" + name  # never a real key
    document = copy.deepcopy(DOCUMENT)
    set_at(document, (*node.path, key), value)
    message = _rejects(document)
    assert f"{key_path((*node.path, key))}: unknown key" in message, message
    assert "did you mean" in message or "valid keys:" in message


@SETTINGS
@given(node=st.sampled_from([n for n in NODES if n.kind == "table" and n.required_keys]), data=st.data())
def test_a_missing_required_key_is_named(node, data):
    key = data.draw(st.sampled_from(node.required_keys))
    document = copy.deepcopy(DOCUMENT)
    delete_at(document, (*node.path, key))
    message = _rejects(document)
    assert f"{key_path((*node.path, key))}: required key is missing" in message, message


NUMBERS = [n for n in NODES if n.kind == "number"]


def _names(message: str, path) -> bool:
    """Range checks may speak of the container (budgets.global: budget 'cls' ...): parent plus leaf."""
    if isinstance(path[-1], int):  # an item of a list, e.g. think_time_s[1]
        return key_path(path[:-1]) in message
    return key_path(path[:-1]) in message and str(path[-1]) in message


@SETTINGS
@given(node=st.sampled_from(NUMBERS), value=st.floats(max_value=-1e-6, allow_nan=False, allow_infinity=False))
def test_a_negative_number_anywhere_is_out_of_range(node, value):
    # Whole numbers stay whole, so an int field reports the range and not a type.
    value = float(int(value) or -1) if isinstance(node.value, int) else value
    message = _rejects(_mutated(node, value))
    assert _names(message, node.path), (node.key, value, message)


@SETTINGS
@given(node=st.sampled_from(NUMBERS), value=st.sampled_from([float("nan"), float("inf"), float("-inf"), "nan", "inf"]))
def test_nan_and_inf_are_refused_also_when_spelled_as_strings(node, value):
    message = _rejects(_mutated(node, value))
    assert _names(message, node.path), (node.key, value, message)


def _acceptable_url(url: str) -> bool:
    """The rule, independently: http(s), a host, a port (if any) in 1..65535."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and (port is None or 0 < port <= 65535)


URLS = st.one_of(
    st.text(max_size=40),
    st.builds(lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
              st.sampled_from(["http", "https", "ftp", "file", "javascript", "HTTP", ""]),
              st.sampled_from(["127.0.0.1", "localhost", "", "[::1]", "[::1", "shop.example.com", "a b", "%%"]),
              st.sampled_from(["", ":8000", ":0", ":65536", ":99999", ":-1", ":port", ":"]),
              st.sampled_from(["", "/", "/shop", "?q=1", "#x"])),
)


@SETTINGS
@example("http://a:99999")
@example("http://127.0.0.1:port")
@example("javascript:alert(1)")
@example("http://[::1")
@given(url=URLS)
def test_a_bad_base_url_is_refused_naming_target_base_url(url):
    assume("\x00" not in url)
    try:
        config = load_config(None, target=url)
    except ConfigError as err:
        assert "target.base_url" in str(err), str(err)
        return
    assert _acceptable_url(url), f"accepted {url!r}"
    assert config.target.base_url.lower().startswith(("http://", "https://"))
    assert 0 < (urlsplit(config.target.base_url).port or 80) <= 65535


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_corrupted_toml_text_is_a_config_error_or_a_valid_config(tmp_path_factory, data):
    text = builtin_config_text()
    start = data.draw(st.integers(0, len(text)), label="start")
    end = data.draw(st.integers(start, min(len(text), start + 40)), label="end")
    insert = data.draw(st.text(st.sampled_from(list('[]{}="\',.#\n \\xabc1-_$')) | st.characters(), max_size=10),
                       label="insert")
    path = tmp_path_factory.mktemp("toml") / "siteward.toml"
    path.write_text(text[:start] + insert + text[end:], encoding="utf-8", errors="surrogatepass")
    try:
        load_config(path)
    except ConfigError as err:
        assert str(err).startswith(str(path)), str(err)


def test_a_config_file_that_is_not_utf8_or_not_a_file_is_a_config_error(tmp_path):
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"[target]\nbase_url = \"http://\xff\xfe\"\n")
    with pytest.raises(ConfigError, match="binary.toml: cannot read config"):
        load_config(binary)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(tmp_path)  # a directory
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.toml")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_malformed_config_file_through_the_cli_exits_2_naming_the_key(tmp_path, capsys, data):
    # results.root is left out: --results overrides it, by design.
    leaves = [n for n in NODES if n.kind in ("str", "number", "bool") and n.path != ("results", "root")]
    node = data.draw(st.sampled_from(leaves), label="node")
    value = data.draw(WRONG_TYPE[node.kind], label="value")
    text = to_toml(_mutated(node, value))
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:  # e.g. a lone surrogate: no TOML string can hold it
        assume(False)
    path = tmp_path / "siteward.toml"
    path.write_text(text, encoding="utf-8")
    command = data.draw(st.sampled_from(["run", "sweep", "audit", "load", "report latest", "baseline list"]))
    capsys.readouterr()
    code = main([*command.split(), "-c", str(path), "--results", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert node.key in err and str(path) in err and "Traceback" not in err
