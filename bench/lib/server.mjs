// A collector-like server for one tracker, on its own 127.0.0.1 port: it
// accepts anything, answers each peer's API the way its client expects, serves
// the peer's script files, and counts what arrives per page load ("run"):
// requests, body bytes, distinct benchmark events delivered (in requests
// answered 2xx), re-sent events, and requests answered otherwise.
//
// Benchmark events are recognised by their properties, whatever the peer's
// wire format: every event the bench tracks carries `bench_run` (the page
// load) and `bench_i` (0..n-1). Bodies are decoded generically (gzip, base64,
// form-encoded `data=`, JSON, and JSON nested in strings such as Snowplow's
// `ue_pr` or Plausible's `p`), so one counter serves every peer.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const now = () => performance.timeOrigin + performance.now();

/** Finds `{bench_run, bench_i}` objects anywhere in a decoded body. */
export function findBenchEvents(value, out = [], depth = 0) {
  if (depth > 12 || value == null) return out;
  if (typeof value === 'string') {
    const s = value.trim();
    if (s.length > 8 && (s[0] === '{' || s[0] === '[') && s.includes('bench_')) {
      try { findBenchEvents(JSON.parse(s), out, depth + 1); } catch { /* not JSON */ }
    } else if (s.length > 16 && /^[A-Za-z0-9+/_-]+=*$/.test(s)) {
      // Base64(url) JSON, e.g. Snowplow's ue_px.
      try {
        const text = Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
        if (text.includes('bench_')) findBenchEvents(text, out, depth + 1);
      } catch { /* not base64 */ }
    }
    return out;
  }
  if (Array.isArray(value)) {
    for (const item of value) findBenchEvents(item, out, depth + 1);
    return out;
  }
  if (typeof value === 'object') {
    if (typeof value.bench_run === 'string' && typeof value.bench_i === 'number') {
      out.push([value.bench_run, value.bench_i]);
      return out;
    }
    for (const key of Object.keys(value)) findBenchEvents(value[key], out, depth + 1);
  }
  return out;
}

