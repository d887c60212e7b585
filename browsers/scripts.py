"""JavaScript run inside the page, the same text for every engine.

Playwright evaluates an async arrow function; WebDriver runs it through
``execute_async_script`` via ``as_webdriver_async``. Everything reads standard web
APIs only, and reports what the engine does not support instead of guessing.
"""

from __future__ import annotations

from browsers.vitals import FLUSH

# Navigation timing, the Core Web Vitals web-vitals reported (browsers/vitals.py), first paint
# (no web vital: read from paint entries), plus the layout facts the compatibility checks need.
COLLECT_PAGE_FACTS = r"""
async () => {""" + FLUSH + r"""
  const supported = (window.PerformanceObserver && PerformanceObserver.supportedEntryTypes) || [];
  const observe = (type, waitMs = 60) => new Promise((resolve) => {
    if (!supported.includes(type)) { resolve(null); return; }
    const entries = [];
    let observer;
    try {
      observer = new PerformanceObserver((list) => entries.push(...list.getEntries()));
      observer.observe({ type, buffered: true });
    } catch (e) { resolve(null); return; }
    setTimeout(() => { entries.push(...observer.takeRecords()); observer.disconnect(); resolve(entries); }, waitMs);
  });
  const nav = performance.getEntriesByType('navigation')[0] || null;
  // WebKitGTK starts the time origin after the fetch (fetchStart < 0): measure from the fetch.
  const shift = nav && nav.fetchStart < 0 ? -nav.fetchStart : 0;
  const at = (t) => (typeof t === 'number' ? t + shift : null);
  // Paint entries through a buffered observer too: on a page whose main thread was blocked,
  // Chromium can deliver them to observers later than to getEntriesByType.
  const early = performance.getEntriesByType('paint');
  const painted = early.some((p) => p.name === 'first-contentful-paint');
  const paints = [...early, ...((await observe('paint', painted ? 60 : 1500)) || [])];
  const paint = (name) => { const e = paints.find((p) => p.name === name); return e ? at(e.startTime) : null; };
  const v = window.__sitewardVitals;
  const vitals = v ? { TTFB: v.TTFB, FCP: v.FCP, LCP: v.LCP, CLS: v.CLS, INP: v.INP } : null;
  const viewportWidth = document.documentElement.clientWidth || window.innerWidth;
  const describe = (el) => {
    let text = el.tagName.toLowerCase();
    if (el.id) text += '#' + el.id;
    const testid = el.getAttribute && el.getAttribute('data-testid');
    if (testid) text += '[data-testid=' + testid + ']';
    else if (el.classList && el.classList.length) text += '.' + Array.from(el.classList).slice(0, 2).join('.');
    return text;
  };
  const overflowing = [];
  if (document.documentElement.scrollWidth > viewportWidth) {
    for (const el of document.body ? document.body.querySelectorAll('*') : []) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > viewportWidth + 1) {
        overflowing.push({ element: describe(el), right: Math.round(r.right) });
        if (overflowing.length >= 5) break;
      }
    }
  }
  const brokenImages = Array.from(document.images)
    .filter((img) => img.complete && img.naturalWidth === 0 && (img.currentSrc || img.src))
    .map((img) => img.currentSrc || img.src);
  return {
    supported,
    timeOriginShift: shift,
    navigation: nav && {
      responseStart: at(nav.responseStart), responseEnd: at(nav.responseEnd),
      domContentLoaded: at(nav.domContentLoadedEventStart), load: at(nav.loadEventStart),
      status: (typeof nav.responseStatus === 'number' && nav.responseStatus > 0) ? nav.responseStatus : null,
      bodyBytes: typeof nav.encodedBodySize === 'number' ? nav.encodedBodySize : null,
      url: nav.name,
    },
    paintNames: [...new Set(paints.map((p) => p.name))],
    fp: paint('first-paint'),
    vitals,
    viewport: { width: window.innerWidth, height: window.innerHeight, clientWidth: viewportWidth },
    devicePixelRatio: window.devicePixelRatio,
    userAgent: navigator.userAgent,
    touch: ('ontouchstart' in window) || navigator.maxTouchPoints > 0,
    scrollWidth: document.documentElement.scrollWidth,
    scrollHeight: document.documentElement.scrollHeight,
    overflowing,
    brokenImages,
    // What a shopper could see at all: text, or elements that show or take something.
    content: document.body ? {
      text: (document.body.innerText || '').trim().length,
      elements: document.body.querySelectorAll(
        'img, svg, video, canvas, iframe, object, embed, picture, input, button, select, textarea').length,
    } : { text: 0, elements: 0 },
  };
}
"""

