// Shared by the browser suite: a collector plus page servers on free ports,
// the page (the built snippet, inlined as a site owner pastes it), polling,
// and counting what the collector received. Not a test file (no .test.).
import fs from 'node:fs';
import { expect } from 'vitest';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { COLLECTOR_ROUTES, createCollector, REPO_ROOT, closeServer, listenOn } from '../../demo/collector.mjs';
import { createProxy } from '../../demo/proxy.mjs';
import { CONSOLE_HOOK } from './console-hook.mjs';

export const KEY = 'demo-write-key-01';

/**
 * The built snippet, exactly as `npm run build` wrote it (read on use: `npm test` builds first):
 * `snippet.min.js` (with the fast-bounce fallback) or `snippet-lite.min.js` (nonce and SRI instead).
 */
export function snippetText(file = 'snippet.min.js') {
  return fs.readFileSync(path.join(REPO_ROOT, 'dist', file), 'utf8').trim();
}

const escapeHtml = (text) => String(text).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The page a site owner would serve: the snippet pasted in <head>, then the
 * usual `load(...)` + `page()` line. `host` is what load() is given (default:
 * the collector's origin; `/fp` for a proxy path on the page's origin).
 * @param {{collectorOrigin: string, host?: string, title?: string, options?: object, head?: string, body?: string}} spec
 */
