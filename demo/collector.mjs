// A local stand-in for Firstparty's collection Domain (see
// ../shared/reference/http-api.txt and demo/README.md). Plain Node, no
// framework, so the demo and the browser suites depend on nothing else.
//
//   POST /events/track        one event object
//   POST /events/track/bulk   {"events": [ ... ]}
//   GET  /js/firstparty.min.js, /js/firstparty.min.js.map, /js/snippet.min.js
//
// Every well-formed request is answered 200 (as the API says); problems are
// recorded as rejected items for the debugger. Exceptions: 413 for a body over
// the cap, and whatever the fault switch says.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

/** The repository root: relative `dataDir` / `distDir` resolve against it, not the cwd. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export const TRACK_PATH = '/events/track';
export const BULK_PATH = '/events/track/bulk';

/** Every reason a rejected item can carry. */
export const REJECT_REASONS = Object.freeze([
  'malformed_json',
  'wrong_content_type',
  'body_not_object',
  'events_not_array',
  'event_not_object',
  'missing_write_key',
  'unknown_write_key',
  'missing_name',
  'name_not_string',
  'properties_not_object',
  'context_not_object',
  'event_too_large',
]);

const REASON_TEXT = {
  malformed_json: 'Body is not valid JSON',
  wrong_content_type: "Content-Type must be 'application/json'",
  body_not_object: 'Body must be a JSON object',
  events_not_array: 'Bulk body needs an "events" array',
  event_not_object: 'Event must be a JSON object',
  missing_write_key: 'Event has no write_key',
  unknown_write_key: 'write_key is not one this collector accepts',
  missing_name: 'Event has no name (nor the older "event")',
  name_not_string: 'Event name must be a string',
  properties_not_object: 'properties must be a JSON object',
  context_not_object: 'context must be a JSON object',
  event_too_large: 'Event is larger than maxEventBytes',
};

// Static files the collection Domain serves, as the snippet expects them.
const SCRIPTS = {
  '/js/firstparty.min.js': ['firstparty.min.js', 'text/javascript; charset=utf-8'],
  '/js/firstparty.min.js.map': ['firstparty.min.js.map', 'application/json; charset=utf-8'],
  '/js/snippet.min.js': ['snippet.min.js', 'text/javascript; charset=utf-8'],
  '/js/snippet.min.js.map': ['snippet.min.js.map', 'application/json; charset=utf-8'],
};

const PREVIEW_CHARS = 2048;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * `prefix` + `length` random base-62 characters (rejection sampling, so no bias).
 * Profile IDs are `PR` + 30 (Firstparty's format); session IDs `SE` + 30 (our choice).
 * @param {string} prefix
 * @param {number} [length=30]
 * @returns {string}
 */
export function randomId(prefix, length = 30) {
  let out = prefix;
  while (out.length < prefix.length + length) {
    for (const byte of crypto.randomBytes(length * 2)) {
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === prefix.length + length) break;
    }
  }
  return out;
}

/**
 * @typedef {object} CollectorOptions
 * @property {string} [dataDir='demo/data'] Where events.jsonl / rejected.jsonl live; relative paths resolve against the repo root.
 * @property {string[]} [writeKeys=['demo-write-key-01']] Write keys accepted; any other is an `unknown_write_key` rejection.
 * @property {number} [maxBodyBytes=1048576] Larger request bodies get 413 and nothing is stored.
 * @property {number} [maxEventBytes=32768] An event whose JSON is larger is rejected (`event_too_large`).
 * @property {string} [distDir='dist'] Where the built scripts are served from; relative to the repo root.
 * @property {number} [scriptDelayMs=0] Delay before answering /js/* (simulates a slow CDN).
 * @property {boolean} [log=false] One console line per track request.
 */

