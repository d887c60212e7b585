"""Where the Node tools live and what they need; missing tools are ToolMissing (exit 3).

Lighthouse CI comes from the project's own node_modules (package.json pins it), so
every machine runs the same Lighthouse; `lhci` on PATH is only a fallback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from siteward.errors import ToolMissing

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NODE_HINT = "apt-get install -y chromium nodejs npm, then run `npm ci` in " + str(PROJECT_ROOT)


@dataclass(frozen=True)
class NodeTools:
    node: Path
    lhci: Path
    chrome: Path
    node_modules: Path | None

    def env(self) -> dict[str, str]:
        """Environment for the lhci subprocess: Chromium path and node on PATH."""
        env = dict(os.environ)
        env["CHROME_PATH"] = str(self.chrome)
        env["PATH"] = f"{self.node.parent}{os.pathsep}{env.get('PATH', '')}"
        return env

    def versions(self) -> dict[str, str]:
        out = {"node": _version([str(self.node), "--version"]), "chromium": _version([str(self.chrome), "--version"])}
        if self.node_modules is not None:
            for name, package in (("lighthouse", "lighthouse"), ("lhci", "@lhci/cli")):
                out[name] = _package_version(self.node_modules / package / "package.json")
        return out


def _version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr).strip() else "unknown"


def _package_version(package_json: Path) -> str:
    import json

    try:
        return str(json.loads(package_json.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return "unknown"


def find_node_tools(chrome_path: str = "/usr/bin/chromium", *, root: Path = PROJECT_ROOT) -> NodeTools:
    """Locate node, lhci and Chromium, or say how to install what is missing."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        raise ToolMissing("Node.js is not installed (Lighthouse CI runs on node)", hint=NODE_HINT)
    local_modules = root / "node_modules"
    lhci = local_modules / ".bin" / "lhci"
    modules: Path | None = local_modules
    if not lhci.exists():
        on_path = shutil.which("lhci")
        if on_path is None:
            raise ToolMissing(
                f"Lighthouse CI (lhci) is not installed: {lhci} does not exist",
                hint=f"run `npm ci` in {root} (package.json pins lighthouse and @lhci/cli)",
            )
        lhci, modules = Path(on_path), None
    chrome = Path(chrome_path) if os.sep in chrome_path else Path(shutil.which(chrome_path) or chrome_path)
    if not (chrome.is_file() and os.access(chrome, os.X_OK)):
        raise ToolMissing(
            f"Chromium for Lighthouse not found at {chrome_path}",
            hint="apt-get install -y chromium (or set [audits] chrome_path)",
        )
    return NodeTools(node=Path(node), lhci=lhci, chrome=chrome, node_modules=modules)
