// `npm start` runs this: the demo page, the collector and the built script on
// one origin (http://127.0.0.1:8787), plus the same page on a second origin
// (http://localhost:8788) posting cross-origin to the first, for CORS checks.
//
// Demo API (used by demo.js; CORS-enabled so the second origin can use it too):
//   GET  /demo/events?since=SEQ  JSON snapshot, newest first
//   GET  /demo/stream            Server-Sent Events: snapshot, then each change
//   POST /demo/fault             {"mode": "503"|"hang"|"drop"|"off", "count": N, "retryAfter": S}
//   POST /demo/clear             forget everything the collector stored

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createCollector, REPO_ROOT, readBody, sendJson, sendText, listenOn, closeServer,
} from './collector.mjs';

const DEMO_DIR = path.join(REPO_ROOT, 'demo');
export const DEMO_WRITE_KEY = 'demo-write-key-01';
export const SNIPPET_PLACEHOLDER = '<!-- FIRSTPARTY_SNIPPET -->';
const SNAPSHOT_LIMIT = 500;

const ASSETS = {
  '/demo.js': ['demo.js', 'text/javascript; charset=utf-8'],
  '/demo.css': ['demo.css', 'text/css; charset=utf-8'],
};

// FALLBACK STUB — used only while dist/snippet.min.js has not been built yet.
// It is NOT the project's snippet (that lives in src/ and is built to
// dist/snippet.min.js); it queues calls the same way so the page still works.
const FALLBACK_SNIPPET = `/* FALLBACK STUB: dist/snippet.min.js is missing - run \`npm run build\` */
(function () {
  var fp = window.firstparty = window.firstparty || [];
  if (fp.load) return;
  var methods = ['trackSubmit', 'trackClick', 'trackLink', 'trackForm', 'pageview', 'identify', 'reset', 'group',
    'track', 'ready', 'alias', 'debug', 'page', 'once', 'off', 'on', 'addSourceMiddleware',
    'addIntegrationMiddleware', 'setAnonymousId', 'addDestinationMiddleware',
    'optOut', 'optIn', 'consent', 'flush', 'getProfileId', 'getSessionId'];
  methods.forEach(function (m) {
    fp[m] = function () { fp.push([m].concat(Array.prototype.slice.call(arguments))); return fp; };
  });
  fp.load = function (writeKey, host, options) {
    fp._writeKey = writeKey; fp._host = host; fp._firstpartyOptions = options;
    var s = document.createElement('script');
    s.async = true;
    s.src = (/^https?:\\/\\//.test(host) ? host : 'https://' + host) + '/js/firstparty.min.js';
    document.head.appendChild(s);
  };
})();`;

/**
 * The demo page with the snippet inlined where the placeholder is.
 * @param {{collectorOrigin: string, pageOrigin: string, query?: URLSearchParams}} opts
 * @returns {string}
 */
export function renderPage({ collectorOrigin, pageOrigin, query = new URLSearchParams() }) {
  const html = fs.readFileSync(path.join(DEMO_DIR, 'index.html'), 'utf8');
  let snippet;
  try {
    snippet = fs.readFileSync(path.join(REPO_ROOT, 'dist', 'snippet.min.js'), 'utf8').trim();
  } catch {
    snippet = FALLBACK_SNIPPET;
  }
  // A few page options can be chosen in the URL (?consent=pending,
  // ?pageviews=false, ?write_key=other) to try those paths by hand.
  /** @type {Record<string, unknown>} */
  const loadOptions = { pageviews: 'history' };
  const pv = query.get('pageviews');
  if (pv === 'false') loadOptions.pageviews = false;
  else if (pv === 'true') loadOptions.pageviews = true;
  const consent = query.get('consent');
  if (consent === 'pending') loadOptions.consent = 'pending';
  else if (consent === 'false' || consent === 'denied') loadOptions.consent = false;
  const key = query.get('write_key');
  const writeKey = key && /^[A-Za-z0-9_-]{1,64}$/.test(key) ? key : DEMO_WRITE_KEY;

  const loader = `firstparty.load(${js(writeKey)}, ${js(collectorOrigin)}, ${js(loadOptions)}); firstparty.page();`;
  const block = snippet.startsWith('<script')
    ? `${snippet}\n<script>${loader}</script>`
    : `<script>${scriptSafe(snippet)}</script>\n<script>${loader}</script>`;
  return html
    .replace(SNIPPET_PLACEHOLDER, () => block)
    .replaceAll('__COLLECTOR_ORIGIN__', attr(collectorOrigin))
    .replaceAll('__PAGE_ORIGIN__', attr(pageOrigin))
    .replaceAll('__WRITE_KEY__', attr(writeKey));
}