/**
 * @typedef {object} EventRecord  One accepted, distinct event.
 * @property {number} seq  Increases by one per stored record (events, duplicates, rejected share the counter).
 * @property {string} received_at  ISO time the collector received it.
 * @property {object} event  The event as sent, except `event` renamed to `name`.
 * @property {{profile_id?: string, session_id?: string}} assigned  IDs the collector filled in because the event had none (the event itself is left as sent).
 */

/**
 * @typedef {object} RequestRecord  One HTTP request to a track endpoint (preflights included).
 * @property {number} seq
 * @property {string} time  ISO time the request arrived.
 * @property {number} ms  Same, as epoch milliseconds.
 * @property {string} path
 * @property {string} method
 * @property {string|null} origin  The Origin header.
 * @property {string|null} content_type
 * @property {number} events  Events in the body (0 when it could not be parsed).
 * @property {number} bytes  Body bytes received.
 * @property {number|null} status  Status answered (null: hung or dropped).
 * @property {'503'|'hang'|'drop'|null} fault  The fault mode that answered it, if any.
 * @property {number} accepted
 * @property {number} duplicates
 * @property {number} rejected
 */

/**
 * @typedef {object} RejectedRecord
 * @property {number} seq
 * @property {string} received_at
 * @property {string} path
 * @property {string} reason  One of REJECT_REASONS.
 * @property {string} message
 * @property {number} [index]  Position in the bulk `events` array.
 * @property {unknown} [item]  What was rejected (a preview for bodies and oversized events).
 */

/**
 * @typedef {object} FaultState
 * @property {'off'|'503'|'hang'|'drop'} mode
 * @property {number} remaining  Track requests still to be faulted (Infinity: until turned off).
 * @property {number} [retryAfter]  Seconds sent as Retry-After with 503.
 */

/**
 * Create a collector. Loads what an earlier run stored under `dataDir`.
 * @param {CollectorOptions} [options]
 */
