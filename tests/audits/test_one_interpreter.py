"""One journey interpreter: the browsers stage and the audits stage's replay run the same steps alike.

The journey's `goto` takes its path from a secret and the page must answer below 400: the
browsers stage (Chromium) and the audits stage's state replay agree on both outcomes.
"""

from __future__ import annotations

import pytest

from audits.state import JourneyStateError, record_journey_state
from siteward.secrets import Secrets
from stage_helpers import demo_config, run_stage, stage_context

pytestmark = pytest.mark.browser

JOURNEY = {"name": "secret-page", "steps": [{"goto": "/${secrets.page}"}]}


def _browsers_outcome(shop_url: str, root, environ) -> tuple[str, str]:
    config = demo_config(shop_url, pages=[], journeys=[JOURNEY], secrets={"page": "SW_TEST_PAGE"})
    ctx = stage_context(config, root, "browsers", environ=environ, engines=["chromium"], devices=["desktop"])
    run_stage(ctx)
    [finding] = [f for f in ctx.store.records(ctx.run_id, kind="finding") if f.check == "journey"]
    return finding.status, finding.message


def _audits_outcome(shop_url: str, root, environ) -> tuple[str, str]:
    config = demo_config(shop_url, pages=[], journeys=[JOURNEY], secrets={"page": "SW_TEST_PAGE"})
    try:
        record_journey_state(config.journeys[0], base_url=config.target.base_url, out_path=root / "state.json",
                             secrets=Secrets(config.secrets, environ=environ), timeout_s=30)
    except JourneyStateError as exc:
        return "fail", str(exc)
    return "pass", ""


@pytest.mark.parametrize("path, expected", [("product/canvas-sneaker", "pass"), ("no-such-page", "fail")])
def test_the_same_journey_has_the_same_outcome_in_both_stages(shop, tmp_path, path, expected):
    environ = {"SW_TEST_PAGE": path}
    browsers = _browsers_outcome(shop.url, tmp_path / "browsers", environ)
    audits = _audits_outcome(shop.url, tmp_path / "audits", environ)
    assert browsers[0] == audits[0] == expected, (browsers, audits)
    if expected == "fail":
        assert "HTTP 404" in browsers[1] and "HTTP 404" in audits[1]
        assert path not in audits[1] and path not in browsers[1]  # the secret's value is never shown
