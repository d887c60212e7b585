"""The target: does it answer at all, and how to reach it (TLS trust, HTTP basic auth).

One probe for the runner and every stage, and one `TargetAccess` that every stage applies
alike: Playwright contexts, WebDriver capabilities, Lighthouse's Chrome, the page audits'
HTTP client and Locust's.
"""

from __future__ import annotations

import base64
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from siteward.errors import ConfigError, TargetUnreachable

START_HINT = "start the site (for the demo: `siteward shop`) or pass --target URL"
TLS_HINT = ("the site's certificate is not trusted: for a self-signed staging site set target.tls_verify = false, "
            "or give its CA with target.ca_bundle = \"ca.pem\"")


@dataclass(frozen=True)
class TargetAccess:
    """How to reach the target: TLS trust and basic auth credentials (values: use only, never output)."""

    base_url: str
    verify: bool = True  # False: any certificate is accepted
    ca_bundle: Path | None = None  # trusted in addition to the system's CAs
    username: str | None = None
    password: str | None = None

    @property
    def auth(self) -> tuple[str, str] | None:
        return (self.username, self.password) if self.username is not None and self.password is not None else None

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def browsers_accept_any_certificate(self) -> bool:
        """Browsers cannot be handed a CA file: with a bundle, siteward itself verifies the site's
        chain against it (require_target) and the browsers accept the certificate; likewise with
        verification off."""
        return not self.verify or self.ca_bundle is not None

    def ssl_context(self) -> ssl.SSLContext | bool:
        """For httpx: the system's CAs (+ the bundle), or False when verification is off."""
        if not self.verify:
            return False
        context = ssl.create_default_context()
        if self.ca_bundle is not None:
            context.load_verify_locations(cafile=str(self.ca_bundle))
        return context

    def httpx_options(self) -> dict[str, Any]:
        return {"verify": self.ssl_context(), "auth": self.auth}

    def authorization(self) -> str | None:
        """The Authorization header value of basic auth (masked in outputs like the secrets)."""
        if self.auth is None:
            return None
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()

    def browser_context_options(self) -> dict[str, Any]:
        """For Playwright's new_context."""
        options: dict[str, Any] = {}
        if self.browsers_accept_any_certificate:
            options["ignore_https_errors"] = True
        if self.auth is not None:
            options["http_credentials"] = {"username": self.username, "password": self.password, "origin": self.origin}
        return options


def target_access(target: Any, secrets: Any, config_dir: Path | None) -> TargetAccess:
    """The config's [target] resolved: the CA bundle found, the credentials' secrets read."""
    bundle = None
    if target.ca_bundle:
        bundle = Path(target.ca_bundle)
        if not bundle.is_absolute() and config_dir is not None:
            bundle = config_dir / bundle
        if not bundle.is_file():
            raise ConfigError(f"target.ca_bundle: no such file {bundle}")
    username = password = None
    if target.auth is not None:
        username, password = secrets.substitute(target.auth.username), secrets.substitute(target.auth.password)
    return TargetAccess(base_url=target.base_url, verify=target.tls_verify, ca_bundle=bundle,
                        username=username, password=password)


def _untrusted(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def require_target(base_url: str, *, timeout_s: float = 15.0, what: str = "target",
                   access: TargetAccess | None = None) -> None:
    """Raise TargetUnreachable unless `base_url` answers with any HTTP status.

    Status and headers are the answer; the body is not read (a page may stream forever), and a
    redirect is an answer, not followed (it may point at a host nobody allowed us to contact).
    With `access`, its TLS trust and credentials apply (a CA bundle is verified here).
    """
    options = access.httpx_options() if access is not None else {}
    try:
        with httpx.Client(timeout=timeout_s, follow_redirects=False, **options) as client:
            with client.stream("GET", base_url + "/"):
                pass
    except httpx.HTTPError as exc:
        hint = TLS_HINT if _untrusted(exc) else START_HINT
        raise TargetUnreachable(f"{what} {base_url} does not answer: {type(exc).__name__}: {exc}", hint=hint) from None