export function createCollector(options = {}) {
  const {
    dataDir = 'demo/data',
    writeKeys = ['demo-write-key-01'],
    maxBodyBytes = 1024 * 1024,
    maxEventBytes = 32 * 1024,
    distDir = 'dist',
    log = false,
  } = options;
  const dataPath = path.resolve(REPO_ROOT, dataDir);
  const distPath = path.resolve(REPO_ROOT, distDir);
  const eventsFile = path.join(dataPath, 'events.jsonl');
  const rejectedFile = path.join(dataPath, 'rejected.jsonl');
  const keys = new Set(writeKeys);

  let seq = 0;
  /** @type {EventRecord[]} */ let events = [];
  /** @type {Set<string>} */ let seenIds = new Set();
  /** @type {RejectedRecord[]} */ let rejected = [];
  /** @type {object[]} */ let duplicates = [];
  /** @type {RequestRecord[]} */ let requests = [];
  /** @type {FaultState} */ let faultState = { mode: 'off', remaining: 0 };
  let scriptDelayMs = Math.max(0, Number(options.scriptDelayMs) || 0);
  /** Requests held open by the 'hang' fault, and delayed script responses. */
  const held = new Set();
  const listeners = new Set();

  fs.mkdirSync(dataPath, { recursive: true });
  load();

  function load() {
    for (const rec of readJsonLines(eventsFile)) {
      if (!rec || typeof rec !== 'object' || !rec.event) continue;
      rec.seq = ++seq;
      events.push(rec);
      if (isDedupeKey(rec.event.event_id)) seenIds.add(rec.event.event_id);
    }
    for (const rec of readJsonLines(rejectedFile)) {
      if (!rec || typeof rec !== 'object' || !rec.reason) continue;
      rec.seq = ++seq;
      rejected.push(rec);
    }
  }

  /** @param {string} file */
  function readJsonLines(file) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if (err.code !== 'ENOENT') console.warn(`collector: cannot read ${file}: ${err.message}`);
      return [];
    }
    const out = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      // A crash mid-write can leave a torn last line; skip it rather than refuse to start.
      try { out.push(JSON.parse(line)); } catch { console.warn(`collector: skipped a corrupt line in ${file}`); }
    }
    return out;
  }

  function emit(type, record) {
    for (const fn of listeners) {
      try { fn({ type, record }); } catch (err) { console.warn('collector: listener threw', err); }
    }
  }

  // ---- HTTP -----------------------------------------------------------------

  /**
   * Route a request. Returns true when it is one of the collector's routes
   * (the response is then the collector's business), false otherwise.
   * @param {http.IncomingMessage} req
   * @param {http.ServerResponse} res
   * @returns {boolean}
   */
  function handle(req, res) {
    const url = new URL(req.url || '/', 'http://collector.invalid');
    const route = url.pathname;
    if (route === TRACK_PATH || route === BULK_PATH) {
      onTrack(req, res, route).catch((err) => internalError(res, err));
      return true;
    }
    if (Object.hasOwn(SCRIPTS, route)) {
      onScript(req, res, route, url).catch((err) => internalError(res, err));
      return true;
    }
    return false;
  }

  function internalError(res, err) {
    console.error('collector: internal error', err);
    try {
      if (!res.headersSent) sendJson(res, 500, { status: 'error', message: 'internal error' });
      else res.destroy();
    } catch { /* the socket is gone already */ }
  }

  /** CORS headers for a track endpoint: echo the Origin so credentialed requests (the fsid cookie) work. */
  function corsHeaders(req) {
    const origin = req.headers.origin;
    if (!origin) return { 'Access-Control-Allow-Origin': '*' };
    return {
      'Access-Control-Allow-Origin': origin,
      'Access-Control-Allow-Credentials': 'true',
      // Retry-After must be readable by a cross-origin script honouring it.
      'Access-Control-Expose-Headers': 'Retry-After',
      Vary: 'Origin',
    };
  }

  /**
   * @param {http.IncomingMessage} req
   * @param {http.ServerResponse} res
   * @param {string} route
   */
  async function onTrack(req, res, route) {
    const now = new Date();
    /** @type {RequestRecord} */
    const record = {
      seq: 0, time: now.toISOString(), ms: now.getTime(), path: route, method: req.method || '',
      origin: req.headers.origin ?? null, content_type: req.headers['content-type'] ?? null,
      events: 0, bytes: 0, status: null, fault: null, accepted: 0, duplicates: 0, rejected: 0,
    };
    const finish = (status) => {
      record.status = status;
      record.seq = ++seq;
      requests.push(record);
      emit('request', record);
      if (log) console.log(`collector: ${record.method} ${route} ${status ?? record.fault} events=${record.events} accepted=${record.accepted} dup=${record.duplicates} rejected=${record.rejected}`);
    };

    if (req.method === 'OPTIONS') {
      const headers = {
        ...corsHeaders(req),
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Content-Type',
        'Access-Control-Max-Age': '600',
        Vary: 'Origin',
      };
      // Chrome's Private Network Access asks this of loopback targets.
      if (req.headers['access-control-request-private-network'] === 'true') {
        headers['Access-Control-Allow-Private-Network'] = 'true';
      }
      res.writeHead(204, headers).end();
      req.resume();
      finish(204);
      return;
    }
    if (req.method !== 'POST') {
      req.resume();
      sendJson(res, 405, { status: 'error', message: 'Use POST' }, { Allow: 'POST, OPTIONS', ...corsHeaders(req) });
      finish(405);
      return;
    }

    // The fault switch comes first: a faulted request stores nothing.
    if (faultState.mode !== 'off' && faultState.remaining > 0) {
      const { mode, retryAfter } = faultState;
      if (--faultState.remaining <= 0) faultState = { mode: 'off', remaining: 0 };
      emit('fault', api.faultState());
      record.fault = mode;
      if (mode === 'drop') {
        finish(null);
        req.socket.destroy();
        return;
      }
      if (mode === 'hang') {
        const entry = { end: () => res.destroy() };
        held.add(entry);
        res.on('close', () => held.delete(entry));
        req.resume(); // let the upload finish; just never answer
        finish(null);
        return;
      }
      // 503: read the body first so the client sees the answer, not a broken upload.
      const body = await readBody(req, maxBodyBytes);
      record.bytes = body.bytes;
      if (body.aborted) return finish(null);
      record.events = countEvents(body.text, route);
      const headers = corsHeaders(req);
      if (retryAfter !== undefined) headers['Retry-After'] = String(retryAfter);
      sendJson(res, 503, { status: 'error', message: 'Service unavailable (fault switch)' }, headers);
      finish(503);
      return;
    }

    const body = await readBody(req, maxBodyBytes);
    record.bytes = body.bytes;
    if (body.aborted) return finish(null); // nothing stored: the client will resend
    if (body.tooLarge) {
      sendJson(res, 413, {
        status: 'error',
        message: `Request body is larger than ${maxBodyBytes} bytes; nothing was stored. Send fewer events per request.`,
      }, { ...corsHeaders(req), Connection: 'close' });
      finish(413);
      return;
    }

    const outcome = ingest(req, route, body.text, now);
    record.events = outcome.events;
    record.accepted = outcome.accepted;
    record.duplicates = outcome.duplicates;
    record.rejected = outcome.rejected;

    const headers = corsHeaders(req);
    if (outcome.setSession) headers['Set-Cookie'] = sessionCookie(req, outcome.setSession);
    /** @type {Record<string, unknown>} */
    const reply = { status: 'success', accepted: outcome.accepted, duplicates: outcome.duplicates, rejected: outcome.rejected };
    if (outcome.profileId) reply.profile_id = outcome.profileId;
    if (outcome.sessionId) reply.session_id = outcome.sessionId;
    sendJson(res, 200, reply, headers);
    finish(200);
  }

  /**
   * Validate, dedupe and store the events of one request body.
   * Valid events are stored even when others in the batch are rejected.
   */
  function ingest(req, route, text, now) {
    const receivedAt = now.toISOString();
    const out = { events: 0, accepted: 0, duplicates: 0, rejected: 0, profileId: '', sessionId: '', setSession: '' };
    const newEvents = [];
    const newRejected = [];
    const newDuplicates = [];
    const reject = (reason, extra = {}) => {
      newRejected.push({ seq: 0, received_at: receivedAt, path: route, reason, message: REASON_TEXT[reason], ...extra });
    };

    let items = [];
    const type = String(req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') {
      reject('wrong_content_type', { item: { content_type: req.headers['content-type'] ?? null, body_preview: preview(text) } });
    } else {
      let body;
      let parsed = false;
      try { body = JSON.parse(text); parsed = true; } catch (err) {
        reject('malformed_json', { item: { error: err.message, body_preview: preview(text) } });
      }
      if (parsed) {
        if (!isPlainObject(body)) reject('body_not_object', { item: body });
        else if (route === TRACK_PATH) items = [body];
        else if (!Array.isArray(body.events)) reject('events_not_array', { item: body });
        else items = body.events;
      }
    }
    out.events = items.length;

    // Firstparty joins events to a Session by the body's session_id or the fsid
    // cookie. IDs the collector has to create are created once per request and
    // shared by every event of it that lacked one (they come from one browser).
    const cookieSession = readCookie(req.headers.cookie, 'fsid');
    const batchIds = new Set();

    items.forEach((item, index) => {
      const at = route === BULK_PATH ? { index } : {};
      if (!isPlainObject(item)) return reject('event_not_object', { ...at, item });
      const { event: legacyName, ...rest } = item;
      const event = { ...rest, name: item.name !== undefined ? item.name : legacyName };
      if (event.write_key === undefined || event.write_key === null || event.write_key === '') return reject('missing_write_key', { ...at, item });
      if (typeof event.write_key !== 'string' || !keys.has(event.write_key)) return reject('unknown_write_key', { ...at, item });
      if (event.name === undefined || event.name === null || event.name === '') return reject('missing_name', { ...at, item });
      if (typeof event.name !== 'string') return reject('name_not_string', { ...at, item });
      if ('properties' in event && !isPlainObject(event.properties)) return reject('properties_not_object', { ...at, item });
      if ('context' in event && !isPlainObject(event.context)) return reject('context_not_object', { ...at, item });
      const size = Buffer.byteLength(JSON.stringify(event));
      if (size > maxEventBytes) {
        // Keep a summary, not the huge thing itself.
        return reject('event_too_large', { ...at, item: { name: event.name, event_id: event.event_id, bytes: size, max: maxEventBytes } });
      }
      const id = event.event_id;
      if (isDedupeKey(id) && (seenIds.has(id) || batchIds.has(id))) {
        newDuplicates.push({ seq: 0, received_at: receivedAt, event_id: id, name: event.name, event });
        return;
      }
      const assigned = {};
      if (typeof event.profile_id !== 'string' || !event.profile_id) {
        out.profileId ||= randomId('PR');
        assigned.profile_id = out.profileId;
      }
      if (typeof event.session_id !== 'string' || !event.session_id) {
        out.sessionId ||= cookieSession || randomId('SE');
        assigned.session_id = out.sessionId;
      }
      if (isDedupeKey(id)) batchIds.add(id);
      newEvents.push({ seq: 0, received_at: receivedAt, event, assigned });
    });
    // The cookie is set only when the collector created the session (no event
    // carried one): a library that sends session_id keeps its own fsid cookie,
    // which the collector must not shadow.
    if (!cookieSession && out.sessionId && /^[A-Za-z0-9_-]{1,128}$/.test(out.sessionId)) out.setSession = out.sessionId;

    // Write before updating memory: if the disk refuses, the request fails (500)
    // and the client retries, rather than us pretending it was stored.
    const strip = ({ seq: _seq, ...rest }) => rest;
    if (newEvents.length) fs.appendFileSync(eventsFile, newEvents.map((r) => JSON.stringify(strip(r)) + '\n').join(''));
    if (newRejected.length) fs.appendFileSync(rejectedFile, newRejected.map((r) => JSON.stringify(strip(r)) + '\n').join(''));
    for (const r of newEvents) {
      r.seq = ++seq;
      events.push(r);
      if (isDedupeKey(r.event.event_id)) seenIds.add(r.event.event_id);
      emit('event', r);
    }
    for (const r of newDuplicates) { r.seq = ++seq; duplicates.push(r); emit('duplicate', r); }
    for (const r of newRejected) { r.seq = ++seq; rejected.push(r); emit('rejected', r); }
    out.accepted = newEvents.length;
    out.duplicates = newDuplicates.length;
    out.rejected = newRejected.length;
    return out;
  }

  /**
   * `fsid` is a browser-session cookie (no Expires). SameSite=None needs Secure,
   * which plain http cannot have, so on http we use Lax (it then reaches the
   * collector only from same-site pages); behind TLS, None; Secure. Not
   * HttpOnly: the page's script shares this cookie (it keeps the session ID in
   * `fsid` too), and an HttpOnly cookie would hide it from the script.
   */
  function sessionCookie(req, id) {
    const https = /** @type {any} */ (req.socket).encrypted || req.headers['x-forwarded-proto'] === 'https';
    return `fsid=${id}; Path=/; ${https ? 'SameSite=None; Secure' : 'SameSite=Lax'}`;
  }

  async function onScript(req, res, route, url) {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      req.resume();
      sendJson(res, 405, { status: 'error', message: 'Use GET' }, { Allow: 'GET, HEAD' });
      return;
    }
    req.resume();
    const delay = url.searchParams.has('delay') ? Math.max(0, Number(url.searchParams.get('delay')) || 0) : scriptDelayMs;
    if (delay > 0) {
      const ok = await new Promise((resolve) => {
        const entry = { end: () => { clearTimeout(timer); resolve(false); res.destroy(); } };
        const timer = setTimeout(() => { held.delete(entry); resolve(true); }, delay);
        held.add(entry);
      });
      if (!ok || res.destroyed) return;
    }
    const [file, type] = SCRIPTS[route];
    let content;
    try {
      content = await fs.promises.readFile(path.join(distPath, file));
    } catch {
      sendText(res, 404, `${path.join(distDir, file)} does not exist yet: run \`npm run build\` first.\n`, { 'Access-Control-Allow-Origin': '*' });
      return;
    }
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': content.length,
      // Served fresh every time so a rebuild shows up on reload.
      'Cache-Control': 'no-store',
      'Access-Control-Allow-Origin': '*',
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : content);
  }

  // ---- programmatic API -----------------------------------------------------

  function endHeld() {
    for (const entry of held) { try { entry.end(); } catch { /* already gone */ } }
    held.clear();
  }

  /**
   * Resolve with events() once at least `count` distinct events are stored.
   * @param {number} count
   * @param {number} [timeoutMs=10000]
   * @returns {Promise<EventRecord[]>}
   */
  function waitForEvents(count, timeoutMs = 10_000) {
    return new Promise((resolve, reject) => {
      if (events.length >= count) return resolve(api.events());
      const timer = setTimeout(() => {
        off();
        reject(new Error(`waitForEvents: ${events.length} of ${count} events after ${timeoutMs} ms`));
      }, timeoutMs);
      const off = subscribe(() => {
        if (events.length >= count) { clearTimeout(timer); off(); resolve(api.events()); }
      });
    });
  }

  /**
   * Listen to changes: `{type: 'event'|'duplicate'|'rejected'|'request'|'clear'|'fault', record}`.
   * @param {(change: {type: string, record: unknown}) => void} fn
   * @returns {() => void} unsubscribe
   */
  function subscribe(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
  }

  const api = {
    handle,
    /** Accepted distinct events, oldest first. @returns {EventRecord[]} */
    events: () => structuredClone(events),
    /** One record per request to a track endpoint, oldest first. @returns {RequestRecord[]} */
    requests: () => structuredClone(requests),
    /** Number of re-sent events dropped because their event_id was stored already. */
    duplicates: () => duplicates.length,
    /** The dropped re-sends themselves: `{seq, received_at, event_id, name, event}`. */
    duplicateList: () => structuredClone(duplicates),
    /** Rejected items with their reason, oldest first. @returns {RejectedRecord[]} */
    rejected: () => structuredClone(rejected),
    /**
     * Fault the next `count` POSTs to the track endpoints (preflights are never
     * faulted). `{mode: 'off'}` turns it off. Returns the new state.
     * @param {{mode: 'off'|'503'|'hang'|'drop', count?: number, retryAfter?: number}} spec
     * @returns {FaultState}
     */
    fault(spec) {
      const mode = String(spec?.mode ?? 'off');
      if (!['off', '503', 'hang', 'drop'].includes(mode)) throw new TypeError(`fault mode must be off, 503, hang or drop, not ${mode}`);
      const count = spec?.count === undefined ? 1 : Number(spec.count);
      if (mode === 'off' || !(count > 0)) {
        faultState = { mode: 'off', remaining: 0 };
      } else {
        faultState = { mode: /** @type {any} */ (mode), remaining: count };
        // retryAfter may come from a form as a string; '' / null mean none.
        const retry = /** @type {unknown} */ (spec?.retryAfter);
        if (mode === '503' && retry !== undefined && retry !== null && retry !== '' && Number(retry) >= 0) {
          faultState.retryAfter = Math.round(Number(retry));
        }
      }
      emit('fault', api.faultState());
      return api.faultState();
    },
    /** @returns {FaultState} */
    faultState: () => ({ ...faultState }),
    /** Delay every /js/* response by `ms` (0 turns it off). A `?delay=ms` query overrides it per request. */
    setScriptDelay(ms) { scriptDelayMs = Math.max(0, Number(ms) || 0); },
    /** Forget everything: memory and files, dedupe set, fault, script delay; hung requests are ended. */
    clear() {
      endHeld();
      events = []; seenIds = new Set(); rejected = []; duplicates = []; requests = [];
      faultState = { mode: 'off', remaining: 0 };
      scriptDelayMs = 0;
      fs.mkdirSync(dataPath, { recursive: true });
      fs.writeFileSync(eventsFile, '');
      fs.writeFileSync(rejectedFile, '');
      emit('clear', null);
    },
    /** End hung requests and delayed scripts; stored data stays on disk. */
    close() {
      endHeld();
      listeners.clear();
    },
    subscribe,
    waitForEvents,
    /** Resolved paths, for display. */
    paths: { dataDir: dataPath, distDir: distPath, eventsFile, rejectedFile },
    /**
     * Convenience: an http.Server with only the collector routes (404 otherwise).
     * @param {number} [port=0]
     * @param {string} [host='127.0.0.1']
     * @returns {Promise<{port: number, url: string, server: http.Server, close: () => Promise<void>}>}
     */
    listen(port = 0, host = '127.0.0.1') {
      const server = http.createServer((req, res) => {
        if (!handle(req, res)) sendText(res, 404, 'Not found\n');
      });
      return listenOn(server, port, host).then((actual) => ({
        port: actual,
        url: `http://${host}:${actual}`,
        server,
        close: () => { api.close(); return closeServer(server); },
      }));
    },
  };
  return api;
}

