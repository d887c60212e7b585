"""Config section [audits]: Lighthouse CI collection and the cheap page audits."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from siteward.schema import Strict

# Chromium flags every Lighthouse run gets: headless, no sandbox (containers, root),
# and no background traffic that would show up in the network waterfall.
DEFAULT_CHROME_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu",
    "--disable-background-networking", "--disable-component-update",
]


class AuditsConfig(Strict):
    lighthouse: bool = True
    presets: list[Literal["mobile", "desktop"]] = Field(default_factory=lambda: ["mobile", "desktop"], min_length=1)
    # 5: with pooled baselines a run's median of 5 is steady enough to test (benchmarks/bench_spread.py);
    # `siteward demo` sets its own 1 to stay under 10 minutes.
    runs: int = Field(5, ge=1, le=25, description="Lighthouse runs per page and preset")
    timeout_s: float = Field(180, gt=0, le=1800, description="per lhci collect call")
    parallel: int = Field(1, ge=1, le=4, description="1 by default: parallel runs distort timings")
    lighthouserc: str | None = Field(None, description="path of an existing lighthouserc with assertions")
    page_audits: bool = True
    cert_min_days: int = Field(21, ge=0)
    # Added by the audits stage (all optional, defaults beside the checks).
    chrome_path: str = Field("/usr/bin/chromium", description="Chromium/Chrome binary Lighthouse drives")
    chrome_flags: list[str] = Field(default_factory=lambda: list(DEFAULT_CHROME_FLAGS))
    max_links: int = Field(50, ge=0, le=2000, description="broken-links: same-host links checked per page")
    link_concurrency: int = Field(4, ge=1, le=32, description="broken-links: parallel requests")
    product_pages: list[str] | None = Field(
        None, description="seo: pages that need JSON-LD Product; default: pages named/routed like product pages")
    http_timeout_s: float = Field(15, gt=0, le=300, description="page audits: per HTTP request")
