// @vitest-environment node
// Issue 7 in real headless Chromium: the built script (dist/) on hostile pages, and issue 22 (Trusted Types, Prototype.js, frozen prototypes and intrinsics) at the end.
// Strict CSP with a nonce, fetch wrapped/broken, the script loaded twice,
// iframes (same-origin, third-party, sandboxed srcdoc), a page without
// document.body yet, 10,000 events in one second (long tasks, the queue cap),
// the demo's event log fed <img onerror> payloads, and Subresource Integrity.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, createCollector, listenOn, REPO_ROOT } from '../../demo/collector.mjs';
import { startDemoServer } from '../../demo/server.mjs';
import { startBrowser } from './suite.mjs';
import { KEY, scriptLoaded, setVisibility, settle, snippetText, waitFor } from './helpers.mjs';

/** @type {import('playwright-core').Browser} */
let browser;
const figures = [];
const suiteStart = Date.now();

beforeAll(async () => {
  browser = await startBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  console.log(
    [`Browser hardening suite (Chromium ${browser?.version() ?? '?'}), ${((Date.now() - suiteStart) / 1000).toFixed(1)} s`, ...figures.map((f) => '  ' + f)].join('\n'),
  );
});

// ---- a collector plus page servers with full control over each page ---------------

/**
 * The collector on http://127.0.0.1:<port>, which also serves the pages put in
 * `pages` (path → {html, headers?, bodyDelayMs?, split?}); the same pages on a
 * second origin and site, http://localhost:<port2>.
 */
