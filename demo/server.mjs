// `npm start` runs this: the demo page, the collector and the built script on
// one origin (http://127.0.0.1:8787), plus the same page on a second origin
// (http://localhost:8788) posting cross-origin to the first, for CORS checks.
// Both also forward /fp/* to the collector (proxy.mjs): `/?host=proxy` loads
// the page with host '/fp' and `serverCookie: true`, a site's own-origin setup.
//
// Demo API (used by demo.js; open only to the demo's own pages, both origins:
// see guard.mjs and demo/README.md):
//   GET  /demo/events?since=SEQ  JSON snapshot, newest first
//   GET  /demo/stream            Server-Sent Events: snapshot, then each change
//   POST /demo/fault             {"mode": "503"|"hang"|"drop"|"off", "count": N, "retryAfter": S}
//   POST /demo/clear             forget everything the collector stored

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  COLLECTOR_ROUTES, createCollector, REPO_ROOT, readBody, sendJson, sendText, listenOn, closeServer, internalError,
} from './collector.mjs';
import { createProxy } from './proxy.mjs';
import { LIMITS, toWire } from './limits.mjs';
import { createGuard, loopbackHosts } from './guard.mjs';
import { isJsonType, isPlainObject } from './validate.mjs';
import { requestUrl } from './requestUrl.mjs';

const DEMO_DIR = path.join(REPO_ROOT, 'demo');
export const DEMO_WRITE_KEY = 'demo-write-key-01';
export const SNIPPET_PLACEHOLDER = '<!-- FIRSTPARTY_SNIPPET -->';
/** The same-origin proxy path on both demo origins (`/?host=proxy` loads with it). */
export const PROXY_PREFIX = '/fp';
const SNAPSHOT_LIMIT = 500;
/** Demo API bodies are a few dozen bytes ({"mode": "503", "count": 3}). */
const DEMO_BODY_BYTES = 64 * 1024;
/** Bytes buffered for one live-stream reader before it is cut off (~4,000 typical events). */
const MAX_STREAM_BACKLOG = 4 * 1024 * 1024;

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
  // ?pageviews=false, ?write_key=other, ?host=proxy) to try those paths by hand.
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
  // ?host=proxy: the script and the events go through this origin's /fp
  // path, and the collector keeps the IDs in cookies it sets itself.
  const proxied = query.get('host') === 'proxy';
  if (proxied) loadOptions.serverCookie = true;
  const host = proxied ? PROXY_PREFIX : collectorOrigin;

  const loader = `firstparty.load(${js(writeKey)}, ${js(host)}, ${js(loadOptions)}); firstparty.page();`;
  const block = snippet.startsWith('<script')
    ? `${snippet}\n<script>${loader}</script>`
    : `<script>${scriptSafe(snippet)}</script>\n<script>${loader}</script>`;
  return html
    .replace(SNIPPET_PLACEHOLDER, () => block)
    .replaceAll('__COLLECTOR_ORIGIN__', attr(collectorOrigin))
    .replaceAll('__PAGE_ORIGIN__', attr(pageOrigin))
    .replaceAll('__WRITE_KEY__', attr(writeKey))
    .replaceAll('__HOST_MODE__', proxied ? 'proxy' : 'direct')
    .replaceAll('__LIBRARY_HOST__', attr(host));
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
 * @property {string[]} [allowedHosts] More `host:port` values the Host header may carry (e.g. behind a proxy); 127.0.0.1 and localhost at both ports always may.
 * @property {string[]} [allowedOrigins] More origins allowed to use the demo API; the pages of both servers always may.
 * @property {string} [dataDir='demo/data']
 * @property {string[]} [writeKeys=['demo-write-key-01']]
 * @property {string} [distDir='dist']
 * @property {boolean} [log=false]
 * @property {'credentials'|'echo'|'wildcard'} [cors='credentials'] The collector's CORS style (demo/cors.mjs).
 * @property {boolean|'proxied'} [serverCookie='proxied'] The collector's Set-Cookie of fpid/fsid: by default on the requests that came through /fp.
 * @property {number} [maxBodyBytes] and every other key of LIMITS (demo/limits.mjs), passed to the collector.
 */

/**
 * Start the demo: page + collector + script on `host:port`, and the page alone
 * on `localhost:secondPort` pointing at the first (a real second origin).
 * Both forward `/fp/*` to the collector (`proxy.log` lists what they forwarded).
 * @param {DemoServerOptions} [options]
 * @returns {Promise<{url: string, port: number, secondUrl: string|null, secondPort: number|null,
 *   allowed: {hosts: string[], origins: string[]}, proxy: ReturnType<typeof createProxy>,
 *   collector: ReturnType<typeof createCollector>, server: http.Server, close: () => Promise<void>}>}
 */
