// @vitest-environment node
// Issue 13's first-party deployment in real headless Chromium, against the
// demo collector:
// - a page on its own origin loads the snippet with host '/fp' and
//   `{serverCookie: true}`; /fp/* is forwarded to the collector over HTTP
//   (demo/proxy.mjs, as nginx would), and the collector refreshes `fpid` and
//   `fsid` with Set-Cookie. The events go through /fp/events/track/bulk, the
//   collector's one-year `fpid` is the cookie in place after a reload, and
//   the second page writes no `fpid` by script (a script write would bring
//   Safari's 7-day cap back): an init script wraps Document.prototype's
//   `cookie` setter and records every write of `fpid`;
// - for each CORS style a collector may answer with ('credentials': the
//   Origin echoed with Allow-Credentials; 'echo': without; 'wildcard': `*`),
//   a cross-origin page's track() while visible, and one made just before the
//   page leaves, both arrive;
// - with `compression: 'gzip'`, a cross-origin page's batches arrive gzipped
//   (the preflight allows Content-Encoding), the bytes on the wire a third or
//   less of the events' JSON, and an event tracked as the page leaves arrives
//   as plain JSON (keepalive requests are never compressed).
// On the library before issue 13 (credentialed requests, sendBeacon at page
// hide, both IDs rewritten by script on every sync), the "no fpid write" test
// and the 'echo' and 'wildcard' tests fail: Chromium refuses the preflight
// of a credentialed request whose answer lacks Allow-Credentials or says `*`.
import { describe, expect, it } from 'vitest';
import { byPrefix, isPage, posts, scriptLoaded, settle, splitCalls, startSite, stored, tally, waitFor } from './helpers.mjs';
import { chromiumSuite, newContext, open } from './suite.mjs';

const suite = chromiumSuite({
  title: 'First-party origin (issue 13)',
  header: ['case', 'result', 'note'],
});

const YEAR_S = 31_536_000;
const SESSION_S = 1800;

/**
 * Runs one case with a fresh site and browser context (the page's uncaught
 * errors and console errors collected), cleans both up whatever happens, and
 * adds its line to the table.
 */
async function originCase(label, siteOptions, fn) {
  const site = await startSite(siteOptions);
  const { context, errors } = await newContext(suite.browser());
  const consoleErrors = [];
  context.on('page', (page) => page.on('console', (message) => message.type() === 'error' && consoleErrors.push(message.text())));
  const row = { case: label, result: 'FAILED', note: '' };
  suite.rows.push(row);
  try {
    await fn({ site, context, collector: site.collector, consoleErrors, note: (text) => (row.note = text) });
    expect(errors).toEqual([]);
    row.result = 'ok';
  } catch (error) {
    row.note ||= String(error?.message ?? error).split('\n')[0].slice(0, 120);
    throw error;
  } finally {
    await context.close().catch(() => {});
    await site.close();
  }
}

/** What the collector saw and the page's console said: the message of a wait that timed out. */
function traffic(collector, consoleErrors) {
  const seen = collector.requests().map((r) => `${r.method} ${r.path} → ${r.status}`);
  return `collector saw [${seen.slice(-6).join(', ') || 'nothing'}]; console errors [${consoleErrors.slice(-2).join(' | ').slice(0, 400)}]`;
}

/**
 * Records every `document.cookie` write of `fpid` in `window.testFpidWrites`
 * (an init script: it runs before the page's own scripts, the snippet included).
 */
function recordFpidWrites() {
  const native = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
  const writes = [];
  Object.defineProperty(window, 'testFpidWrites', { value: writes });
  Object.defineProperty(Document.prototype, 'cookie', {
    configurable: true,
    enumerable: native.enumerable,
    get() {
      return native.get.call(this);
    },
    set(value) {
      if (/^\s*fpid\s*=/.test(String(value))) writes.push(String(value));
      native.set.call(this, value);
    },
  });
}

/** The browser's `fpid` and `fsid` cookies for `url` (playwright's, `expires` in epoch seconds). */
async function idCookies(context, url) {
  const all = await context.cookies(url);
  return { fpid: all.find((c) => c.name === 'fpid'), fsid: all.find((c) => c.name === 'fsid') };
}

/** Tracks one event `{k}` and asks for a flush; resolves once the collector stored it. */
async function trackArrived(page, collector, k, consoleErrors) {
  await page.evaluate((k) => {
    window.firstparty.track('First Party Test', { k });
    window.firstparty.flush();
  }, k);
  await waitFor(() => stored(collector, byPrefix(k)).length === 1, { timeout: 10_000, message: () => `${k} at the collector: ${traffic(collector, consoleErrors)}` });
}

