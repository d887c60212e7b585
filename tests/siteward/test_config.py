"""Config validation: every malformed config gets exit 2 and one message naming the key."""

from __future__ import annotations

import textwrap

import pytest

from siteward.cli import main
from siteward.config import load_config
from siteward.errors import ConfigError

VALID = """
[target]
base_url = "http://127.0.0.1:8000"

[[pages]]
name = "home"
path = "/"
"""

# (what is wrong, the TOML, fragments the single message must contain)
MALFORMED = [
    ("not TOML", "[target\nbase_url = 1", ["not valid TOML"]),
    ("no target", "[[pages]]\nname='home'\npath='/'", ["target", "required key is missing"]),
    ("typo in top-level key", VALID + "\n[budget]\nfcp_ms = 1", ["budget", "did you mean 'budgets'"]),
    ("typo in nested key", VALID + "\n[browsers]\nengine = ['chromium']", ["browsers.engine", "did you mean 'engines'"]),
    ("unknown engine", VALID + "\n[browsers]\nengines = ['chrome']", ["browsers.engines", "chromium"]),
    ("bad base url", '[target]\nbase_url = "ftp://example.com"', ["target.base_url", "http(s) URL"]),
    ("relative page path", '[target]\nbase_url="http://a.b"\n[[pages]]\nname="x"\npath="home"', ["pages[0].path", "starting with '/'"]),
    ("duplicate page names", VALID + '\n[[pages]]\nname="home"\npath="/b"', ["unique", "home"]),
    ("negative budget", VALID + "\n[budgets.global]\nfcp_ms = -5", ["budgets.global", ">= 0"]),
    ("string budget", VALID + "\n[budgets.mobile]\nfcp_ms = 'fast'", ["budgets.mobile.fcp_ms", "number"]),
    ("budget for unknown page", VALID + "\n[budgets.pages.checkout]\nfcp_ms = 1", ["budgets.pages.checkout", "no configured page"]),
    ("step without action", VALID + '\n[[journeys]]\nname="j"\nsteps=[{name="nothing"}]', ["journeys[0].steps[0]", "exactly one action"]),
    ("step with two actions", VALID + '\n[[journeys]]\nname="j"\nsteps=[{goto="/", click="a"}]', ["exactly one action", "goto, click"]),
    ("fill without value", VALID + '\n[[journeys]]\nname="j"\nsteps=[{fill="input"}]', ["journeys[0].steps[0]", "needs a value"]),
    ("unknown step key", VALID + '\n[[journeys]]\nname="j"\nsteps=[{clik="a"}]', ["journeys[0].steps[0].clik", "did you mean 'click'"]),
    ("undeclared secret", VALID + '\n[[journeys]]\nname="j"\nsteps=[{fill="#p", value="${secrets.pw}"}]', ["secrets.pw", "not declared"]),
    ("secret not an env var name", VALID + '\n[secrets]\npw = "my password"', ["secrets.pw", "environment variable"]),
    ("runs out of range", VALID + "\n[audits]\nruns = 0", ["audits.runs", "greater than or equal to 1"]),
    ("bad preset", VALID + "\n[audits]\npresets = ['tablet']", ["audits.presets[0]", "mobile"]),
    ("load duration above cap", VALID + "\n[load]\nduration_s = 7200\nmax_duration_s = 600", ["load", "max_duration_s"]),
    ("negative multiplier", VALID + "\n[load]\nmultiplier = -1", ["load.multiplier", "greater than 0"]),
    ("wrong type for list", VALID + "\n[browsers]\nengines = 'chromium'", ["browsers.engines", "list"]),
    ("journey_state names no journey", '[target]\nbase_url="http://a.b"\n[[pages]]\nname="c"\npath="/c"\njourney_state="cart"', ["journey_state", "not a journey"]),
    ("unknown stage", "stages = ['browsers', 'lighthouse']\n" + VALID, ["stages[1]", "audits"]),
    ("visual threshold above 1", VALID + "\n[visual]\nthreshold = 2", ["visual.threshold", "less than or equal to 1"]),
]


