"""Text from the target (titles, console messages, URLs) is untrusted: made inert here.

HTML escaping itself is Jinja2's autoescape; these cover what autoescape does not:
link schemes, JSON inside <script>, characters XML forbids, and Markdown for PR comments.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any
from urllib.parse import quote, urlsplit

from markupsafe import Markup

SAFE_SCHEMES = ("http", "https")
INERT_HREF = "#inert-link"
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")  # what can start emphasis, links, HTML, cells


def safe_href(url: str | None) -> str:
    """A link target that cannot run script: http(s) or a path inside the run directory.

    javascript:, data:, vbscript: and friends (also hidden behind whitespace or control
    characters, which browsers strip) become an inert fragment; so does a path escaping
    the run directory or a protocol-relative //host link.
    """
    if not url:
        return INERT_HREF
    cleaned = re.sub(r"[\x00-\x20\x7f]", "", str(url))
    parts = urlsplit(cleaned)
    if parts.scheme:
        return cleaned if parts.scheme.lower() in SAFE_SCHEMES and parts.netloc else INERT_HREF
    if cleaned.startswith(("//", "\\", "/")) or ".." in cleaned.replace("\\", "/").split("/"):
        return INERT_HREF
    return cleaned


def file_href(path: str | None) -> str:
    """A link to evidence inside the run directory, percent-encoded (':' '#' '|' in names)."""
    if not path:
        return INERT_HREF
    posix = str(path).replace("\\", "/")
    if posix.startswith("/") or ".." in posix.split("/") or re.search(r"[\x00-\x1f\x7f]", posix):
        return INERT_HREF
    return quote(posix, safe="/")


def script_json(data: Any) -> Markup:
    """JSON safe to embed inside <script type="application/json">: no </script>, <!--, or U+2028."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False, default=str)
    text = (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return Markup(text)


def csp_hash(script: str) -> str:
    """CSP source for one inline script: only scripts we wrote may run in the report."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def xml_text(text: Any) -> str:
    """Drop characters XML 1.0 forbids (ANSI escapes in console messages would break junit.xml)."""
    return _XML_FORBIDDEN.sub("", "" if text is None else str(text))


def md_text(text: Any, limit: int = 300) -> str:
    """One line of Markdown that renders as the literal text (no links, HTML, tables)."""
    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", flat)


def json_number(value: float | None) -> float | None:
    """NaN/inf are not JSON: they become null."""
    if value is None:
        return None
    value = float(value)
    return value if value == value and value not in (float("inf"), float("-inf")) else None
