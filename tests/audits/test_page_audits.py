"""Page audits against the real demo shop (httpx, no Lighthouse) and a real local TLS server."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from audits.gather import gather_tls
from audits.page_checks import check_tls
from stage_helpers import run_stage
from audit_support import demo_config, make_ctx, records

CHECKS = ("security-headers", "caching", "compression", "image-formats", "broken-links", "seo")


def _page_audits(shop_url, tmp_path, pages=None):
    config = demo_config(shop_url, audits={"lighthouse": False})
    ctx = make_ctx(config, tmp_path, pages=pages)
    run_stage(ctx)
    return ctx, {(f.tags.get("page"), f.check): f for f in records(ctx, "finding")}


def test_every_check_runs_on_every_page_with_evidence(shop, tmp_path):
    ctx, found = _page_audits(shop.url, tmp_path)
    for page in ctx.config.pages:
        for check in CHECKS:
            finding = found[(page.name, check)]
            assert finding.subject == f"{page.name}|{check}"
            assert finding.evidence == [f"page-audits/{page.name}.json"]
    assert (ctx.run_dir / "page-audits" / "home.json").is_file()
    assert found[("product", "seo")].data["json_ld_types"].count("Product") == 1
    assert found[("home", "broken-links")].data["checked"] > 3
    assert found[("home", "caching")].data["checked"] > 3


def test_heavy_image_fault_fails_caching_and_warns_on_image_format(faulty_shop, tmp_path):
    faulty_shop.set_faults(["heavy-image"])
    _, found = _page_audits(faulty_shop.url, tmp_path, pages=["home"])
    assert found[("home", "image-formats")].status == "warn"
    assert any("image/png" in kind for kind in found[("home", "image-formats")].data["legacy"].values())
    assert found[("home", "caching")].status == "fail"
    assert "without Cache-Control max-age" in found[("home", "caching")].message


def test_server_errors_make_page_audits_error_not_crash(faulty_shop, tmp_path):
    faulty_shop.set_faults(["errors=1"])
    _, found = _page_audits(faulty_shop.url, tmp_path, pages=["home"])
    for check in CHECKS:
        assert found[("home", check)].status == "error"
        assert "HTTP 500" in found[("home", check)].message


# ----------------------------------------------------------------------------- TLS


def _cert(tmp_path, days: int):
    key, cert = tmp_path / f"key{days}.pem", tmp_path / f"cert{days}.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", str(days), "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def _https_server(cert, key):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
@pytest.mark.parametrize("days, status", [(5, "fail"), (400, "pass")])
def test_tls_days_to_expiry_from_a_real_handshake(tmp_path, days, status):
    cert, key = _cert(tmp_path, days)
    server = _https_server(cert, key)
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}"
        info = gather_tls(url, 10, cafile=str(cert))
        assert info.error is None
        assert days - 1 < info.days_left() <= days
        result = check_tls(info, https=True, min_days=21)
        assert result.status == status
        untrusted = check_tls(gather_tls(url, 10), https=True, min_days=21)  # self-signed, system trust
        assert untrusted.status == "fail" and "does not verify" in untrusted.message
    finally:
        server.shutdown()
