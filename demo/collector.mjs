// A local stand-in for Firstparty's collection Domain (demo/README.md states
// the rules it follows). Plain Node, no framework, so the demo and the browser
// suites depend on nothing else. This file owns the HTTP side and the state;
// validate.mjs decides what is accepted, ring.mjs bounds what is kept,
// limits.mjs holds the limits, cors.mjs and cookies.mjs say how answers look.
//
//   POST /events/track        one event object
//   POST /events/track/bulk   {"events": [ ... ]}
//   GET  /js/firstparty.min.js, /js/firstparty.min.js.map, /js/snippet.min.js
//
// Every well-formed request is answered 200 (as the API says); problems are
// recorded as rejected items for the debugger and listed in the answer.
// Exceptions: 413 for a body over the cap, and whatever the fault switch says.

import http from 'node:http';
import zlib from 'node:zlib';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { LIMITS, deeperThan, jsonCopy, keepable } from './limits.mjs';
import { createRing, createSeenIds } from './ring.mjs';
import { corsHeaders, corsStyle, preflightHeaders } from './cors.mjs';
import { SESSION_MAX_AGE, identityCookies, readCookie, sessionCookie } from './cookies.mjs';
import { requestUrl } from './requestUrl.mjs';
import {
  BULK_PATH, REASON_TEXT, TRACK_PATH, bodyItems, carriedBy, checkEvent, isPlainObject, summary,
} from './validate.mjs';

export { BULK_PATH, REJECT_REASONS, TRACK_PATH } from './validate.mjs';
export { LIMITS } from './limits.mjs';
export { CORS_STYLES } from './cors.mjs';
export { readCookie } from './cookies.mjs';

/** The repository root: relative `dataDir` / `distDir` resolve against it, not the cwd. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

// Static files the collection Domain serves, as the snippet expects them.
// (The snippet has no source map: the build writes none.) The script's map is
// named by a `SourceMap` header (DevTools read it), not by a comment in the
// script, which every visitor would download (23 B brotli).
const SCRIPTS = {
  '/js/firstparty.min.js': ['firstparty.min.js', 'text/javascript; charset=utf-8', '/js/firstparty.min.js.map'],
  '/js/firstparty.min.js.map': ['firstparty.min.js.map', 'application/json; charset=utf-8'],
  '/js/snippet.min.js': ['snippet.min.js', 'text/javascript; charset=utf-8'],
};

/** Every path the collector answers: what a proxy in front of it forwards (proxy.mjs). */
export const COLLECTOR_ROUTES = Object.freeze([TRACK_PATH, BULK_PATH, ...Object.keys(SCRIPTS)]);

const FAULT_MODES = ['off', '503', 'hang', 'drop'];
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * `prefix` + `length` random base-62 characters (rejection sampling, so no bias).
 * Profile IDs are `PR` + 30 (Firstparty's format); session IDs `SE` + 20 (our choice, as the library's).
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
 * @property {string} [distDir='dist'] Where the built scripts are served from; relative to the repo root.
 * @property {number} [scriptDelayMs=0] Delay before answering /js/* (simulates a slow CDN); capped at maxScriptDelayMs.
 * @property {boolean} [log=false] One console line per track request.
 * @property {'credentials'|'echo'|'wildcard'} [cors='credentials'] How track endpoints answer CORS (cors.mjs): echo the Origin with Allow-Credentials, echo it without, or `*`.
 * @property {boolean|'proxied'} [serverCookie=false] Refresh `fpid`/`fsid` with Set-Cookie on every 200 track answer (cookies.mjs identityCookies); 'proxied': only on requests that came through a proxy (they carry X-Forwarded-For).
 * @property {number} [sessionTimeoutSeconds=1800] Max-Age of the `fsid` cookie the serverCookie option sets: the library's session timeout.
 * @property {string} [cookieDomain] Domain attribute of the serverCookie cookies (default: none, a host-only cookie).
 * @property {number} [maxBodyBytes] and every other key of LIMITS (limits.mjs): a positive number (Infinity allowed) overriding that limit.
 */

