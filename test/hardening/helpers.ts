/**
 * Shared by the hardening suites (test/hardening/*.test.ts) and the fuzz test:
 * a fake collector `fetch` that keeps every raw body and checks it, the event
 * envelope check, a per-test environment (fake clock, silenced console, fresh
 * IndexedDB), and waiting helpers that also let fake-indexeddb (which runs on
 * real setImmediate) make progress.
 */
import { afterEach, beforeEach, vi, type MockInstance } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import type { Firstparty } from '../../src/firstparty';
import { logState } from '../../src/lib/log';
import { startTracker, type TrackerOptions } from '../helpers/tracker';
import { withSentAt } from '../helpers/fakeNetwork';

export const KEY = 'wk_hardening_0001';
export const HOST = 'http://127.0.0.1:9999';
export const ENDPOINT = HOST + '/events/track/bulk';
export const T0 = Date.UTC(2025, 3, 1, 10, 0, 0);
/** The keepalive / sendBeacon cap every request body must respect. */
export const BODY_LIMIT = 65536;
/** A visible page's requests are not keepalive: they may be as large as maxBatchBytes (64 KiB by default). */
export const VISIBLE_BODY_LIMIT = 65536;
/** The body limit of one request: 64 KiB for keepalive ones (a hidden page), maxBatchBytes otherwise. */
export const limitOf = (request: { init?: RequestInit }) => (request.init?.keepalive ? BODY_LIMIT : VISIBLE_BODY_LIMIT);
export const HOUR = 3600_000;
export const DAY = 24 * HOUR;
export const YEAR = 365 * DAY;

export const byteLength = (text: string) => new TextEncoder().encode(text).length;

/**
 * Problems with one event as a collector reads it: with its request's
 * `sent_at` (the body carries it once), or, with `stored`, as held in the
 * queue (no `sent_at`).
 */
export function envelopeProblems(event: any, { stored = false } = {}): string[] {
  const problems: string[] = [];
  const isPlainObject = (v: unknown) => !!v && typeof v === 'object' && !Array.isArray(v);
  const isIso = (v: unknown) => typeof v === 'string' && /^[+-]?\d{4,6}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(v) && !Number.isNaN(Date.parse(v));
  if (!isPlainObject(event)) return ['event is not an object'];
  // EV + 20 base-62 characters; EV + 30 in events an earlier version stored.
  if (typeof event.event_id !== 'string' || !/^EV[A-Za-z0-9]{20}(?:[A-Za-z0-9]{10})?$/.test(event.event_id)) problems.push('event_id ' + JSON.stringify(event.event_id));
  if (typeof event.name !== 'string' || !event.name || event.name.length > 200 || /[\0-\x1f\x7f]/.test(event.name)) problems.push('name ' + JSON.stringify(event.name)?.slice(0, 80));
  for (const field of ['write_key', 'profile_id', 'session_id'])
    if (typeof event[field] !== 'string' || !event[field]) problems.push(field + ' ' + JSON.stringify(event[field])?.slice(0, 80));
  if (!isPlainObject(event.properties)) problems.push('properties ' + JSON.stringify(event.properties)?.slice(0, 80));
  if (!isPlainObject(event.context) || !isPlainObject(event.context.page)) problems.push('context');
  if (!isIso(event.created_at)) problems.push('created_at ' + JSON.stringify(event.created_at));
  if (!stored && !isIso(event.sent_at)) problems.push('sent_at ' + JSON.stringify(event.sent_at));
  if (stored && 'sent_at' in event) problems.push('stored event has sent_at');
  return problems;
}

/** Problems with one request body: size, JSON, shape, and each event's envelope. */
export function bodyProblems(text: unknown, limit = BODY_LIMIT): string[] {
  if (typeof text !== 'string') return ['body is not a string: ' + typeof text];
  const problems: string[] = [];
  const bytes = byteLength(text);
  if (bytes > limit) problems.push(`body is ${bytes} bytes (limit ${limit})`);
  let body: any;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return [...problems, 'body is not JSON: ' + String(error).slice(0, 80) + ' ' + text.slice(0, 120)];
  }
  if (!body || !Array.isArray(body.events) || Object.keys(body).join() !== 'events,sent_at') return [...problems, 'body is not {"events": [...], "sent_at": …}'];
  if (!body.events.length) problems.push('empty batch');
  body.events.forEach((event: any, i: number) => {
    if ('sent_at' in event) problems.push(`events[${i}] has its own sent_at`);
    envelopeProblems({ ...event, sent_at: body.sent_at }).forEach((p) => problems.push(`events[${i}].${p}`));
  });
  return problems;
}

