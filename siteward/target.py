"""Does the target answer at all? One probe for the runner and every stage."""

from __future__ import annotations

import httpx

from siteward.errors import TargetUnreachable

START_HINT = "start the site (for the demo: `siteward shop`) or pass --target URL"


def require_target(base_url: str, *, timeout_s: float = 15.0, what: str = "target") -> None:
    """Raise TargetUnreachable unless `base_url` answers with any HTTP status.

    Status and headers are the answer; the body is not read (a page may stream forever), and a
    redirect is an answer, not followed (it may point at a host nobody allowed us to contact).
    """
    try:
        with httpx.stream("GET", base_url + "/", timeout=timeout_s, follow_redirects=False):
            pass
    except httpx.HTTPError as exc:
        raise TargetUnreachable(f"{what} {base_url} does not answer: {type(exc).__name__}: {exc}",
                                hint=START_HINT) from None
