"""Gathering for the page audits (httpx): the page, its static assets, its links, the TLS cert.

Gatherers only fetch and record; the checks in page_checks.py judge. Requests are
bounded (max links, max assets) and run with small concurrency on one shared client.
"""

from __future__ import annotations

import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

import httpx

from audits.document import Document, parse_document, same_host

MAX_ASSETS = 60
TEXT_KINDS = ("stylesheet", "script")
USER_AGENT = "siteward-audits/0.1 (+https://github.com/siteward)"


@dataclass
class Fetched:
    url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    final_url: str = ""
    body_bytes: int | None = None  # decoded size, when the body was read
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 400

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class PageArtifacts:
    name: str
    url: str
    main: Fetched
    html: str = ""
    doc: Document | None = None
    assets: list[tuple[str, Fetched]] = field(default_factory=list)  # (kind, response)
    links: list[Fetched] = field(default_factory=list)
    links_found: int = 0  # same-host links on the page before the max_links bound
    html_source: str = "server HTML"  # or the rendered DOM the HTML checks read instead


@dataclass
class TlsInfo:
    host: str
    port: int
    not_after: datetime | None = None
    issuer: str = ""
    error: str | None = None
    invalid: bool = False  # the server answered but its certificate does not verify

    def days_left(self, now: datetime | None = None) -> float | None:
        if self.not_after is None:
            return None
        now = now or datetime.now(timezone.utc)
        return (self.not_after - now).total_seconds() / 86400


def make_client(timeout_s: float, headers: dict[str, str] | None = None, *, verify: ssl.SSLContext | bool = True,
                auth: tuple[str, str] | None = None) -> httpx.Client:
    """`verify` and `auth` from the target's TargetAccess (TLS trust, basic auth)."""
    return httpx.Client(
        timeout=timeout_s, follow_redirects=True, verify=verify, auth=auth,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
    )


MAX_BODY_BYTES = 10_000_000  # after decompression: a 1 MB gzip bomb once grew the process to 2 GB


def _read_within(response: httpx.Response, limit_s: float) -> bytes:
    """The whole body, or ReadTimeout: httpx's read timeout is per chunk, so a page that
    trickles a byte every half second would otherwise be read forever. Bounded in size too
    (what it decompresses to, not what travelled)."""
    started, chunks, size = time.monotonic(), [], 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise httpx.DecodingError(f"the body is larger than {MAX_BODY_BYTES // 1_000_000} MB once decompressed;"
                                      " not read further", request=response.request)
        if time.monotonic() - started > limit_s:
            raise httpx.ReadTimeout(f"the body did not finish within {limit_s:g} s", request=response.request)
    return b"".join(chunks)


def fetch(client: httpx.Client, url: str, *, read_body: bool, method: str = "GET",
          headers: dict[str, str] | None = None) -> tuple[Fetched, str]:
    """One request; (what came back, decoded text if read). Network errors are recorded, not raised."""
    try:
        with client.stream(method, url, headers=headers) as response:
            text = ""
            body_bytes = None
            if read_body:
                body = _read_within(response, client.timeout.read or 30.0)
                body_bytes = len(body)
                text = body.decode(response.encoding or "utf-8", errors="replace")
            return Fetched(
                url=url, status=response.status_code, final_url=str(response.url), body_bytes=body_bytes,
                headers={k.lower(): v for k, v in response.headers.items()},
            ), text
    except httpx.HTTPError as exc:
        return Fetched(url=url, error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__), ""


def check_link(client: httpx.Client, url: str) -> Fetched:
    """HEAD a link; GET it when HEAD fails, since many servers mishandle HEAD (as link checkers do)."""
    result, _ = fetch(client, url, read_body=False, method="HEAD")
    if not result.ok:
        result, _ = fetch(client, url, read_body=False)
    return result


def gather_page(client: httpx.Client, name: str, url: str, *, base_url: str, max_links: int,
                concurrency: int, headers: dict[str, str] | None = None,
                rendered: tuple[str, str] | None = None) -> PageArtifacts:
    """`rendered`: (the DOM a browser rendered, where it came from): the HTML checks read it instead."""
    main, html = fetch(client, url, read_body=True, headers=headers)
    page = PageArtifacts(name=name, url=url, main=main, html=html)
    if not main.ok or "html" not in main.header("content-type"):
        return page
    if rendered is not None:
        page.html, page.html_source = rendered
    page.doc = doc = parse_document(page.html, main.final_url or url)
    assets = doc.assets()[:MAX_ASSETS]
    links = list(dict.fromkeys(u for u in doc.links if same_host(u, base_url)))
    page.links_found = len(links)
    links = links[:max_links]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        asset_results = pool.map(
            lambda item: fetch(client, item[1], read_body=item[0] in TEXT_KINDS, headers=headers)[0], assets)
        link_results = pool.map(lambda link: check_link(client, link), links)
        page.assets = [(kind, got) for (kind, _), got in zip(assets, asset_results)]
        page.links = list(link_results)
    return page


def gather_tls(url: str, timeout_s: float, *, cafile: str | None = None) -> TlsInfo:
    """The certificate the server presents, verified against the system trust store (or `cafile`)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    info = TlsInfo(host=host, port=port)
    context = ssl.create_default_context(cafile=cafile)
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            with context.wrap_socket(sock, server_hostname=host) as tls:
                cert = tls.getpeercert()
    except ssl.SSLCertVerificationError as exc:
        info.error, info.invalid = f"certificate does not verify: {exc.verify_message or exc}", True
        return info
    except (OSError, ssl.SSLError) as exc:
        info.error = f"{type(exc).__name__}: {exc}"
        return info
    info.not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), timezone.utc)
    issuer = dict(pair for rdn in cert.get("issuer", ()) for pair in rdn)
    info.issuer = issuer.get("organizationName") or issuer.get("commonName", "")
    return info