/** How the fake collector answers one request. */
export type Reply =
  | number
  | { status: number; retryAfter?: string }
  /** `fetch` throws synchronously (a broken replacement). */
  | 'throw'
  /** The promise rejects (a network error). */
  | 'network-error'
  /** Resolves to something that is not a Response. */
  | 'garbage'
  /** A 503 whose text() rejects. */
  | 'bad-body'
  /** A 200 whose text() rejects (a page's wrapper that read the body first). */
  | 'bad-body-200'
  /** Never settles, but honours the abort signal (a hung request). */
  | 'hang'
  /** Never settles and ignores the abort signal (a broken polyfill). */
  | 'hang-forever'
  /** Answers with this status once the promise resolves (a slow request). */
  | Promise<number>;

export interface SentRequest {
  url: string;
  init: RequestInit;
  text: string;
  /** What was answered: an HTTP status, or the Reply kind for the broken ones. */
  reply: Reply;
  /** true when the collector "stored" it (a 2xx answered properly). */
  acked: boolean;
}

/**
 * A fake collector `fetch`: records every request with its raw body and answers
 * from `replies` in order (200 once they run out; `replies` may be replaced or
 * pushed to at any time). Nothing is parsed here: checks are the tests' job
 * (`problems()`), so a bad body cannot turn into a fake network error.
 */
export function fakeCollector(replies: Reply[] = []) {
  const requests: SentRequest[] = [];
  const state = { replies };
  const fetch = vi.fn((url: string, init: RequestInit) => {
    const reply: Reply = state.replies.length ? state.replies.shift()! : 200;
    const request: SentRequest = { url, init, text: init?.body as string, reply, acked: false };
    requests.push(request);
    if (reply === 'throw') throw new TypeError('fetch is broken');
    if (reply === 'network-error') return Promise.reject(new TypeError('Failed to fetch'));
    if (reply === 'garbage') return Promise.resolve(42 as unknown as Response);
    if (reply === 'hang-forever') return new Promise<Response>(() => {});
    if (reply === 'hang')
      return new Promise<Response>((_, reject) => {
        const signal = init?.signal;
        const abort = () => reject(new DOMException('The operation was aborted.', 'AbortError'));
        if (signal?.aborted) abort();
        signal?.addEventListener('abort', abort);
      });
    if (reply instanceof Promise)
      return reply.then((status) => {
        request.acked = status >= 200 && status < 300;
        return { status, ok: request.acked, headers: new Headers(), text: async () => '{"status":"success"}' } as unknown as Response;
      });
    if (reply === 'bad-body' || reply === 'bad-body-200') {
      const status = reply === 'bad-body' ? 503 : 200;
      request.acked = status == 200;
      return Promise.resolve({ status, ok: request.acked, headers: new Headers(), text: () => Promise.reject(new TypeError('body stream broken')) } as unknown as Response);
    }
    const { status, retryAfter } = typeof reply === 'number' ? { status: reply, retryAfter: undefined } : reply;
    request.acked = status >= 200 && status < 300;
    return Promise.resolve({
      status,
      ok: request.acked,
      headers: new Headers(retryAfter === undefined ? {} : { 'Retry-After': retryAfter }),
      text: async () => '{"status":"success"}',
    } as unknown as Response);
  });
  const parsed = (r: { text: string }) => {
    try {
      return withSentAt(JSON.parse(r.text));
    } catch {
      return [];
    }
  };
  return {
    fetch: fetch as unknown as typeof globalThis.fetch,
    spy: fetch,
    requests,
    state,
    /** Problems of every request body so far, prefixed by request index. */
    problems: (limit?: number) => requests.flatMap((r, i) => bodyProblems(r.text, limit ?? limitOf(r)).map((p) => `request ${i}: ${p}`)),
    /** Every event sent (acked or not), in order. */
    events: () => requests.flatMap(parsed),
    /** Events in requests answered 2xx, in order. */
    delivered: () => requests.filter((r) => r.acked).flatMap(parsed),
    names: () => requests.filter((r) => r.acked).flatMap(parsed).map((e) => e.name),
  };
}

