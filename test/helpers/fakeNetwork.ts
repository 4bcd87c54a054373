import { gunzipSync } from 'node:zlib';
import { vi } from 'vitest';

/** How the fake collector answers one request. */
export type Reply = number | Answer | 'network-error' | Promise<number | Answer>;

/** A full answer: `text` is the response body (default `{"status":"success"}`). */
export interface Answer {
  status: number;
  retryAfter?: string;
  text?: string;
  /** The answer came after a redirect (fetch's `response.redirected`). */
  redirected?: boolean;
  /** Its Content-Type (default application/json, as the collector answers). */
  contentType?: string;
  /** The body arrives once this resolves (the status comes first). */
  bodyAfter?: Promise<unknown>;
}

export interface Request {
  url: string;
  init: RequestInit;
  /** The body (decoded, if it came gzipped) and its parsed form. */
  text: string;
  body: { events: any[]; sent_at?: string };
  /** Bytes of a gzipped body as sent. */
  wireBytes?: number;
  /** The status answered (0: network error; undefined while in flight). */
  status?: number;
}

/**
 * A fake `fetch` for the collector: records each request and answers from
 * `replies` in order (200 once they run out). A reply may be a promise, to
 * hold a request in flight.
 */
export function fakeFetch(replies: Reply[] = []) {
  const requests: Request[] = [];
  const fetch = vi.fn(async (url: string, init: RequestInit) => {
    // A gzipped body (the compression option) is recorded decoded, with its bytes on the wire.
    const gzipped = new Headers(init.headers).get('Content-Encoding') === 'gzip';
    const wire = gzipped ? Buffer.from(await (init.body as Blob).arrayBuffer()) : undefined;
    const text = wire ? gunzipSync(wire).toString('utf8') : (init.body as string);
    const request: Request = { url, init, text, body: JSON.parse(text), ...(wire && { wireBytes: wire.length }) };
    requests.push(request);
    const next = replies.length ? replies.shift()! : 200;
    // Like fetch, give up when the request's signal aborts.
    const aborted = new Promise<never>((_, reject) => {
      const signal = init.signal;
      const abort = () => reject(new DOMException('The operation was aborted.', 'AbortError'));
      if (signal?.aborted) abort();
      signal?.addEventListener('abort', abort);
    });
    const reply = await Promise.race([next, aborted]).catch((error) => {
      request.status = 0;
      throw error;
    });
    if (reply === 'network-error') {
      request.status = 0;
      throw new TypeError('Failed to fetch');
    }
    const { status, retryAfter, text: answer = '{"status":"success"}', redirected = false, contentType = 'application/json', bodyAfter } =
      typeof reply === 'number' ? ({ status: reply } as Answer) : reply;
    request.status = status;
    const headers = new Headers({ 'Content-Type': contentType, ...(retryAfter === undefined ? {} : { 'Retry-After': retryAfter }) });
    return {
      status,
      redirected,
      ok: status >= 200 && status < 300,
      headers,
      text: async () => (await bodyAfter, answer),
      json: async () => JSON.parse(answer),
    } as unknown as Response;
  });
  return {
    fetch: fetch as unknown as typeof globalThis.fetch,
    spy: fetch,
    requests,
    replies,
    /** Every event sent, each with its request's `sent_at` (the body carries it once), as a collector applies it. */
    events: () => requests.flatMap((r) => withSentAt(r.body)),
    names: () => requests.flatMap((r) => r.body.events.map((e: any) => e.name)),
    /** Names of the events in requests answered with a 2xx, in order. */
    delivered: () => requests.filter((r) => r.status! >= 200 && r.status! < 300).flatMap((r) => r.body.events.map((e: any) => e.name)),
  };
}

/** A fake `sendBeacon` that accepts (or refuses) and records bodies. */
export function fakeBeacon(accept: boolean | (() => boolean) = true) {
  const calls: { url: string; text: string; body: { events: any[] }; answered?: (ok: boolean) => void }[] = [];
  const send = vi.fn((url: string, text: string, answered?: (ok: boolean) => void) => {
    calls.push({ url, text, body: JSON.parse(text), answered });
    return typeof accept === 'function' ? accept() : accept;
  });
  return { send, calls, events: () => calls.flatMap((c) => withSentAt(c.body)) };
}

/** A promise with its resolve exposed, to hold a request in flight. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets every pending promise chain run (no timers involved). */
export async function drain(rounds = 200): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/**
 * Awaits a flush under fake timers, running the 0 ms timers it waits on: a
 * round starts its parallel requests a task apart (courier.ts inParallel).
 */
export async function flushed(flush: Promise<unknown>): Promise<void> {
  let done = false;
  void flush.finally(() => (done = true));
  // Fake timers run a 0 ms timeout 1 ms on.
  while (!done) await vi.advanceTimersByTimeAsync(1);
  await flush;
}

/** A body's events, each with the body's `sent_at`, as a collector applies it. */
export const withSentAt = (body: any): any[] => body.events.map((event: any) => ({ ...event, sent_at: body.sent_at }));

/** Bytes of a string on the wire. */
export const byteLength = (text: string) => new TextEncoder().encode(text).length;
