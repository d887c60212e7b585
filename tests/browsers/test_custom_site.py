"""A journey for a site siteward has never seen, written in config alone (TOML written here)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from stage_helpers import run_stage
from sweep_helpers import findings, make_ctx, records
from sites import serve, write_site
from siteward.config import load_config

pytestmark = pytest.mark.browser

CONFIG = """
[target]
base_url = "{url}"

[[pages]]
name = "contact"
path = "/index.html"
required = ["form#contact", "text=Send message"]
mask = ["h1"]

[browsers]
engines = {engines}
devices = ["desktop"]
timeout_s = 90
retries = 0

[[journeys]]
name = "contact"
steps = [
  {{ goto = "/index.html", name = "open form" }},
  {{ fill = "#name", value = "Grace Hopper" }},
  {{ press = "#name", key = "Tab" }},
  {{ select = "select[name=topic]", value = "billing" }},
  {{ check = "#agree" }},
  {{ click = "text=Send message", name = "send" }},
  {{ expect_url = "/thanks.html" }},
  {{ expect_text = "h1.headline", text = "Thanks" }},
  {{ expect_visible = "text=We got your message" }},
  {{ wait_for = "xpath=//p/b" }},
  {{ mark = "sent" }},
  {{ screenshot = "thanks" }},
]

[[journeys]]
name = "broken"
steps = [
  {{ goto = "/index.html" }},
  {{ click = "#no-such-button", name = "press the missing button", timeout_ms = 1500 }},
  {{ expect_text = "h1", text = "never reached" }},
]
"""


def _config(tmp_path, url, engines):
    path = tmp_path / "siteward.toml"
    path.write_text(CONFIG.format(url=url, engines=engines))
    return load_config(path, results=str(tmp_path / "results"))


@pytest.mark.parametrize("engines", [["chromium", "webkit"], ["firefox"]], ids=["chromium+webkit", "firefox"])
def test_a_journey_written_in_toml_runs_on_an_unknown_site(tmp_path, engines):
    site = write_site(tmp_path / "site")
    with serve(site) as (url, hits):
        config = _config(tmp_path, url, str(engines).replace("'", '"'))
        ctx = make_ctx(config, tmp_path / "out")
        run_stage(ctx)
    journeys = {f.subject: f for f in findings(ctx, "journey")}
    for engine in engines:
        good = journeys[f"contact|{engine}|desktop"]
        assert good.status == "pass", good.message
        steps = [m for m in records(ctx, "measurement")
                 if m.metric == "step_ms" and m.tags["journey"] == "contact" and m.tags["engine"] == engine]
        assert [m.tags["step"] for m in steps][:2] == ["1. open form", "2. fill #name"]
        assert len(steps) == 12
        assert any(m.metric == "mark_ms" and m.tags["engine"] == engine for m in records(ctx, "measurement"))

        broken = journeys[f"broken|{engine}|desktop"]
        assert broken.status == "fail"
        assert broken.data["step"] == "2. press the missing button"
        assert broken.data["passed_steps"] == 1
        assert broken.evidence and (ctx.run_dir / broken.evidence[0]).is_file()

        shot = ctx.run_dir / "screens" / "contact" / f"{engine}-desktop.png"
        with Image.open(shot) as image:
            pixels = np.asarray(image.convert("RGB"))
        magenta = int(np.all(pixels == (255, 0, 255), axis=-1).sum())
        assert magenta > 500, f"the masked <h1> is not painted over on {engine}"
        page = {f.check: f.status for f in findings(ctx) if f.subject == f"contact|{engine}|desktop"}
        assert page["required-visible"] == "pass" and page["http-status"] == "pass"
        assert page["overflow"] == "pass" and page["broken-images"] == "pass"
    assert hits.get("/thanks.html", 0) >= len(engines)  # the form really was submitted
    shots = [a for a in records(ctx, "artifact") if a.tags.get("step") == "thanks"]
    assert len(shots) == len(engines)


def test_a_step_that_never_matches_fails_within_its_timeout(tmp_path):
    site = write_site(tmp_path / "site")
    with serve(site) as (url, _):
        config = _config(tmp_path, url, '["chromium"]')
        ctx = make_ctx(config, tmp_path / "out", journeys=["broken"], pages=["contact"])
        run_stage(ctx)
    broken = findings(ctx, "journey")[0]
    assert broken.status == "fail" and "1500" in broken.message  # the step's own timeout, not the check's
    assert broken.data["attempts"] == 1
