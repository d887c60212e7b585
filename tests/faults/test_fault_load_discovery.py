"""The load stage's sample discovery (GET /api/products) against an API that never finishes.

httpx's timeouts are per read: a server that sends a byte every half second never trips
them, so an unbounded GET would hang `siteward load` before Locust even starts. The
trickling server is real (fault_support.never_ending_site).
"""

from __future__ import annotations

import threading

from fault_support import never_ending_site
from loadtests.stage import discover_samples


def _discover_in_thread(url: str, budget_s: float) -> tuple[threading.Thread, dict]:
    found: dict = {}
    thread = threading.Thread(target=lambda: found.update(samples=discover_samples(url, budget_s=budget_s)),
                              daemon=True)
    thread.start()
    return thread, found


def test_a_trickling_catalog_api_gives_no_samples_instead_of_a_hang():
    # Valid JSON so far, completed never: '{"products": [' then a space every half second.
    with never_ending_site(head=b'{"products": [', filler=b" ", content_type="application/json") as url:
        thread, found = _discover_in_thread(url, budget_s=3)
        thread.join(timeout=60)  # a liveness bound far above the budget, not a speed claim
        assert not thread.is_alive(), "discover_samples still reading a never-ending response"
    assert found["samples"] == {}


def test_the_real_shop_catalog_gives_samples_for_every_placeholder(shop):
    thread, found = _discover_in_thread(shop.url, budget_s=20)
    thread.join(timeout=60)
    samples = found["samples"]
    assert {"slug", "product_id", "category", "q"} <= set(samples)
    assert all(samples[key] for key in ("slug", "product_id", "category", "q"))
