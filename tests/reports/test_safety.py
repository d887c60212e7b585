"""Untrusted text made inert: links, JSON in <script>, XML, Markdown."""

from __future__ import annotations

import json

import pytest

from reports.safety import INERT_HREF, file_href, md_text, safe_href, script_json, xml_text


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "java\nscript:alert(1)",
    "java\tscript:alert(1)", "\x01javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox", "//evil.example/x", "/etc/passwd", "../../secret", "", None, "http:alert(1)",
])
def test_dangerous_links_become_inert(url):
    assert safe_href(url) == INERT_HREF


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765/product/x?q=1", "https://shop.example.com/", "screens/home.png"])
def test_web_and_relative_links_stay(url):
    assert safe_href(url) == url


def test_file_href_encodes_names_and_refuses_escapes():
    assert file_href("shots/home|chromium#1:a b.png") == "shots/home%7Cchromium%231%3Aa%20b.png"
    assert file_href("javascript:alert(1)") == "javascript%3Aalert%281%29"  # a relative file name, not a scheme
    for bad in ("/abs/path.png", "../outside.png", "a/../../b.png", "a\x00b", None, ""):
        assert file_href(bad) == INERT_HREF


def test_script_json_cannot_close_the_script_or_open_a_comment():
    evil = {"title": "</script><script>alert(1)</script><!-- \u2028 & done"}
    text = str(script_json(evil))
    for bad in ("</", "<!--", "<script", "\u2028", "&"):
        assert bad not in text
    assert json.loads(text) == evil


def test_xml_text_drops_forbidden_control_characters():
    assert xml_text("\x1b[31mred\x1b[0m\x00 ok\n\ttab") == "[31mred[0m ok\n\ttab"
    assert xml_text(None) == ""


def test_md_text_is_one_literal_line():
    text = md_text("<img src=x onerror=alert(1)> | [click](javascript:alert(1))\n## heading *bold*")
    assert "\n" not in text
    assert "\\<img" in text and "\\|" in text and "\\[click\\]" in text and "\\*bold\\*" in text
    assert len(md_text("x" * 1000, limit=50)) == 50