/** A fake sendBeacon recording raw bodies. */
export function fakeBeacon(accept: boolean | (() => boolean) = true) {
  const calls: { url: string; text: string; accepted: boolean }[] = [];
  const send = vi.fn((url: string, text: string) => {
    const accepted = typeof accept === 'function' ? accept() : accept;
    calls.push({ url, text, accepted });
    return accepted;
  });
  return { send, calls };
}

const trackers: Firstparty[] = [];

/** A tracker with a fake collector and beacon (memory queue unless given); loaded unless `noLoad`. */
export const tracker = (given: TrackerOptions = {}) => startTracker(trackers, KEY, HOST, given, fakeCollector);

/** Console spies, replaced before each test. */
export const spies = {} as { warn: MockInstance<typeof console.warn>; log: MockInstance<typeof console.log> };

/** Every console.warn so far, as text. */
export const warnings = (): string[] => spies.warn.mock.calls.map((args) => args.map(safeText).join(' '));

/** String(value) that survives hostile values (throwing Proxies, symbols). */
function safeText(value: unknown): string {
  try {
    return value instanceof Error ? value.message : String(value);
  } catch {
    return '[unprintable]';
  }
}

/**
 * Per-test environment: fake Date/setTimeout/setInterval/performance at T0
 * (setImmediate stays real, so fake-indexeddb runs; `vi.setSystemTime` moves
 * the wall clock alone, a jump, while `advanceTimersByTime` is time really
 * passing, which the monotonic performance.now sees too), silenced console, a fresh in-memory IndexedDB, empty localStorage and
 * cookies; trackers destroyed and globals restored afterwards.
 */
export function useHardeningEnvironment(): void {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0, toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    spies.warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    spies.log = vi.spyOn(console, 'log').mockImplementation(() => {});
    vi.stubGlobal('indexedDB', new IDBFactory());
    localStorage.clear();
    clearCookies();
  });
  afterEach(() => {
    trackers.splice(0).forEach((fp) => fp.destroy());
    logState.debug = false;
    vi.useRealTimers();
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
    localStorage.clear();
    clearCookies();
  });
}

/** Deletes the cookies the page can see. */
export function clearCookies(): void {
  try {
    for (const pair of document.cookie.split('; ')) {
      const name = pair.split('=')[0];
      if (name) document.cookie = name + '=; Path=/; Max-Age=0';
    }
  } catch {
    // a test replaced document.cookie with a throwing one
  }
}

/** One real macrotask (fake-indexeddb schedules its work with setImmediate). */
export const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Lets fake time pass in `step` ms slices (running due timers) while giving
 * fake-indexeddb real macrotasks, until `done()` is truthy or `maxMs` of fake
 * time have passed. Returns whether `done()` became true.
 */
export async function until(done: () => unknown | Promise<unknown>, { step = 100, maxMs = 120_000 } = {}): Promise<boolean> {
  for (let elapsed = 0; ; elapsed += step) {
    for (let i = 0; i < 3; i++) await macrotask();
    if (await done()) return true;
    if (elapsed >= maxMs) return false;
    await vi.advanceTimersByTimeAsync(step);
  }
}

/** Lets `ms` of fake time pass, with real macrotasks in between (for IndexedDB). */
export async function pass(ms: number, step = 100): Promise<void> {
  for (let elapsed = 0; elapsed < ms; elapsed += step) {
    await macrotask();
    await vi.advanceTimersByTimeAsync(Math.min(step, ms - elapsed));
  }
  await macrotask();
}

/** Lets every pending promise chain run (no timers involved). */
export async function drain(rounds = 100): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

export { hidePage } from '../helpers/page';
