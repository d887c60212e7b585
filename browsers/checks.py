"""Compatibility checks and timings: pure functions from what a page showed to records.

The drivers collect a ``PageObservation`` (status, console, requests, layout facts);
everything here is analysis without a browser, so each rule is unit-tested directly.
Each check declares what it needs; when the engine could not observe that, the check
says so with status "skip" instead of passing silently (Lighthouse's rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from browsers.devices import DeviceProfile
from browsers.vitals import vital_values
from siteward.browser_state import same_page
from siteward.records import Finding, Measurement

STAGE = "browsers"

# Chromium logs network failures to the console too; failed-requests reports those.
_NETWORK_CONSOLE_PREFIXES = ("Failed to load resource",)


@dataclass
class PageObservation:
    """What one page load on one engine and device showed."""

    url: str
    status: int | None = None
    status_source: str = "browser"
    # None means the engine cannot observe it (the note says why).
    console_errors: list[str] | None = field(default_factory=list)
    console_note: str = ""
    failed_requests: list[dict[str, Any]] | None = field(default_factory=list)
    requests_note: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    required: dict[str, bool] = field(default_factory=dict)
    first_party_hosts: tuple[str, ...] = ()  # failed requests elsewhere are warnings (fonts, analytics)
    dialogs: list[str] = field(default_factory=list)  # alert/confirm/prompt texts (each was dismissed)
    popups: list[str] = field(default_factory=list)  # URLs of windows the page opened (each was closed)
    landed_url: str | None = None  # where the load ended (after server redirects)
    final_url: str | None = None  # where the page was when it was checked


def first_party_hosts(config: Any) -> tuple[str, ...]:
    """[browsers] first_party_hosts, else the target's own host."""
    hosts = config.browsers.first_party_hosts or [urlsplit(config.target.base_url).hostname or ""]
    return tuple(h.lower().lstrip(".") for h in hosts if h)