/**
 * @typedef {object} EventRecord  One accepted, distinct event.
 * @property {number} seq  Increases by one per stored record (events, duplicates, rejected, requests share the counter).
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
 * @property {{name?: string, event_id?: string}[]} [carried]  Faulted requests only: the first 20 events they carried (nothing of them was stored).
 */

/**
 * @typedef {object} RejectedRecord
 * @property {number} seq
 * @property {string} received_at
 * @property {string} path
 * @property {string} reason  One of REJECT_REASONS.
 * @property {string} message
 * @property {number} [index]  Position in the bulk `events` array.
 * @property {unknown} [item]  What was rejected: itself when small and shallow, else a summary (limits.mjs keepable()).
 */

/**
 * @typedef {object} Rejection  One entry of a track answer's `rejections`.
 * @property {number} [index]  Position in the bulk `events` array; absent on /events/track and when the whole body was refused.
 * @property {string} [event_id]  The rejected event's event_id, when it had a string one (cut to 200 characters).
 * @property {string} reason  One of REJECT_REASONS.
 * @property {string} message
 */

/**
 * @typedef {object} FaultState
 * @property {'off'|'503'|'hang'|'drop'} mode
 * @property {number} remaining  Track requests still to be faulted (Infinity: until turned off).
 * @property {number} [retryAfter]  Seconds sent as Retry-After with 503.
 */

/**
 * @typedef {{since?: number, last?: number}} ListOptions
 * Only records with `seq > since`, and of those the newest `last`; oldest first.
 */

/**
 * Create a collector. Loads what an earlier run stored under `dataDir`.
 * @param {CollectorOptions} [options]
 */