// ---- helpers (exported for server.mjs) ---------------------------------------

/**
 * Read a request body up to `limit` bytes. Past the limit the rest is read and
 * discarded (so the client gets to see the 413 instead of a reset), up to 16×
 * the limit, after which the connection is cut.
 * @param {http.IncomingMessage} req
 * @param {number} limit
 * @returns {Promise<{text: string, bytes: number, tooLarge: boolean, aborted: boolean}>}
 */
export function readBody(req, limit) {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    const chunks = [];
    let bytes = 0;
    let tooLarge = Number.isFinite(declared) && declared > limit;
    req.on('data', (chunk) => {
      bytes += chunk.length;
      if (bytes > limit) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
      else if (bytes > limit * 16) req.socket.destroy();
    });
    req.on('end', () => resolve({ text: tooLarge ? '' : Buffer.concat(chunks).toString('utf8'), bytes, tooLarge, aborted: false }));
    // The client went away mid-upload (or we cut it off): nothing to answer.
    req.on('close', () => { if (!req.complete) resolve({ text: '', bytes, tooLarge, aborted: true }); });
    req.on('error', () => { if (!req.complete) resolve({ text: '', bytes, tooLarge, aborted: true }); });
  });
}

function countEvents(text, route) {
  try {
    const body = JSON.parse(text);
    if (route === TRACK_PATH) return isPlainObject(body) ? 1 : 0;
    return Array.isArray(body?.events) ? body.events.length : 0;
  } catch { return 0; }
}

function isPlainObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isDedupeKey(id) {
  return typeof id === 'string' && id !== '';
}

function preview(text) {
  return text.length > PREVIEW_CHARS ? text.slice(0, PREVIEW_CHARS) + '…' : text;
}

/** @param {string|undefined} header */
export function readCookie(header, name) {
  for (const part of String(header || '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return '';
}

/** @param {http.ServerResponse} res */
export function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store', ...headers });
  res.end(text);
}

/** @param {http.ServerResponse} res */
export function sendText(res, status, text, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store', ...headers });
  res.end(text);
}

/** @returns {Promise<number>} the port actually bound */
export function listenOn(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(/** @type {import('node:net').AddressInfo} */ (server.address()).port);
    });
  });
}

/** Close a server and every connection it holds (keep-alive, SSE). */
export function closeServer(server) {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