async function startPages() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-hardening-'));
  const collector = createCollector({ dataDir });
  const pages = new Map();
  const serve = (req, res) => {
    const url = new URL(req.url || '/', 'http://pages.invalid');
    const spec = pages.get(url.pathname);
    if (!spec) return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    const headers = { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', ...spec.headers };
    res.writeHead(200, headers);
    if (spec.bodyDelayMs) {
      // The head now, the body later: scripts in <head> run while document.body is null.
      const at = spec.html.indexOf('<body');
      res.write(spec.html.slice(0, at));
      setTimeout(() => res.end(spec.html.slice(at)), spec.bodyDelayMs);
    } else res.end(spec.html);
  };
  const main = http.createServer((req, res) => {
    if (!collector.handle(req, res)) serve(req, res);
  });
  const port = await listenOn(main, 0, '127.0.0.1');
  const other = http.createServer(serve);
  const otherPort = await listenOn(other, 0, '127.0.0.1');
  return {
    collector,
    pages,
    origin: `http://127.0.0.1:${port}`,
    otherOrigin: `http://localhost:${otherPort}`,
    async close() {
      collector.close();
      await closeServer(main);
      await closeServer(other);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Records uncaught page errors and console messages of every page (and frame) of a context. */
async function newContext(options = {}) {
  const context = await browser.newContext(options);
  const errors = [];
  const consoleMessages = [];
  context.on('page', (page) => {
    page.on('pageerror', (error) => errors.push(`${page.url()}: ${error.message}`));
    page.on('console', (msg) => consoleMessages.push(`${msg.type()}: ${msg.text()}`));
  });
  return { context, errors, consoleMessages };
}

/** Runs `fn` with a fresh page server and browser context, cleaned up whatever happens. */
async function withSite(fn, contextOptions) {
  const site = await startPages();
  const { context, errors, consoleMessages } = await newContext(contextOptions);
  try {
    return await fn({ site, context, errors, consoleMessages, collector: site.collector });
  } finally {
    await context.close().catch(() => {});
    await site.close();
  }
}

/**
 * A page as a site owner writes it: the built snippet, then load + page(),
 * with a nonce on both when given. `loader: false` leaves out the load line;
 * `snippet: 'snippet-lite.min.js'` pastes the loader-only snippet.
 */
function sitePage(collectorOrigin, { nonce, head = '', body = '', options, loader = true, title = 'Hardening', snippet } = {}) {
  const n = nonce ? ` nonce="${nonce}"` : '';
  const args = [JSON.stringify(KEY), JSON.stringify(collectorOrigin), ...(options ? [JSON.stringify(options)] : [])];
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
${head}
<script${n}>${snippetText(snippet)}</script>
${loader ? `<script${n}>firstparty.load(${args.join(', ')}); firstparty.page();</script>` : ''}
</head><body><h1>${title}</h1>${body}</body></html>`;
}

const storedEvents = (collector) => collector.events().map((r) => r.event);
const withK = (collector, prefix) => storedEvents(collector).filter((e) => typeof e.properties?.k === 'string' && e.properties.k.startsWith(prefix));
/** Every copy of events with `properties.k` starting with `prefix`, stored or dropped as a re-send. */
const copies = (collector, prefix) =>
  [...storedEvents(collector), ...collector.duplicateList().map((d) => d.event)].filter((e) => typeof e.properties?.k === 'string' && e.properties.k.startsWith(prefix));

/** Each of `count` events `prefix0…` arrived exactly once (by k, whoever sent it). */
function expectOnce(collector, prefix, count) {
  const ks = copies(collector, prefix).map((e) => e.properties.k);
  expect(new Set(ks).size).toBe(count);
  expect(ks.length).toBe(count);
}

/** Tracks `count` events `name` with k = prefix + i in one task; resolves once the last one is stored. */
function trackMany(target, { name = 'Hardening', prefix, count }) {
  return target.evaluate(
    ({ name, prefix, count }) =>
      new Promise((resolve) => {
        for (let i = 0; i < count; i++) window.firstparty.track(name, { k: prefix + i }, {}, i === count - 1 ? () => resolve(true) : undefined);
      }),
    { name, prefix, count },
  );
}

/**
 * Events waiting in the library's IndexedDB store, counted inside the page
 * (a record holding a chunk of events counts each). Never creates the
 * database: an upgrade (= it does not exist) is aborted.
 */
function queuedInPage(page) {
  return page.evaluate(
    () =>
      new Promise((resolve) => {
        let created = false;
        const request = indexedDB.open('firstparty-js');
        request.onupgradeneeded = () => {
          created = true;
          request.transaction.abort();
        };
        request.onerror = (e) => {
          e.preventDefault();
          resolve(created ? { count: 0, ks: [] } : { error: String(request.error) });
        };
        request.onsuccess = () => {
          const db = request.result;
          if (!db.objectStoreNames.contains('events')) return db.close(), resolve({ count: 0, ks: [] });
          const all = db.transaction('events', 'readonly').objectStore('events').getAll();
          all.onsuccess = () => {
            db.close();
            const records = all.result.flatMap((value) => (Array.isArray(value) ? value.map((r) => (Array.isArray(r) ? r[1] : r)) : [value]));
            const ks = records.map((json) => {
              try {
                return JSON.parse(json).properties?.k;
              } catch {
                return undefined;
              }
            });
            resolve({ count: records.length, ks });
          };
          all.onerror = () => (db.close(), resolve({ error: String(all.error) }));
        };
      }),
  );
}

// ---- scenarios ----------------------------------------------------------------------------

describe('strict Content-Security-Policy with a nonce', () => {
  // A nonce-only policy needs the nonce passed on: the lite snippet does that. Under
  // 'strict-dynamic' the script inserted by the nonced snippet is trusted as it is.
  for (const [label, policy, snippet, nonce] of [
    ["script-src 'nonce-abc' (lite snippet)", "default-src 'self'; script-src 'nonce-abc'; object-src 'none'; base-uri 'none'", 'snippet-lite.min.js', 'abc'],
    ["script-src 'nonce-abc' 'strict-dynamic'", "script-src 'nonce-abc' 'strict-dynamic'; object-src 'none'; base-uri 'none'", 'snippet.min.js', ''],
  ])
  it(`${label} (no unsafe-inline, no unsafe-eval): the script loads, events arrive, no violation from our code`, { timeout: 40_000 }, async () => {
    await withSite(async ({ site, context, errors, collector }) => {
      site.pages.set(
        '/csp',
        {
          headers: { 'Content-Security-Policy': policy },
          html: sitePage(site.origin, {
            nonce: 'abc',
            snippet,
            head: `<script nonce="abc">window.__violations = []; document.addEventListener('securitypolicyviolation', (e) => __violations.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample, source: e.sourceFile }));</script>`,
            // A control: an inline script without the nonce must be blocked (the policy is really on).
            body: `<script>window.__inlineRan = 1;</script>`,
          }),
        },
      );
      const page = await context.newPage();
      await page.goto(site.origin + '/csp');
      await scriptLoaded(page);
      await page.evaluate(() => {
        for (let i = 0; i < 3; i++) window.firstparty.track('Under CSP', { k: 'csp-' + i });
      });
      await waitFor(() => withK(collector, 'csp-').length === 3 && storedEvents(collector).some((e) => e.name === 'Page Viewed'), {
        message: () => `3 events + page view, have ${storedEvents(collector).length}`,
      });
      const state = await page.evaluate(() => ({
        inlineRan: window.__inlineRan,
        violations: window.__violations,
        nonce: document.querySelector('script[src*="firstparty.min.js"]')?.nonce,
      }));
      expect(state.inlineRan).toBeUndefined(); // the policy is in force
      expect(state.violations.some((v) => v.blocked === 'inline')).toBe(true); // and the listener sees violations
      const ours = state.violations.filter((v) => v.blocked !== 'inline' || /firstparty/.test(v.source || ''));
      expect(ours).toEqual([]); // nothing from our script: no eval, no blocked load
      expect(state.violations.some((v) => v.blocked === 'eval' || /eval/.test(v.directive))).toBe(false);
      expect(state.nonce).toBe(nonce);
      expectOnce(collector, 'csp-', 3);
      expect(errors).toEqual([]);
    });
  });
});

describe('fetch wrapped or replaced by other scripts', () => {
  it('fetch wrapped by another script (counting calls), XMLHttpRequest replaced: events delivered through the wrapper', { timeout: 40_000 }, async () => {
    await withSite(async ({ site, context, errors, collector }) => {
      site.pages.set('/wrapped', {
        html: sitePage(site.origin, {
          head: `<script>
            window.__fetchCalls = 0;
            const realFetch = window.fetch;
            window.fetch = function (...args) { window.__fetchCalls++; return realFetch.apply(this, args); };
            window.XMLHttpRequest = function () { throw new Error('XHR replaced by the page'); };
          </script>`,
        }),
      });
      const page = await context.newPage();
      await page.goto(site.origin + '/wrapped');
      await scriptLoaded(page);
      await trackMany(page, { prefix: 'wrapped-', count: 5 });
      await waitFor(() => withK(collector, 'wrapped-').length === 5, { message: 'the 5 events' });
      const calls = await page.evaluate(() => window.__fetchCalls);
      expect(calls).toBeGreaterThanOrEqual(1);
      await settle(collector, { quietMs: 1000 });
      expectOnce(collector, 'wrapped-', 5);
      expect(errors).toEqual([]);
      figures.push(`fetch wrapped by the page: ${calls} calls went through the wrapper`);
    });
  });

  it('fetch replaced by one that throws: no error reaches the page; the page-hide beacon delivers; nothing twice', { timeout: 40_000 }, async () => {
    await withSite(async ({ site, context, errors, collector }) => {
      site.pages.set('/broken', { html: sitePage(site.origin) });
      const page = await context.newPage();
      await page.goto(site.origin + '/broken');
      await scriptLoaded(page);
      await waitFor(() => storedEvents(collector).some((e) => e.name === 'Page Viewed'), { message: 'the page view' });
      await page.evaluate(() => {
        window.fetch = () => {
          throw new Error('fetch broken by the page');
        };
      });
      await trackMany(page, { prefix: 'broken-', count: 5 });
      await page.waitForTimeout(2500); // flush attempts with the broken fetch, then backoff
      expect(withK(collector, 'broken-')).toHaveLength(0);
      await setVisibility(page, 'hidden');
      await waitFor(() => withK(collector, 'broken-').length === 5, { message: () => `5 events by beacon, have ${withK(collector, 'broken-').length}` });
      await setVisibility(page, 'visible');
      await settle(collector, { quietMs: 1500 });
      expectOnce(collector, 'broken-', 5);
      expect(errors).toEqual([]);
    });
  });

  it('fetch replaced by one resolving to garbage, then restored: retried and delivered once', { timeout: 40_000 }, async () => {
    await withSite(async ({ site, context, errors, collector }) => {
      site.pages.set('/garbage', { html: sitePage(site.origin) });
      const page = await context.newPage();
      await page.goto(site.origin + '/garbage');
      await scriptLoaded(page);
      await page.evaluate(() => {
        window.__realFetch = window.fetch;
        window.fetch = () => Promise.resolve(42);
      });
      await trackMany(page, { prefix: 'garbage-', count: 3 });
      await page.waitForTimeout(1500);
      await page.evaluate(() => (window.fetch = window.__realFetch));
      await waitFor(() => withK(collector, 'garbage-').length === 3, { timeout: 30_000, message: 'the 3 events, retried' });
      await settle(collector, { quietMs: 1000 });
      expectOnce(collector, 'garbage-', 3);
      expect(errors).toEqual([]);
    });
  });
});

describe('the script loaded twice', () => {
  it('a second <script src> of the library: one tracker, a "loaded twice" warning, no double sends', { timeout: 40_000 }, async () => {
    await withSite(async ({ site, context, errors, consoleMessages, collector }) => {
      const scriptRequests = [];
      site.pages.set('/twice', { html: sitePage(site.origin, { body: `<script src="${site.origin}/js/firstparty.min.js"></script>` }) });
      const page = await context.newPage();
      page.on('request', (r) => r.url().includes('/js/firstparty.min.js') && scriptRequests.push(r.url()));
      await page.goto(site.origin + '/twice');
      await scriptLoaded(page);
      // (Chromium may serve both tags from one request; the warning shows the second copy ran.)
      await waitFor(() => consoleMessages.some((m) => m.includes('loaded twice')), {
        message: () => `the "loaded twice" warning; console: ${consoleMessages.join(' | ')}`,
      });
      expect(scriptRequests.length).toBeGreaterThanOrEqual(1);
      await trackMany(page, { prefix: 'twice-', count: 10 });
      await waitFor(() => withK(collector, 'twice-').length === 10, { message: 'the 10 events' });
      await settle(collector, { quietMs: 1500 });
      expectOnce(collector, 'twice-', 10);
      expect(storedEvents(collector).filter((e) => e.name === 'Page Viewed')).toHaveLength(1);
      expect(collector.duplicates()).toBe(0);
      expect(errors).toEqual([]);
    });
  });

  it('the whole snippet pasted twice: warnings, one tracker, each call recorded once', { timeout: 40_000 }, async () => {
    await withSite(async ({ site, context, errors, consoleMessages, collector }) => {
      const once = sitePage(site.origin);
      const block = once.slice(once.indexOf('<script>'), once.indexOf('</head>'));
      site.pages.set('/pasted-twice', { html: once.replace('</head>', block + '</head>') });
      const page = await context.newPage();
      await page.goto(site.origin + '/pasted-twice');
      await scriptLoaded(page);
      await trackMany(page, { prefix: 'pasted-', count: 10 });
      await waitFor(() => withK(collector, 'pasted-').length === 10, { message: 'the 10 events' });
      await settle(collector, { quietMs: 1500 });
      expect(consoleMessages.some((m) => m.includes('included twice'))).toBe(true);
      expectOnce(collector, 'pasted-', 10);
      // Two page() calls were made (one per paste): two page views, each once.
      expect(storedEvents(collector).filter((e) => e.name === 'Page Viewed')).toHaveLength(2);
      expect(collector.duplicates()).toBe(0);
      expect(errors).toEqual([]);
    });
  });
});

describe('in iframes', () => {
  const frameBody = `<script>window.__errors = []; addEventListener('error', (e) => __errors.push(String(e.message))); addEventListener('unhandledrejection', (e) => __errors.push('rejection: ' + e.reason));</script>`;

  /** Opens `parentUrl`, finds the frame whose URL ends with `framePath` (or the only child frame), waits for the script in it. */
  async function frameIn(context, parentUrl, pick) {
    const page = await context.newPage();
    await page.goto(parentUrl);
    const frame = await waitFor(() => page.frames().find((f) => f !== page.mainFrame() && pick(f)), { message: 'the iframe' });
    await frame.waitForFunction(() => window.firstparty && !Array.isArray(window.firstparty) && window.firstparty._loaded === true, null, { timeout: 20_000 });
    return { page, frame };
  }

  it('same-origin iframe: works', { timeout: 40_000 }, async () => {
    await withSite(async ({ site, context, errors, collector }) => {
      site.pages.set('/frame', { html: sitePage(site.origin, { head: frameBody, title: 'Frame' }) });
      site.pages.set('/parent', { html: `<!doctype html><title>Parent</title><iframe src="/frame"></iframe>` });
      const { frame } = await frameIn(context, site.origin + '/parent', (f) => f.url().endsWith('/frame'));
      await trackMany(frame, { prefix: 'same-frame-', count: 3 });
      await waitFor(() => withK(collector, 'same-frame-').length === 3, { message: 'the 3 events' });
      expect(withK(collector, 'same-frame-')[0].context.page.url).toBe(site.origin + '/frame');
      expect(await frame.evaluate(() => window.__errors)).toEqual([]);
      expect(errors).toEqual([]);
    });
  });

  it('cross-site iframe (third-party context: cookies refused, storage partitioned): works', { timeout: 40_000 }, async () => {
    await withSite(async ({ site, context, errors, collector }) => {
      site.pages.set('/frame', { html: sitePage(site.origin, { head: frameBody, title: 'Third-party frame' }) });
      site.pages.set('/parent', { html: `<!doctype html><title>Parent</title><iframe src="${site.origin}/frame"></iframe>` });
      // The parent on http://localhost, the frame (and collector) on http://127.0.0.1: another site.
      const { frame } = await frameIn(context, site.otherOrigin + '/parent', (f) => f.url().startsWith(site.origin));
      await trackMany(frame, { prefix: 'third-party-', count: 3 });
      await waitFor(() => withK(collector, 'third-party-').length === 3, { message: 'the 3 events' });
      const events = withK(collector, 'third-party-');
      expect(new Set(events.map((e) => e.profile_id)).size).toBe(1);
      expect(events[0].profile_id).toMatch(/^PR[0-9A-Za-z]{30}$/);
      expect(await frame.evaluate(() => window.__errors)).toEqual([]);
      expect(errors).toEqual([]);
    });
  });

  it('same-origin srcdoc iframe: works', { timeout: 40_000 }, async () => {
    await withSite(async ({ site, context, errors, collector }) => {
      const srcdoc = sitePage(site.origin, { head: frameBody, title: 'srcdoc' }).replace(/&/g, '&amp;').replace(/"/g, '&quot;');
      site.pages.set('/parent', { html: `<!doctype html><title>Parent</title><iframe srcdoc="${srcdoc}"></iframe>` });
      const { frame } = await frameIn(context, site.origin + '/parent', (f) => f.url() === 'about:srcdoc');
      await trackMany(frame, { prefix: 'srcdoc-', count: 3 });
      await waitFor(() => withK(collector, 'srcdoc-').length === 3, { message: 'the 3 events' });
      expect(await frame.evaluate(() => window.__errors)).toEqual([]);
      expect(errors).toEqual([]);
    });
  });

  it('sandboxed srcdoc iframe (opaque origin: cookies, localStorage, IndexedDB and Web Locks all throw): no error, events delivered', { timeout: 40_000 }, async () => {
    await withSite(async ({ site, context, errors, collector }) => {
      const srcdoc = sitePage(site.origin, { head: frameBody, title: 'sandboxed' }).replace(/&/g, '&amp;').replace(/"/g, '&quot;');
      site.pages.set('/parent', { html: `<!doctype html><title>Parent</title><iframe sandbox="allow-scripts" srcdoc="${srcdoc}"></iframe>` });
      const { frame } = await frameIn(context, site.origin + '/parent', (f) => f.url() === 'about:srcdoc');
      const storage = await frame.evaluate(() => {
        const probe = (fn) => {
          try {
            fn();
            return 'ok';
          } catch (e) {
            return e.name;
          }
        };
        return { cookie: probe(() => document.cookie), localStorage: probe(() => localStorage.length), origin: location.origin };
      });
      figures.push(`sandboxed iframe: origin ${storage.origin}, document.cookie ${storage.cookie}, localStorage ${storage.localStorage}`);
      await trackMany(frame, { prefix: 'sandboxed-', count: 3 });
      await waitFor(() => withK(collector, 'sandboxed-').length === 3, {
        timeout: 15_000,
        message: () => `the 3 events from the sandboxed frame, have ${withK(collector, 'sandboxed-').length}`,
      });
      expect(await frame.evaluate(() => window.__errors)).toEqual([]);
      expect(errors).toEqual([]);
    });
  });
});

describe('a page without document.body yet', () => {
  it('the library installed and used from <head> while document.body is null (body sent 1.5 s later): works', { timeout: 40_000 }, async () => {
    await withSite(async ({ site, context, errors, collector }) => {
      site.pages.set('/no-body', {
        bodyDelayMs: 1500,
        html: sitePage(site.origin, {
          loader: false,
          head: '',
          body: '<p>The body, late.</p>',
        }).replace(
          '</head>',
          `<script>
            // What the snippet's load() records, without its async insert: the script below runs right here.
            firstparty._writeKey = ${JSON.stringify(KEY)};
            firstparty._host = ${JSON.stringify(site.origin)};
            firstparty.page();
            firstparty.track('Head Before Install', { k: 'head-0' });
          </script>
          <script src="${site.origin}/js/firstparty.min.js"></script>
          <script>
            window.__bodyAtInstall = document.body === null ? 'null' : 'present';
            window.__installed = !Array.isArray(window.firstparty);
            firstparty.track('Head After Install', { k: 'head-1' });
            firstparty.trackLink(document.querySelectorAll('a'), 'No Links Yet');
          </script></head>`,
        ),
      });
      const page = await context.newPage();
      await page.goto(site.origin + '/no-body', { waitUntil: 'commit' });
      await waitFor(() => withK(collector, 'head-').length === 2, { message: () => `2 events from <head>, have ${withK(collector, 'head-').length}` });
      const state = await page.evaluate(() => ({ body: window.__bodyAtInstall, installed: window.__installed }));
      expect(state).toEqual({ body: 'null', installed: true });
      expect(storedEvents(collector).filter((e) => e.name === 'Page Viewed')).toHaveLength(1);
      await page.waitForLoadState('load');
      expect(errors).toEqual([]);
    });
  });
});

/** "[80 (loop), 283 (async), …] — loop max 130 ms, async max 283 ms". */
function describeTasks(tasks) {
  const max = (list) => Math.max(0, ...list.map((t) => t.duration));
  return (
    '[' + tasks.map((t) => `${t.duration}${t.inBurst ? '' : '*'}`).join(', ') + '] ms (* = outside the track() loops)' +
    `; longest in a track() loop ${max(tasks.filter((t) => t.inBurst))} ms, outside ${max(tasks.filter((t) => !t.inBurst))} ms`
  );
}

describe('10,000 events tracked within one second', () => {
  /**
   * Tracks 10,000 events in 10 bursts of 1,000, 100 ms apart, recording every
   * long task (PerformanceObserver 'longtask') from the first burst until
   * `settleMs` after the last, and each burst's synchronous time.
   */
  function burst(page, { prefix, withLibrary = true, settleMs = 4000 }) {
    return page.evaluate(
      ({ prefix, withLibrary, settleMs }) =>
        new Promise((resolve) => {
          const longTasks = [];
          const observer = new PerformanceObserver((list) => {
            for (const entry of list.getEntries()) longTasks.push({ start: Math.round(entry.startTime), duration: Math.round(entry.duration) });
          });
          observer.observe({ type: 'longtask' });
          const track = withLibrary ? (name, props) => window.firstparty.track(name, props) : (name, props) => JSON.stringify([name, props]);
          const bursts = [];
          const windows = [];
          const t0 = performance.now();
          let n = 0;
          const run = (b) => {
            const start = performance.now();
            for (let i = 0; i < 1000; i++, n++) track('Load Test', { k: prefix + n, n, page: location.pathname });
            const end = performance.now();
            bursts.push(Math.round((end - start) * 10) / 10);
            windows.push([start, end]);
            if (b < 9) setTimeout(() => run(b + 1), 100);
            else {
              const trackedIn = performance.now() - t0;
              setTimeout(() => {
                observer.disconnect();
                // A long task holding a burst is the track() loop (our synchronous code plus
                // the page's loop, which the control shows to be ~1 ms); the others are our
                // asynchronous work (IndexedDB writes, queue cap, batches), or GC.
                for (const task of longTasks) task.inBurst = windows.some(([s, e]) => s < task.start + task.duration && e > task.start);
                resolve({ longTasks, bursts, trackedIn: Math.round(trackedIn) });
              }, settleMs);
            }
          };
          run(0);
        }),
      { prefix, withLibrary, settleMs },
    );
  }

  it('online: the page stays responsive (longest task reported), the queue cap holds, no duplicates', { timeout: 90_000 }, async () => {
    await withSite(async ({ site, context, errors, collector }) => {
      site.pages.set('/load', { html: sitePage(site.origin) });
      site.pages.set('/control', { html: sitePage(site.origin) });

      // Control: the same loop in the same kind of page, without calling the library.
      const control = await context.newPage();
      await control.goto(site.origin + '/control');
      await scriptLoaded(control);
      await control.waitForTimeout(1000);
      const baseline = await burst(control, { prefix: 'control-', withLibrary: false, settleMs: 1000 });
      await control.close();

      const page = await context.newPage();
      await page.goto(site.origin + '/load');
      await scriptLoaded(page);
      await waitFor(() => storedEvents(collector).filter((e) => e.name === 'Page Viewed').length === 2, { message: 'the page views' });
      await page.waitForTimeout(1000); // let the page go idle
      const result = await burst(page, { prefix: 'load-' });
      await settle(collector, { quietMs: 2000, timeout: 60_000 });
      const queued = await queuedInPage(page);

      const delivered = withK(collector, 'load-');
      const longest = Math.max(0, ...result.longTasks.map((t) => t.duration));
      const longestControl = Math.max(0, ...baseline.longTasks.map((t) => t.duration));
      figures.push(
        `10,000 events online: tracked in ${result.trackedIn} ms (bursts of 1,000: ${result.bursts.join(', ')} ms sync); ` +
          `long tasks ${describeTasks(result.longTasks)} → longest ${longest} ms ` +
          `(control without the library: ${JSON.stringify(baseline.longTasks.map((t) => t.duration))}, bursts ${baseline.bursts.join(', ')} ms); ` +
          `${delivered.length} delivered, ${queued.count} left queued`,
      );
      expect(result.trackedIn).toBeLessThan(3000);
      // Loose: the page is never frozen (a frozen page shows long tasks of seconds).
      expect(longest).toBeLessThan(1000);
      expect(queued.count).toBeLessThanOrEqual(1000);
      // Beyond maxQueue the oldest may be dropped; what arrived arrived once, and the newest all arrived.
      expectOnce(collector, 'load-', delivered.length);
      const ks = new Set(delivered.map((e) => e.properties.n));
      const missing = [];
      for (let n = 9000; n < 10000; n++) if (!ks.has(n)) missing.push(n);
      expect(missing.length, `the newest 1,000 events must all arrive; missing ${missing.length} (first: ${missing[0]})`).toBe(0);
      expect(collector.duplicates()).toBe(0);
      expect(errors).toEqual([]);
      expect(longestControl).toBeLessThan(1000);
    });
  });

  it('offline: the IndexedDB queue stays within maxQueue (the newest kept) once offline for 30 s; back online, those arrive once', { timeout: 180_000 }, async () => {
    await withSite(async ({ site, context, errors, collector }) => {
      site.pages.set('/offline-load', { html: sitePage(site.origin, { options: { maxQueue: 1000 } }) });
      const page = await context.newPage();
      await page.goto(site.origin + '/offline-load');
      await scriptLoaded(page);
      await waitFor(() => storedEvents(collector).some((e) => e.name === 'Page Viewed'), { message: 'the page view' });
      const cdp = await context.newCDPSession(page);
      await cdp.send('HeapProfiler.collectGarbage');
      const heapBefore = (await cdp.send('Runtime.getHeapUsage')).usedSize;
      await context.setOffline(true);
      const result = await burst(page, { prefix: 'offline-', settleMs: 3000 });
      const queued = await waitFor(
        async () => {
          const q = await queuedInPage(page);
          return q.count <= 1000 && q.count > 0 ? q : undefined;
        },
        // The caps apply once the collector has failed, with no 2xx, for CAP_AFTER_MS (30 s): not at a blip.
        { timeout: 100_000, message: 'the queue to settle within maxQueue' },
      );
      await cdp.send('HeapProfiler.collectGarbage');
      const heapAfter = (await cdp.send('Runtime.getHeapUsage')).usedSize;
      expect(queued.count).toBeLessThanOrEqual(1000);
      // The newest are the ones kept.
      const kept = queued.ks.map((k) => +String(k).slice('offline-'.length)).sort((a, b) => a - b);
      expect(kept[0]).toBeGreaterThanOrEqual(9000);
      await context.setOffline(false);
      await waitFor(() => withK(collector, 'offline-').length === queued.count, {
        timeout: 30_000,
        message: () => `${queued.count} queued events delivered, have ${withK(collector, 'offline-').length}`,
      });
      await settle(collector, { quietMs: 2000, timeout: 30_000 });
      expectOnce(collector, 'offline-', queued.count);
      expect((await queuedInPage(page)).count).toBe(0);
      figures.push(
        `10,000 events offline: ${queued.count} kept in IndexedDB (maxQueue 1,000, newest kept from #${kept[0]}); ` +
          `long tasks ${describeTasks(result.longTasks)}; JS heap ${(heapBefore / 1e6).toFixed(1)} → ${(heapAfter / 1e6).toFixed(1)} MB after GC`,
      );
      expect(heapAfter - heapBefore).toBeLessThan(50e6);
      expect(errors).toEqual([]);
    });
  });
});

