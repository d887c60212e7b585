"""Where the external engines and tools live, their versions, and how to install them.

One table serves `siteward doctor`, the tool versions stored with every run, and the
install hints of ToolMissing errors.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SETUP_HINT = "make setup   (or: bash scripts/setup.sh)"


def _node_modules_roots() -> list[Path]:
    """$SITEWARD_NODE_MODULES, ./node_modules, the checkout's node_modules (never a global install)."""
    roots = [os.environ.get("SITEWARD_NODE_MODULES"), Path.cwd() / "node_modules", PROJECT_ROOT / "node_modules"]
    return [Path(root) for root in roots if root]


def node_modules_bin(name: str) -> Path | None:
    """A Node tool from the project's own node_modules."""
    return next((root / ".bin" / name for root in _node_modules_roots() if (root / ".bin" / name).exists()), None)


def node_package_file(package: str, relative: str) -> Path | None:
    """A file of an npm package in the project's node_modules (e.g. web-vitals' IIFE build, axe.min.js);
    None when the package is not installed."""
    return next((root / package / relative for root in _node_modules_roots()
                 if (root / package / relative).is_file()), None)


def minibrowser_path() -> Path | None:
    found = sorted(glob.glob("/usr/lib/*/webkit2gtk-4.1/MiniBrowser"))
    return Path(found[0]) if found else None


@dataclass(frozen=True)
class Tool:
    name: str
    required: bool
    install: str
    why: str


TOOLS = [
    Tool("chromium", True, "apt-get install -y chromium", "Chromium engine, Lighthouse"),
    Tool("firefox-esr", True, "apt-get install -y firefox-esr", "Firefox engine"),
    Tool("WebKitWebDriver", True, "apt-get install -y webkit2gtk-driver", "WebKit engine (WebDriver)"),
    Tool("MiniBrowser", True, "apt-get install -y webkit2gtk-driver", "WebKit browser for WebDriver"),
    Tool("Xvfb", True, "apt-get install -y xvfb", "virtual display for WebKit"),
    Tool("cjk-fonts", False, "apt-get install -y fonts-noto-cjk", "renders Chinese/Japanese/Korean pages"),
    Tool("node", True, "apt-get install -y nodejs npm", "runs Lighthouse"),
    Tool("lighthouse", True, "npm ci   (in the siteward checkout)", "Lighthouse audits"),
    Tool("lhci", True, "npm ci   (in the siteward checkout)", "Lighthouse CI collect/assert"),
    Tool("web-vitals", True, "npm ci   (in the siteward checkout)", "Core Web Vitals in every page"),
    Tool("axe-core", True, "npm ci   (in the siteward checkout)", "accessibility checks in every page"),
    Tool("playwright", True, "pip install 'playwright>=1.60,<1.65'", "drives Chromium and Firefox"),
    Tool("selenium", True, "pip install 'selenium>=4.20,<5'", "drives WebKit over WebDriver"),
    Tool("locust", True, "pip install 'locust>=2.30,<3'", "load tests"),
]
TOOL_BY_NAME = {t.name: t for t in TOOLS}


def _first_version(text: str) -> str:
    match = re.search(r"\d+(\.\d+)+", text)
    return match.group(0) if match else text.strip()[:40]


def _run_version(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or "") + (out.stderr or "")
    return _first_version(text) if out.returncode == 0 or text.strip() else None


def _python_dist(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def probe(name: str) -> str | None:
    """The tool's version, or None if it is missing."""
    if name in ("playwright", "selenium", "locust"):
        return _python_dist(name)
    if name == "WebKitWebDriver":
        # It has no --version; the Debian package version is the WebKitGTK version.
        if not shutil.which(name):
            return None
        return _run_version(["dpkg-query", "-W", "-f=${Version}", "webkit2gtk-driver"]) or "present"
    if name == "MiniBrowser":
        path = minibrowser_path()
        return "present" if path else None
    if name == "Xvfb":
        return "present" if shutil.which("Xvfb") else None
    if name == "cjk-fonts":
        if not shutil.which("fc-list"):
            return None
        out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True)
        families = sorted({line.split(",")[0] for line in out.stdout.splitlines() if line.strip()})
        noto = [f for f in families if "Noto" in f]
        return (noto or families or [None])[0]
    if name in ("web-vitals", "axe-core"):
        manifest = node_package_file(name, "package.json")
        try:
            return json.loads(manifest.read_text(encoding="utf-8")).get("version") if manifest else None
        except (OSError, ValueError):
            return None
    if name in ("lighthouse", "lhci"):
        path = node_modules_bin(name)
        return _run_version([str(path), "--version"]) if path and shutil.which("node") else None
    path = shutil.which(name)
    return _run_version([path, "--version"]) if path else None


@lru_cache(maxsize=1)
def tool_versions() -> dict[str, str]:
    """Versions of every tool, stored with each run ('missing' where absent)."""
    from siteward import __version__

    versions = {"siteward": __version__}
    versions.update({t.name: probe(t.name) or "missing" for t in TOOLS})
    return versions


def require(name: str) -> str:
    """The tool's version; raises ToolMissing with the install command if absent."""
    from siteward.errors import ToolMissing

    version = probe(name)
    if version is None:
        tool = TOOL_BY_NAME[name]
        raise ToolMissing(f"{name} is not installed ({tool.why})", hint=tool.install)
    return version
