"""What the page audits read from a page's HTML: head metadata, assets, links, JSON-LD.

A pure parse (stdlib html.parser, tolerant of broken markup) so checks can be
unit-tested on a string.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit


@dataclass
class Document:
    url: str
    title: str | None = None
    meta_description: str | None = None
    canonical: str | None = None
    json_ld: list[Any] = field(default_factory=list)
    json_ld_errors: list[str] = field(default_factory=list)
    stylesheets: list[str] = field(default_factory=list)  # absolute URLs, in page order
    scripts: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # <a href>, absolute, fragment removed

    def assets(self) -> list[tuple[str, str]]:
        """(kind, url) of every static asset, deduplicated, page order."""
        seen: set[str] = set()
        out = []
        for kind, urls in (("stylesheet", self.stylesheets), ("script", self.scripts), ("image", self.images)):
            for url in urls:
                if url not in seen:
                    seen.add(url)
                    out.append((kind, url))
        return out

    def json_ld_types(self) -> list[str]:
        return [t for item in _json_ld_items(self.json_ld) for t in _types_of(item)]

    def json_ld_of_type(self, wanted: str) -> list[dict]:
        return [item for item in _json_ld_items(self.json_ld) if wanted in _types_of(item)]


def _json_ld_items(blocks: list[Any]) -> list[dict]:
    items: list[dict] = []
    for block in blocks:
        candidates = block if isinstance(block, list) else [block]
        for item in candidates:
            if isinstance(item, dict):
                items.append(item)
                graph = item.get("@graph")
                if isinstance(graph, list):
                    items.extend(g for g in graph if isinstance(g, dict))
    return items


def _types_of(item: dict) -> list[str]:
    kind = item.get("@type")
    return [str(k) for k in kind] if isinstance(kind, list) else ([str(kind)] if kind else [])


class _Parser(HTMLParser):
    def __init__(self, doc: Document):
        super().__init__(convert_charrefs=True)
        self.doc = doc
        self.base = doc.url
        self._in_title = False
        self._title: list[str] = []
        self._json_ld: list[str] | None = None

    def _abs(self, ref: str | None) -> str | None:
        if not ref or ref.strip().lower().startswith(("javascript:", "mailto:", "tel:", "data:")):
            return None
        return urldefrag(urljoin(self.base, ref.strip()))[0]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        rel = a.get("rel", "").lower().split()
        if tag == "base" and a.get("href"):
            self.base = urljoin(self.doc.url, a["href"])
        elif tag == "title":
            self._in_title = True
        elif tag == "meta" and a.get("name", "").lower() == "description":
            self.doc.meta_description = a.get("content", "")
        elif tag == "link" and "canonical" in rel:
            self.doc.canonical = self._abs(a.get("href")) or a.get("href")
        elif tag == "link" and "stylesheet" in rel and (url := self._abs(a.get("href"))):
            self.doc.stylesheets.append(url)
        elif tag == "script" and a.get("type", "").lower() == "application/ld+json":
            self._json_ld = []
        elif tag == "script" and (url := self._abs(a.get("src"))):
            self.doc.scripts.append(url)
        elif tag == "img" and (url := self._abs(a.get("src") or _first_srcset(a.get("srcset")))):
            self.doc.images.append(url)
        elif tag == "source" and a.get("srcset") and (url := self._abs(_first_srcset(a["srcset"]))):
            self.doc.images.append(url)
        elif tag == "a" and (url := self._abs(a.get("href"))):
            self.doc.links.append(url)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
            if self.doc.title is None:
                self.doc.title = " ".join("".join(self._title).split())
        elif tag == "script" and self._json_ld is not None:
            text = "".join(self._json_ld).strip()
            self._json_ld = None
            try:
                self.doc.json_ld.append(json.loads(text))
            except ValueError as exc:
                self.doc.json_ld_errors.append(f"invalid JSON-LD: {exc}")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title.append(data)
        elif self._json_ld is not None:
            self._json_ld.append(data)


def _first_srcset(srcset: str | None) -> str | None:
    if not srcset:
        return None
    first = srcset.split(",")[0].strip().split()
    return first[0] if first else None


def parse_document(html: str, url: str) -> Document:
    doc = Document(url=url)
    parser = _Parser(doc)
    parser.feed(html)
    parser.close()
    if parser._in_title and doc.title is None:
        doc.title = " ".join("".join(parser._title).split())
    return doc


def same_host(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return a.scheme in ("http", "https") and (a.hostname, a.port) == (b.hostname, b.port)