describe('first-party deployment in Chromium', () => {
  it("through the /fp proxy with serverCookie: events arrive via /fp/events/track/bulk, the collector's one-year fpid stays, and the second page writes no fpid", { timeout: 40_000 }, async () => {
    const siteOptions = { crossOrigin: true, proxy: '/fp', options: { serverCookie: true }, collector: { serverCookie: true } };
    await originCase('/fp proxy + serverCookie', siteOptions, async ({ site, context, collector, consoleErrors, note }) => {
      await context.addInitScript(recordFpidWrites);
      const page = await open(context, site.url('/first'));
      await scriptLoaded(page);
      await trackArrived(page, collector, 'proxy-first', consoleErrors);
      await waitFor(() => tally(collector, isPage).received === 1, { timeout: 10_000, message: 'the first page view' });
      await settle(collector, { quietMs: 500 });

      // Everything went through the page's own origin: the script and every POST.
      const forwarded = site.proxyLog;
      expect(forwarded.filter((e) => e.method === 'GET').map((e) => [e.path, e.status])).toEqual([['/fp/js/firstparty.min.js', 200]]);
      const bulk = forwarded.filter((e) => e.method === 'POST');
      expect(bulk.length).toBeGreaterThan(0);
      expect(bulk.map((e) => [e.path, e.status])).toEqual(bulk.map(() => ['/fp/events/track/bulk', 200]));
      expect(posts(collector).length).toBe(bulk.length);

      // The collector's cookie is the one in place: the profile the events carry, one year.
      const profile = stored(collector, byPrefix('proxy-first'))[0].profile_id;
      expect(profile).toMatch(/^PR[0-9A-Za-z]{30}$/);
      expect(bulk.at(-1).setCookie).toContain(`fpid=${profile}; Max-Age=${YEAR_S}; Path=/; SameSite=Lax`);
      const first = await idCookies(context, site.url('/'));
      expect(first.fpid?.value).toBe(profile);
      expect(first.fpid.expires - Date.now() / 1000).toBeGreaterThan(YEAR_S - 120);
      expect(first.fpid).toMatchObject({ httpOnly: false, sameSite: 'Lax', path: '/' });

      // A later page: its requests' Set-Cookie must land after a whole second,
      // so a refreshed expiry shows (cookie times are kept in seconds).
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await page.reload();
      await scriptLoaded(page);
      await trackArrived(page, collector, 'proxy-second', consoleErrors);
      await waitFor(() => tally(collector, isPage).received === 2, { timeout: 10_000, message: 'the second page view' });
      await settle(collector, { quietMs: 500 });

      const writes = await page.evaluate(() => window.testFpidWrites);
      note(`second page: ${writes.length} script write(s) of fpid`);
      expect(writes, 'document.cookie writes of fpid on the second page').toEqual([]);
      expect(stored(collector, byPrefix('proxy-second'))[0].profile_id).toBe(profile);
      const second = await idCookies(context, site.url('/'));
      expect(second.fpid?.value).toBe(profile);
      // Refreshed by the collector's answers (no script wrote it), never shortened.
      expect(second.fpid.expires).toBeGreaterThan(first.fpid.expires);
      expect(second.fpid.expires - Date.now() / 1000).toBeGreaterThan(YEAR_S - 120);
      expect(second.fsid?.value).toBe(stored(collector, byPrefix('proxy-second'))[0].session_id);
      expect(Math.abs(second.fsid.expires - Date.now() / 1000 - SESSION_S)).toBeLessThan(120);
    });
  });

  for (const cors of ['credentials', 'echo', 'wildcard']) {
    it(`a collector answering CORS '${cors}' gets a cross-origin page's track() while visible and one made as the page leaves`, { timeout: 40_000 }, async () => {
      await originCase(`cross-origin, CORS '${cors}'`, { crossOrigin: true, cors }, async ({ site, context, collector, consoleErrors, note }) => {
        const page = await open(context, site.url(`/cors-${cors}`));
        await scriptLoaded(page);
        await trackArrived(page, collector, `${cors}-visible`, consoleErrors);

        // Tracked and left in one task: only the page-hide handover can send it.
        await page.evaluate((k) => {
          window.firstparty.track('First Party Test', { k });
          location.href = '/away';
        }, `${cors}-leaving`);
        await page.waitForURL('**/away');
        await waitFor(() => stored(collector, byPrefix(`${cors}-leaving`)).length === 1, {
          timeout: 10_000,
          message: () => `the event tracked as the page left: ${traffic(collector, consoleErrors)}`,
        });
        await settle(collector, { quietMs: 500 });
        note(`${posts(collector).length} POSTs, ${collector.requests().length - posts(collector).length} preflights`);
        expect(tally(collector, byPrefix(cors)).received).toBe(2);
        expect(splitCalls(collector, byPrefix(cors))).toEqual([]);
        expect(consoleErrors.filter((text) => /CORS/i.test(text))).toEqual([]);
      });
    });
  }

  it("compression 'gzip': a cross-origin page's batches arrive gzipped, and one made as the page leaves arrives too", { timeout: 40_000 }, async () => {
    await originCase("cross-origin, compression 'gzip'", { crossOrigin: true, cors: 'wildcard', options: { compression: 'gzip' } }, async ({ site, context, collector, consoleErrors, note }) => {
      const page = await open(context, site.url('/gzip'));
      await scriptLoaded(page);
      await page.evaluate(() => {
        for (let i = 0; i < 300; i++) window.firstparty.track('First Party Test', { k: 'gzip-visible', i, plan: 'pro', price: 12.5 });
      });
      await waitFor(() => stored(collector, byPrefix('gzip-visible')).length === 300, {
        timeout: 15_000,
        message: () => `300 gzipped events at the collector: ${traffic(collector, consoleErrors)}`,
      });
      const wire = posts(collector).reduce((sum, r) => sum + r.bytes, 0);
      const json = Buffer.byteLength(JSON.stringify(stored(collector)));
      note(`${posts(collector).length} POSTs, ${wire} B on the wire for ${json} B of events`);
      expect(wire).toBeLessThan(json / 3);

      await page.evaluate(() => {
        window.firstparty.track('First Party Test', { k: 'gzip-leaving' });
        location.href = '/away';
      });
      await page.waitForURL('**/away');
      await waitFor(() => stored(collector, byPrefix('gzip-leaving')).length === 1, {
        timeout: 10_000,
        message: () => `the event tracked as the page left: ${traffic(collector, consoleErrors)}`,
      });
      await settle(collector, { quietMs: 500 });
      expect(stored(collector, byPrefix('gzip'))).toHaveLength(301);
      expect(new Set(stored(collector).map((event) => event.event_id)).size).toBe(stored(collector).length);
      expect(consoleErrors.filter((text) => /CORS/i.test(text))).toEqual([]);
    });
  });
});