export function pageHtml({ collectorOrigin, host = collectorOrigin, title = 'Test Page', options, head = '', body = '', consoleHook = false }) {
  const args = [JSON.stringify(KEY), JSON.stringify(host)];
  if (options) args.push(JSON.stringify(options));
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
${consoleHook ? `<script>${CONSOLE_HOOK}</script>` : ''}
${head}
<script>${snippetText()}</script>
<script>firstparty.load(${args.join(', ')}); firstparty.page();</script>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

const AWAY_HTML = '<!doctype html><html><head><meta charset="utf-8"><title>Away</title></head><body>Another page, no tracking.</body></html>';

/**
 * A collector on http://127.0.0.1:<port> that also serves pages (same origin),
 * and, with `crossOrigin`, a second server for pages on http://localhost:<port2>
 * (another origin and another site: the browser preflights the collector).
 *
 * Pages: every path serves the tracked page (`options`/`title` per path via
 * `setPage(path, spec)`; paths are matched exactly, then the default); `/away`
 * serves a page without tracking.
 *
 * `consoleHook`: for engines whose driver reports no console messages or page
 * errors (WebKit), tracked pages start with console-hook.mjs's CONSOLE_HOOK, and
 * what it reports (`POST /__console`) is passed to this function.
 *
 * `cors`: the collector's CORS style (demo/cors.mjs; default 'credentials').
 * `proxy`: a path such as '/fp': the page server(s) forward `/fp/*` to the
 * collector over HTTP (demo/proxy.mjs, as nginx would) and the pages load
 * with host '/fp' (a page's `host` overrides it); `site.proxyLog` lists what
 * was forwarded.
 * @param {{crossOrigin?: boolean, options?: object, title?: string, collector?: object, cors?: 'credentials'|'echo'|'wildcard', proxy?: string, consoleHook?: (message: {type: string, text: string, url: string}) => void}} [opts]
 */
export async function startSite({ crossOrigin = false, options, title, collector: collectorOptions = {}, cors, proxy: proxyPrefix, consoleHook } = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-browser-'));
  const collector = createCollector({ dataDir, ...(cors ? { cors } : {}), ...collectorOptions });
  const pages = new Map();
  let defaultSpec = { options, title, host: proxyPrefix };
  let collectorOrigin = '';
  const proxy = proxyPrefix ? createProxy({ prefix: proxyPrefix, upstream: () => collectorOrigin, routes: COLLECTOR_ROUTES }) : null;

  const servePage = (req, res) => {
    if (proxy?.handle(req, res)) return;
    const url = new URL(req.url || '/', 'http://page.invalid');
    if (url.pathname === '/favicon.ico') {
      res.writeHead(404).end();
      return;
    }
    if (url.pathname === '/__console' && req.method === 'POST') {
      let text = '';
      req.on('data', (chunk) => (text += chunk));
      req.on('end', () => {
        res.writeHead(204).end();
        try {
          consoleHook?.(JSON.parse(text));
        } catch {
          // Not the hook's JSON: nothing to report.
        }
      });
      return;
    }
    const html = url.pathname === '/away' ? AWAY_HTML : pageHtml({ collectorOrigin, ...defaultSpec, ...pages.get(url.pathname), consoleHook: !!consoleHook });
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : html);
  };

  // POSTs to the track endpoints held back `trackDelayMs` before the collector
  // sees them (delayTrack): a request the page has sent and not yet had an answer to.
  let trackDelayMs = 0;
  let delayed = 0;
  const main = http.createServer((req, res) => {
    if (trackDelayMs && req.method === 'POST' && req.url?.startsWith('/events/track')) {
      delayed++;
      setTimeout(() => {
        delayed--;
        if (!collector.handle(req, res)) servePage(req, res);
      }, trackDelayMs);
      return;
    }
    if (!collector.handle(req, res)) servePage(req, res);
  });
  const mainPort = await listenOn(main, 0, '127.0.0.1');
  collectorOrigin = `http://127.0.0.1:${mainPort}`;

  let second;
  let pageOrigin = collectorOrigin;
  if (crossOrigin) {
    second = http.createServer(servePage);
    const port = await listenOn(second, 0, '127.0.0.1');
    pageOrigin = `http://localhost:${port}`;
  }

  return {
    collector,
    collectorOrigin,
    pageOrigin,
    /** What the proxy path forwarded (demo/proxy.mjs entries), newest last; [] without `proxy`. */
    proxyLog: proxy ? proxy.log : [],
    /** A page URL on the page origin. */
    url: (p = '/') => pageOrigin + p,
    /** Options/title/head/body for one path (exact match). */
    setPage(p, spec) {
      pages.set(p, spec);
    },
    /** Defaults for every tracked page. */
    setDefault(spec) {
      defaultSpec = { ...defaultSpec, ...spec };
    },
    /**
     * Holds each POST to the track endpoints `ms` before the collector reads,
     * stores and answers it (0: no more delay; requests held already still
     * wait their time). Same-origin collector only.
     */
    delayTrack(ms) {
      trackDelayMs = ms;
    },
    /** How many track requests are being held by delayTrack() now. */
    delayedTracks: () => delayed,
    async close() {
      collector.close();
      await closeServer(main);
      if (second) await closeServer(second);
      proxy?.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Polls `fn` until it returns a truthy value (which is returned) or the
 * deadline passes (then throws, with `message` and the last value seen).
 * @template T
 * @param {() => T | Promise<T>} fn
 * @param {{timeout?: number, interval?: number, message?: string | (() => string)}} [opts]
 * @returns {Promise<T>}
 */
export async function waitFor(fn, { timeout = 20_000, interval = 50, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastError;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const what = typeof message === 'function' ? message() : message;
      throw new Error(`waitFor timed out after ${timeout} ms: ${what}` + (lastError ? ` (last error: ${lastError.message})` : ''));
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/**
 * Waits until the collector has seen no request for `quietMs` (so re-sends,
 * if any, have had every chance to arrive), bounded by `timeout`.
 */
export async function settle(collector, { quietMs = 1500, timeout = 20_000 } = {}) {
  const start = Date.now();
  await waitFor(
    () => {
      const requests = collector.requests();
      const last = requests.length ? requests[requests.length - 1].ms : start;
      return Date.now() - Math.max(last, start) >= quietMs;
    },
    { timeout, interval: 100, message: 'the collector to go quiet' },
  );
}

/**
 * What identifies one call, whoever sent it: the snippet's bounce beacon sends
 * events without `event_id`, so the collector cannot dedupe them against the
 * script's copies; tests give each tracked event a unique `properties.k`, and a
 * page view is its creation time and URL.
 */
export function callKey(event) {
  const k = event.properties && event.properties.k;
  if (k !== undefined) return `${event.name}|${k}`;
  return `${event.name}|${event.created_at}|${event.context && event.context.page && event.context.page.url}`;
}

/** Every copy the collector received: stored events and the re-sends it dropped by event_id. */
export function deliveries(collector) {
  return [...collector.events().map((r) => r.event), ...collector.duplicateList().map((d) => d.event)];
}

/**
 * Distinct calls received and duplicates (every copy beyond the first of a
 * call, whether the collector dropped it by event_id or stored it because it
 * had none), optionally for the events matching `filter`.
 */
export function tally(collector, filter = () => true) {
  const all = deliveries(collector).filter(filter);
  const keys = new Set(all.map(callKey));
  return { received: keys.size, duplicates: all.length - keys.size, deliveries: all.length };
}

/** The stored events (one per distinct event_id), optionally filtered, in arrival order. */
export function stored(collector, filter = () => true) {
  return collector
    .events()
    .map((r) => r.event)
    .filter(filter);
}

/**
 * Calls the collector could not tell apart from other events: a copy came
 * without an `event_id`, or copies came under two different ones (sent twice
 * as two events, which no collector can undo).
 */
export function splitCalls(collector, filter = () => true) {
  const ids = new Map();
  for (const event of deliveries(collector).filter(filter)) {
    const key = callKey(event);
    if (!ids.has(key)) ids.set(key, new Set());
    ids.get(key).add(typeof event.event_id === 'string' ? event.event_id : '');
  }
  return [...ids].filter(([, set]) => set.size > 1 || set.has('')).map(([key]) => key);
}

/**
 * The rule for a page that could not know whether its handover arrived: every
 * call arrives, copies are allowed (the collector drops them by `event_id`),
 * but never under two different IDs.
 */
export function expectEveryCallById(collector, sent, filter) {
  const { received } = tally(collector, filter);
  expect({ received, split: splitCalls(collector, filter).slice(0, 5) }).toEqual({ received: sent, split: [] });
}

export const isPage = (event) => event.name === 'Page Viewed';
export const byPrefix = (prefix) => (event) => typeof event.properties?.k === 'string' && event.properties.k.startsWith(prefix);

/** POSTs to the track endpoints (preflights excluded). */
export const posts = (collector) => collector.requests().filter((r) => r.method === 'POST');

/**
 * Makes the page look hidden (or visible again) and fires `visibilitychange`,
 * as switching tabs or minimising does. Headless Chromium keeps every page
 * visible, so the state is overridden on the document; everything the page
 * then does (sendBeacon, fetch) is real.
 */
export function setVisibility(page, state) {
  return page.evaluate((s) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => s });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => s === 'hidden' });
    document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
  }, state);
}

/** Resolves once the script has taken over `window.firstparty`. */
export function scriptLoaded(page, timeout = 20_000) {
  return page.waitForFunction(() => window.firstparty && !Array.isArray(window.firstparty) && window.firstparty._loaded === true, null, { timeout });
}

/**
 * Tracks `count` events named `name` with `properties.k = prefix + i` in one
 * task (as a page does in a loop), and resolves once the library says the last
 * one is stored (its `callback`).
 */
export function trackMany(page, { name = 'Test Event', prefix, count, start = 0 }) {
  return page.evaluate(
    ({ name, prefix, count, start }) =>
      new Promise((resolve) => {
        for (let i = start; i < start + count; i++) {
          window.firstparty.track(name, { k: prefix + i, i }, {}, i === start + count - 1 ? () => resolve(true) : undefined);
        }
      }),
    { name, prefix, count, start },
  );
}
