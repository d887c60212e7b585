"""Accepting known accessibility violations: a run's violations become the baseline later runs gate on.

`siteward a11y approve [RUN] --page P --profile ENGINE|DEVICE --rule RULE` calls `approve`.
For each page x engine x device the run checked with axe (and matching the filters), the
accepted set is replaced by that run's violations: rule id + element selector (or the whole
rule when it had more elements than a finding lists). A violation fixed since is so no longer
accepted, and cannot come back unnoticed. Pages whose axe run failed keep their acceptances.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from browsers.a11y import CHECK, KEY_PREFIX, METRICS, acceptance_key, acceptance_prefix, approval_targets
from siteward.errors import UsageError
from siteward.store import Baseline, RunInfo, Store

Profile = tuple[str, str, str]  # page, engine, device


@dataclass(frozen=True)
class Approval:
    profiles: list[Profile]  # the page x engine x device whose acceptances were replaced
    keys: list[str]  # what is accepted now for them


def _profile(tags: dict[str, str]) -> Profile | None:
    page, engine, device = tags.get("page"), tags.get("engine"), tags.get("device")
    return (page, engine, device) if page and engine and device else None


def checked_profiles(store: Store, run_info: RunInfo) -> set[Profile]:
    """Page x engine x device that axe checked to the end in the run (it measured their counts)."""
    found = set()
    for record in store.records(run_info.id, kind="measurement", stage="browsers"):
        if record.metric == METRICS[0] and (profile := _profile(record.tags)):
            found.add(profile)
    return found


def run_violations(store: Store, run_info: RunInfo) -> dict[Profile, list[dict]]:
    """The run's violations (accepted or not) by page x engine x device; a retried check's last wins."""
    found: dict[Profile, dict[str, dict]] = {}
    for record in store.records(run_info.id, kind="finding", stage="browsers"):
        if record.check == CHECK and record.data.get("rule") and (profile := _profile(record.tags)):
            found.setdefault(profile, {})[record.data["rule"]] = record.data
    return {profile: list(rules.values()) for profile, rules in found.items()}


def _check_filters(run_info: RunInfo, profiles: set[Profile], violations: dict[Profile, list[dict]],
                   pages: Sequence[str], engines_devices: Sequence[str], rules: Sequence[str]) -> None:
    def known(values) -> str:
        return ", ".join(sorted(values)) or "none"

    names = {p for p, _, _ in profiles}
    for page in pages:
        if page not in names:
            raise UsageError(f"run {run_info.id} has no accessibility check of page {page!r} (it has: {known(names)})")
    both = {e for _, e, _ in profiles} | {d for _, _, d in profiles}
    for name in engines_devices:
        if name not in both:
            raise UsageError(f"run {run_info.id} has no accessibility check on engine or device {name!r} "
                             f"(it has: {known(both)})")
    violated = {v["rule"] for found in violations.values() for v in found}
    for rule in rules:
        if rule not in violated:
            raise UsageError(f"run {run_info.id} has no violation of axe rule {rule!r} (it has: {known(violated)})")


def approve(store: Store, run_info: RunInfo, pages: Sequence[str] = (), profiles: Sequence[str] = (),
            rules: Sequence[str] = ()) -> Approval:
    """Replace the acceptances of the run's checked page x engine x device (filtered) with its violations."""
    checked = checked_profiles(store, run_info)
    if not checked:
        raise UsageError(f"run {run_info.id} has no completed accessibility checks to approve",
                         hint="run `siteward sweep` with [browsers] accessibility = true and approve that run")
    violations = run_violations(store, run_info)
    _check_filters(run_info, checked, violations, pages, profiles, rules)
    chosen = sorted(p for p in checked if (not pages or p[0] in pages)
                    and (not profiles or p[1] in profiles or p[2] in profiles))
    if not chosen:
        raise UsageError(f"no accessibility check of run {run_info.id} matches all of: {', '.join([*pages, *profiles])}")
    prefixes, entries = [], {}
    for page, engine, device in chosen:
        base = acceptance_prefix(page, engine, device)
        prefixes.extend([f"{base}{rule}|" for rule in rules] if rules else [base])
        for violation in violations.get((page, engine, device), []):
            if rules and violation["rule"] not in rules:
                continue
            for target in approval_targets({**violation, "count": violation.get("elements", 0)}):
                entries[acceptance_key(page, engine, device, violation["rule"], target)] = violation.get("help_url", "")
    store.replace_baselines(prefixes, entries, run_info.id)
    return Approval(profiles=chosen, keys=sorted(entries))


def list_acceptances(store: Store) -> list[Baseline]:
    """Accepted violations, by key."""
    return store.baselines(KEY_PREFIX)
