// What the shell page hands the bundle: <script type="application/json" id="sw-config">.
// Written by siteward/shop/storefront/__init__.py (client_config); the faults are the
// shop's app-* fault switches at the moment the page was served.
const DEFAULTS = {
  base: '/app',
  sessionCookie: 'sw_app_session',
  cartKey: 'sw_app_cart',
  faults: {},
};

function readConfig() {
  try {
    const text = document.getElementById('sw-config')?.textContent || '{}';
    return { ...DEFAULTS, ...JSON.parse(text) };
  } catch {
    return DEFAULTS;
  }
}

export const config = readConfig();
export const BASE = config.base;
export const faults = {
  brokenInput: false, // app-broken-input: checkout first-name onChange is a no-op
  renderError: false, // app-render-error: the product list throws for every user
  wrongImage: false, // app-wrong-image: the first product shows another one's picture
  slowListMs: 3000, // app-slow-list=MS: how long slow_user's list blocks the main thread
  slowClickMs: 0, // app-slow-click=MS: how long an add-to-cart click blocks the main thread
  sessionSeconds: 600, // app-session=SECONDS: cookie lifetime (set by the server)
  ...config.faults,
};
