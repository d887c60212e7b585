"""Accessibility: axe-core in the page, its violations as records, accepted ones from a baseline.

Every page check (each engine x device) injects axe.min.js once and runs it for the
violations of the configured rule tags. One Finding "a11y" per violated rule carries its
impact, help link and (bounded) elements; the Measurements a11y_critical, a11y_serious,
a11y_moderate and a11y_minor count the rules with elements not accepted yet, and
reports/ judges them against the budgets (a11y_critical = 0, a11y_serious = 0 by default).

Accepted violations are approved like visual baselines (`siteward a11y approve RUN`,
browsers/a11y_baseline.py): rule id + element selector per page x engine x device, kept
in the store's baselines table under keys "a11y:PAGE|ENGINE|DEVICE|RULE|TARGET". A rule
whose elements are all accepted is a passing, informational finding and counts for no
budget; a new element of it is a new violation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from siteward.records import AnyRecord, Finding, Measurement
from siteward.tools import node_package_file

STAGE = "browsers"
CHECK = "a11y"
KEY_PREFIX = "a11y:"
IMPACTS = ("critical", "serious", "moderate", "minor")
METRICS = tuple(f"a11y_{impact}" for impact in IMPACTS)
UNIT = "violations"
SEVERITY = {"critical": "critical", "serious": "major", "moderate": "minor", "minor": "minor"}
WHOLE_RULE = "*"  # an accepted target meaning every element of the rule (it had more than MAX_TARGETS)
# Bounds: what one page's results may weigh in the history, whatever the page.
MAX_RULES = 100
MAX_TARGETS = 50  # selectors kept per rule (what an approval can accept one by one)
MAX_SNIPPETS = 5  # elements shown with their HTML
MAX_TARGET_CHARS = 300
MAX_HTML_CHARS = 240
SHOWN_IN_MESSAGE = 3

# An async arrow function run in the page once axe is injected. iframes: false, because axe
# waits up to a minute for frames it was not injected into; its selectors flatten to one string.
AXE_RUN = r"""
async (o) => {
  if (!window.axe || typeof window.axe.run !== 'function') return { __error: 'axe-core is not loaded in the page' };
  const cut = (s, n) => { s = String(s == null ? '' : s); return s.length > n ? s.slice(0, n) + '\u2026' : s; };
  const flat = (t) => (Array.isArray(t) ? t.map(flat).join(' >> ') : String(t));
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('axe did not finish within ' + o.timeoutMs + ' ms')), o.timeoutMs);
  });
  try {
    const run = window.axe.run(document, {
      runOnly: { type: 'tag', values: o.tags }, resultTypes: ['violations'], iframes: false, elementRef: false,
    });
    const result = await Promise.race([run, late]);
    return {
      version: window.axe.version,
      rules: result.violations.length,
      violations: result.violations.slice(0, o.maxRules).map((v) => ({
        id: v.id, impact: v.impact || 'minor', help: cut(v.help, 300), helpUrl: cut(v.helpUrl, 300),
        count: v.nodes.length,
        targets: v.nodes.slice(0, o.maxTargets).map((n) => cut(flat(n.target), o.maxTargetChars)),
        html: v.nodes.slice(0, o.maxSnippets).map((n) => cut(n.html, o.maxHtmlChars)),
      })),
    };
  } finally { clearTimeout(timer); }
}
"""


@cache
def axe_source() -> str:
    """axe.min.js from the project's node_modules (FileNotFoundError names the install step)."""
    return Path(node_package_file("axe-core", "axe.min.js")).read_text(encoding="utf-8")


def run_options(tags: Iterable[str], timeout_s: float) -> dict[str, Any]:
    return {"tags": list(tags), "timeoutMs": int(timeout_s * 1000), "maxRules": MAX_RULES,
            "maxTargets": MAX_TARGETS, "maxSnippets": MAX_SNIPPETS, "maxTargetChars": MAX_TARGET_CHARS,
            "maxHtmlChars": MAX_HTML_CHARS}


@dataclass
class AxeResult:
    """What axe said on one page (violations), or why it could not say (error)."""

    violations: list[dict[str, Any]] = field(default_factory=list)
    version: str = ""
    error: str | None = None
    rules: int = 0  # violated rules, before the MAX_RULES bound


def parse_result(raw: Any) -> AxeResult:
    """The page script's answer, checked: anything but a well-formed result is an error."""
    if not isinstance(raw, Mapping):
        return AxeResult(error=f"axe returned {type(raw).__name__}, not a result")
    if raw.get("__error"):
        return AxeResult(error=str(raw["__error"])[:500])
    violations = raw.get("violations")
    if not isinstance(violations, list) or not all(isinstance(v, Mapping) and v.get("id") for v in violations):
        return AxeResult(error="axe returned a result without a list of violations")
    cleaned = [{**v, "impact": v.get("impact") if v.get("impact") in IMPACTS else "minor",
                "targets": [str(t) for t in v.get("targets") or []][:MAX_TARGETS],
                "html": [str(h)[:MAX_HTML_CHARS + 1] for h in v.get("html") or []][:MAX_SNIPPETS],
                "count": int(v.get("count") or len(v.get("targets") or []))}
               for v in violations[:MAX_RULES]]
    return AxeResult(violations=cleaned, version=str(raw.get("version", "")), rules=int(raw.get("rules") or 0))


