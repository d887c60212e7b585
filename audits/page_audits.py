"""Runs the page checks of page_checks.py over the configured pages and emits findings.

Gathers each page once (httpx), writes what was gathered as JSON evidence, then asks
every check for its verdict. A check that crashes becomes an "error" finding. The HTML
checks read the rendered DOM where there is one (audits/rendered.py); every finding's
data says which HTML it read ("html_source").
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from audits.gather import PageArtifacts, fetch, gather_page, gather_tls, make_client
from audits.rendered import browsers_stage_doms, looks_client_rendered, render_pages
from audits.page_checks import PAGE_CHECKS, CheckResult, check_tls, is_product_page, unmet_requirement
from siteward.schema import PageConfig
from siteward.records import Finding
from siteward.stage import StageContext


def _finding(check: str, subject: str, result: CheckResult, tags: dict[str, str], evidence: list[str]) -> Finding:
    return Finding(stage="audits", subject=subject, check=check, status=result.status, message=result.message,
                   severity=result.severity, evidence=evidence, tags=tags, data=result.data)


def _evidence(page: PageArtifacts) -> dict[str, Any]:
    return {
        "url": page.url,
        "html_source": page.html_source,
        "response": asdict(page.main),
        "document": None if page.doc is None else {
            k: getattr(page.doc, k) for k in ("title", "meta_description", "canonical", "json_ld", "json_ld_errors")},
        "assets": [{"kind": kind, **asdict(got)} for kind, got in page.assets],
        "links": [asdict(got) for got in page.links],
        "links_found": page.links_found,
    }


def rendered_html(ctx: StageContext, pages: list[PageConfig], headers_for: dict[str, dict[str, str]],
                  states: dict[str, Path]) -> dict[str, tuple[str, str]]:
    """The DOM to audit per page: the browsers stage's, else Chromium's here for client-rendered shells."""
    found = browsers_stage_doms(ctx)
    cfg = ctx.config.audits
    shells = {}
    with make_client(cfg.http_timeout_s, **ctx.access.httpx_options()) as client:
        for page in pages:
            if page.name in found:
                continue
            url = ctx.config.url(page.path)
            main, html = fetch(client, url, read_body=True, headers=headers_for.get(page.name))
            if main.ok and looks_client_rendered(html):
                shells[page.name] = (url, states.get(page.name))
    for name, dom in render_pages(shells, cfg.chrome_path, cfg.http_timeout_s,
                                  ctx.access.browser_context_options()).items():
        found[name] = (dom, "rendered DOM (headless Chromium, audits stage)")
    return found


def run_tls_audit(ctx: StageContext) -> Finding:
    base_url = ctx.config.target.base_url
    https = base_url.startswith("https://")
    bundle = ctx.access.ca_bundle
    info = gather_tls(base_url, ctx.config.audits.http_timeout_s, cafile=str(bundle) if bundle else None) if https else None
    result = check_tls(info, https=https, min_days=ctx.config.audits.cert_min_days, verify=ctx.access.verify)
    return ctx.emit(_finding("tls-expiry", "site|tls-expiry", result, {"group": "site"}, []))


def run_page_audits(ctx: StageContext, pages: list[PageConfig], *, headers_for: dict[str, dict[str, str]],
                    states: dict[str, Path] | None = None, on_page_done=None, tls: bool = True) -> list[Finding]:
    """Every check on every page; `headers_for[page]` carries a journey's Cookie header, `states[page]`
    its browser state (to render a client-rendered page with); `tls`: the site's certificate audit too
    (one shard of a sharded run does it)."""
    cfg = ctx.config.audits
    base_url = ctx.config.target.base_url
    https = base_url.startswith("https://")
    emitted = [run_tls_audit(ctx)] if tls else []
    rendered = rendered_html(ctx, pages, headers_for, states or {})
    with make_client(cfg.http_timeout_s, **ctx.access.httpx_options()) as client:
        for page_cfg in pages:
            tags = {"page": page_cfg.name}
            url = ctx.config.url(page_cfg.path)
            try:
                page = gather_page(client, page_cfg.name, url, base_url=base_url, max_links=cfg.max_links,
                                   concurrency=cfg.link_concurrency, headers=headers_for.get(page_cfg.name),
                                   rendered=rendered.get(page_cfg.name))
                evidence = [ctx.write_json(ctx.evidence_dir("page-audits") / f"{page_cfg.name}.json", _evidence(page))]
            except Exception as exc:  # noqa: BLE001 - one broken page never sinks the run
                crash = CheckResult("error", f"gathering {url} failed: {type(exc).__name__}: {exc}")
                for check in PAGE_CHECKS:
                    emitted.append(ctx.emit(_finding(check.id, f"{page_cfg.name}|{check.id}", crash, tags, [])))
                continue
            options = {"https": https, "base_url": base_url,
                       "product_page": is_product_page(page_cfg.name, page_cfg.path, cfg.product_pages)}
            for check in PAGE_CHECKS:
                result = unmet_requirement(check, page)
                if result is None:
                    try:
                        result = check.run(page, **options)
                    except Exception as exc:  # noqa: BLE001
                        result = CheckResult("error", f"check crashed: {type(exc).__name__}: {exc}")
                result.data.setdefault("html_source", page.html_source)
                emitted.append(ctx.emit(_finding(check.id, f"{page_cfg.name}|{check.id}", result, tags, evidence)))
            if on_page_done is not None:
                on_page_done(page_cfg.name)
    return emitted