@pytest.mark.parametrize("what,toml,fragments", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_config_names_file_key_and_expectation(tmp_path, what, toml, fragments):
    path = tmp_path / "siteward.toml"
    path.write_text(textwrap.dedent(toml))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    for fragment in fragments:
        assert fragment in message, f"{what}: {fragment!r} not in {message!r}"
    assert "Traceback" not in message


def test_at_least_fifteen_malformed_configs():
    assert len(MALFORMED) >= 15


@pytest.mark.parametrize("what,toml,fragments", MALFORMED[:6], ids=[m[0] for m in MALFORMED[:6]])
def test_cli_exits_2_with_one_message_and_no_traceback(tmp_path, capsys, what, toml, fragments):
    path = tmp_path / "siteward.toml"
    path.write_text(toml)
    assert main(["sweep", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert str(path) in err


def test_missing_config_file_is_exit_2(tmp_path, capsys):
    assert main(["run", "-c", str(tmp_path / "nope.toml")]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_builtin_config_describes_the_demo_shop():
    config = load_config()
    names = [p.name for p in config.pages]
    assert names == ["home", "category", "search", "product", "cart", "checkout", "app-products", "app-cart"]
    assert "checkout" in [j.name for j in config.journeys]
    assert config.page("checkout").journey_state == "fill-cart"


def test_defaults_are_the_contract_standards():
    config = load_config()
    assert config.budgets.limit_for("response_ms") == 2000
    assert config.budgets.limit_for("fcp_ms", form_factor="mobile") == 1500
    assert config.budgets.limit_for("fcp_ms", form_factor="desktop") is None
    assert config.load.thresholds.p95_ms["api"] == 300
    assert config.load.thresholds.error_ratio == 0.001
    assert config.load.multiplier == 10


def test_budgets_merge_global_then_form_factor_then_page(tmp_path):
    path = tmp_path / "siteward.toml"
    path.write_text(VALID + """
[budgets.global]
fcp_ms = 3000
lcp_ms = 4000
[budgets.mobile]
fcp_ms = 2000
[budgets.pages.home]
fcp_ms = 1000
""")
    budgets = load_config(path).budgets
    assert budgets.limit_for("lcp_ms", page="home", form_factor="mobile") == 4000
    assert budgets.limit_for("fcp_ms", form_factor="desktop") == 3000
    assert budgets.limit_for("fcp_ms", form_factor="mobile") == 2000
    assert budgets.limit_for("fcp_ms", page="home", form_factor="mobile") == 1000


def test_target_flag_overrides_and_is_validated(tmp_path):
    assert load_config(target="http://127.0.0.1:9/").target.base_url == "http://127.0.0.1:9"
    with pytest.raises(ConfigError, match="target.base_url"):
        load_config(target="not a url")


def test_fingerprint_ignores_target_and_results_but_not_budgets(tmp_path):
    a = load_config(target="http://127.0.0.1:1", results=str(tmp_path / "a"))
    b = load_config(target="http://127.0.0.1:2", results=str(tmp_path / "b"))
    assert a.fingerprint() == b.fingerprint()
    path = tmp_path / "siteward.toml"
    path.write_text(VALID)
    assert load_config(path).fingerprint() != a.fingerprint()


def test_local_siteward_toml_is_the_default(tmp_path, monkeypatch):
    (tmp_path / "siteward.toml").write_text(VALID)
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert config.source == "siteward.toml"
    assert [p.name for p in config.pages] == ["home"]


def test_a_budget_table_merges_over_the_defaults_and_off_removes_a_limit(tmp_path):
    path = tmp_path / "siteward.toml"
    path.write_text('[target]\nbase_url = "http://127.0.0.1:9"\n[[pages]]\nname = "home"\npath = "/"\n'
                    '[budgets.global]\nstep_ms = 5000\nresponse_ms = "off"\n'
                    '[budgets.mobile]\nfcp_ms = "off"\n[budgets.pages.home]\ncls = "off"\n')
    budgets = load_config(path).budgets
    assert budgets.limit_for("step_ms") == 5000 and budgets.limit_for("cls") == 0.1  # the default cls is kept
    assert budgets.limit_for("response_ms") is None
    assert budgets.limit_for("fcp_ms", form_factor="mobile") is None
    assert budgets.limit_for("cls", page="home") is None and budgets.limit_for("cls", page="other") == 0.1


def test_default_budgets_include_a_step_limit():
    budgets = load_config(None).budgets
    assert budgets.limit_for("step_ms") == 3000 and budgets.limit_for("fcp_ms", form_factor="mobile") == 1500