export function createCollector(options = {}) {
  const ctx = createState(options);
  loadStored(ctx);
  const view = (ring, opts) => select(ring.list(), opts);

  const api = {
    handle: (req, res) => handle(ctx, req, res),
    /** Accepted distinct events kept (the newest maxEvents), oldest first. @param {ListOptions} [opts] @returns {EventRecord[]} */
    events: (opts) => view(ctx.events, opts),
    /** One record per request to a track endpoint (the newest maxRequests), oldest first. @param {ListOptions} [opts] @returns {RequestRecord[]} */
    requests: (opts) => view(ctx.requests, opts),
    /** Number of re-sent events dropped because their event_id was seen already (since start or clear()). */
    duplicates: () => ctx.totals.duplicates,
    /** The dropped re-sends kept (the newest maxDuplicates): `{seq, received_at, event_id, name, event}`. @param {ListOptions} [opts] */
    duplicateList: (opts) => view(ctx.duplicates, opts),
    /** Rejected items kept (the newest maxRejected) with their reason, oldest first. @param {ListOptions} [opts] @returns {RejectedRecord[]} */
    rejected: (opts) => view(ctx.rejected, opts),
    /** How many events, duplicates, rejected items and requests arrived since start (those kept on disk) or clear(), evicted ones included. */
    totals: () => ({ ...ctx.totals }),
    /** The limits in force (LIMITS with the options applied). */
    limits: Object.freeze({ ...ctx.limits }),
    /** The write keys accepted. @returns {string[]} */
    writeKeys: () => [...ctx.keys],
    /**
     * Fault the next `count` POSTs to the track endpoints (preflights are never
     * faulted). `{mode: 'off'}` turns it off. Returns the new state.
     * @param {{mode: 'off'|'503'|'hang'|'drop', count?: number, retryAfter?: number}} spec
     * @returns {FaultState}
     */
    fault(spec) {
      ctx.fault = parseFault(spec);
      emit(ctx, 'fault', api.faultState());
      return api.faultState();
    },
    /** @returns {FaultState} */
    faultState: () => ({ ...ctx.fault }),
    /** Delay every /js/* response by `ms` (0 turns it off; capped at maxScriptDelayMs). A `?delay=ms` query overrides it per request. */
    setScriptDelay(ms) { ctx.scriptDelayMs = scriptDelay(ctx, ms); },
    /**
     * Forget what was stored (memory and files), switch off the fault and the
     * script delay, and end every request still in flight: a request that
     * arrived before clear() stores nothing after it. The event_ids seen are
     * kept (up to maxSeenIds), so a late re-send of an event stored before
     * counts as a duplicate instead of reappearing.
     */
    clear() {
      ctx.generation++;
      endHeld(ctx);
      fs.mkdirSync(ctx.paths.dataDir, { recursive: true });
      for (const ring of [ctx.events, ctx.rejected, ctx.duplicates, ctx.requests]) ring.clear();
      ctx.totals = { events: 0, duplicates: 0, rejected: 0, requests: 0 };
      ctx.fault = { mode: 'off', remaining: 0 };
      ctx.scriptDelayMs = 0;
      emit(ctx, 'clear', null);
    },
    /** End requests in flight and delayed scripts, drop subscribers; stored data stays on disk. */
    close() {
      endHeld(ctx);
      ctx.listeners.clear();
    },
    /**
     * Listen to changes: `{type: 'event'|'duplicate'|'rejected'|'request'|'clear'|'fault', record}`.
     * @param {(change: {type: string, record: unknown}) => void} fn
     * @returns {() => void} unsubscribe
     */
    subscribe: (fn) => subscribe(ctx, fn),
    /**
     * Resolve with events() once at least `count` distinct events are kept.
     * @param {number} count
     * @param {number} [timeoutMs=10000]
     * @returns {Promise<EventRecord[]>}
     */
    waitForEvents(count, timeoutMs = 10_000) {
      const kept = () => ctx.events.list().length;
      return new Promise((resolve, reject) => {
        if (kept() >= count) return resolve(api.events());
        const timer = setTimeout(() => {
          off();
          reject(new Error(`waitForEvents: ${kept()} of ${count} events after ${timeoutMs} ms`));
        }, timeoutMs);
        const off = subscribe(ctx, () => {
          if (kept() >= count) { clearTimeout(timer); off(); resolve(api.events()); }
        });
      });
    },
    /** Resolved paths, for display. */
    paths: ctx.paths,
    /**
     * Convenience: an http.Server with only the collector routes (404 otherwise).
     * @param {number} [port=0]
     * @param {string} [host='127.0.0.1']
     * @returns {Promise<{port: number, url: string, server: http.Server, close: () => Promise<void>}>}
     */
    listen(port = 0, host = '127.0.0.1') {
      const server = http.createServer((req, res) => {
        if (!handle(ctx, req, res)) sendText(res, 404, 'Not found\n');
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

// ---- state ------------------------------------------------------------------

/** @param {CollectorOptions} options */
function createState(options) {
  const { dataDir = 'demo/data', writeKeys = ['demo-write-key-01'], distDir = 'dist', log = false } = options;
  const cookies = cookieOptions(options);
  /** @type {Record<keyof typeof LIMITS, number>} */
  const limits = /** @type {any} */ ({});
  for (const [key, fallback] of Object.entries(LIMITS)) {
    const given = /** @type {Record<string, unknown>} */ (options)[key];
    if (given !== undefined && !(typeof given === 'number' && given > 0)) throw new TypeError(`collector option ${key} must be a positive number, not ${String(given)}`);
    limits[key] = given ?? fallback;
  }
  const dataPath = path.resolve(REPO_ROOT, dataDir);
  const paths = {
    dataDir: dataPath,
    distDir: path.resolve(REPO_ROOT, distDir),
    eventsFile: path.join(dataPath, 'events.jsonl'),
    rejectedFile: path.join(dataPath, 'rejected.jsonl'),
  };
  fs.mkdirSync(dataPath, { recursive: true });
  const withoutSeq = ({ seq: _seq, ...rest }) => JSON.stringify(rest);
  const ctx = {
    limits, log, distDir, paths, cookies,
    cors: corsStyle(options.cors),
    keys: new Set(writeKeys),
    seq: 0,
    /** Increased by clear(): a request that arrived under an older one stores and logs nothing. */
    generation: 0,
    events: createRing({ max: limits.maxEvents, maxBytes: limits.maxStoredBytes, file: paths.eventsFile, toLine: withoutSeq }),
    rejected: createRing({ max: limits.maxRejected, file: paths.rejectedFile, toLine: withoutSeq }),
    duplicates: createRing({ max: limits.maxDuplicates }),
    requests: createRing({ max: limits.maxRequests }),
    seen: createSeenIds(limits.maxSeenIds),
    totals: { events: 0, duplicates: 0, rejected: 0, requests: 0 },
    /** @type {FaultState} */ fault: { mode: 'off', remaining: 0 },
    scriptDelayMs: 0,
    /** Track requests not answered yet (hung ones included) and delayed scripts: `{end()}` each. */
    held: new Set(),
    listeners: new Set(),
  };
  ctx.scriptDelayMs = scriptDelay(ctx, options.scriptDelayMs);
  return ctx;
}

/**
 * The serverCookie options checked: `{mode, sessionMaxAge, domain}`; a bad
 * value throws, as a bad limit does.
 * @param {CollectorOptions} options
 */
function cookieOptions({ serverCookie = false, sessionTimeoutSeconds = SESSION_MAX_AGE, cookieDomain }) {
  if (![true, false, 'proxied'].includes(serverCookie)) throw new TypeError(`collector option serverCookie must be true, false or 'proxied', not ${String(serverCookie)}`);
  if (!(typeof sessionTimeoutSeconds === 'number' && sessionTimeoutSeconds > 0 && Number.isFinite(sessionTimeoutSeconds))) {
    throw new TypeError(`collector option sessionTimeoutSeconds must be a positive number, not ${String(sessionTimeoutSeconds)}`);
  }
  if (cookieDomain !== undefined && !(typeof cookieDomain === 'string' && /^[A-Za-z0-9.-]+$/.test(cookieDomain))) {
    throw new TypeError(`collector option cookieDomain must be a domain name, not ${String(cookieDomain)}`);
  }
  return { mode: serverCookie, sessionMaxAge: Math.round(sessionTimeoutSeconds), domain: cookieDomain };
}

/**
 * Read back what an earlier run stored. A record over the depth limit (an
 * older version stored such events, which then broke every snapshot) is
 * skipped, and the file rewritten without it.
 */
function loadStored(ctx) {
  const { limits } = ctx;
  const skippedEvents = ctx.events.load((rec) => {
    // The record wraps the event: one level more.
    if (!isPlainObject(rec) || !isPlainObject(rec.event) || deeperThan(rec, limits.maxEventDepth + 1)) return null;
    rec.seq = ++ctx.seq;
    return rec;
  });
  for (const rec of ctx.events.list()) {
    if (isDedupeKey(rec.event.event_id)) ctx.seen.add(rec.event.event_id);
  }
  const skippedRejected = ctx.rejected.load((rec) => {
    if (!isPlainObject(rec) || typeof rec.reason !== 'string') return null;
    if ('item' in rec) rec.item = keepable(rec.item, limits.maxEventDepth);
    rec.seq = ++ctx.seq;
    return rec;
  });
  if (skippedEvents) console.warn(`collector: skipped ${skippedEvents} unreadable or over-limit line(s) of ${ctx.paths.eventsFile}`);
  if (skippedRejected) console.warn(`collector: skipped ${skippedRejected} unreadable line(s) of ${ctx.paths.rejectedFile}`);
  ctx.totals.events = ctx.events.list().length;
  ctx.totals.rejected = ctx.rejected.list().length;
}

function emit(ctx, type, record) {
  for (const fn of ctx.listeners) {
    try { fn({ type, record }); } catch (err) { console.warn('collector: listener threw', err); }
  }
}

function subscribe(ctx, fn) {
  ctx.listeners.add(fn);
  return () => ctx.listeners.delete(fn);
}

function endHeld(ctx) {
  for (const entry of ctx.held) { try { entry.end(); } catch { /* already gone */ } }
  ctx.held.clear();
}

/**
 * Copies of the records of `list` (in seq order) with `seq > since`, the newest `last` of them.
 * @param {{seq: number}[]} list
 * @param {ListOptions} [opts]
 */
function select(list, { since = 0, last = Infinity } = {}) {
  let start = list.length;
  while (start > 0 && list[start - 1].seq > since && list.length - start < last) start--;
  return list.slice(start).map(jsonCopy);
}

/** @returns {FaultState} */
function parseFault(spec) {
  const mode = String(spec?.mode ?? 'off');
  if (!FAULT_MODES.includes(mode)) throw new TypeError(`fault mode must be off, 503, hang or drop, not ${mode}`);
  if (mode === 'off') return { mode: 'off', remaining: 0 };
  const count = spec?.count === undefined ? 1 : spec.count;
  if (typeof count !== 'number' || !(count > 0)) throw new TypeError(`fault count must be a positive number, not ${String(count)}`);
  /** @type {FaultState} */
  const state = { mode: /** @type {any} */ (mode), remaining: count };
  // retryAfter may come from a form: '' / null mean none.
  const retry = spec?.retryAfter;
  if (retry === undefined || retry === null || retry === '') return state;
  if (mode === '503') {
    if (!(Number(retry) >= 0) || !Number.isFinite(Number(retry))) throw new TypeError(`retryAfter must be a number of seconds ≥ 0, not ${String(retry)}`);
    state.retryAfter = Math.round(Number(retry));
  }
  return state;
}

/** The fault for a request arriving now, if any (the switch counts down). */
function takeFault(ctx) {
  if (ctx.fault.mode === 'off' || !(ctx.fault.remaining > 0)) return null;
  const { mode, retryAfter } = ctx.fault;
  if (--ctx.fault.remaining <= 0) ctx.fault = { mode: 'off', remaining: 0 };
  emit(ctx, 'fault', { ...ctx.fault });
  return { mode, retryAfter };
}

/** A script delay in ms, capped at maxScriptDelayMs (a bad value is 0). */
function scriptDelay(ctx, ms) {
  return Math.min(ctx.limits.maxScriptDelayMs, Math.max(0, Number(ms) || 0));
}

function isDedupeKey(id) {
  return typeof id === 'string' && id !== '';
}

// ---- HTTP -----------------------------------------------------------------

/**
 * Route a request. Returns true when it is one of the collector's routes
 * (the response is then the collector's business), false otherwise.
 * @param {http.IncomingMessage} req
 * @param {http.ServerResponse} res
 * @returns {boolean}
 */
function handle(ctx, req, res) {
  const url = requestUrl(req, 'http://collector.invalid');
  const route = url.pathname;
  if (route === TRACK_PATH || route === BULK_PATH) {
    onTrack(ctx, req, res, route).catch((err) => internalError(res, err));
    return true;
  }
  if (Object.hasOwn(SCRIPTS, route)) {
    onScript(ctx, req, res, route, url).catch((err) => internalError(res, err));
    return true;
  }
  return false;
}

/**
 * Answer 500 (or cut the connection when the answer had begun) after an
 * unexpected error, which is logged.
 * @param {http.ServerResponse} res
 * @param {unknown} err
 */
export function internalError(res, err) {
  console.error('collector: internal error', err);
  try {
    if (!res.headersSent) sendJson(res, 500, { status: 'error', message: 'internal error' });
    else res.destroy();
  } catch { /* the socket is gone already */ }
}

/**
 * The Set-Cookie header of a 200 track answer: with the serverCookie option
 * (for this request), `fpid` and `fsid` refreshed; otherwise `fsid` only when
 * the collector created the session.
 * @returns {string[]|string|undefined}
 */
function setCookie(ctx, req, outcome) {
  const { mode, sessionMaxAge, domain } = ctx.cookies;
  if (mode === true || (mode === 'proxied' && req.headers['x-forwarded-for'] !== undefined)) {
    const lines = identityCookies(req, { profileId: outcome.lastProfile, sessionId: outcome.lastSession }, { sessionMaxAge, domain });
    return lines.length ? lines : undefined;
  }
  return outcome.setSession ? sessionCookie(req, outcome.setSession) : undefined;
}

/**
 * @param {http.IncomingMessage} req
 * @param {http.ServerResponse} res
 * @param {string} route
 */
async function onTrack(ctx, req, res, route) {
  const now = new Date();
  const generation = ctx.generation;
  /** @type {RequestRecord} */
  const record = {
    seq: 0, time: now.toISOString(), ms: now.getTime(), path: route, method: req.method || '',
    origin: req.headers.origin ?? null, content_type: req.headers['content-type'] ?? null,
    events: 0, bytes: 0, status: null, fault: null, accepted: 0, duplicates: 0, rejected: 0,
  };
  const finish = (status) => {
    record.status = status;
    // Arrived before a clear(): not part of the log that follows it.
    if (generation !== ctx.generation) return;
    record.seq = ++ctx.seq;
    ctx.requests.push([record]);
    ctx.totals.requests++;
    emit(ctx, 'request', record);
    if (ctx.log) console.log(`collector: ${record.method} ${route} ${status ?? record.fault} events=${record.events} accepted=${record.accepted} dup=${record.duplicates} rejected=${record.rejected}`);
  };

  if (req.method === 'OPTIONS') {
    res.writeHead(204, preflightHeaders(ctx.cors, req)).end();
    req.resume();
    finish(204);
    return;
  }
  if (req.method !== 'POST') {
    req.resume();
    sendJson(res, 405, { status: 'error', message: 'Use POST' }, { Allow: 'POST, OPTIONS', ...corsHeaders(ctx.cors, req) });
    finish(405);
    return;
  }

  // Held from arrival until answered, so that clear() and close() can end it.
  const entry = { end: () => res.destroy() };
  ctx.held.add(entry);
  res.on('close', () => ctx.held.delete(entry));
  // The fault switch is consulted on arrival; a faulted request stores nothing.
  const fault = takeFault(ctx);
  const body = await readBody(req, ctx.limits.maxBodyBytes);
  record.bytes = body.bytes;
  if (generation !== ctx.generation) {
    res.destroy(); // cleared while it was uploading: the client will resend
    return;
  }
  if (fault) return answerFault(ctx, req, res, route, fault, body, record, finish);
  if (body.aborted) return finish(null); // nothing stored: the client will resend
  if (body.tooLarge) {
    sendJson(res, 413, {
      status: 'error',
      message: `Request body is larger than ${ctx.limits.maxBodyBytes} bytes; nothing was stored. Send fewer events per request.`,
    }, { ...corsHeaders(ctx.cors, req), Connection: 'close' });
    finish(413);
    return;
  }

  const outcome = ingest(ctx, req, route, body.text, now);
  record.events = outcome.events;
  record.accepted = outcome.accepted;
  record.duplicates = outcome.duplicates;
  record.rejected = outcome.rejected;

  /** @type {Record<string, string|string[]>} */
  const headers = corsHeaders(ctx.cors, req);
  const cookies = setCookie(ctx, req, outcome);
  if (cookies) headers['Set-Cookie'] = cookies;
  /** @type {Record<string, unknown>} */
  const reply = { status: 'success', accepted: outcome.accepted, duplicates: outcome.duplicates, rejected: outcome.rejected };
  if (outcome.rejections.length) reply.rejections = outcome.rejections;
  if (outcome.profileId) reply.profile_id = outcome.profileId;
  if (outcome.sessionId) reply.session_id = outcome.sessionId;
  sendJson(res, 200, reply, headers);
  finish(200);
}

/**
 * Answer a request the fault switch picked, after its body was read, so that
 * its log entry says what it carried.
 */
function answerFault(ctx, req, res, route, { mode, retryAfter }, body, record, finish) {
  record.fault = mode;
  if (!body.tooLarge) Object.assign(record, carriedBy(body.text, route));
  if (mode === 'drop') {
    finish(null);
    req.socket.destroy();
    return;
  }
  // hang: never answered; clear(), close() or the client giving up ends it.
  if (mode === 'hang' || body.aborted) return finish(null);
  const headers = corsHeaders(ctx.cors, req);
  if (retryAfter !== undefined) headers['Retry-After'] = String(retryAfter);
  sendJson(res, 503, { status: 'error', message: 'Service unavailable (fault switch)' }, headers);
  finish(503);
}

/**
 * Validate, dedupe and store the events of one request body.
 * Valid events are stored even when others in the batch are rejected.
 */
function ingest(ctx, req, route, text, now) {
  const { limits } = ctx;
  const receivedAt = now.toISOString();
  const out = {
    events: 0, accepted: 0, duplicates: 0, rejected: 0, profileId: '', sessionId: '', setSession: '',
    /** The IDs of the last event accepted, as sent or as assigned (serverCookie). */
    lastProfile: '', lastSession: '',
    rejections: /** @type {Rejection[]} */ ([]),
  };
  const newEvents = [];
  const newRejected = [];
  const newDuplicates = [];
  /** @param {{reason: string, item?: unknown}} refusal @param {number} [index] @param {unknown} [given] */
  const reject = ({ reason, item }, index, given) => {
    const message = REASON_TEXT[reason];
    const at = index === undefined ? {} : { index };
    newRejected.push({ seq: 0, received_at: receivedAt, path: route, reason, message, ...at, ...(item === undefined ? {} : { item }) });
    if (out.rejections.length >= limits.maxAnswerRejections) return;
    const { event_id } = isPlainObject(given) ? summary(/** @type {object} */ (given)) : {};
    out.rejections.push({ ...at, ...(event_id === undefined ? {} : { event_id }), reason, message });
  };

  const body = bodyItems(req.headers['content-type'], route, text, limits);
  const items = 'items' in body ? body.items : [];
  if (!('items' in body)) reject(body);
  out.events = items.length;

  // Firstparty joins events to a Session by the body's session_id or the fsid
  // cookie. IDs the collector has to create are created once per request and
  // shared by every event of it that lacked one (they come from one browser).
  const cookieSession = readCookie(req.headers.cookie, 'fsid');
  const batchIds = new Set();

  items.forEach((item, index) => {
    const checked = checkEvent(item, ctx.keys, limits);
    if (!('event' in checked)) return reject(checked, route === BULK_PATH ? index : undefined, item);
    const { event } = checked;
    const id = event.event_id;
    if (isDedupeKey(id) && (ctx.seen.has(id) || batchIds.has(id))) {
      newDuplicates.push({ seq: 0, received_at: receivedAt, event_id: id, name: event.name, event });
      return;
    }
    const assigned = {};
    if (typeof event.profile_id !== 'string' || !event.profile_id) {
      out.profileId ||= randomId('PR');
      assigned.profile_id = out.profileId;
    }
    if (typeof event.session_id !== 'string' || !event.session_id) {
      out.sessionId ||= cookieSession || randomId('SE', 20);
      assigned.session_id = out.sessionId;
    }
    if (isDedupeKey(id)) batchIds.add(id);
    out.lastProfile = assigned.profile_id || event.profile_id;
    out.lastSession = assigned.session_id || event.session_id;
    newEvents.push({ seq: 0, received_at: receivedAt, event, assigned });
  });
  // The cookie is set only when the collector created the session (no event
  // carried one): a library that sends session_id keeps its own fsid cookie,
  // which the collector must not shadow.
  if (!cookieSession && out.sessionId && /^[A-Za-z0-9_-]{1,128}$/.test(out.sessionId)) out.setSession = out.sessionId;

  // Each ring writes its file before its memory: if the disk refuses, the
  // request fails (500) and the client retries, rather than us pretending it
  // was stored.
  for (const r of newEvents) r.seq = ++ctx.seq;
  ctx.events.push(newEvents);
  for (const r of newEvents) {
    if (isDedupeKey(r.event.event_id)) ctx.seen.add(r.event.event_id);
    emit(ctx, 'event', r);
  }
  for (const r of newDuplicates) r.seq = ++ctx.seq;
  ctx.duplicates.push(newDuplicates);
  for (const r of newDuplicates) emit(ctx, 'duplicate', r);
  for (const r of newRejected) r.seq = ++ctx.seq;
  ctx.rejected.push(newRejected);
  for (const r of newRejected) emit(ctx, 'rejected', r);
  out.accepted = newEvents.length;
  out.duplicates = newDuplicates.length;
  out.rejected = newRejected.length;
  ctx.totals.events += out.accepted;
  ctx.totals.duplicates += out.duplicates;
  ctx.totals.rejected += out.rejected;
  return out;
}

async function onScript(ctx, req, res, route, url) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    req.resume();
    sendJson(res, 405, { status: 'error', message: 'Use GET' }, { Allow: 'GET, HEAD' });
    return;
  }
  req.resume();
  const delay = url.searchParams.has('delay') ? scriptDelay(ctx, url.searchParams.get('delay')) : ctx.scriptDelayMs;
  if (delay > 0) {
    const ok = await new Promise((resolve) => {
      const entry = { end: () => { clearTimeout(timer); resolve(false); res.destroy(); } };
      const timer = setTimeout(() => { ctx.held.delete(entry); resolve(true); }, delay);
      ctx.held.add(entry);
    });
    if (!ok || res.destroyed) return;
  }
  const [file, type, sourceMap] = SCRIPTS[route];
  let content;
  try {
    content = await fs.promises.readFile(path.join(ctx.paths.distDir, file));
  } catch {
    sendText(res, 404, `${path.join(ctx.distDir, file)} does not exist yet: run \`npm run build\` first.\n`, { 'Access-Control-Allow-Origin': '*' });
    return;
  }
  res.writeHead(200, {
    'Content-Type': type,
    'Content-Length': content.length,
    // Served fresh every time so a rebuild shows up on reload.
    'Cache-Control': 'no-store',
    'Access-Control-Allow-Origin': '*',
    'X-Content-Type-Options': 'nosniff',
    ...(sourceMap && { SourceMap: sourceMap }),
  });
  res.end(req.method === 'HEAD' ? undefined : content);
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
    req.on('end', () => {
      const raw = tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks);
      let text = raw.toString('utf8');
      // `Content-Encoding: gzip` (the library's `compression` option): decoded, within the same
      // limit (a small body must not inflate past it). A body that is not gzip reads as nothing:
      // refused as malformed JSON.
      if (!tooLarge && /^\s*gzip\s*$/i.test(req.headers['content-encoding'] ?? '')) {
        try {
          text = zlib.gunzipSync(raw, { maxOutputLength: limit }).toString('utf8');
        } catch (error) {
          text = '';
          tooLarge = /** @type {NodeJS.ErrnoException} */ (error).code === 'ERR_BUFFER_TOO_LARGE';
        }
      }
      resolve({ text, bytes, tooLarge, aborted: false });
    });
    // The client went away mid-upload (or we cut it off): nothing to answer.
    req.on('close', () => { if (!req.complete) resolve({ text: '', bytes, tooLarge, aborted: true }); });
    req.on('error', () => { if (!req.complete) resolve({ text: '', bytes, tooLarge, aborted: true }); });
  });
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