# WebDriver cannot listen to the console: after each navigation we wrap console.error
# and listen for uncaught errors, so at least what happens after load is seen.
INSTALL_ERROR_HOOKS = r"""
if (!window.__siteward) {
  window.__siteward = { errors: [] };
  const original = console.error;
  console.error = function (...args) {
    window.__siteward.errors.push({ kind: 'console', text: args.map(String).join(' ') });
    return original.apply(this, args);
  };
  window.addEventListener('error', (e) => {
    if (e.error || e.message) window.__siteward.errors.push({ kind: 'exception', text: String(e.message || e.error) });
  });
  window.addEventListener('unhandledrejection', (e) => {
    window.__siteward.errors.push({ kind: 'exception', text: 'Unhandled rejection: ' + String(e.reason) });
  });
  // Dialogs and popups from here on are recorded and dismissed, as Playwright's handlers do.
  window.__siteward.dialogs = [];
  window.__siteward.popups = [];
  const keep = (list, text) => { if (list.length < 10) list.push(String(text).slice(0, 200)); };
  window.alert = (m) => { keep(window.__siteward.dialogs, "alert: '" + (m === undefined ? '' : m) + "'"); };
  window.confirm = (m) => { keep(window.__siteward.dialogs, "confirm: '" + (m === undefined ? '' : m) + "'"); return false; };
  window.prompt = (m) => { keep(window.__siteward.dialogs, "prompt: '" + (m === undefined ? '' : m) + "'"); return null; };
  window.open = (u) => { keep(window.__siteward.popups, new URL(u || 'about:blank', location.href).href); return null; };
}
"""
READ_INTERRUPTIONS = ("return window.__siteward ? [window.__siteward.dialogs || [], window.__siteward.popups || []]"
                      " : [[], []];")

READ_ERROR_HOOKS = "return (window.__siteward && window.__siteward.errors) || [];"

# Paints masked elements over with an opaque box (WebKit path; Playwright has `mask`).
PAINT_MASKS = r"""
const [selectors, color] = arguments;
let count = 0;
for (const sel of selectors) {
  let nodes = [];
  try { nodes = document.querySelectorAll(sel); } catch (e) { continue; }
  for (const el of nodes) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    const box = document.createElement('div');
    box.setAttribute('data-siteward-mask', '');
    box.style.cssText = `position:absolute;left:${r.left + scrollX}px;top:${r.top + scrollY}px;` +
      `width:${r.width}px;height:${r.height}px;background:${color};z-index:2147483647;pointer-events:none`;
    document.body.appendChild(box);
    count++;
  }
}
return count;
"""

REMOVE_MASKS = "document.querySelectorAll('[data-siteward-mask]').forEach((n) => n.remove());"

# Stills for screenshots: no animations, transitions or blinking caret.
FREEZE_CSS = (
    "*, *::before, *::after { animation: none !important; transition: none !important; "
    "caret-color: transparent !important; }"
)
INJECT_FREEZE = (
    "const s = document.createElement('style'); s.setAttribute('data-siteward-freeze', '');"
    f"s.textContent = {FREEZE_CSS!r}; document.head.appendChild(s);"
)

from siteward.page_session import MASK_COLOR  # noqa: E402 - one mask colour on every engine


def as_webdriver_async(arrow_function: str, *, with_argument: bool = False) -> str:
    """Wrap an async arrow function for WebDriver's execute_async_script (given the script's first
    argument when with_argument)."""
    call = "arguments[0]" if with_argument else ""
    return (
        "const done = arguments[arguments.length - 1];"
        f"({arrow_function.strip()})({call}).then(done, (e) => done({{ __error: String(e) }}));"
    )