/** JSON that is safe inside an inline <script>. */
function js(value) {
  return scriptSafe(JSON.stringify(value));
}
function scriptSafe(text) {
  return text.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}
function attr(text) {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * @typedef {object} DemoServerOptions
 * @property {number} [port=8787] 0 picks a free port.
 * @property {string} [host='127.0.0.1']
 * @property {number|null} [secondPort] Port of the second origin (http://localhost:PORT); default 8788, or 0 (free) when `port` is 0; null disables it.
 * @property {string} [dataDir='demo/data']
 * @property {string[]} [writeKeys=['demo-write-key-01']]
 * @property {string} [distDir='dist']
 * @property {boolean} [log=false]
 * @property {number} [maxBodyBytes]
 * @property {number} [maxEventBytes]
 */

/**
 * Start the demo: page + collector + script on `host:port`, and the page alone
 * on `localhost:secondPort` pointing at the first (a real second origin).
 * @param {DemoServerOptions} [options]
 * @returns {Promise<{url: string, port: number, secondUrl: string|null, secondPort: number|null,
 *   collector: ReturnType<typeof createCollector>, server: http.Server, close: () => Promise<void>}>}
 */
export async function startDemoServer(options = {}) {
  const { port = 8787, host = '127.0.0.1', log = false } = options;
  const secondPortOption = options.secondPort === undefined ? (port === 0 ? 0 : 8788) : options.secondPort;
  const collector = createCollector({
    dataDir: options.dataDir, writeKeys: options.writeKeys, distDir: options.distDir,
    maxBodyBytes: options.maxBodyBytes, maxEventBytes: options.maxEventBytes, log,
  });
  const streams = new Set();
  const unsubscribe = collector.subscribe((change) => {
    const data = `event: ${change.type}\ndata: ${JSON.stringify(change.record)}\n\n`;
    for (const res of streams) res.write(data);
  });
  let origin = '';

  const server = http.createServer((req, res) => {
    try {
      if (collector.handle(req, res)) return;
      if (demoApi(req, res)) return;
      if (page(req, res, origin, origin)) return;
      sendText(res, 404, 'Not found\n');
    } catch (err) {
      console.error('demo server:', err);
      if (!res.headersSent) sendText(res, 500, 'Internal error\n');
    }
  });
  const actualPort = await listenOn(server, port, host);
  origin = `http://${host}:${actualPort}`;

  // The second origin serves only the page (and its assets); the page talks to `origin`.
  let second = null;
  let secondUrl = null;
  if (secondPortOption !== null) {
    second = http.createServer((req, res) => {
      try {
        if (!page(req, res, secondUrl, origin)) sendText(res, 404, 'Not found (this origin only serves the demo page)\n');
      } catch (err) {
        console.error('demo server (second origin):', err);
        if (!res.headersSent) sendText(res, 500, 'Internal error\n');
      }
    });
    try {
      // Bound on 127.0.0.1 (what `localhost` resolves to here) but addressed as
      // `localhost`, so the browser sees a different origin and a different site.
      const p = await listenOn(second, Number(secondPortOption), '127.0.0.1');
      secondUrl = `http://localhost:${p}`;
    } catch (err) {
      console.warn(`demo server: second origin not started (${err.message})`);
      second = null;
    }
  }

  /** Demo page, its assets, and SPA routes (/spa/*) that a reload must survive. */
  function page(req, res, pageOrigin, collectorOrigin) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = new URL(req.url || '/', 'http://demo.invalid');
    if (url.pathname === '/' || url.pathname === '/index.html' || url.pathname.startsWith('/spa/')) {
      const html = renderPage({ collectorOrigin, pageOrigin, query: url.searchParams });
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : html);
      return true;
    }
    if (Object.hasOwn(ASSETS, url.pathname)) {
      const [file, type] = ASSETS[url.pathname];
      const body = fs.readFileSync(path.join(DEMO_DIR, file));
      res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    }
    return false;
  }

  /** The page's own API: snapshots, live stream, fault switch, clear. */
  function demoApi(req, res) {
    const url = new URL(req.url || '/', 'http://demo.invalid');
    if (!url.pathname.startsWith('/demo/')) return false;
    const cors = req.headers.origin
      ? { 'Access-Control-Allow-Origin': req.headers.origin, Vary: 'Origin' }
      : {};
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...cors, 'Access-Control-Allow-Methods': 'GET, POST', 'Access-Control-Allow-Headers': 'Content-Type' }).end();
      return true;
    }
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /demo/events') {
      sendJson(res, 200, snapshot(Number(url.searchParams.get('since')) || 0), cors);
      return true;
    }
    if (route === 'GET /demo/stream') {
      res.writeHead(200, { ...cors, 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
      res.write(`retry: 1000\nevent: snapshot\ndata: ${JSON.stringify(snapshot(0))}\n\n`);
      streams.add(res);
      res.on('close', () => streams.delete(res));
      return true;
    }
    if (route === 'POST /demo/fault') {
      readBody(req, 64 * 1024).then((body) => {
        if (body.aborted) return;
        let spec;
        try { spec = JSON.parse(body.text || '{}'); } catch { spec = null; }
        try {
          sendJson(res, 200, { fault: collector.fault(spec ?? {}) }, cors);
        } catch (err) {
          sendJson(res, 400, { status: 'error', message: err.message }, cors);
        }
      });
      return true;
    }
    if (route === 'POST /demo/clear') {
      req.resume();
      collector.clear();
      sendJson(res, 200, { status: 'cleared' }, cors);
      return true;
    }
    sendJson(res, 404, { status: 'error', message: `No demo route ${route}` }, cors);
    return true;
  }

  /** Everything after `since` (a seq), newest first, at most SNAPSHOT_LIMIT of each kind. */
  function snapshot(since) {
    const pick = (list) => list.filter((r) => r.seq > since).slice(-SNAPSHOT_LIMIT).reverse();
    const events = collector.events();
    const duplicates = collector.duplicateList();
    const rejected = collector.rejected();
    const requests = collector.requests();
    return {
      collector: origin,
      second_origin: secondUrl,
      counts: { events: events.length, duplicates: duplicates.length, rejected: rejected.length, requests: requests.length },
      fault: collector.faultState(),
      events: pick(events),
      duplicates: pick(duplicates),
      rejected: pick(rejected),
      // Only the requests worth showing: faulted or not answered 2xx.
      failed_requests: pick(requests.filter((r) => r.fault || (r.status !== null && r.status >= 300))),
    };
  }

  return {
    url: `${origin}/`,
    port: actualPort,
    secondUrl: secondUrl && `${secondUrl}/`,
    secondPort: secondUrl ? Number(new URL(secondUrl).port) : null,
    collector,
    server,
    async close() {
      unsubscribe();
      for (const res of streams) res.end();
      streams.clear();
      collector.close();
      await Promise.all([closeServer(server), second ? closeServer(second) : null]);
    },
  };
}

async function main() {
  const env = process.env;
  const demo = await startDemoServer({
    port: env.PORT !== undefined && env.PORT !== '' ? Number(env.PORT) : 8787,
    secondPort: env.SECOND_PORT !== undefined && env.SECOND_PORT !== '' ? Number(env.SECOND_PORT) : undefined,
    dataDir: env.FP_DATA_DIR || undefined,
    writeKeys: env.FP_WRITE_KEYS ? env.FP_WRITE_KEYS.split(',').map((k) => k.trim()).filter(Boolean) : undefined,
    log: env.FP_LOG === '1',
  });
  console.log(`firstparty-js demo: ${demo.url}`);
  if (demo.secondUrl) console.log(`  same page on a second origin (CORS): ${demo.secondUrl}`);
  const rel = path.relative(process.cwd(), demo.collector.paths.dataDir);
  console.log(`  collector data: ${rel && !rel.startsWith('..') ? rel : demo.collector.paths.dataDir}`);
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'firstparty.min.js'))) {
    console.warn('  warning: dist/firstparty.min.js is missing - run `npm run build` (npm start does it for you)');
  }
  const stop = () => { demo.close().then(() => process.exit(0)); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(`firstparty-js demo: could not start: ${err.message}`);
    process.exit(1);
  });
}
