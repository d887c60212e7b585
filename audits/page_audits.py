"""Runs the page checks of page_checks.py over the configured pages and emits findings.

Gathers each page once (httpx), writes what was gathered as JSON evidence, then asks
every check for its verdict. A check that crashes becomes an "error" finding.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from audits.gather import PageArtifacts, gather_page, gather_tls, make_client
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
        "response": asdict(page.main),
        "document": None if page.doc is None else {
            k: getattr(page.doc, k) for k in ("title", "meta_description", "canonical", "json_ld", "json_ld_errors")},
        "assets": [{"kind": kind, **asdict(got)} for kind, got in page.assets],
        "links": [asdict(got) for got in page.links],
        "links_found": page.links_found,
    }


def run_tls_audit(ctx: StageContext) -> Finding:
    base_url = ctx.config.target.base_url
    https = base_url.startswith("https://")
    info = gather_tls(base_url, ctx.config.audits.http_timeout_s) if https else None
    result = check_tls(info, https=https, min_days=ctx.config.audits.cert_min_days)
    return ctx.emit(_finding("tls-expiry", "site|tls-expiry", result, {"group": "site"}, []))


def run_page_audits(ctx: StageContext, pages: list[PageConfig], *, headers_for: dict[str, dict[str, str]],
                    on_page_done=None) -> list[Finding]:
    """Every check on every page; `headers_for[page]` carries a journey's Cookie header."""
    cfg = ctx.config.audits
    base_url = ctx.config.target.base_url
    https = base_url.startswith("https://")
    emitted = [run_tls_audit(ctx)]
    with make_client(cfg.http_timeout_s) as client:
        for page_cfg in pages:
            tags = {"page": page_cfg.name}
            url = ctx.config.url(page_cfg.path)
            try:
                page = gather_page(client, page_cfg.name, url, base_url=base_url, max_links=cfg.max_links,
                                   concurrency=cfg.link_concurrency, headers=headers_for.get(page_cfg.name))
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
                emitted.append(ctx.emit(_finding(check.id, f"{page_cfg.name}|{check.id}", result, tags, evidence)))
            if on_page_done is not None:
                on_page_done(page_cfg.name)
    return emitted
