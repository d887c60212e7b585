"""[load] config: bad values give one clear message naming the key."""

from __future__ import annotations

import pytest

from siteward.errors import ConfigError

from load_helpers import demo_config


def test_defaults_are_the_contract(tmp_path):
    load = demo_config("http://127.0.0.1:1", tmp_path).load
    assert load.multiplier == 10 and load.profile == "peak"
    assert load.thresholds.p95_ms == {"api": 300.0, "page": 2000.0}
    assert load.thresholds.error_ratio == 0.001
    assert set(load.allow_hosts) == {"127.0.0.1", "localhost", "::1"}


@pytest.mark.parametrize("load, words", [
    ({"think_time_s": [2.0, 1.0]}, "think_time_s"),
    ({"duration_s": 7200}, "max_duration_s"),
    ({"routes": [{"name": "/", "path": "/", "weight": 0}]}, "weight above 0"),
    ({"routes": [{"name": "x", "path": "no-slash"}]}, "starting with '/'"),
    ({"samples": {"slug": []}}, "samples.slug"),
    ({"profil": "open"}, "did you mean 'profile'"),
])
def test_bad_load_config_is_a_clear_error(tmp_path, load, words):
    with pytest.raises(ConfigError, match=words):
        demo_config("http://127.0.0.1:1", tmp_path, **load)
