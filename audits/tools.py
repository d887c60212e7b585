"""Where the Node tools live and what they need; missing tools are ToolMissing (exit 3).

Lighthouse CI comes from the project's own node_modules (package.json pins it, and its
npm override makes lhci run that pinned Lighthouse), never a global install, so every
machine runs the same Lighthouse. Versions are recorded by siteward.tools for the run.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from siteward.errors import ToolMissing
from siteward.tools import node_modules_bin

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NODE_HINT = "apt-get install -y chromium nodejs npm, then run `npm ci` in " + str(PROJECT_ROOT)


@dataclass(frozen=True)
class NodeTools:
    node: Path
    lhci: Path
    chrome: Path

    def env(self) -> dict[str, str]:
        """Environment for the lhci subprocess: Chromium path and this node first on PATH."""
        env = dict(os.environ)
        env["CHROME_PATH"] = str(self.chrome)
        env["PATH"] = f"{self.node.parent}{os.pathsep}{env.get('PATH', '')}"
        return env


def find_node_tools(chrome_path: str = "/usr/bin/chromium", *, root: Path | None = None) -> NodeTools:
    """Locate node, lhci and Chromium, or say how to install what is missing.

    `root` is a project directory holding node_modules; by default siteward's own lookup
    ($SITEWARD_NODE_MODULES, ./node_modules, the checkout's node_modules).
    """
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        raise ToolMissing("Node.js is not installed (Lighthouse CI runs on node)", hint=NODE_HINT)
    if root is None:
        lhci = node_modules_bin("lhci")
        where = "the project's node_modules"
    else:
        candidate = root / "node_modules" / ".bin" / "lhci"
        lhci, where = (candidate if candidate.exists() else None), str(candidate)
    if lhci is None:
        raise ToolMissing(f"Lighthouse CI (lhci) is not installed in {where}",
                          hint=f"run `npm ci` in {root or PROJECT_ROOT} (package.json pins lighthouse and @lhci/cli)")
    chrome = Path(chrome_path) if os.sep in chrome_path else Path(shutil.which(chrome_path) or chrome_path)
    if not (chrome.is_file() and os.access(chrome, os.X_OK)):
        raise ToolMissing(f"Chromium for Lighthouse not found at {chrome_path}",
                          hint="apt-get install -y chromium (or set [audits] chrome_path)")
    return NodeTools(node=Path(node), lhci=lhci, chrome=chrome)
