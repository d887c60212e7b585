"""How fast a big sweep's report renders and opens; prints figures, asserts nothing.

A sweep-sized run (pages x engines x devices screenshots of full-page size, visual
diffs, thousands of findings and measurements) is built from synthetic records in a
temp store, then:
  - render_run cold (thumbnails made) and warm (thumbnails reused);
  - report.html opened from disk in headless Chromium, against a reference page that
    embeds the same screenshots at full size without lazy loading (what a report without
    thumbnails would be): time to the load event and bytes of images decoded.

Usage: .venv/bin/python benchmarks/bench_report.py [--pages 6] [--findings 3000]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "reports")]

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from report_records import RunBuilder, artifact, budget, finding, latency, measurement  # noqa: E402
from reports import render_run  # noqa: E402
from siteward.store import Store  # noqa: E402

ENGINES = ("chromium", "firefox", "webkit")
DEVICES = ("desktop", "iphone-13", "pixel-7")


def screenshot(run_dir: Path, rel: str, size: tuple[int, int], seed: int) -> str:
    """A PNG that compresses like a real page: flat areas with blocks of 'text' detail."""
    w, h = size
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 4, (h // 8, w // 8), dtype=np.uint8) * 60
    page = np.repeat(np.repeat(blocks, 8, axis=0), 8, axis=1)
    page[(np.arange(page.shape[0]) // 40) % 3 == 0] = 245  # whitespace bands
    path = run_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.stack([page] * 3, axis=-1)).save(path)
    return rel


def build(store: Store, root: Path, pages: int, findings: int) -> str:
    runs = RunBuilder(store, root)
    runs.run([measurement(samples=latency(1))], verdict="pass")
    run_id = runs.run([], stages=["browsers", "audits", "loadtests"])
    records = []
    for p in range(pages):
        for engine in ENGINES:
            for device in DEVICES:
                tags = {"engine": engine, "device": device, "page": f"page{p}"}
                subject = f"page{p}|{engine}|{device}"
                size = (1366, 4000) if device == "desktop" else (1170, 5000)
                shot = screenshot(root / run_id, f"screens/{subject.replace('|', '-')}.png", size, seed=p)
                records.append(artifact("screenshot", shot, subject=subject, **tags))
                for metric in ("fcp_ms", "lcp_ms", "load_ms", "ttfb_ms"):
                    records.append(measurement(metric, latency(p, n=20), subject=subject, **tags))
                records.append(budget(900, 1500, subject=subject, **tags))
    for i in range(findings):
        records.append(finding("fail" if i % 50 == 0 else "pass", f"check{i % 12}", subject=f"page{i % pages}|chromium|desktop",
                               message=f"message {i} " + "detail " * 10))
    for record in records:
        store.add(run_id, record)
    return run_id


def reference_page(report: Path) -> Path:
    """The same report with full-size screenshots loaded eagerly: the report without thumbnails."""
    html = re.sub(r'<a href="([^"]+)"><img loading="lazy" src="thumbs/[^"]+"', r'<a href="\1"><img src="\1"',
                  report.read_text(encoding="utf-8"))
    page = report.with_name("reference.html")
    page.write_text(html, encoding="utf-8")
    return page


def open_timing(path: Path) -> tuple[float, int]:
    """Seconds to the load event, and bytes of the image files the page fetched."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-background-networking", "--disable-component-update"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        fetched: set[str] = set()
        page.on("request", lambda r: fetched.add(r.url) if r.url.endswith((".png", ".jpg")) else None)
        start = time.perf_counter()
        page.goto(path.as_uri(), wait_until="load", timeout=300_000)
        elapsed = time.perf_counter() - start
        browser.close()
    return elapsed, sum(Path(url2pathname(urlsplit(u).path)).stat().st_size for u in fetched)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=6)
    parser.add_argument("--findings", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "history.sqlite")
        run_id = build(store, Path(tmp) / "results", args.pages, args.findings)
        n_shots = args.pages * len(ENGINES) * len(DEVICES)
        start = time.perf_counter()
        outcome = render_run(store, run_id)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        render_run(store, run_id)
        warm = time.perf_counter() - start
        html = outcome.paths["report.html"]
        reference = reference_page(html)
        report_times, ref_times = [], []
        for _ in range(3):  # alternate, so neither gets all the warm caches
            report_s, report_bytes = open_timing(html)
            ref_s, ref_bytes = open_timing(reference)
            report_times.append(report_s)
            ref_times.append(ref_s)
        report_s, ref_s = statistics.median(report_times), statistics.median(ref_times)
        print(f"run: {n_shots} full-page screenshots, {args.findings} findings, {n_shots * 4} measurements")
        print(f"render_run cold (makes thumbnails): {cold:.2f} s")
        print(f"render_run warm (thumbnails reused): {warm:.2f} s")
        print(f"report.html size: {html.stat().st_size / 1024:.0f} KiB")
        print(f"open report.html in Chromium (load event, median of 3): {report_s:.2f} s, images fetched {report_bytes / 1024:.0f} KiB")
        print(f"same report, full-size eager images:                  {ref_s:.2f} s, images fetched {ref_bytes / 1024:.0f} KiB")
        print(f"ratio report/reference: time {report_s / ref_s:.2f}, image bytes {report_bytes / max(ref_bytes, 1):.3f}")


if __name__ == "__main__":
    main()
