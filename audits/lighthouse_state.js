// Lighthouse CI puppeteerScript: prepares Lighthouse's own Chrome with a journey's browser state.
// lhci runs it once per URL on the browser Lighthouse then connects to; Lighthouse is told not
// to reset storage (settings.disableStorageReset), so the state is there on the audited load.
// The state (siteward/browser_state.py) is siteward-state.json in lhci's working directory.
'use strict';

const fs = require('fs');
const path = require('path');

const STATE_PATH = '/__siteward_state__';

module.exports = async (browser) => {
  const state = JSON.parse(fs.readFileSync(path.join(process.cwd(), 'siteward-state.json'), 'utf8'));
  const now = Date.now() / 1000;
  const page = await browser.newPage();
  try {
    // The state page is answered here: no request for it reaches the shop.
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === STATE_PATH) {
        request.respond({ status: 200, contentType: 'text/html', body: '<!doctype html><title>state</title>' });
      } else {
        request.continue();
      }
    });
    await page.goto(state.targetOrigin + STATE_PATH);  // cookies are set on the audited origin
    const cookies = (state.cookies || [])
      .filter((c) => c.expires === -1 || c.expires === undefined || c.expires === null || c.expires > now)
      .map((c) => ({
        name: c.name, value: c.value, domain: c.domain, path: c.path || '/',
        expires: c.expires > 0 ? c.expires : undefined, httpOnly: !!c.httpOnly, secure: !!c.secure,
        sameSite: ['Strict', 'Lax', 'None'].includes(c.sameSite) ? c.sameSite : undefined,
      }));
    if (cookies.length) await page.setCookie(...cookies);
    for (const entry of state.origins || []) {
      await page.goto(entry.origin + STATE_PATH);
      await page.evaluate((items) => {
        for (const { name, value } of items.localStorage || []) localStorage.setItem(name, value);
        for (const { name, value } of items.sessionStorage || []) sessionStorage.setItem(name, value);
      }, entry);
    }
  } finally {
    await page.close();
  }
};