export async function startDemoServer(options = {}) {
  const { port = 8787, host = '127.0.0.1', log = false, allowedHosts = [], allowedOrigins = [] } = options;
  const secondPortOption = options.secondPort === undefined ? (port === 0 ? 0 : 8788) : options.secondPort;
  /** @type {Record<string, unknown>} */
  const limits = {};
  for (const key of Object.keys(LIMITS)) limits[key] = /** @type {Record<string, unknown>} */ (options)[key];
  const collector = createCollector({
    dataDir: options.dataDir, writeKeys: options.writeKeys, distDir: options.distDir, log, ...limits,
    cors: options.cors, serverCookie: options.serverCookie ?? 'proxied',
  });
  const streams = new Set();
  const unsubscribe = collector.subscribe((change) => {
    const data = `event: ${change.type}\ndata: ${toWire(change.record)}\n\n`;
    for (const res of streams) {
      // A reader that stopped reading would make us buffer every event for
      // it: cut it off; EventSource reconnects and starts from a snapshot.
      if (res.writableLength > MAX_STREAM_BACKLOG) { streams.delete(res); res.destroy(); continue; }
      res.write(data);
    }
  });
  let origin = '';
  // Both origins forward /fp/* over HTTP to the collector on the first one
  // (Host set to it, so the guard lets the hop in), as nginx would.
  const proxy = createProxy({ prefix: PROXY_PREFIX, upstream: () => origin, routes: COLLECTOR_ROUTES });
  // Refuses everything until both servers listen and the lists are known.
  let guard = createGuard({ hosts: [], origins: [] });

  /** Wraps a server's router: Host check first, and an error answered 500 rather than thrown. */
  const serve = (name, route) => (req, res) => {
    try {
      if (!guard.hostAllowed(req)) return refuseHost(req, res);
      if (!route(req, res)) sendText(res, 404, 'Not found\n');
    } catch (err) {
      console.error(`demo server (${name}):`, err);
      if (!res.headersSent) sendText(res, 500, 'Internal error\n');
    }
  };
  const server = http.createServer(serve('main', (req, res) =>
    proxy.handle(req, res) || collector.handle(req, res) || demoApi(req, res) || page(req, res, `http://${String(req.headers.host).toLowerCase()}`, origin)));
  const actualPort = await listenOn(server, port, host);
  origin = `http://${host}:${actualPort}`;

  // The second origin serves only the page (and its assets); the page talks to `origin`.
  let second = null;
  let secondUrl = null;
  let secondPort = null;
  if (secondPortOption !== null) {
    second = http.createServer(serve('second origin', (req, res) => proxy.handle(req, res) || page(req, res, secondUrl, origin)));
    try {
      // Bound on 127.0.0.1 (what `localhost` resolves to here) but addressed as
      // `localhost`, so the browser sees a different origin and a different site.
      secondPort = await listenOn(second, Number(secondPortOption), '127.0.0.1');
      secondUrl = `http://localhost:${secondPort}`;
    } catch (err) {
      console.warn(`demo server: second origin not started (${err.message})`);
      second = null;
    }
  }
  const hosts = [...loopbackHosts(host, actualPort), ...(secondPort ? loopbackHosts('localhost', secondPort) : []), ...allowedHosts];
  guard = createGuard({ hosts, origins: [...hosts.map((h) => `http://${h}`), ...allowedOrigins] });

  /** Demo page, its assets, and SPA routes (/spa/*) that a reload must survive. */
  function page(req, res, pageOrigin, collectorOrigin) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = requestUrl(req, 'http://demo.invalid');
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
    // The page declares an inline icon; this answers browsers that ask anyway.
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204, { 'Cache-Control': 'max-age=86400' }).end();
      return true;
    }
    return false;
  }

  /**
   * The page's own API: snapshots, live stream, fault switch, clear. Only the
   * demo's own pages may use it (guard.mjs): a foreign or `null` Origin is
   * refused without CORS headers, and POSTs must be application/json.
   */
  function demoApi(req, res) {
    const url = requestUrl(req, 'http://demo.invalid');
    if (!url.pathname.startsWith('/demo/')) return false;
    const from = guard.origin(req);
    if (from === 'refused') {
      req.resume();
      sendJson(res, 403, { status: 'error', message: "The demo API answers only the demo's own pages" }, { Vary: 'Origin' });
      return true;
    }
    const cors = from === 'allowed' ? { 'Access-Control-Allow-Origin': String(req.headers.origin), Vary: 'Origin' } : { Vary: 'Origin' };
    if (req.method === 'OPTIONS') {
      req.resume();
      res.writeHead(204, { ...cors, 'Access-Control-Allow-Methods': 'GET, POST', 'Access-Control-Allow-Headers': 'Content-Type', 'Access-Control-Max-Age': '600' }).end();
      return true;
    }
    const route = `${req.method} ${url.pathname}`;
    if (req.method === 'POST' && !isJsonType(req.headers['content-type'])) {
      req.resume();
      sendJson(res, 415, { status: 'error', message: "Content-Type must be 'application/json'" }, cors);
      return true;
    }
    if (route === 'GET /demo/events') {
      sendJson(res, 200, snapshot(Number(url.searchParams.get('since')) || 0), cors);
      return true;
    }
    if (route === 'GET /demo/stream') {
      res.writeHead(200, { ...cors, 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
      res.write(`retry: 1000\nevent: snapshot\ndata: ${toWire(snapshot(0))}\n\n`);
      streams.add(res);
      res.on('close', () => streams.delete(res));
      return true;
    }
    if (route === 'POST /demo/fault') {
      readJson(req).then((body) => {
        if (body.aborted) return;
        if (body.error) return sendJson(res, body.status, { status: 'error', message: body.error }, cors);
        if (!isPlainObject(body.value) || typeof body.value.mode !== 'string') {
          return sendJson(res, 400, { status: 'error', message: 'Body must be a JSON object with a "mode"' }, cors);
        }
        let state;
        try { state = collector.fault(body.value); } catch (err) {
          return sendJson(res, 400, { status: 'error', message: err.message }, cors);
        }
        sendJson(res, 200, { fault: state }, cors);
      }).catch((err) => internalError(res, err));
      return true;
    }
    if (route === 'POST /demo/clear') {
      readJson(req).then((body) => {
        if (body.aborted) return;
        if (body.error) return sendJson(res, body.status, { status: 'error', message: body.error }, cors);
        collector.clear();
        sendJson(res, 200, { status: 'cleared' }, cors);
      }).catch((err) => internalError(res, err));
      return true;
    }
    req.resume();
    sendJson(res, 404, { status: 'error', message: `No demo route ${route}` }, cors);
    return true;
  }

  /** Everything after `since` (a seq), newest first, at most SNAPSHOT_LIMIT of each kind. */
  function snapshot(since) {
    const pick = { since, last: SNAPSHOT_LIMIT };
    const failed = collector.requests({ since }).filter((r) => r.fault || (r.status !== null && r.status >= 300));
    return {
      collector: origin,
      second_origin: secondUrl,
      // Since start (what was kept on disk) or the last Clear, the evicted included.
      counts: collector.totals(),
      limits: collector.limits,
      write_keys: collector.writeKeys(),
      fault: collector.faultState(),
      events: collector.events(pick).reverse(),
      duplicates: collector.duplicateList(pick).reverse(),
      rejected: collector.rejected(pick).reverse(),
      // Only the requests worth showing: faulted or not answered 2xx.
      failed_requests: failed.slice(-SNAPSHOT_LIMIT).reverse(),
    };
  }

  return {
    url: `${origin}/`,
    port: actualPort,
    secondUrl: secondUrl && `${secondUrl}/`,
    secondPort: secondUrl ? secondPort : null,
    allowed: guard.lists(),
    proxy,
    collector,
    server,
    async close() {
      unsubscribe();
      for (const res of streams) res.end();
      streams.clear();
      collector.close();
      await Promise.all([closeServer(server), second ? closeServer(second) : null]);
      proxy.close();
    },
  };
}

/**
 * A demo API body read and parsed: `{value}`, or `{error, status}` (400 for
 * JSON that does not parse, 413 over 64 KiB), or `{aborted}`.
 * @param {http.IncomingMessage} req
 * @returns {Promise<{value?: any, error?: string, status?: number, aborted?: boolean}>}
 */
async function readJson(req) {
  const body = await readBody(req, DEMO_BODY_BYTES);
  if (body.aborted) return { aborted: true };
  if (body.tooLarge) return { error: `Body is larger than ${DEMO_BODY_BYTES} bytes`, status: 413 };
  try {
    return { value: JSON.parse(body.text || '{}') };
  } catch {
    return { error: 'Body is not valid JSON', status: 400 };
  }
}

/** 403 for a Host that is not this server's own (DNS rebinding). */
function refuseHost(req, res) {
  req.resume();
  sendText(res, 403, 'Refused: this demo server answers only requests addressed to 127.0.0.1 or localhost at its own port.\n');
}

async function main() {
  const env = process.env;
  const demo = await startDemoServer({
    port: env.PORT !== undefined && env.PORT !== '' ? Number(env.PORT) : 8787,
    secondPort: env.SECOND_PORT !== undefined && env.SECOND_PORT !== '' ? Number(env.SECOND_PORT) : undefined,
    dataDir: env.FP_DATA_DIR || undefined,
    writeKeys: env.FP_WRITE_KEYS ? env.FP_WRITE_KEYS.split(',').map((k) => k.trim()).filter(Boolean) : undefined,
    log: env.FP_LOG === '1',
    cors: env.FP_CORS || undefined,
  });
  console.log(`firstparty-js demo: ${demo.url}`);
  if (demo.secondUrl) console.log(`  same page on a second origin (CORS): ${demo.secondUrl}`);
  console.log(`  through the same-origin proxy ${PROXY_PREFIX}, with server-set cookies: ${demo.url}?host=proxy`);
  console.log(`  collector CORS style: ${env.FP_CORS || 'credentials'} (FP_CORS=credentials|echo|wildcard)`);
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
