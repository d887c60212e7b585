"""Fixtures of the shop tests (the shop itself comes from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from siteward.shop import ShopProcess


@pytest.fixture()
def client(shop: ShopProcess) -> Iterator[httpx.Client]:
    """A browser-like client: own cookie jar, no automatic redirects."""
    with httpx.Client(base_url=shop.url, timeout=30) as http:
        yield http


# --- a tiny HTML reader (stdlib only) for selector checks ---------------------

from dataclasses import dataclass, field  # noqa: E402
from html.parser import HTMLParser  # noqa: E402

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children_text: list[str] = field(default_factory=list)


class Page(HTMLParser):
    """All elements of a page in document order, each with its text content."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_endtag(self, tag):
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                break

    def handle_data(self, data):
        for element in self._open:
            element.text += data

    def select(self, tag: str | None = None, **attrs: str) -> list[Element]:
        """Elements with this tag (any if None) whose attributes equal attrs
        (underscores in names become dashes: data_testid -> data-testid)."""
        wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [e for e in self.elements if (tag is None or e.tag == tag)
                and all(e.attrs.get(k) == v for k, v in wanted.items())]

    def one(self, tag: str | None = None, **attrs: str) -> Element:
        found = self.select(tag, **attrs)
        assert len(found) == 1, f"expected one {tag or '*'} {attrs}, found {len(found)}"
        return found[0]


@pytest.fixture()
def parse():
    """parse(html) -> Page, for selector checks."""
    return Page
