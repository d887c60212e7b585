import pytest

from siteward.errors import ConfigError
from siteward.secrets import MASK, Secrets


def test_substitute_and_redact():
    secrets = Secrets({"pw": "SHOP_PW"}, environ={"SHOP_PW": "hunter2-long"})
    assert secrets.substitute("x ${secrets.pw} y") == "x hunter2-long y"
    assert secrets.redact("login with hunter2-long failed") == f"login with {MASK} failed"


def test_missing_env_var_names_it():
    secrets = Secrets({"pw": "SHOP_PW"}, environ={})
    with pytest.raises(ConfigError, match="SHOP_PW"):
        secrets.substitute("${secrets.pw}")


def test_undeclared_secret():
    with pytest.raises(ConfigError, match="not declared"):
        Secrets({}, environ={}).substitute("${secrets.token}")
