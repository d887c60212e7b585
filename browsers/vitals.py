"""Core Web Vitals from Google's web-vitals library (npm), injected into every page.

Playwright adds it as an init script, so it observes the document from its first byte;
WebDriver cannot run a script before the page's own, so the WebKit session installs it
after each navigation, where web-vitals' buffered observers still see what the engine
recorded. Each value is what the library reports, not a re-implementation: LCP and CLS
with `reportAllChanges` (the current largest paint, CLS of the worst session window),
INP over the page's interactions (`durationThreshold` 16 ms, the Event Timing minimum).

Reading flushes first: web-vitals processes interactions in idle callbacks, so a read
waits for two frames and two idle periods (bounded) before it takes the values.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from siteward.errors import ToolMissing
from siteward.tools import SETUP_HINT, node_package_file

WEB_VITALS_BUILD = ("web-vitals", "dist/web-vitals.iife.js")
MAX_REPORTS = 200  # a page that shifts forever must not grow the list without end

# WebKitGTK, installed after load, delivers buffered entries from inside observe() and drains
# microtasks there, so web-vitals' callback (already deferred by a microtask) reads its own
# `const` observer before it exists: "Cannot access uninitialized variable", and no FCP.
# The library sees this PerformanceObserver instead (it shadows the global in this scope only),
# which hands entries over a task later; the page's own observers are untouched.
_ASYNC_OBSERVER = """
const PerformanceObserver = class extends window.PerformanceObserver {
  constructor(callback) { super((list, observer) => setTimeout(() => callback(list, observer), 0)); }
};
"""

# Runs once per document (top frame only); the IIFE's `webVitals` stays local to this function.
_REGISTER = """
const v = window.__sitewardVitals = { reports: [], inpRead: 0,
  inpSupported: typeof PerformanceEventTiming !== 'undefined' && 'interactionId' in PerformanceEventTiming.prototype };
const keep = (m) => {
  v[m.name] = m.value;
  if (v.reports.length < %(max)d) v.reports.push([m.name, m.value]);
};
webVitals.onTTFB(keep);
webVitals.onFCP(keep);
webVitals.onLCP(keep, { reportAllChanges: true });
webVitals.onCLS(keep, { reportAllChanges: true });
webVitals.onINP(keep, { reportAllChanges: true, durationThreshold: 16 });
""" % {"max": MAX_REPORTS}


@lru_cache(maxsize=1)
def install_script() -> str:
    """The web-vitals build plus its registration, as one script safe to run more than once."""
    path = node_package_file(*WEB_VITALS_BUILD)
    if path is None:
        raise ToolMissing(f"web-vitals (npm) is not installed in node_modules: run {SETUP_HINT}")
    library = path.read_text(encoding="utf-8")
    return ("(() => { if (window.top !== window || window.__sitewardVitals) return;\n"
            f"{_ASYNC_OBSERVER}\n{library}\n{_REGISTER}\n}})();")


# An async arrow function body shared by the page facts and the step reads: let pending
# observer callbacks and web-vitals' idle-time processing run, at most ~1 s.
FLUSH = r"""
  const idle = () => new Promise((resolve) => (window.requestIdleCallback
    ? requestIdleCallback(resolve, { timeout: 500 }) : setTimeout(resolve, 50)));
  await Promise.race([
    (async () => {
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      await new Promise((resolve) => setTimeout(resolve, 20));
      await idle(); await idle();
    })(),
    new Promise((resolve) => setTimeout(resolve, 1000)),
  ]);
"""

# The worst interaction web-vitals reported since the previous read (None: none reported,
# e.g. every interaction was under 16 ms; unsupported: the engine has no Event Timing).
READ_NEW_INP = "async () => {" + FLUSH + r"""
  const v = window.__sitewardVitals;
  if (!v) return { installed: false };
  const fresh = v.reports.slice(v.inpRead).filter((r) => r[0] === 'INP').map((r) => r[1]);
  v.inpRead = v.reports.length;
  return { installed: true, supported: v.inpSupported, inp: fresh.length ? Math.max(...fresh) : null };
}"""


def vital_values(vitals: dict[str, Any] | None, shift_ms: float = 0.0) -> dict[str, float | None]:
    """metric -> value from what web-vitals reported in the page (None: not reported).

    `shift_ms`: WebKitGTK starts its time origin after the fetch; its times are moved to
    count from the fetch like the other engines'. CLS is a score and is never shifted.
    """
    vitals = vitals or {}

    def timed(name: str) -> float | None:
        value = vitals.get(name)
        return float(value) + shift_ms if isinstance(value, (int, float)) and value >= 0 else None

    cls = vitals.get("CLS")
    return {
        "ttfb_ms": timed("TTFB"),
        "fcp_ms": timed("FCP"),
        "lcp_ms": timed("LCP"),
        "cls": float(cls) if isinstance(cls, (int, float)) and cls >= 0 else None,
    }


def step_interaction(read: dict[str, Any] | None) -> float | None:
    """The INP of one journey step from READ_NEW_INP's answer (None when nothing was reported)."""
    if not isinstance(read, dict) or not read.get("installed") or not read.get("supported"):
        return None
    value = read.get("inp")
    return float(value) if isinstance(value, (int, float)) and value >= 0 else None


def journey_inp(step_values: list[float | None]) -> float | None:
    """A journey's INP: its worst interaction, as web-vitals' INP is for fewer than 50 interactions."""
    measured = [v for v in step_values if v is not None]
    return max(measured) if measured else None
