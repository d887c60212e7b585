"""The import structure, read from the source with `ast`: imports only go down, no cycles.

Floors: the spine's ground (siteward's records, store, errors, schema, journeys, stage
context, the demo shop) imports no stage and no roof module; each stage package
(browsers, audits, loadtests) imports only the ground; reports/ imports only the ground;
the roof (cli, runner, config, demo, doctor) may import everything.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("siteward", "browsers", "audits", "loadtests", "reports")
STAGES = ("browsers", "audits", "loadtests")
ROOF = {"siteward.cli", "siteward.cli_a11y", "siteward.cli_history", "siteward.cli_options", "siteward.merge", "siteward.runner", "siteward.under_load", "siteward.config", "siteward.demo", "siteward.doctor", "siteward.__main__"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Project modules a file imports, anywhere in it (function-level imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pkg import sub` imports the submodule; `from pkg import name`, the package itself.
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                names.append(sub if sub in known else node.module)
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    known = set(modules)
    return {name: imports_of(path, known) - {name} for name, path in modules.items()}


def floor(module: str) -> str:
    top = module.split(".")[0]
    if top == "siteward":
        return "roof" if module in ROOF else "ground"
    return "stage" if top in STAGES else top


def test_the_ground_imports_no_stage_no_report_and_no_roof():
    graph = import_graph()
    upward = sorted(f"{a} -> {b}" for a, targets in graph.items() if floor(a) == "ground"
                    for b in targets if floor(b) != "ground")
    assert upward == []


def test_no_stage_imports_another_stage_reports_or_the_roof():
    graph = import_graph()
    crossing = sorted(f"{a} -> {b}" for a, targets in graph.items() if floor(a) in ("stage", "reports")
                      for b in targets
                      if floor(b) in ("roof", "reports", "stage") and b.split(".")[0] != a.split(".")[0])
    assert crossing == []


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_checker_sees_an_upward_import(tmp_path):
    """The rules above would catch a ground module importing a stage (the reader is not blind)."""
    probe = ROOT / "siteward" / "records.py"
    known = set(project_modules())
    assert "siteward.errors" not in imports_of(probe, known)  # records import no errors: a true negative
    fake = tmp_path / "fake.py"
    fake.write_text("def f():\n    from browsers.plan import build_plan\n")
    assert imports_of(fake, known) == {"browsers.plan"}
    assert floor("siteward.records") == "ground" and floor("browsers.plan") == "stage"
