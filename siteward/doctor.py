"""`siteward doctor`: every engine and tool, its version, and how to install what is missing."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from siteward.errors import EXIT_CANNOT_MEASURE, EXIT_PASS
from siteward.tools import TOOLS, probe

PLAYWRIGHT_FIREFOX_OK = ((1, 60), (1, 64))  # Firefox over BiDi breaks on 1.65 (DESIGN.md)


def _playwright_note(version: str | None) -> str:
    if not version:
        return ""
    major_minor = tuple(int(p) for p in version.split(".")[:2])
    low, high = PLAYWRIGHT_FIREFOX_OK
    if not (low <= major_minor <= high):
        return "Firefox needs playwright 1.60-1.64"
    return ""


def run_doctor(console: Console) -> int:
    table = Table(title="siteward doctor", show_lines=False)
    for col in ("tool", "status", "version", "used for", "install"):
        table.add_column(col)
    missing_required = []
    for tool in TOOLS:
        version = probe(tool.name)
        note = _playwright_note(version) if tool.name == "playwright" else ""
        if version is None:
            status = "[red]missing" if tool.required else "[yellow]missing (optional)"
            if tool.required:
                missing_required.append(tool.name)
            table.add_row(tool.name, status, "-", tool.why, tool.install)
        else:
            status = "[yellow]warning" if note else "[green]ok"
            table.add_row(tool.name, status, version, tool.why + (f" ({note})" if note else ""), "")
    console.print(table)
    engines = {
        "chromium": ["chromium"],
        "firefox": ["firefox-esr", "playwright"],
        "webkit": ["WebKitWebDriver", "MiniBrowser", "Xvfb", "selenium"],
    }
    for engine, needs in engines.items():
        ok = not any(n in missing_required for n in needs)
        console.print(f"engine {engine}: {'[green]available' if ok else '[red]unavailable'}")
    if missing_required:
        console.print(f"[red]missing: {', '.join(missing_required)}[/] -> run the install commands above")
        return EXIT_CANNOT_MEASURE
    return EXIT_PASS