def is_first_party(url: str, hosts: tuple[str, ...]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return not hosts or any(host == h or host.endswith("." + h) for h in hosts)


def page_console_errors(messages: list[str]) -> list[str]:
    """Console errors that are the page's own (network noise goes to failed-requests)."""
    return [m for m in messages if not m.startswith(_NETWORK_CONSOLE_PREFIXES)]


def _finding(check: str, status: str, message: str, subject: str, tags: dict[str, str],
             evidence: list[str], data: dict[str, Any] | None = None, severity: str = "major") -> Finding:
    return Finding(
        stage=STAGE, subject=subject, tags=tags, check=check, status=status, message=message,
        severity=severity, evidence=evidence if status in ("fail", "error", "warn") else [],
        data=data or {},
    )


def check_http_status(obs: PageObservation, subject: str, tags: dict[str, str], evidence: list[str]) -> Finding:
    if obs.status is None:
        return _finding("http-status", "error", f"no response status for {obs.url}", subject, tags, evidence)
    ok = 200 <= obs.status < 400
    message = f"HTTP {obs.status} for {obs.url}"
    if obs.status_source != "browser":
        message += f" (status from {obs.status_source})"
    return _finding("http-status", "pass" if ok else "fail", message, subject, tags, evidence,
                    {"status": obs.status, "source": obs.status_source}, severity="critical")


def check_console(obs: PageObservation, subject: str, tags: dict[str, str], evidence: list[str]) -> Finding:
    errors = page_console_errors(obs.console_errors or [])
    if errors:
        shown = "; ".join(e[:160] for e in errors[:3])
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        message = f"{len(errors)} console error(s)/uncaught exception(s): {shown}{more}"
        if obs.console_note:
            message += f" [{obs.console_note}]"
        return _finding("console-errors", "fail", message, subject, tags, evidence, {"errors": errors[:20]})
    if obs.console_errors is None or obs.console_note:
        return _finding("console-errors", "skip", obs.console_note or "console not observable", subject, tags,
                        evidence, severity="info")
    return _finding("console-errors", "pass", "no console errors or uncaught exceptions", subject, tags, evidence)


def _requests_text(failed: list[dict[str, Any]]) -> str:
    shown = "; ".join(f"{r.get('status') or r.get('error', 'failed')} {r.get('url', '')}" for r in failed[:3])
    return shown + (f" (+{len(failed) - 3} more)" if len(failed) > 3 else "")


def check_failed_requests(obs: PageObservation, subject: str, tags: dict[str, str], evidence: list[str]) -> Finding:
    """Failed requests to the shop's own hosts fail the page; the rest is check_third_party's."""
    if obs.failed_requests is None:
        return _finding("failed-requests", "skip", obs.requests_note or "requests not observable", subject,
                        tags, evidence, severity="info")
    failed = [r for r in obs.failed_requests if is_first_party(r.get("url", ""), obs.first_party_hosts)]
    if failed:
        return _finding("failed-requests", "fail", f"{len(failed)} failed request(s): {_requests_text(failed)}",
                        subject, tags, evidence, {"requests": failed[:20]})
    return _finding("failed-requests", "pass", "every request to the shop's own hosts succeeded", subject, tags,
                    evidence)


def check_third_party(obs: PageObservation, subject: str, tags: dict[str, str], evidence: list[str]) -> Finding | None:
    failed = [r for r in obs.failed_requests or [] if not is_first_party(r.get("url", ""), obs.first_party_hosts)]
    if not failed:
        return None
    return _finding("third-party-requests", "warn", f"{len(failed)} failed request(s) to other hosts than "
                    f"{', '.join(obs.first_party_hosts)}: {_requests_text(failed)}", subject, tags, evidence,
                    {"requests": failed[:20]}, severity="minor")


def check_broken_images(obs: PageObservation, subject: str, tags: dict[str, str], evidence: list[str]) -> Finding:
    broken = obs.facts.get("brokenImages") or []
    if broken:
        return _finding("broken-images", "fail", f"{len(broken)} broken image(s): {', '.join(broken[:3])}",
                        subject, tags, evidence, {"images": broken[:20]})
    return _finding("broken-images", "pass", "all loaded images decoded", subject, tags, evidence)


def check_overflow(obs: PageObservation, subject: str, tags: dict[str, str], evidence: list[str]) -> Finding:
    width = (obs.facts.get("viewport") or {}).get("clientWidth")
    scroll = obs.facts.get("scrollWidth")
    if width is None or scroll is None:
        return _finding("overflow", "error", "layout facts missing", subject, tags, evidence)
    culprits = obs.facts.get("overflowing") or []
    data = {"scroll_width": scroll, "viewport_width": width, "elements": culprits}
    if scroll > width:
        who = ", ".join(c["element"] for c in culprits[:3]) or "unknown element"
        return _finding("overflow", "fail",
                        f"horizontal overflow: document {scroll}px wide in a {width}px viewport ({who})",
                        subject, tags, evidence, data)
    return _finding("overflow", "pass", f"no horizontal overflow at {width}px", subject, tags, evidence, data)


def check_required(obs: PageObservation, subject: str, tags: dict[str, str], evidence: list[str]) -> Finding | None:
    if not obs.required:
        return None
    missing = [sel for sel, visible in obs.required.items() if not visible]
    if missing:
        return _finding("required-visible", "fail", f"not visible: {', '.join(missing)}", subject, tags,
                        evidence, {"missing": missing})
    return _finding("required-visible", "pass", f"{len(obs.required)} required element(s) visible",
                    subject, tags, evidence)


def check_document(obs: PageObservation, subject: str, tags: dict[str, str], evidence: list[str]) -> Finding | None:
    """A 200 that shows nothing (an empty body, a script that never rendered) is not a working page."""
    content = obs.facts.get("content")
    if not isinstance(content, dict):
        return None
    if not content.get("text") and not content.get("elements"):
        return _finding("empty-document", "fail", f"the page shows nothing: no text, images, media or form "
                        f"controls (HTTP {obs.status})", subject, tags, evidence, dict(content), severity="critical")
    return _finding("empty-document", "pass", f"{content.get('text', 0)} characters of text, "
                    f"{content.get('elements', 0)} media/form element(s)", subject, tags, evidence, dict(content))


def check_interruptions(obs: PageObservation, subject: str, tags: dict[str, str], evidence: list[str]) -> list[Finding]:
    found = []
    if obs.dialogs:
        found.append(_finding("dialogs", "warn", f"the page opened {len(obs.dialogs)} dialog(s), dismissed: "
                              + "; ".join(obs.dialogs[:3]), subject, tags, evidence, {"dialogs": obs.dialogs},
                              severity="minor"))
    if obs.popups:
        found.append(_finding("popups", "warn", f"the page opened {len(obs.popups)} window(s), closed: "
                              + ", ".join(obs.popups[:3]), subject, tags, evidence, {"popups": obs.popups},
                              severity="minor"))
    if obs.landed_url and obs.final_url and not same_page(obs.final_url, obs.landed_url):
        found.append(_finding("self-navigation", "warn", f"the page navigated by itself from {obs.landed_url} to "
                              f"{obs.final_url}: its checks and screenshot are of {obs.final_url}", subject, tags,
                              evidence, {"landed": obs.landed_url, "final": obs.final_url}, severity="major"))
    return found


COMPAT_CHECKS = (check_http_status, check_document, check_console, check_failed_requests, check_third_party,
                 check_broken_images, check_overflow, check_required)


def compat_findings(obs: PageObservation, subject: str, tags: dict[str, str], evidence: list[str]) -> list[Finding]:
    found = (check(obs, subject, tags, evidence) for check in COMPAT_CHECKS)
    return [f for f in found if f is not None] + check_interruptions(obs, subject, tags, evidence)


def timing_values(facts: dict[str, Any]) -> dict[str, float | None]:
    """metric -> value, None where the engine does not report it. TTFB, FCP, LCP and CLS are
    web-vitals' (browsers/vitals.py); first paint and the navigation milestones are the engine's."""
    nav = facts.get("navigation") or {}

    def positive(value: Any) -> float | None:
        return float(value) if isinstance(value, (int, float)) and value > 0 else None

    shift = facts.get("timeOriginShift")
    vitals = vital_values(facts.get("vitals"), float(shift) if isinstance(shift, (int, float)) else 0.0)
    return {
        "ttfb_ms": vitals["ttfb_ms"],
        "response_ms": positive(nav.get("responseEnd")),
        "fp_ms": positive(facts.get("fp")),
        "fcp_ms": vitals["fcp_ms"],
        "lcp_ms": vitals["lcp_ms"],
        "dcl_ms": positive(nav.get("domContentLoaded")),
        "load_ms": positive(nav.get("load")),
        "cls": vitals["cls"],
    }


def timing_measurements(facts: dict[str, Any], subject: str, tags: dict[str, str]) -> tuple[list[Measurement], list[str]]:
    """Measurements for the timings the engine reported, and the metrics it did not."""
    measured, missing = [], []
    for metric, value in timing_values(facts).items():
        if value is None:
            missing.append(metric)
            continue
        unit = "score" if metric == "cls" else "ms"
        measured.append(Measurement(stage=STAGE, subject=subject, tags=tags, metric=metric, unit=unit,
                                    samples=[round(value, 4 if metric == "cls" else 1)]))
    return measured, missing


def emulation_gaps(device: DeviceProfile, facts: dict[str, Any], engine_cannot: list[str]) -> list[str]:
    """What the profile asked for and the page did not get: the engine's known limits, then
    what the page itself measured (a measured gap on a topic the limits already name is left out)."""
    measured: list[tuple[str, str]] = []  # (topic, text)
    viewport = facts.get("viewport") or {}
    width = viewport.get("width")
    if width is not None and width != device.viewport["width"]:
        measured.append(("viewport", f"viewport width {width}px instead of {device.viewport['width']}px"))
    dpr = facts.get("devicePixelRatio")
    if dpr is not None and abs(float(dpr) - device.device_scale_factor) > 0.01:
        measured.append(("device pixel ratio", f"device pixel ratio {dpr:g} instead of {device.device_scale_factor:g}"))
    if device.user_agent and facts.get("userAgent") not in (None, device.user_agent):
        measured.append(("user agent", "user agent not set"))
    if device.has_touch and facts.get("touch") is False:
        measured.append(("touch", "touch events not emulated"))
    gaps = list(engine_cannot)
    gaps += [text for topic, text in measured if not any(topic in limit for limit in engine_cannot)]
    return list(dict.fromkeys(gaps))


# metric -> (PerformanceObserver entry type it needs, what the engine lacks without it)
_METRIC_SOURCES = {
    "fp_ms": ("paint", "no first-paint entry"),
    "fcp_ms": ("paint", "no first-contentful-paint entry"),
    "lcp_ms": ("largest-contentful-paint", "no Largest Contentful Paint API"),
    "cls": ("layout-shift", "no Layout Instability API (layout-shift entries)"),
}


def missing_metric_findings(missing: list[str], facts: dict[str, Any], subject: str, tags: dict[str, str],
                            evidence: list[str]) -> list[Finding]:
    """A metric the engine supports but did not report on this load is said, never silently absent."""
    found = []
    for metric in missing:
        entry_type, _ = _METRIC_SOURCES.get(metric, ("navigation", ""))
        seen = ", ".join(facts.get("paintNames") or []) or "none"
        why = f"no {entry_type} entry was reported for this load" + (
            f" (paint entries seen: {seen})" if entry_type == "paint" else "")
        found.append(_finding("metric-missing", "warn", f"{metric} not captured although the engine supports it: "
                              f"{why}; a budget on {metric} could not be judged for this check", subject,
                              {**tags, "metric": metric}, evidence, {"metric": metric}, severity="minor"))
    return found


def unsupported_metric_reasons(engine: str, facts: dict[str, Any], missing: list[str]) -> dict[str, str]:
    """Why each missing metric is missing, when it is the engine and not the page.

    A metric whose API the engine lists but that has no entry on this page (say an
    LCP candidate that never painted) is not blamed on the engine.
    """
    supported = set(facts.get("supported") or [])
    reasons = {}
    for metric in missing:
        entry_type, lacks = _METRIC_SOURCES.get(metric, (None, "no navigation timing entry"))
        if entry_type is None:
            reasons[metric] = f"{engine}: {lacks}"
        elif entry_type not in supported:
            reasons[metric] = f"{engine}: {lacks}"
        elif metric == "fp_ms" and (facts.get("vitals") or {}).get("FCP") is not None:
            reasons[metric] = f"{engine}: {lacks}"  # Firefox paints FCP but never reports first-paint
    return reasons