/** Body bytes → the benchmark events in them. */
export function decodeBody(buffer, url) {
  let data = buffer;
  if (data.length > 2 && data[0] === 0x1f && data[1] === 0x8b) {
    try { data = zlib.gunzipSync(data); } catch { /* leave as is */ }
  }
  let text = data.toString('utf8');
  if (/^(data|e)=/.test(text)) {
    // application/x-www-form-urlencoded, possibly base64 inside
    const params = new URLSearchParams(text);
    text = params.get('data') || params.get('e') || text;
  }
  const found = findBenchEvents(text);
  // GET beacons (query strings) as well
  for (const [, v] of url.searchParams) findBenchEvents(v, found);
  if (!found.length && text.length > 16 && !/[{[]/.test(text[0])) {
    try { findBenchEvents(Buffer.from(text, 'base64').toString('utf8'), found); } catch { /* not base64 */ }
  }
  return found;
}

function corsHeaders(req) {
  const origin = req.headers.origin;
  const h = {
    'Access-Control-Allow-Origin': origin || '*',
    'Access-Control-Allow-Credentials': 'true',
    'Access-Control-Expose-Headers': 'Retry-After',
    Vary: 'Origin',
  };
  return h;
}

const TYPES = { '.js': 'text/javascript; charset=utf-8', '.json': 'application/json', '.html': 'text/html; charset=utf-8' };

/**
 * @param {object} o
 * @param {string} o.name
 * @param {Record<string,string>} [o.files] URL path → file on disk (a path ending in '/' maps a directory)
 * @param {Record<string,string|Function>} [o.pages] URL path → HTML text or () => text
 * @param {(req, url) => ({status?: number, type?: string, body: string|Buffer}|null)} [o.api] answers for the peer's own endpoints
 * @param {(req, res) => boolean} [o.delegate] hands requests to another handler (the demo collector), after counting is set up
 */
export async function startServer({ name, files = {}, pages = {}, api, delegate }) {
  const config = { files, pages, api, delegate };
  const runs = new Map();
  const log = [];
  const waiters = new Set();

  /**
   * Per page load: `ids` the distinct events delivered (in a request answered
   * 2xx), `received` every event in such requests (so `received - ids.size`
   * is the re-sends), `refused` / `refusedEvents` requests answered otherwise,
   * `lastNew` when the latest new event arrived, `progress` [distinct so far,
   * time] per request.
   */
  function runStats(run) {
    let r = runs.get(run);
    if (!r) {
      r = { ids: new Set(), received: 0, requests: 0, bytes: 0, refused: 0, refusedEvents: 0, lastNew: null, progress: [] };
      runs.set(run, r);
    }
    return r;
  }

  function record(entry, body, url) {
    const found = (body && body.length) || url.search ? decodeBody(body || Buffer.alloc(0), url) : [];
    entry.events = found.length;
    log.push(entry);
    // One request can name an event twice (e.g. a body and a query string
    // decoded from the same data): only a later request counts as a re-send.
    const byRun = new Map();
    for (const [run, i] of found) {
      if (!byRun.has(run)) byRun.set(run, new Set());
      byRun.get(run).add(i);
    }
    const accepted = entry.status >= 200 && entry.status < 300;
    for (const [run, seen] of byRun) {
      const r = runStats(run);
      r.requests++;
      r.bytes += entry.bytes;
      if (accepted) {
        const before = r.ids.size;
        for (const i of seen) r.ids.add(i);
        r.received += seen.size;
        if (r.ids.size > before) r.lastNew = entry.end;
      } else {
        r.refused++;
        r.refusedEvents += seen.size;
      }
      r.progress.push([r.ids.size, entry.end]);
    }
    for (const w of waiters) w();
  }

  function serveFile(res, file, req) {
    let content;
    try {
      content = fs.readFileSync(file);
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain', ...corsHeaders(req) }).end('not found');
      return;
    }
    res.writeHead(200, {
      'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream',
      'Content-Length': content.length,
      'Cache-Control': 'no-store',
      ...corsHeaders(req),
    });
    res.end(content);
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url || '/', 'http://bench.invalid');
    const entry = { start: now(), end: 0, method: req.method, path: url.pathname, bytes: 0, events: 0, status: 0 };
    const chunks = [];
    req.on('data', (c) => { entry.bytes += c.length; chunks.push(c); });
    const finished = new Promise((resolve) => req.on('end', () => { entry.end = now(); resolve(); }));

    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...corsHeaders(req),
        'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
        'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] || 'Content-Type',
        'Access-Control-Max-Age': '600',
      }).end();
      req.resume();
      entry.end = now();
      entry.status = 204;
      log.push(entry);
      return;
    }
    const { files, pages, api, delegate } = config;
    if (req.method === 'GET' && pages[url.pathname]) {
      const page = pages[url.pathname];
      const html = typeof page === 'function' ? page() : page;
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(html);
      entry.status = 200;
      entry.end = now();
      log.push(entry);
      return;
    }
    if (req.method === 'GET') {
      let file = files[url.pathname];
      if (!file) {
        const dir = Object.keys(files).find((p) => p.endsWith('/') && url.pathname.startsWith(p));
        if (dir && !url.pathname.includes('..')) file = path.join(files[dir], url.pathname.slice(dir.length));
      }
      if (file) {
        serveFile(res, file, req);
        entry.status = res.statusCode;
        entry.end = now();
        log.push(entry);
        return;
      }
    }
    // The demo collector reads the body itself; our 'data' listener sees the same chunks.
    if (delegate && delegate(req, res)) {
      res.on('finish', () => {
        finished.then(() => {
          entry.status = res.statusCode;
          record(entry, Buffer.concat(chunks), url);
        });
      });
      return;
    }
    finished.then(() => {
      const body = Buffer.concat(chunks);
      const answer = (api && api(req, url, body)) || { status: 200, type: 'application/json', body: '{}' };
      entry.status = answer.status || 200;
      res.writeHead(entry.status, {
        'Content-Type': answer.type || 'application/json',
        'Cache-Control': 'no-store',
        ...corsHeaders(req),
      });
      res.end(answer.body);
      record(entry, body, url);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = server.address().port;

  return {
    name,
    port,
    /** Sets what the server serves and answers (once its origin is known). */
    configure(options) {
      Object.assign(config, options);
    },
    origin: `http://127.0.0.1:${port}`,
    log,
    stats: (run) => runStats(run),
    /**
     * Resolves with the time (ms since epoch) the `count`-th distinct event of
     * `run` arrived, or null after `timeoutMs`, or once events have begun to
     * arrive and no new one has for `stallMs` (a tracker that has given up, or
     * dropped the rest).
     */
    waitFor(run, count, timeoutMs, stallMs = timeoutMs) {
      return new Promise((resolve) => {
        const r = runStats(run);
        let lastSize = -1;
        let stallTimer;
        const finish = (value) => {
          waiters.delete(check);
          clearTimeout(timer);
          clearTimeout(stallTimer);
          resolve(value);
        };
        const check = () => {
          const hit = r.progress.find(([size]) => size >= count);
          if (hit) return finish(hit[1]);
          if (r.ids.size !== lastSize && r.ids.size > 0) {
            lastSize = r.ids.size;
            clearTimeout(stallTimer);
            stallTimer = setTimeout(() => finish(null), stallMs);
          }
        };
        const timer = setTimeout(() => finish(null), timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
