// @vitest-environment node
// The snippet's fast-bounce events in real headless Chromium, against the demo
// collector (issues 11, 13 and 15): each carries its own event_id, and the
// profile_id the script sends for the same visitor, decoded from the fpid
// cookie as the script reads it; and they reach a collector on another site
// that answers CORS with `Access-Control-Allow-Origin: *`, behind a path with
// a trailing slash. What happy-dom cannot show: a real keepalive fetch on
// navigation (preflight and CORS included), a real cookie jar,
// crypto.randomUUID in a secure context (http://127.0.0.1 is one).
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, listenOn } from '../../demo/collector.mjs';
import { startBrowser } from './suite.mjs';
import { byPrefix, pageHtml, scriptLoaded, settle, startSite, stored, tally, waitFor } from './helpers.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** An ID as identify() stores it for an Auth0 user: `|` is written as %7C. */
const PROFILE = 'auth0|5f7c8ec7c33c6c004bbafe82';

/** @type {import('playwright-core').Browser} */
let browser;

beforeAll(async () => {
  browser = await startBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

/** A fresh site and browser profile; the page's uncaught errors are collected. */
async function withSite(fn) {
  const site = await startSite();
  const context = await browser.newContext();
  const errors = [];
  context.on('page', (page) => page.on('pageerror', (error) => errors.push(error.message)));
  try {
    await fn({ site, context, collector: site.collector });
    expect(errors).toEqual([]);
  } finally {
    await context.close().catch(() => {});
    await site.close();
  }
}

/** Opens a tracked page whose script never arrives, tracks 3 events, navigates away. */
async function bounce({ site, context, collector }, prefix) {
  collector.setScriptDelay(60_000);
  const page = await context.newPage();
  await page.goto(site.url('/bounce'), { waitUntil: 'domcontentloaded' });
  await page.evaluate((p) => {
    for (let i = 0; i < 3; i++) window.firstparty.track('Bounce', { k: p + i });
  }, prefix);
  await page.goto(site.url('/away'), { waitUntil: 'domcontentloaded' });
  await waitFor(() => stored(collector, byPrefix(prefix)).length === 3, { message: 'the 3 events beaconed by the snippet' });
  return page;
}

describe('the snippet’s fast-bounce events in Chromium', () => {
  it('carry one UUID event_id each, and the decoded profile_id the script then sends', { timeout: 60_000 }, async () => {
    await withSite(async (env) => {
      const { site, context, collector } = env;
      await context.addCookies([{ name: 'fpid', value: encodeURIComponent(PROFILE), url: site.url('/') }]);
      const page = await bounce(env, 'bounce-');
      const bounced = stored(collector, byPrefix('bounce-'));
      const ids = bounced.map((e) => e.event_id);
      for (const id of ids) expect(id).toMatch(UUID);
      expect(new Set(ids).size).toBe(3);
      expect(bounced.map((e) => e.profile_id)).toEqual([PROFILE, PROFILE, PROFILE]);

      // The next page, with the script arriving: the same profile, nothing of the bounce again.
      collector.setScriptDelay(0);
      await page.goto(site.url('/next'));
      await scriptLoaded(page);
      await page.evaluate(() => window.firstparty.track('After', { k: 'after-0' }));
      await page.evaluate(() => window.firstparty.flush());
      await waitFor(() => stored(collector, byPrefix('after-')).length === 1, { message: 'the event the script sent' });
      await settle(collector);
      expect(stored(collector, byPrefix('after-'))[0].profile_id).toBe(PROFILE);
      expect(await page.evaluate(() => window.firstparty.getProfileId())).toBe(PROFILE);
      expect(tally(collector, byPrefix('bounce-'))).toMatchObject({ received: 3, duplicates: 0 });
    });
  });

  it('on a first visit (no fpid cookie) send no profile_id: the collector assigns one', { timeout: 60_000 }, async () => {
    await withSite(async (env) => {
      await bounce(env, 'first-');
      const bounced = stored(env.collector, byPrefix('first-'));
      for (const event of bounced) expect(event).not.toHaveProperty('profile_id');
      const assigned = env.collector.events().filter((r) => r.event.properties?.k?.startsWith('first-')).map((r) => r.assigned.profile_id);
      expect(assigned).toEqual([assigned[0], assigned[0], assigned[0]]);
      expect(assigned[0]).toMatch(/^PR/);
    });
  });
});

/**
 * The demo collector behind a reverse-proxy path, `/fp/`, on its own origin
 * (http://127.0.0.1:<port>), answering CORS the way most public collection
 * endpoints do: `Access-Control-Allow-Origin: *` and no
 * `Access-Control-Allow-Credentials` (the demo collector echoes the Origin
 * with credentials allowed). Every path it was asked for is kept in `paths`.
 * @param {ReturnType<import('../../demo/collector.mjs').createCollector>} collector
 */
async function startWildcardProxy(collector) {
  const paths = [];
  const server = http.createServer((req, res) => {
    paths.push(req.method + ' ' + req.url);
    if (!req.url?.startsWith('/fp/')) return void res.writeHead(404).end();
    req.url = req.url.slice('/fp'.length);
    const writeHead = res.writeHead.bind(res);
    res.writeHead = (status, headers = {}) => {
      const wildcard = { ...headers, 'Access-Control-Allow-Origin': '*' };
      delete wildcard['Access-Control-Allow-Credentials'];
      return writeHead(status, wildcard);
    };
    if (!collector.handle(req, res)) res.writeHead(404).end();
  });
  const port = await listenOn(server, 0, '127.0.0.1');
  return { base: `http://127.0.0.1:${port}/fp/`, paths, close: () => closeServer(server) };
}

/** Pages on http://localhost:<port> (another site than 127.0.0.1) loading the snippet with `host`; `/away` is untracked. */
async function startPages(host) {
  const server = http.createServer((req, res) => {
    const html = req.url === '/away' ? '<!doctype html><title>Away</title>Away' : pageHtml({ collectorOrigin: host });
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(html);
  });
  const port = await listenOn(server, 0, '127.0.0.1');
  return { url: (p) => `http://localhost:${port}${p}`, close: () => closeServer(server) };
}

describe('the snippet’s fast-bounce events reach a collector answering `Access-Control-Allow-Origin: *`', () => {
  it('on another site, behind a path given with a trailing slash (`http://127.0.0.1:<port>/fp/`)', { timeout: 60_000 }, async () => {
    const site = await startSite();
    const proxy = await startWildcardProxy(site.collector);
    const pages = await startPages(proxy.base);
    const context = await browser.newContext();
    const errors = [];
    context.on('page', (page) => page.on('pageerror', (error) => errors.push(error.message)));
    try {
      site.collector.setScriptDelay(60_000); // the script never arrives: the snippet sends
      const page = await context.newPage();
      await page.goto(pages.url('/bounce'), { waitUntil: 'domcontentloaded' });
      await page.evaluate(() => {
        for (let i = 0; i < 3; i++) window.firstparty.track('Bounce', { k: 'wild-' + i });
      });
      await page.goto(pages.url('/away'), { waitUntil: 'domcontentloaded' });
      await waitFor(() => stored(site.collector, byPrefix('wild-')).length === 3, {
        message: () => 'the 3 events sent by the snippet; the proxy saw: ' + proxy.paths.join(', '),
      });
      const bounced = stored(site.collector, byPrefix('wild-'));
      expect(bounced.map((e) => e.name)).toEqual(['Bounce', 'Bounce', 'Bounce']);
      for (const event of bounced) expect(event.event_id).toMatch(UUID);
      // One trailing slash dropped: the script and the endpoint under /fp, no `//`.
      expect(proxy.paths).toContain('GET /fp/js/firstparty.min.js');
      expect(proxy.paths).toContain('POST /fp/events/track/bulk');
      expect(proxy.paths.filter((p) => p.includes('//'))).toEqual([]);
      // A JSON body from another site: preflighted, and the collector got JSON.
      expect(proxy.paths).toContain('OPTIONS /fp/events/track/bulk');
      const [post] = site.collector.requests().filter((r) => r.method === 'POST');
      expect(post).toMatchObject({ path: '/events/track/bulk', content_type: 'application/json', origin: pages.url(''), status: 200 });
      expect(errors).toEqual([]);
    } finally {
      await context.close().catch(() => {});
      await pages.close();
      await proxy.close();
      await site.close();
    }
  });
});
