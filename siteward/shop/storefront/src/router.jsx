// A tiny History API router: real <a href> links that React intercepts, so every
// URL also works on a full reload (the server answers every /app/* path with the shell).
import { useEffect, useSyncExternalStore } from 'react';

const listeners = new Set();

function subscribe(listener) {
  listeners.add(listener);
  window.addEventListener('popstate', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('popstate', listener);
  };
}

const currentPath = () => window.location.pathname;

export function usePath() {
  return useSyncExternalStore(subscribe, currentPath);
}

export function navigate(to, { replace = false } = {}) {
  const here = window.location.pathname + window.location.search;
  if (to === here && !replace) return;
  window.history[replace ? 'replaceState' : 'pushState'](null, '', to);
  if (!replace) window.scrollTo(0, 0);
  listeners.forEach((listener) => listener());
}

export function Link({ href, onClick, ...props }) {
  function follow(event) {
    onClick?.(event);
    const modified = event.metaKey || event.ctrlKey || event.shiftKey || event.altKey;
    if (event.defaultPrevented || event.button !== 0 || modified || props.target) return;
    event.preventDefault();
    navigate(href);
  }
  return <a href={href} onClick={follow} {...props} />;
}

export function Redirect({ to }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

// matchRoute('/product/:slug', '/app/product/x', '/app') -> { slug: 'x' } or null
export function matchRoute(pattern, path, base) {
  const names = [];
  const source = pattern.replace(/:(\w+)/g, (_, name) => {
    names.push(name);
    return '([^/]+)';
  });
  const found = new RegExp(`^${base}${source}/?$`).exec(path);
  if (!found) return null;
  try {
    return Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
  } catch {
    return null; // a malformed %-escape: no such page
  }
}
