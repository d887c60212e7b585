"""Page audits beyond Lighthouse: small pure checks over gathered artifacts.

Lighthouse's style: each check declares what it needs (`requires`) and returns one
result; a check never raises on a bad page, it reports. Defaults live beside the checks.
Status policy: a defect is "fail"; an optimisation opportunity (legacy image formats) is "warn".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

from audits.document import same_host
from audits.gather import PageArtifacts, TlsInfo

COMPRESSION_MIN_BYTES = 1400  # Lighthouse's uses-text-compression ignores smaller responses
COMPRESSED_ENCODINGS = {"gzip", "br", "zstd", "deflate"}
MODERN_IMAGE_TYPES = {"image/webp", "image/avif", "image/svg+xml"}
MIN_CACHE_TTL_S = 1  # any positive max-age counts as cached; no-store/no-cache/0 do not
SHOWN = 10  # URLs listed in a message; the full list goes to data


@dataclass(frozen=True)
class CheckResult:
    status: str  # pass | fail | warn | error | skip
    message: str
    severity: str = "major"
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PageCheck:
    id: str
    requires: frozenset[str]  # "response", "document", "assets", "links"
    run: Callable[..., CheckResult]


def _listing(urls: list[str]) -> str:
    shown = ", ".join(urls[:SHOWN])
    return shown + (f" (+{len(urls) - SHOWN} more)" if len(urls) > SHOWN else "")


def _summary(problems: list[str], ok_message: str, *, status: str = "fail", severity: str = "major",
             data: dict | None = None) -> CheckResult:
    if problems:
        return CheckResult(status, "; ".join(problems), severity, data or {})
    return CheckResult("pass", ok_message, "info", data or {})


# --------------------------------------------------------------------------- checks


def check_security_headers(page: PageArtifacts, *, https: bool, **_: Any) -> CheckResult:
    h = page.main.header
    csp = h("content-security-policy")
    missing = []
    if https and not h("strict-transport-security"):
        missing.append("Strict-Transport-Security")
    if not csp:
        missing.append("Content-Security-Policy")
    if h("x-content-type-options").strip().lower() != "nosniff":
        missing.append("X-Content-Type-Options: nosniff")
    if not h("x-frame-options") and "frame-ancestors" not in csp.lower():
        missing.append("X-Frame-Options or CSP frame-ancestors")
    if not h("referrer-policy"):
        missing.append("Referrer-Policy")
    seen = {k: page.main.header(k) for k in ("strict-transport-security", "content-security-policy",
                                              "x-content-type-options", "x-frame-options", "referrer-policy")}
    note = "" if https else " (HSTS not applicable: plain http)"
    return _summary([f"missing {', '.join(missing)}"] if missing else [],
                    f"security headers present{note}", data={"missing": missing, "headers": seen})


def cache_ttl_s(cache_control: str) -> float | None:
    """Seconds a shared or browser cache may keep the response; None when it must not."""
    directives = {d.split("=")[0].strip().lower(): d.partition("=")[2].strip().strip('"')
                  for d in cache_control.split(",") if d.strip()}
    if "no-store" in directives or "no-cache" in directives:
        return None
    for key in ("max-age", "s-maxage"):
        if key in directives:
            try:
                return float(directives[key])
            except ValueError:
                return None
    return 1e9 if "immutable" in directives else None


def check_caching(page: PageArtifacts, *, base_url: str, **_: Any) -> CheckResult:
    assets = [(kind, got) for kind, got in page.assets if got.ok and same_host(got.url, base_url)]
    if not assets:
        return CheckResult("skip", "no same-host static assets linked from the page", "info")
    uncached = [got.url for _, got in assets
                if (cache_ttl_s(got.header("cache-control")) or 0) < MIN_CACHE_TTL_S]
    data = {"checked": len(assets), "uncached": uncached,
            "cache_control": {got.url: got.header("cache-control") for _, got in assets}}
    problem = [f"{len(uncached)} of {len(assets)} static assets without Cache-Control max-age: {_listing(uncached)}"]
    return _summary(problem if uncached else [], f"{len(assets)} static assets cacheable", data=data)


def check_compression(page: PageArtifacts, **_: Any) -> CheckResult:
    texts = [("document", page.main)] + [(k, got) for k, got in page.assets if k in ("stylesheet", "script")]
    candidates = [(k, got) for k, got in texts if got.ok and (got.body_bytes or 0) >= COMPRESSION_MIN_BYTES]
    if not candidates:
        return CheckResult("skip", f"no HTML/CSS/JS response of {COMPRESSION_MIN_BYTES} bytes or more", "info")
    plain = [got.url for _, got in candidates
             if not {e.strip().lower() for e in got.header("content-encoding").split(",")} & COMPRESSED_ENCODINGS]
    data = {"checked": len(candidates), "uncompressed": plain,
            "encodings": {got.url: got.header("content-encoding") or "identity" for _, got in candidates}}
    problem = [f"{len(plain)} of {len(candidates)} text responses not gzip/br compressed: {_listing(plain)}"]
    return _summary(problem if plain else [], f"{len(candidates)} text responses compressed", data=data)


def image_type(got) -> str:
    content_type = got.header("content-type").split(";")[0].strip().lower()
    if content_type.startswith("image/"):
        return content_type
    ext = urlsplit(got.url).path.rsplit(".", 1)[-1].lower()
    return {"webp": "image/webp", "avif": "image/avif", "svg": "image/svg+xml", "png": "image/png",
            "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif"}.get(ext, content_type or "unknown")


def check_image_formats(page: PageArtifacts, **_: Any) -> CheckResult:
    images = [got for kind, got in page.assets if kind == "image" and got.ok]
    if not images:
        return CheckResult("skip", "no images on the page", "info")
    legacy = {got.url: image_type(got) for got in images if image_type(got) not in MODERN_IMAGE_TYPES}
    problem = [f"{len(legacy)} of {len(images)} images not WebP/AVIF: "
               + _listing([f"{u} ({t})" for u, t in legacy.items()])]
    return _summary(problem if legacy else [], f"{len(images)} images in modern formats", status="warn",
                    severity="minor", data={"checked": len(images), "legacy": legacy})


def check_broken_links(page: PageArtifacts, **_: Any) -> CheckResult:
    if not page.links:
        return CheckResult("pass", "no same-host links on the page", "info", {"checked": 0})
    broken = {got.url: (f"HTTP {got.status}" if got.status else got.error or "no answer")
              for got in page.links if not got.ok}
    bound = f" (checked {len(page.links)} of {page.links_found})" if page.links_found > len(page.links) else ""
    data = {"checked": len(page.links), "found": page.links_found, "broken": broken}
    problem = [f"{len(broken)} broken internal links{bound}: " + _listing([f"{u} ({w})" for u, w in broken.items()])]
    return _summary(problem if broken else [], f"{len(page.links)} internal links answer{bound}", data=data)


def check_seo(page: PageArtifacts, *, product_page: bool, **_: Any) -> CheckResult:
    doc = page.doc
    assert doc is not None  # requires "document"
    problems = []
    if not (doc.title or "").strip():
        problems.append("no <title>")
    if not (doc.meta_description or "").strip():
        problems.append("no meta description")
    if not doc.canonical:
        problems.append("no canonical link")
    problems += doc.json_ld_errors
    products = doc.json_ld_of_type("Product")
    if product_page:
        if not products:
            problems.append("product page without JSON-LD Product structured data")
        for product in products:
            lacking = [k for k in ("name", "offers") if not product.get(k)]
            if lacking:
                problems.append(f"JSON-LD Product lacks {', '.join(lacking)}")
    data = {"title": doc.title, "meta_description": doc.meta_description, "canonical": doc.canonical,
            "json_ld_types": doc.json_ld_types()}
    return _summary(problems, "title, meta description, canonical" + (", Product JSON-LD" if product_page else "")
                    + " present", data=data)


PAGE_CHECKS = [
    PageCheck("security-headers", frozenset({"response"}), check_security_headers),
    PageCheck("caching", frozenset({"document", "assets"}), check_caching),
    PageCheck("compression", frozenset({"document", "assets"}), check_compression),
    PageCheck("image-formats", frozenset({"document", "assets"}), check_image_formats),
    PageCheck("broken-links", frozenset({"document", "links"}), check_broken_links),
    PageCheck("seo", frozenset({"document"}), check_seo),
]


def unmet_requirement(check: PageCheck, page: PageArtifacts) -> CheckResult | None:
    """Why a check cannot judge this page (the page did not load, or is not HTML), if so."""
    if page.main.error:
        return CheckResult("error", f"{page.url}: {page.main.error}")
    if not page.main.ok:
        return CheckResult("error", f"{page.url} answered HTTP {page.main.status}")
    if "document" in check.requires and page.doc is None:
        return CheckResult("skip", f"not an HTML page ({page.main.header('content-type') or 'no content type'})", "info")
    return None


def check_tls(info: TlsInfo | None, *, https: bool, min_days: int, verify: bool = True) -> CheckResult:
    """`verify` False: target.tls_verify = false, an untrusted certificate was accepted on purpose."""
    if not https or info is None:
        return CheckResult("skip", "target is plain http: no certificate to check", "info")
    if info.error and info.invalid and not verify:
        return CheckResult("warn", f"{info.host}:{info.port}: {info.error} (accepted: target.tls_verify = false)")
    if info.error:
        return CheckResult("fail" if info.invalid else "error", f"{info.host}:{info.port}: {info.error}", "critical")
    days = info.days_left() or 0.0
    data = {"days_left": round(days, 2), "not_after": info.not_after.isoformat() if info.not_after else None,
            "issuer": info.issuer, "min_days": min_days}
    if days < min_days:
        return CheckResult("fail", f"certificate of {info.host} expires in {days:.1f} days (minimum {min_days})",
                           "critical", data)
    return CheckResult("pass", f"certificate of {info.host} valid for {days:.0f} more days", "info", data)


def is_product_page(name: str, path: str, configured: list[str] | None) -> bool:
    """Configured list if given, else pages named or routed like one product's page.

    "product" as a word of the name ("product", "product-detail"), not "products" (a listing),
    or a path with a segment after /product/, /products/ or /p/.
    """
    if configured is not None:
        return name in configured
    return bool(re.search(r"(^|[-_.])product($|[-_.])", name) or re.search(r"/(product|products|p)/[^/]", path))