describe("the demo's event log", () => {
  it('shows <img onerror> payloads in names and properties as text, never runs them', { timeout: 40_000 }, async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-hardening-demo-'));
    const demo = await startDemoServer({ port: 0, secondPort: null, dataDir });
    const { context, errors } = await newContext();
    try {
      const payload = '<img src=x onerror="window.__xss=1">';
      const page = await context.newPage();
      page.on('dialog', (dialog) => {
        errors.push('a dialog opened: ' + dialog.message());
        dialog.dismiss().catch(() => {});
      });
      await page.goto(demo.url);
      await scriptLoaded(page);
      // Through the library directly…
      await page.evaluate((p) => window.firstparty.track(p, { payload: p, script: '<script>window.__xss=2<\/script>', attr: '" onmouseover="window.__xss=3" x="' }), payload);
      // …and through the demo's own form.
      await page.fill('#track-name', payload + ' (form)');
      await page.fill('#track-props', JSON.stringify({ payload, svg: '<svg onload="window.__xss=4">' }));
      await page.click('#btn-track');
      await page.waitForFunction(
        (p) => [...document.querySelectorAll('#log .entry-name')].filter((e) => e.textContent === p || e.textContent === p + ' (form)').length === 2,
        payload,
        { timeout: 20_000 },
      );
      // Open every entry (the JSON is rendered in <pre>), then give any handler time to fire.
      await page.evaluate(() => document.querySelectorAll('#log details').forEach((d) => (d.open = true)));
      await page.waitForTimeout(500);
      const state = await page.evaluate((p) => ({
        xss: window.__xss,
        injected: document.querySelectorAll('#log img, #log script, #log svg, #last-flush-json img').length,
        names: [...document.querySelectorAll('#log .entry-name')].map((e) => e.textContent).filter((t) => t.includes('<img')),
        json: [...document.querySelectorAll('#log .entry-json')].map((e) => e.textContent).join('\n'),
      }), payload);
      expect(state.xss).toBeUndefined();
      expect(state.injected).toBe(0);
      expect(state.names).toEqual(expect.arrayContaining([payload, payload + ' (form)']));
      expect(state.json).toContain('<img src=x onerror=\\"window.__xss=1\\">');
      expect(state.json).toContain('<svg onload=\\"window.__xss=4\\">');
      // And the collector stored the name as it was given.
      expect(demo.collector.events().map((r) => r.event.name)).toEqual(expect.arrayContaining([payload, payload + ' (form)']));
      expect(errors).toEqual([]);
    } finally {
      await context.close().catch(() => {});
      await demo.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('Subresource Integrity (the lite snippet)', () => {
  const published = () => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'dist', 'integrity.json'), 'utf8'))['firstparty.min.js'];

  it('dist/integrity.json holds the sha384 of the built dist/firstparty.min.js', () => {
    const actual = 'sha384-' + crypto.createHash('sha384').update(fs.readFileSync(path.join(REPO_ROOT, 'dist', 'firstparty.min.js'))).digest('base64');
    expect(published()).toBe(actual);
  });

  it('load(…, { integrity }) with the published hash: the script loads (crossorigin=anonymous) and events arrive', { timeout: 40_000 }, async () => {
    await withSite(async ({ site, context, errors, collector }) => {
      site.pages.set('/sri', { html: sitePage(site.origin, { snippet: 'snippet-lite.min.js', options: { integrity: published() } }) });
      const page = await context.newPage();
      await page.goto(site.origin + '/sri');
      await scriptLoaded(page);
      const script = await page.evaluate(() => {
        const s = document.querySelector('script[src*="firstparty.min.js"]');
        return { integrity: s?.integrity, crossOrigin: s?.crossOrigin };
      });
      expect(script).toEqual({ integrity: published(), crossOrigin: 'anonymous' });
      await trackMany(page, { prefix: 'sri-', count: 3 });
      await waitFor(() => withK(collector, 'sri-').length === 3, { message: 'the 3 events' });
      expect(errors).toEqual([]);
    });
  });

  it('a wrong hash blocks the script: the snippet stays a queue and nothing is sent', { timeout: 40_000 }, async () => {
    await withSite(async ({ site, context, errors, consoleMessages, collector }) => {
      const wrong = 'sha384-' + Buffer.alloc(48).toString('base64');
      site.pages.set('/sri-wrong', { html: sitePage(site.origin, { snippet: 'snippet-lite.min.js', options: { integrity: wrong } }) });
      const page = await context.newPage();
      const scriptResponses = [];
      page.on('response', (r) => r.url().includes('/js/firstparty.min.js') && scriptResponses.push(r.status()));
      await page.goto(site.origin + '/sri-wrong');
      await page.evaluate(() => window.firstparty.track('Blocked Script', { k: 'sri-wrong-0' }));
      await waitFor(() => scriptResponses.length === 1 && consoleMessages.some((m) => /integrity/i.test(m)), {
        message: () => `the blocked script; console: ${consoleMessages.join(' | ')}`,
      });
      await page.waitForTimeout(1000);
      expect(scriptResponses).toEqual([200]); // served, but refused by the browser
      expect(await page.evaluate(() => Array.isArray(window.firstparty) && window.firstparty.length)).toBe(2); // page + track, queued
      expect(storedEvents(collector)).toHaveLength(0);
      expect(errors).toEqual([]);
    });
  });
});

// ---- issue 22: hostile and locked-down pages ------------------------------------------------

/**
 * What Prototype.js 1.6 changes about JSON (emulated here: the library itself is
 * not vendored): `toJSON` methods on Array, Date, String and Number that return
 * JSON *text*, so the native JSON.stringify quotes it again — `{a: [1]}` becomes
 * `{"a":"[1]"}`, a Date `"\"2026-…Z\""` (its own format: seconds, no
 * milliseconds). Assigned, as Prototype's Object.extend does (enumerable).
 */
const PROTOTYPE_16 = `<script>
(function () {
  var pad = function (n) { return (n < 10 ? '0' : '') + n; };
  var quote = function (s) { return '"' + String(s).replace(/[\\\\"]/g, '\\\\$&') + '"'; };
  Object.toJSON = function (o) {
    if (o === undefined || typeof o === 'function') return;
    if (o === null) return 'null';
    if (typeof o === 'boolean') return String(o);
    if (o.toJSON) return o.toJSON();
    var results = [];
    for (var k in o) { var v = Object.toJSON(o[k]); if (v !== undefined) results.push(quote(k) + ': ' + v); }
    return '{' + results.join(', ') + '}';
  };
  Array.prototype.toJSON = function () {
    var results = [];
    for (var i = 0; i < this.length; i++) { var v = Object.toJSON(this[i]); if (v !== undefined) results.push(v); }
    return '[' + results.join(', ') + ']';
  };
  Date.prototype.toJSON = function () {
    return '"' + this.getUTCFullYear() + '-' + pad(this.getUTCMonth() + 1) + '-' + pad(this.getUTCDate()) + 'T' +
      pad(this.getUTCHours()) + ':' + pad(this.getUTCMinutes()) + ':' + pad(this.getUTCSeconds()) + 'Z"';
  };
  String.prototype.toJSON = function () { return quote(this); };
  Number.prototype.toJSON = function () { return isFinite(this) ? this.toString() : 'null'; };
})();
</script>`;

/** `Object.freeze(Object.prototype)`, as hardening guides and some frameworks' strict modes do. */
const FROZEN_OBJECT_PROTOTYPE = `<script>Object.freeze(Object.prototype);</script>`;

/**
 * SES `lockdown()` style: every intrinsic reachable from the global
 * constructors and namespaces (their prototypes, methods and accessors,
 * transitively) frozen before any other script runs. window and document stay
 * as they are (lockdown hardens the intrinsics, not the host objects).
 */
const FROZEN_INTRINSICS = `<script>
(function () {
  var names = ['Object', 'Function', 'Array', 'String', 'Number', 'Boolean', 'Symbol', 'BigInt', 'Date', 'RegExp', 'Error',
    'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'AggregateError', 'Map', 'Set',
    'WeakMap', 'WeakSet', 'WeakRef', 'FinalizationRegistry', 'Promise', 'Proxy', 'Reflect', 'JSON', 'Math', 'Intl',
    'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array',
    'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array', 'Atomics'];
  var roots = names.map(function (n) { return window[n]; }).filter(Boolean);
  // The hidden intrinsics: iterator, generator and async function prototypes.
  roots.push(Object.getPrototypeOf([][Symbol.iterator]()), Object.getPrototypeOf(function* () {}), Object.getPrototypeOf(async function () {}),
    Object.getPrototypeOf(new Map().entries()), Object.getPrototypeOf(new Set().values()), Object.getPrototypeOf(''[Symbol.iterator]()),
    Object.getPrototypeOf(/x/[Symbol.matchAll]('x')));
  var seen = new Set();
  var harden = function (value) {
    if ((typeof value !== 'object' && typeof value !== 'function') || value === null || seen.has(value)) return;
    seen.add(value);
    Object.freeze(value);
    harden(Object.getPrototypeOf(value));
    Reflect.ownKeys(value).forEach(function (key) {
      var d = Object.getOwnPropertyDescriptor(value, key);
      if ('value' in d) harden(d.value); else { harden(d.get); harden(d.set); }
    });
  };
  roots.forEach(harden);
  window.__lockedDown = Object.isFrozen(Array.prototype) && Object.isFrozen(Object.prototype) && Object.isFrozen(Function.prototype);
})();
</script>`;

/**
 * zone.js style (Angular): the global Promise replaced by a subclass, and
 * every async entry point — addEventListener/removeEventListener,
 * setTimeout/setInterval, queueMicrotask, requestAnimationFrame,
 * MutationObserver, fetch — wrapped so callbacks run "in a zone".
 */
const ZONE_JS = `<script>
(function () {
  window.__zoneRuns = 0;
  var inZone = function (fn) { return typeof fn !== 'function' ? fn : function () { window.__zoneRuns++; return fn.apply(this, arguments); }; };
  var NativePromise = Promise;
  window.Promise = class ZoneAwarePromise extends NativePromise {};
  var wrapped = new WeakMap();
  var add = EventTarget.prototype.addEventListener, remove = EventTarget.prototype.removeEventListener;
  EventTarget.prototype.addEventListener = function (type, listener, options) {
    if (typeof listener === 'function' && !wrapped.has(listener)) wrapped.set(listener, inZone(listener));
    return add.call(this, type, wrapped.get(listener) || listener, options);
  };
  EventTarget.prototype.removeEventListener = function (type, listener, options) {
    return remove.call(this, type, wrapped.get(listener) || listener, options);
  };
  ['setTimeout', 'setInterval', 'queueMicrotask', 'requestAnimationFrame'].forEach(function (name) {
    var real = window[name];
    window[name] = function (fn) { var args = [].slice.call(arguments); args[0] = inZone(fn); return real.apply(window, args); };
  });
  var RealObserver = MutationObserver;
  window.MutationObserver = function (fn) { return new RealObserver(inZone(fn)); };
  var realFetch = fetch;
  window.fetch = function () { return window.Promise.resolve(realFetch.apply(window, arguments)); };
})();
</script>`;

/** Object.prototype polluted, as a prototype-pollution bug or an old library leaves it: enumerable keys, one named like an option. */
const POLLUTED_OBJECT_PROTOTYPE = `<script>Object.prototype.isAdmin = true; Object.prototype.flushAt = 'polluted'; Object.prototype.polluted = function () {};</script>`;

/** JSON.stringify replaced by a wrapper (json2.js-era shims did this): correct, but no longer native. */
const REPLACED_STRINGIFY = `<script>(function () { var real = JSON.stringify; JSON.stringify = function (v, r, s) { return real(v, r, s); }; })();</script>`;

/** The properties the issue-22 rows send: arrays nested at each level, a Date, and the names Object.prototype holds. */
const FIDELITY_PROPS = `{ list: [1, 'two', [3]], nested: { deeper: ['x', { y: [true] }] }, when: new Date(Date.UTC(2026, 11, 7, 8, 9, 10, 123)),
  constructor: 'c', toString: 't', valueOf: 'v', hasOwnProperty: 'h', isPrototypeOf: 'i' }`;
/** FIDELITY_PROPS as a clean page sends them. */
const FIDELITY_EXPECTED = {
  list: [1, 'two', [3]],
  nested: { deeper: ['x', { y: [true] }] },
  when: '2026-12-07T08:09:10.123Z',
  constructor: 'c',
  toString: 't',
  valueOf: 'v',
  hasOwnProperty: 'h',
  isPrototypeOf: 'i',
};
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/**
 * Opens `html` at `path`, and tracks `Fidelity` (FIDELITY_PROPS, k = prefix + 0)
 * either from the page's inline code before the script arrives, sent by the
 * snippet's fast-bounce fallback as the page hides (`via: 'bounce'`: the
 * script held for a minute), or once the script has loaded (`via: 'script'`).
 * Resolves to the stored event and the raw bodies of the track requests.
 */
async function fidelityRun({ site, context, collector }, { head, via, prefix }) {
  if (via === 'bounce') collector.setScriptDelay(60_000);
  const track = `firstparty.track('Fidelity', Object.assign(${FIDELITY_PROPS}, { k: ${JSON.stringify(prefix + '0')} }));`;
  site.pages.set('/' + prefix, { html: sitePage(site.origin, { head, body: via === 'bounce' ? `<script>${track}</script>` : '' }) });
  const page = await context.newPage();
  await page.goto(site.origin + '/' + prefix, { waitUntil: via === 'bounce' ? 'domcontentloaded' : 'load' });
  if (via === 'bounce') await setVisibility(page, 'hidden');
  else {
    await scriptLoaded(page);
    await page.evaluate(track);
  }
  await waitFor(() => withK(collector, prefix).length === 1 || collector.rejected().length > 0, {
    message: () => `the event (${via}); rejected: ${JSON.stringify(collector.rejected())}`,
  });
  return { page, event: withK(collector, prefix)[0], rejected: collector.rejected() };
}

describe('issue 22: hostile and locked-down pages', () => {
  // ---- Trusted Types -------------------------------------------------------------------------
  const TT = "require-trusted-types-for 'script'";
  /** A default policy that allow-lists script URLs on `allowed` (a prefix) and throws TypeError for others. */
  const defaultPolicy = (allowed) =>
    `<script>trustedTypes.createPolicy('default', { createScriptURL: (url) => { if (url.startsWith(${JSON.stringify(allowed)})) return url; throw new TypeError('script URL not on the allow-list: ' + url); } });</script>`;
  for (const snippet of ['snippet.min.js', 'snippet-lite.min.js']) {
    for (const [label, policy, head, loads, fullToo] of [
      [`${TT} (no trusted-types list, no default policy)`, TT, '', true],
      [`${TT}; trusted-types firstparty`, `${TT}; trusted-types firstparty`, '', true],
      [`${TT}; trusted-types 'none' (no policy can be made)`, `${TT}; trusted-types 'none'`, '', false],
      [`${TT}; trusted-types default, a default policy allow-listing the collector`, `${TT}; trusted-types default`, 'ORIGIN', true, true],
      [`${TT}; trusted-types default, a default policy refusing the collector (TypeError)`, `${TT}; trusted-types default`, 'https://elsewhere.invalid/', false],
    ])
      // The full snippet has no room for the policy within its 1,100 bytes: see the known gap below.
      if (snippet !== 'snippet.min.js' || fullToo)
      it(`Trusted Types, ${snippet}, ${label}: no exception reaches the page; ${loads ? 'the script loads' : 'one warning, the calls stay queued'}`, { timeout: 40_000 }, async () => {
        await withSite(async ({ site, context, errors, consoleMessages, collector }) => {
          site.pages.set('/tt', {
            headers: { 'Content-Security-Policy': policy },
            html: sitePage(site.origin, {
              snippet,
              head: head ? defaultPolicy(head === 'ORIGIN' ? site.origin : head) : '',
              // The rest of the site's inline script must run: load() may not throw.
              body: `<script>window.__after = true; firstparty.track('After Load', { k: 'tt-0' });</script>`,
            }).replace('firstparty.page();</script>', 'firstparty.page(); window.__afterLoad = true;</script>'),
          });
          const page = await context.newPage();
          await page.goto(site.origin + '/tt');
          expect(await page.evaluate(() => ({ afterLoad: window.__afterLoad, after: window.__after }))).toEqual({ afterLoad: true, after: true });
          if (loads) {
            await scriptLoaded(page);
            await waitFor(() => withK(collector, 'tt-').length === 1 && storedEvents(collector).some((e) => e.name === 'Page Viewed'), { message: 'page view + track' });
          } else {
            await page.waitForTimeout(1500);
            expect(await page.evaluate(() => Array.isArray(window.firstparty) && window.firstparty.map((call) => call[0]))).toEqual(['page', 'track']);
            const ours = consoleMessages.filter((m) => m.startsWith('warning:') && m.includes('firstparty'));
            expect(ours, consoleMessages.join('\n')).toHaveLength(1);
            expect(storedEvents(collector)).toHaveLength(0);
          }
          expect(errors).toEqual([]);
        });
      });
  }

  // Known gap: these fail once the full snippet gets its policy, and are then replaced by the rows above.
  it("known gap (no room in the full snippet's 1,100 B): under require-trusted-types-for 'script' the full snippet's load() still throws into the page; sites paste the lite snippet", { timeout: 40_000 }, async () => {
    await withSite(async ({ site, context, errors }) => {
      site.pages.set('/tt-full', { headers: { 'Content-Security-Policy': TT }, html: sitePage(site.origin) });
      const page = await context.newPage();
      await page.goto(site.origin + '/tt-full');
      await waitFor(() => errors.length > 0, { message: 'the TypeError' });
      expect(errors.join('\n')).toMatch(/TrustedScriptURL/);
    });
  });

  // ---- Prototype.js 1.6, frozen Object.prototype: what is sent ---------------------------------
  for (const [label, head] of [
    ['Prototype.js 1.6 (toJSON on Array, Date, String, Number)', PROTOTYPE_16],
    ['Object.freeze(Object.prototype)', FROZEN_OBJECT_PROTOTYPE],
    ['a clean page (the control)', ''],
  ])
    for (const via of ['bounce', 'script'])
      // Prototype.js's bounce: the known gap below.
      if (head !== PROTOTYPE_16 || via === 'script')
      it(`${label}, sent by the ${via === 'bounce' ? "snippet's fast-bounce fallback" : 'script'}: the body and properties exactly as on a clean page`, { timeout: 40_000 }, async () => {
        await withSite(async (env) => {
          const { event, rejected } = await fidelityRun(env, { head, via, prefix: `fid-${via}-` });
          expect(rejected).toEqual([]);
          const { k, ...properties } = event.properties;
          expect(properties).toEqual(FIDELITY_EXPECTED);
          expect(event.created_at).toMatch(ISO);
          expect(env.errors).toEqual([]);
        });
      });

  // Known gap: fails once the full snippet's fallback undoes Prototype's toJSON (a JSON.stringify
  // replacer, 86 B it has no room for), and is then replaced by the row above.
  it("known gap (no room in the full snippet's 1,100 B): under Prototype.js 1.6 the fast-bounce body is {\"events\":\"[…]\"}, refused by the collector", { timeout: 40_000 }, async () => {
    await withSite(async (env) => {
      const { event, rejected } = await fidelityRun(env, { head: PROTOTYPE_16, via: 'bounce', prefix: 'fid-gap-' });
      expect(event).toBeUndefined();
      expect(rejected.map((r) => r.message)).toEqual(['Bulk body needs an "events" array']);
      expect(typeof rejected[0].item.events).toBe('string');
    });
  });

  // ---- frozen intrinsics ---------------------------------------------------------------------
  it('frozen intrinsics (SES lockdown() style): the page() queued before the script arrived is replayed; later calls work', { timeout: 40_000 }, async () => {
    await withSite(async ({ site, context, errors, collector }) => {
      site.pages.set('/locked', { html: sitePage(site.origin, { head: FROZEN_INTRINSICS, body: `<script>firstparty.track('Queued', { k: 'locked-0' });</script>` }) });
      const page = await context.newPage();
      await page.goto(site.origin + '/locked');
      expect(await page.evaluate(() => window.__lockedDown)).toBe(true);
      await scriptLoaded(page);
      await page.evaluate(() => window.firstparty.track('Later', { k: 'locked-1', list: [1] }));
      await waitFor(() => withK(collector, 'locked-').length === 2 && storedEvents(collector).some((e) => e.name === 'Page Viewed'), {
        message: () => `page view + 2 tracks, have ${storedEvents(collector).map((e) => e.name).join(', ')}`,
      });
      await settle(collector, { quietMs: 1000 });
      expect(storedEvents(collector).filter((e) => e.name === 'Page Viewed')).toHaveLength(1);
      expectOnce(collector, 'locked-', 2);
      expect(withK(collector, 'locked-1')[0].properties.list).toEqual([1]);
      expect(errors).toEqual([]);
    });
  });

  // ---- held: keep them so ------------------------------------------------------------------------
  for (const [label, head] of [
    ['JSON.stringify replaced by a (correct) wrapper', REPLACED_STRINGIFY],
    ['Object.prototype polluted with enumerable keys', POLLUTED_OBJECT_PROTOTYPE],
    ['zone.js style (Promise, timers, listeners, observers and fetch wrapped)', ZONE_JS],
    ['fetch wrapped', `<script>(function () { var f = fetch; window.fetch = function () { return f.apply(this, arguments); }; })();</script>`],
  ])
    it(`${label}: the queued page view and tracks before and after the script arrive once, with their properties; no error`, { timeout: 40_000 }, async () => {
      await withSite(async ({ site, context, errors, collector }) => {
        site.pages.set('/held', { html: sitePage(site.origin, { head, body: `<script>firstparty.track('Queued', { k: 'held-0', list: [1, 2] });</script>` }) });
        const page = await context.newPage();
        await page.goto(site.origin + '/held');
        await scriptLoaded(page);
        await trackMany(page, { prefix: 'held-after-', count: 3 });
        await waitFor(() => withK(collector, 'held-').length === 4 && storedEvents(collector).some((e) => e.name === 'Page Viewed'), { message: 'page view + 4 tracks' });
        await settle(collector, { quietMs: 1000 });
        expectOnce(collector, 'held-', 4);
        expect(withK(collector, 'held-0')[0].properties).toEqual({ k: 'held-0', list: [1, 2] });
        expect(errors).toEqual([]);
      });
    });
});