async def audit(session: Any, tags: Iterable[str], timeout_s: float) -> AxeResult:
    """Inject axe into the session's page and run it. Never raises for the page's sake: a failed
    or late run is an AxeResult with an error (the check says so; it never passes)."""
    try:
        source = axe_source()
    except (FileNotFoundError, OSError) as exc:
        return AxeResult(error=f"axe-core is not installed: {exc}")
    try:
        raw = await session.run_in_page(source, AXE_RUN, run_options(tags, timeout_s), timeout_s)
    except Exception as exc:  # noqa: BLE001 - a broken axe run is this check's error, not the page check's
        return AxeResult(error=f"{type(exc).__name__}: {str(exc).strip()[:300] or 'no message'}")
    return parse_result(raw)


# ------------------------------------------------------------------ acceptance
def acceptance_prefix(page: str, engine: str, device: str) -> str:
    return f"{KEY_PREFIX}{page}|{engine}|{device}|"


def acceptance_key(page: str, engine: str, device: str, rule: str, target: str) -> str:
    return f"{acceptance_prefix(page, engine, device)}{rule}|{target}"


def parse_acceptances(keys_and_runs: Iterable[tuple[str, str]], prefix: str) -> dict[str, dict[str, str]]:
    """{rule: {target: approving run}} from the baseline keys under prefix."""
    accepted: dict[str, dict[str, str]] = {}
    for key, run_id in keys_and_runs:
        if key.startswith(prefix):
            rule, _, target = key[len(prefix):].partition("|")
            accepted.setdefault(rule, {})[target] = run_id
    return accepted


def accepted_for(store: Any, page: str, engine: str, device: str) -> dict[str, dict[str, str]]:
    prefix = acceptance_prefix(page, engine, device)
    return parse_acceptances(((b.key, b.run_id) for b in store.baselines(prefix)), prefix)


def new_targets(violation: Mapping[str, Any], accepted: Mapping[str, str]) -> list[str]:
    """The violation's elements no approval covers. Past MAX_TARGETS only a whole-rule approval
    covers the elements not listed, so such a rule is new unless the whole rule was accepted."""
    if WHOLE_RULE in accepted:
        return []
    targets = list(violation.get("targets") or [])
    fresh = [t for t in targets if t not in accepted]
    if violation.get("count", len(targets)) > len(targets) and not fresh:
        return ["(elements past the first %d)" % MAX_TARGETS]
    return fresh


def approval_targets(violation: Mapping[str, Any]) -> list[str]:
    """What approving this violation accepts: its elements, or the whole rule when not all are listed."""
    targets = list(violation.get("targets") or [])
    return [WHOLE_RULE] if violation.get("count", len(targets)) > len(targets) or not targets else targets


# ------------------------------------------------------------------ records
def _shown(items: list[str]) -> str:
    more = f" (+{len(items) - SHOWN_IN_MESSAGE} more)" if len(items) > SHOWN_IN_MESSAGE else ""
    return ", ".join(items[:SHOWN_IN_MESSAGE]) + more


def violation_finding(violation: Mapping[str, Any], accepted: Mapping[str, str], subject: str,
                      tags: dict[str, str], evidence: list[str]) -> Finding:
    rule, impact = str(violation["id"]), str(violation["impact"])
    fresh = new_targets(violation, accepted)
    count = int(violation.get("count", 0))
    data = {"rule": rule, "impact": impact, "help": violation.get("help", ""),
            "help_url": violation.get("helpUrl", ""), "elements": count,
            "targets": list(violation.get("targets") or []), "html": list(violation.get("html") or []),
            "accepted": not fresh, "new_targets": fresh[:MAX_TARGETS]}
    what = f"{rule} ({impact}): {violation.get('help', '')}"
    link = f" {violation['helpUrl']}" if violation.get("helpUrl") else ""
    if fresh:
        return Finding(stage=STAGE, subject=subject, tags={**tags, "rule": rule}, check=CHECK, status="warn",
                       severity=SEVERITY[impact], evidence=evidence, data=data,
                       message=f"{what}: {count} element(s), new: {_shown(fresh)};{link}")
    runs = sorted(set(accepted.values()))
    data["baseline_runs"] = runs
    return Finding(stage=STAGE, subject=subject, tags={**tags, "rule": rule}, check=CHECK, status="pass",
                   severity="info", data=data,
                   message=f"accepted: {what}: {count} element(s), approved in run {', '.join(runs)};{link}")


def a11y_records(result: AxeResult, accepted: Mapping[str, Mapping[str, str]], subject: str,
                 tags: dict[str, str], evidence: list[str], rule_tags: Iterable[str]) -> list[AnyRecord]:
    """One finding per violated rule and the counts of new violations per impact; or one error."""
    checked = ", ".join(rule_tags)
    if result.error is not None:
        return [Finding(stage=STAGE, subject=subject, tags=tags, check=CHECK, status="error", severity="major",
                        evidence=evidence, message=f"accessibility not checked: {result.error}")]
    found = [violation_finding(v, accepted.get(str(v["id"]), {}), subject, tags, evidence)
             for v in result.violations]
    if not found:
        found.append(Finding(stage=STAGE, subject=subject, tags=tags, check=CHECK, status="pass", severity="info",
                             message=f"no violations of the axe rules tagged {checked}",
                             data={"axe": result.version}))
    if result.rules > len(result.violations):
        found.append(Finding(stage=STAGE, subject=subject, tags=tags, check=CHECK, status="warn", severity="minor",
                             message=f"{result.rules} rules violated; the first {len(result.violations)} are kept"))
    counts = dict.fromkeys(IMPACTS, 0)
    for finding in found:
        if finding.status == "warn" and finding.data.get("impact") in counts:
            counts[finding.data["impact"]] += 1
    measured = [Measurement(stage=STAGE, subject=subject, tags=tags, metric=f"a11y_{impact}", unit=UNIT,
                            samples=[float(counts[impact])], data={"axe": result.version, "tags": checked})
                for impact in IMPACTS]
    return [*found, *measured]
