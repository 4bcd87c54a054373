/**
 * The courier (src/tracker/courier.ts) on a real outbox over a memory store,
 * wired as firstparty.ts wires them, against a fake collector: batches and
 * requests in flight while visible, keepalive while hidden, one handler per
 * answer, backoff, flush rounds, other tabs' events.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KEEPALIVE_LIMIT } from '../../src/lib/batch';
import { createKeyMaker } from '../../src/lib/eventKey';
import { holdTabLock } from '../../src/lib/locks';
import { logState } from '../../src/lib/log';
import { DEFAULTS } from '../../src/lib/options';
import { memoryStore, type EventStore, type QueueRecord } from '../../src/lib/queue';
import { CAP_AFTER_MS, createReachability } from '../../src/lib/reachability';
import { createCourier, EXPRESS_BYTES, KEEPALIVE_DOUBT_MS, MAX_IN_FLIGHT, ORPHAN_AGE_MS, SWEEP_MS, type Courier } from '../../src/tracker/courier';
import { createOutbox, HANDOVER_GRACE_MS, MARKS } from '../../src/tracker/outbox';
import type { FirstpartyEvent } from '../../src/types';
import { ENDPOINT, logs, names, queuedNames, settle, useApiEnvironment, warnings } from '../api/helpers';
import { installFakeLocks } from '../helpers/fakeLocks';
import { byteLength, deferred, drain, fakeFetch, flushed, type Reply } from '../helpers/fakeNetwork';
import { hidePage } from '../helpers/page';

const TAB = 'tabAAAA1';
const OTHER = 'tabBBBB2';

useApiEnvironment();
const couriers: Courier[] = [];
let uninstallLocks = () => {};
afterEach(() => {
  couriers.splice(0).forEach((courier) => courier.stop());
  uninstallLocks();
  uninstallLocks = () => {};
});

/** A minimal event: the courier sends whatever JSON the outbox made of it. `pad` adds that many bytes. */
const event = (name: string, pad = 0) => ({ event_id: 'EV' + name, name, properties: pad ? { pad: 'x'.repeat(pad) } : {} }) as unknown as FirstpartyEvent;

/** `E1` … `En`. */
const range = (n: number, prefix = 'E') => Array.from({ length: n }, (_, i) => prefix + (i + 1));

/** Records of another tab, as its outbox stored them. */
function recordsOf(tab: string, eventNames: string[]): QueueRecord[] {
  const next = createKeyMaker(tab);
  return eventNames.map((name) => [next(), JSON.stringify(event(name))]);
}

/** `n` replies held until the test resolves them (with a status, an answer or 'network-error'). */
const hold = (n: number) => Array.from({ length: n }, () => deferred<any>());

interface Setup {
  replies?: Reply[];
  maxBatchBytes?: number;
  store?: EventStore;
  /** Where handover marks may be written (the store itself unless `null`: localStorage off limits). */
  spill?: EventStore | null;
  compression?: false | 'gzip';
}

/**
 * A courier on a real outbox over a memory store, wired as firstparty.ts
 * wires them, with a fake collector; `reports` collects the library events.
 */
function setup({ replies = [], maxBatchBytes = DEFAULTS.maxBatchBytes, store = memoryStore(), spill = store, compression = false }: Setup = {}) {
  const net = fakeFetch(replies);
  const reach = createReachability();
  const reports: [string, any][] = [];
  const report = (name: string, detail?: unknown) => void reports.push([name, detail]);
  const outbox = createOutbox({
    store,
    spill: spill || undefined,
    tabId: TAB,
    nextKey: createKeyMaker(TAB),
    limits: () => ({ ...DEFAULTS, maxEventBytes: KEEPALIVE_LIMIT - 32 }),
    failing: reach.failing,
    report,
  });
  const target = { endpoint: ENDPOINT, mayLeave: true };
  const courier = createCourier({
    outbox,
    reach,
    tabId: TAB,
    endpoint: () => target.endpoint,
    mayLeave: () => target.mayLeave,
    options: () => ({ maxBatchBytes, flushInterval: DEFAULTS.flushInterval, credentials: 'same-origin' as const, compression }),
    fetch: net.fetch,
    report,
  });
  couriers.push(courier);
  return {
    courier,
    outbox,
    store,
    net,
    reach,
    target,
    /** Adds events to the outbox, as track() does. */
    add: (eventNames: string[], pad = 0) => eventNames.forEach((name) => outbox.add(event(name, pad))),
    /** The details of the reports named `name`. */
    reported: (name: string) => reports.filter(([n]) => n === name).map(([, detail]) => detail),
    /** Requests not answered yet. */
    inFlight: () => net.requests.filter((request) => request.status === undefined).length,
  };
}

/** Advances fake time by `ms` and lets what that starts finish. */
async function advance(ms: number) {
  await vi.advanceTimersByTimeAsync(ms);
  await settle();
}

/** The handover marks in localStorage. */
const marks = () => JSON.parse(localStorage.getItem(MARKS) || '{}');

describe('while the page is visible', () => {
  it('sends plain (non-keepalive) requests to the endpoint, in order, each body within maxBatchBytes', async () => {
    const { courier, add, net, store } = setup({ maxBatchBytes: 4000 });
    add(range(40), 300);
    await flushed(courier.flush());
    expect(net.requests.length).toBeGreaterThan(3);
    for (const { url, init, text } of net.requests) {
      expect(url).toBe(ENDPOINT);
      expect(init.keepalive).toBe(false);
      expect(byteLength(text)).toBeLessThanOrEqual(4000);
    }
    expect(net.names()).toEqual(range(40));
    expect(net.events().every((e) => typeof e.sent_at === 'string')).toBe(true);
    expect(await store.all()).toEqual([]);
  });

  it('starts one of a round\'s parallel requests at once and the others in later tasks (a body each), in order', async () => {
    const held = hold(3);
    const { courier, add, net } = setup({ replies: held.map((h) => h.promise), maxBatchBytes: 500 });
    add(range(3), 300);
    const flushed = courier.flush();
    await drain();
    expect(net.requests).toHaveLength(1); // not in the task that started the round
    await vi.advanceTimersByTimeAsync(0);
    expect(net.requests).toHaveLength(3);
    held.forEach((h) => h.resolve(200));
    await flushed;
    expect(net.names()).toEqual(range(3));
  });

  it(`keeps at most MAX_IN_FLIGHT (${MAX_IN_FLIGHT}) requests in flight`, async () => {
    const held = hold(8);
    // One event per request: 8 requests.
    const { courier, add, net, inFlight } = setup({ replies: held.map((h) => h.promise), maxBatchBytes: 500 });
    add(range(8), 300);
    const flushed = courier.flush();
    await settle();
    for (let i = 0; i < 8; i++) {
      expect(inFlight()).toBe(Math.min(MAX_IN_FLIGHT, 8 - i));
      expect(net.requests).toHaveLength(Math.min(MAX_IN_FLIGHT + i, 8));
      held[i].resolve(200);
      await settle();
    }
    await flushed;
    expect(net.names()).toEqual(range(8));
    expect(MAX_IN_FLIGHT).toBe(3);
  });

  it('a 2xx forgets the events (the store is emptied) and reports `sent` with status and count', async () => {
    const { courier, add, net, store, reach, reported } = setup({ replies: [202] });
    add(['A', 'B', 'C']);
    await courier.flush();
    expect(net.names()).toEqual(['A', 'B', 'C']);
    expect(await store.all()).toEqual([]);
    expect(reported('sent')).toEqual([{ status: 202, count: 3 }]);
    expect(reach.failing()).toBe(false);
    await courier.flush();
    expect(net.requests).toHaveLength(1); // nothing left to send
  });

  it('a 2xx whose JSON answer counts rejections reports `rejected` and `rejections` (debug mode logs the `sent` event)', async () => {
    const rejections = [{ index: 0, reason: 'name too long' }];
    const { courier, add, store, reported } = setup({ replies: [{ status: 200, text: JSON.stringify({ rejected: 1, rejections }) }] });
    add(['A', 'B']);
    await courier.flush();
    expect(reported('sent')).toEqual([{ status: 200, count: 2, rejected: 1, rejections }]);
    // The collector has them (it refused some for good): none is sent again.
    expect(await store.all()).toEqual([]);
  });

  it.each([['not JSON', 'OK'], ['no count', '{"status":"success"}'], ['a count that is not a number', '{"rejected":"1"}'], ['an empty body', '']])(
    'a 2xx with %s reports `sent` without rejections',
    async (_, text) => {
      const { courier, add, reported } = setup({ replies: [{ status: 200, text }] });
      add(['A']);
      await courier.flush();
      expect(reported('sent')).toEqual([{ status: 200, count: 1 }]);
    },
  );
});

describe('a retryable answer (5xx, 408, 429, no answer)', () => {
  it.each([
    ['500', 500, 500],
    ['503', 503, 503],
    ['408', 408, 408],
    ['429', 429, 429],
    ['a network error', 'network-error', 0],
  ])('%s: no more requests start, `failed` is reported with retryIn, a retry follows', async (_, reply, status) => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5); // backoff(0) = 1,000 ms
    const held = hold(3);
    const { courier, add, net, store, reach, reported } = setup({ replies: held.map((h) => h.promise), maxBatchBytes: 500 });
    add(range(5), 300);
    const flushed = courier.flush();
    await settle();
    expect(net.requests).toHaveLength(3);
    held[0].resolve(reply);
    await settle();
    held[1].resolve(200);
    held[2].resolve(200);
    await flushed;
    // The two requests out already finish; E4 and E5 wait for the retry.
    expect(net.requests).toHaveLength(3);
    expect(reported('failed')).toEqual([{ status, count: 1, retryIn: 1000 }]);
    expect(reach.failing()).toBe(false); // the later 2xx answers say it is reachable again
    expect(await queuedNames(store)).toEqual(['E1', 'E4', 'E5']);
    await advance(999);
    expect(net.requests).toHaveLength(3);
    await advance(1);
    expect(net.names().slice(3)).toEqual(['E1', 'E4', 'E5']);
    expect(await store.all()).toEqual([]);
  });

  it('marks reachability failing (no 2xx since) once that lasted CAP_AFTER_MS', async () => {
    const { courier, add, reach } = setup({ replies: [503] });
    add(['A']);
    await courier.flush();
    expect(reach.failing()).toBe(false);
    vi.advanceTimersByTime(CAP_AFTER_MS);
    expect(reach.failing()).toBe(true);
  });

  it.each([
    ['Retry-After when it is longer', '5', 0.5, 5000],
    ['the backoff when it is longer', '1', 0.999, 1499],
    ['the backoff without Retry-After', undefined, 0.25, 750],
  ])('retries after %s', async (_, retryAfter, random, delay) => {
    vi.spyOn(Math, 'random').mockReturnValue(random);
    const { courier, add, net, reported } = setup({ replies: [{ status: 503, retryAfter }] });
    add(['A']);
    await courier.flush();
    expect(reported('failed')[0].retryIn).toBeCloseTo(delay, 6);
    await advance(Math.ceil(delay) - 1);
    expect(net.requests).toHaveLength(1);
    await advance(1);
    expect(net.requests).toHaveLength(2);
    expect(reported('sent')).toEqual([{ status: 200, count: 1 }]);
  });

  it('the backoff grows with each failure, and a 2xx starts it again', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { courier, add, reported } = setup({ replies: [503, 503, 200, 503] });
    add(['A']);
    await courier.flush();
    await advance(1000);
    await advance(2000);
    expect(reported('sent')).toHaveLength(1);
    add(['B']);
    await courier.flush();
    expect(reported('failed').map((detail) => detail.retryIn)).toEqual([1000, 2000, 1000]);
  });

  it('a flush asked for by a new event meanwhile (during the request or after) does not cut the backoff short', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const held = hold(1);
    const { courier, add, net } = setup({ replies: [held[0].promise] });
    add(['A']);
    const flushed = courier.flush();
    await settle();
    add(['B']);
    courier.schedule(0); // while the request is out
    held[0].resolve(503);
    await flushed;
    add(['C']);
    courier.schedule(0); // after the failure
    await advance(999);
    expect(net.requests).toHaveLength(1);
    await advance(1);
    expect(net.names()).toEqual(['A', 'A', 'B', 'C']);
  });

  it('online() retries at once, without waiting out the backoff, and cancels the pending retry', async () => {
    const { courier, add, net, store } = setup({ replies: [{ status: 503, retryAfter: '3600' }] });
    add(['A']);
    await courier.flush();
    courier.online();
    await settle();
    expect(net.names()).toEqual(['A', 'A']);
    expect(await store.all()).toEqual([]);
    await advance(3600000);
    expect(net.requests).toHaveLength(2);
  });

  it('online() starts the backoff again: a failure right after waits the first delay', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { courier, add, reported } = setup({ replies: [503, 503, 503] });
    add(['A']);
    await courier.flush();
    await advance(1000);
    courier.online();
    await settle();
    expect(reported('failed').map((detail) => detail.retryIn)).toEqual([1000, 2000, 1000]);
  });
});

describe('any other 4xx', () => {
  it.each([400, 401, 404, 413, 422])('%i for a single event drops it with a warning and a `dropped` report; the rest still goes', async (status) => {
    const { courier, add, net, store, reach, reported } = setup({ replies: [status, 200], maxBatchBytes: 500 });
    add(['A', 'B'], 300);
    await flushed(courier.flush());
    expect(warnings()).toEqual([expect.stringContaining('HTTP ' + status + ': 1 events dropped')]);
    expect(reported('dropped')).toEqual([{ status, count: 1, reason: 'refused' }]);
    expect(reported('sent')).toEqual([{ status: 200, count: 1 }]);
    expect(await store.all()).toEqual([]);
    expect(reach.failing()).toBe(false);
    await advance(120000);
    expect(net.names()).toEqual(['A', 'B']); // never retried
  });
});

describe('refusals of a batch of several events: the good ones are never dropped with the bad', () => {
  it('413 (a body over the collector’s limit) splits the batch in halves and sends them again, down to what fits', async () => {
    const { courier, add, net, store } = setup({ replies: [413, 413, 200, 200, 200] });
    add(['A', 'B', 'C', 'D']);
    await courier.flush();
    expect(net.requests.map((r) => r.body.events.map((e: any) => e.name))).toEqual([['A', 'B', 'C', 'D'], ['A', 'B'], ['A'], ['B'], ['C', 'D']]);
    expect(net.delivered()).toEqual(['A', 'B', 'C', 'D']);
    expect(await store.all()).toEqual([]);
    expect(warnings()).toEqual([]);
  });

  it('400 naming the bad event (`rejections` by index) drops only it; its neighbours go again', async () => {
    const { courier, add, net, store, reported } = setup({
      replies: [{ status: 400, text: JSON.stringify({ rejections: [{ index: 1, reason: 'bad' }] }) }, 200],
    });
    add(['A', 'Bad', 'C']);
    await courier.flush();
    expect(net.requests.map((r) => r.body.events.map((e: any) => e.name))).toEqual([['A', 'Bad', 'C'], ['A', 'C']]);
    expect(reported('dropped')).toEqual([{ status: 400, count: 1, reason: 'refused' }]);
    expect(await store.all()).toEqual([]);
  });

  it('a 2xx is the receipt at its status: the events are gone before its body arrives; `sent` (with the rejections) once it has', async () => {
    const body = deferred<void>();
    const rejections = [{ index: 0, reason: 'bad' }];
    const { courier, add, store, reported } = setup({ replies: [{ status: 200, text: JSON.stringify({ rejected: 1, rejections }), bodyAfter: body.promise }] });
    add(['A', 'B']);
    await courier.flush();
    expect(await store.all()).toEqual([]);
    expect(reported('sent')).toEqual([]);
    body.resolve();
    await settle();
    expect(reported('sent')).toEqual([{ status: 200, count: 2, rejected: 1, rejections }]);
  });

  it('a 400 waits for its body: the event it names is dropped even when the body comes after the status', async () => {
    const body = deferred<void>();
    const { courier, add, net, reported } = setup({
      replies: [{ status: 400, text: JSON.stringify({ rejections: [{ index: 1, reason: 'bad' }] }), bodyAfter: body.promise }, 200],
    });
    add(['A', 'Bad', 'C']);
    const flushing = courier.flush();
    await settle();
    expect(net.requests).toHaveLength(1);
    body.resolve();
    await flushing;
    expect(net.requests.map((r) => r.body.events.map((e: any) => e.name))).toEqual([['A', 'Bad', 'C'], ['A', 'C']]);
    expect(reported('dropped')).toEqual([{ status: 400, count: 1, reason: 'refused' }]);
  });

  it('400 naming none bisects until the bad event is alone, and drops only it', async () => {
    const { courier, add, net, reported } = setup({ replies: [400, 200, 400, 400, 200] });
    add(['A', 'B', 'Bad', 'D']);
    await courier.flush();
    expect(net.requests.map((r) => r.body.events.map((e: any) => e.name))).toEqual([['A', 'B', 'Bad', 'D'], ['A', 'B'], ['Bad', 'D'], ['Bad'], ['D']]);
    expect(net.delivered()).toEqual(['A', 'B', 'D']);
    expect(reported('dropped')).toEqual([{ status: 400, count: 1, reason: 'refused' }]);
  });
});

describe('redirects: only the collector’s own answer is a receipt', () => {
  it('a redirected 200 that is not JSON (a 302 turned the POST into a GET for a landing page) is retried, never taken as delivered', async () => {
    const { courier, add, net, store } = setup({ replies: [{ status: 200, redirected: true, contentType: 'text/html', text: '<html>' }] });
    add(['A']);
    await courier.flush();
    expect(await store.all()).toHaveLength(1);
    expect(warnings()).toEqual([expect.stringContaining('collector redirected')]);
    expect(net.requests).toHaveLength(1);
  });

  it('a redirected 405 (the GET a 301 made) is retried, not dropped as poisoned', async () => {
    const { courier, add, store, reported } = setup({ replies: [{ status: 405, redirected: true }] });
    add(['A']);
    await courier.flush();
    expect(await store.all()).toHaveLength(1);
    expect(reported('dropped')).toEqual([]);
    expect(reported('failed')).toHaveLength(1);
  });

  it('a redirected JSON 2xx (307/308 keep the POST and its body) is a receipt', async () => {
    const { courier, add, store } = setup({ replies: [{ status: 200, redirected: true }] });
    add(['A']);
    await courier.flush();
    expect(await store.all()).toEqual([]);
  });
});

describe('while the page is hidden', () => {
  it('sends one keepalive request at a time, each within 64 KiB, and keepalive() reports it', async () => {
    hidePage();
    const held = hold(3);
    const { courier, add, outbox, net, store } = setup({ replies: held.map((h) => h.promise) });
    add(range(100), 1000); // about 110 KB
    await outbox.written();
    const keys = (await store.all()).map(([key]) => key);
    const flushed = courier.flush();
    await settle();
    let sent = 0;
    for (let i = 0; i < net.requests.length; i++) {
      const request = net.requests[i];
      expect(net.requests).toHaveLength(i + 1); // one at a time
      expect(request.init.keepalive).toBe(true);
      expect(byteLength(request.text)).toBeLessThanOrEqual(KEEPALIVE_LIMIT);
      const count = request.body.events.length;
      expect(courier.keepalive()).toEqual({ keys: keys.slice(sent, sent + count), bytes: byteLength(request.text) });
      sent += count;
      held[i].resolve(200);
      await settle();
    }
    await flushed;
    expect(net.requests.length).toBeGreaterThan(1);
    expect(net.names()).toEqual(range(100));
    expect(courier.keepalive()).toEqual({ keys: [], bytes: 0 });
  });

  it('a 2xx marks the events confirmed in localStorage instead of deleting them; the next sweep deletes them unsent', async () => {
    const restore = hidePage();
    const { courier, add, net, store, reported } = setup();
    add(['A', 'B']);
    await courier.flush();
    expect(reported('sent')).toEqual([{ status: 200, count: 2 }]);
    const keys = (await store.all()).map(([key]) => key);
    expect(keys).toHaveLength(2); // no IndexedDB write from a page that may be dying
    expect(marks()).toEqual({ [keys[0]]: 0, [keys[1]]: 0 });
    await courier.flush();
    expect(net.requests).toHaveLength(1); // not sent again
    restore();
    await courier.flush(true);
    expect(net.requests).toHaveLength(1);
    expect(await store.all()).toEqual([]);
    expect(localStorage.getItem(MARKS)).toBeNull();
  });

  it('while visible, keepalive() reports nothing: plain requests do not count against the quota', async () => {
    const held = hold(1);
    const { courier, add, net } = setup({ replies: [held[0].promise] });
    add(['A']);
    const flushed = courier.flush();
    await settle();
    expect(net.requests).toHaveLength(1);
    expect(courier.keepalive()).toEqual({ keys: [], bytes: 0 });
    held[0].resolve(200);
    await flushed;
  });
});

describe('flush() and the timer', () => {
  it('flush() while a flush runs resolves only after a second round, which takes what was added meanwhile', async () => {
    const held = hold(2);
    const { courier, add, net } = setup({ replies: held.map((h) => h.promise) });
    add(['A']);
    let first = false;
    let second = false;
    courier.flush().then(() => (first = true));
    await settle();
    add(['B']);
    const again = courier.flush().then(() => (second = true));
    expect(courier.flush()).toStrictEqual(courier.flush()); // one more round, however many ask
    held[0].resolve(200);
    await settle();
    expect(first).toBe(true);
    expect(second).toBe(false);
    expect(net.requests.map((r) => names(r.body.events))).toEqual([['A'], ['B']]);
    held[1].resolve(200);
    await again;
    expect(net.requests).toHaveLength(2);
  });

  it('schedule(delay) flushes once; the earliest wins (a pending 10 s wait never swallows a 1 s flush), a later one does not move it', async () => {
    const { courier, add, net } = setup();
    add(['A']);
    courier.schedule(10000);
    courier.schedule(1000);
    courier.schedule(5000);
    await advance(999);
    expect(net.requests).toHaveLength(0);
    await advance(1);
    expect(net.names()).toEqual(['A']);
    await advance(60000);
    expect(net.requests).toHaveLength(1);
  });

  it('stop() cancels the timer, a retry included', async () => {
    const { courier, add, net } = setup({ replies: [503] });
    add(['A']);
    courier.schedule(1000);
    courier.stop();
    await advance(5000);
    expect(net.requests).toHaveLength(0);
    await courier.flush();
    expect(net.requests).toHaveLength(1);
    courier.stop();
    await advance(120000);
    expect(net.requests).toHaveLength(1);
  });

  it.each([
    ['without an endpoint (before load, after destroy)', 'endpoint', '', ENDPOINT],
    ['while events may not leave (opt-out in any tab, no consent, GPC: asked before each round)', 'mayLeave', false, true],
  ] as const)('sends nothing %s; the events wait', async (_, key, blocked, open) => {
    const { courier, add, net, store, target } = setup();
    (target as Record<string, unknown>)[key] = blocked;
    add(['A']);
    await advance(0); // the outbox's write
    courier.schedule(0);
    await advance(1000);
    await courier.flush(true);
    courier.online();
    await settle();
    expect(net.requests).toHaveLength(0);
    expect(await queuedNames(store)).toEqual(['A']);
    (target as Record<string, unknown>)[key] = open;
    await courier.flush();
    expect(net.names()).toEqual(['A']);
  });

  it('schedule() sets no timer without an endpoint: none is left running after destroy()', () => {
    const { courier, target } = setup();
    target.endpoint = '';
    courier.schedule(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('asks again before each request: an opt-out while earlier batches are out stops the rest', async () => {
    let answer = (_: number) => {};
    const held = new Promise<number>((resolve) => (answer = resolve));
    const { courier, add, net, target } = setup({ maxBatchBytes: 600, replies: [held, held, held] });
    add(['A', 'B', 'C', 'D', 'E', 'F'], 300);
    const flushed = courier.flush();
    await settle();
    expect(net.requests).toHaveLength(MAX_IN_FLIGHT);
    target.mayLeave = false;
    answer(200);
    await flushed;
    await settle();
    expect(net.requests).toHaveLength(MAX_IN_FLIGHT);
  });

  it('events handed over at page hide without proof wait out the grace period, then go again', async () => {
    const { courier, add, outbox, net } = setup();
    add(['A']);
    await outbox.written();
    outbox.handOver(
      outbox.unsent(true, () => false).map(([key]) => key),
      -1,
    );
    await courier.flush();
    expect(net.requests).toHaveLength(0);
    await advance(HANDOVER_GRACE_MS - 1);
    expect(net.requests).toHaveLength(0);
    await advance(1);
    expect(net.names()).toEqual(['A']);
  });
});

describe("other tabs' events", () => {
  it('flush(true) looks for them at once; a plain flush() within SWEEP_MS does not', async () => {
    const { courier, net, store } = setup();
    await courier.flush(); // the first round looks (nothing there yet)
    await store.put(recordsOf(OTHER, ['O1', 'O2']));
    await courier.flush();
    expect(net.requests).toHaveLength(0);
    await courier.flush(true);
    expect(net.names()).toEqual(['O1', 'O2']);
    expect(await store.all()).toEqual([]);
  });

  it('a plain flush() looks again once SWEEP_MS has passed', async () => {
    const { courier, net, store } = setup();
    await courier.flush();
    await store.put(recordsOf(OTHER, ['O1']));
    await advance(SWEEP_MS - 1);
    await courier.flush();
    expect(net.requests).toHaveLength(0);
    await advance(1);
    await courier.flush();
    expect(net.names()).toEqual(['O1']);
  });

  it("with Web Locks: a closed tab's events are sent, a live tab's are not, and a sweep is scheduled to look again", async () => {
    const fake = installFakeLocks();
    uninstallLocks = fake.uninstall;
    const CLOSED = 'tabCCCC3';
    holdTabLock(OTHER);
    holdTabLock(CLOSED);
    await settle();
    fake.locks.kill('firstparty-js:tab:' + CLOSED); // that tab has closed
    const { courier, add, net, store } = setup();
    await store.put(recordsOf(OTHER, ['Live1']));
    await store.put(recordsOf(CLOSED, ['Closed1', 'Closed2']));
    add(['Mine']);
    await courier.flush(true);
    expect(net.names()).toEqual(['Closed1', 'Closed2', 'Mine']);
    expect(await queuedNames(store)).toEqual(['Live1']);
    fake.locks.kill('firstparty-js:tab:' + OTHER); // now it closes too
    await advance(SWEEP_MS - 1);
    expect(net.requests).toHaveLength(2);
    await advance(1);
    expect(net.names().slice(3)).toEqual(['Live1']);
    expect(await store.all()).toEqual([]);
  });

  it('without Web Locks, a tab beating its heartbeat is live: its events are left to it', async () => {
    localStorage.setItem('firstparty-js:tab:' + OTHER, String(Date.now()));
    const { courier, net, store } = setup();
    await store.put(recordsOf(OTHER, ['Live1']));
    await courier.flush(true);
    expect(net.requests).toHaveLength(0);
    expect(await queuedNames(store)).toEqual(['Live1']);
  });

  it("without Web Locks and without heartbeats (localStorage throwing), no other tab's events are taken", async () => {
    vi.spyOn(window, 'localStorage', 'get').mockImplementation(() => {
      throw new DOMException('blocked', 'SecurityError');
    });
    const { courier, add, net, store } = setup({ spill: null });
    await store.put(recordsOf(OTHER, ['Other1']));
    add(['Mine']);
    await courier.flush(true);
    await advance(SWEEP_MS * 3);
    await courier.flush(true);
    expect(net.names()).toEqual(['Mine']);
    expect(await queuedNames(store)).toEqual(['Other1']);
  });
});

describe('events that are not JSON', () => {
  it('a page that replaced JSON.stringify with a broken one: the invalid events are dropped with a warning, the rest sent', async () => {
    const { courier, add, outbox, net, store, reported } = setup();
    add(['Good']);
    await outbox.written();
    const stringify = JSON.stringify;
    // Prototype.js-era breakage: objects come out as "[object Object]".
    const broken = vi.spyOn(JSON, 'stringify').mockImplementation((value: unknown) => (value && typeof value === 'object' ? String(value) : stringify(value)));
    add(['Bad']);
    await outbox.written();
    await courier.flush();
    broken.mockRestore();
    expect(net.names()).toEqual(['Good']);
    expect(warnings()).toEqual([expect.stringContaining('1 events dropped: not valid JSON')]);
    expect(reported('sent')).toEqual([{ status: 200, count: 1 }]);
    expect(await store.all()).toEqual([]);
    await courier.flush(true);
    expect(net.requests).toHaveLength(1);
  });

  it('a batch of nothing but invalid events sends no request', async () => {
    const { courier, add, outbox, net, store } = setup();
    const stringify = JSON.stringify;
    const broken = vi.spyOn(JSON, 'stringify').mockImplementation((value: unknown) => (value && typeof value === 'object' ? String(value) : stringify(value)));
    add(['Bad1', 'Bad2']);
    await outbox.written();
    await courier.flush();
    broken.mockRestore();
    expect(net.requests).toHaveLength(0);
    expect(warnings()).toEqual([expect.stringContaining('2 events dropped: not valid JSON')]);
    expect(await store.all()).toEqual([]);
  });
});

describe('a failed request for orphaned events stops the round', () => {
  it("a retryable answer to another tab's orphaned events sends nothing more until the backoff is over", async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { courier, add, net, store, reported } = setup({ replies: [503] });
    await store.put(recordsOf(OTHER, ['Orphan'])); // a closed tab's (no heartbeat, no lock)
    add(['Mine']);
    await courier.flush(true);
    expect(net.names()).toEqual(['Orphan']); // not this tab's own in the same round
    expect(reported('failed').map((detail) => detail.retryIn)).toEqual([1000]); // one failure, one backoff step
  });
});

describe('delivered while hidden, where no handover mark can be written', () => {
  it('a 2xx to a hidden page without a spill store (localStorage off limits) deletes the events: the next page does not send them again', async () => {
    const store = memoryStore();
    const restore = hidePage();
    const { courier, add, net } = setup({ store, spill: null });
    add(['A']);
    await courier.flush();
    expect(net.names()).toEqual(['A']);
    restore();
    await courier.flush(true);
    // The next page (another tab ID, same store) finds the event and sends it again.
    const next = createCourier({
      outbox: createOutbox({ store, tabId: OTHER, nextKey: createKeyMaker(OTHER), limits: () => ({ ...DEFAULTS, maxEventBytes: KEEPALIVE_LIMIT - 32 }), failing: () => false, report: () => {} }),
      reach: createReachability(),
      tabId: OTHER,
      endpoint: () => ENDPOINT,
      mayLeave: () => true,
      options: () => ({ maxBatchBytes: DEFAULTS.maxBatchBytes, flushInterval: 1000 }),
      fetch: net.fetch,
      report: () => {},
    });
    couriers.push(next);
    await next.flush(true);
    expect(net.names()).toEqual(['A']); // deleted from the store at once
    expect(await store.all()).toEqual([]);
  });
});

describe("a tab that beats no heartbeat ('_': it may not write localStorage)", () => {
  it('without Web Locks, its events are taken over only once they are ORPHAN_AGE_MS old', async () => {
    const { courier, net, store } = setup();
    await store.put(recordsOf('_tabQUIET', ['Quiet Tab']));
    await courier.flush(true);
    expect(net.names()).toEqual([]); // it may be alive: nothing tells
    vi.setSystemTime(Date.now() + ORPHAN_AGE_MS + 1);
    await courier.flush(true);
    expect(net.names()).toEqual(['Quiet Tab']);
  });
  it('with Web Locks its lock tells, as for any tab: a closed one’s events go at once, not after ORPHAN_AGE_MS', async () => {
    const fake = installFakeLocks();
    uninstallLocks = fake.uninstall;
    holdTabLock('_tabQUIET', false);
    await settle();
    const { courier, net, store } = setup();
    await store.put(recordsOf('_tabQUIET', ['Quiet Tab']));
    await courier.flush(true);
    expect(net.names()).toEqual([]); // alive: its lock is held
    fake.locks.kill('firstparty-js:tab:_tabQUIET'); // the tab closes
    await advance(SWEEP_MS);
    expect(net.names()).toEqual(['Quiet Tab']);
  });
});

describe('fresh events during a backoff: a retry timer never delays a first attempt', () => {
  it('a fresh round goes within its delay and carries only events no request has carried; the old ones wait for the retry', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { courier, add, net } = setup({ replies: [503, 503, 503, 200, 200] });
    add(['A']);
    await courier.flush();
    expect(net.requests).toHaveLength(1); // 503: a retry in 1 s
    await vi.advanceTimersByTimeAsync(1000);
    await settle();
    expect(net.requests).toHaveLength(2); // 503 again: a retry in 2 s
    add(['B']);
    courier.schedule(100, true);
    await vi.advanceTimersByTimeAsync(100);
    await settle();
    expect(net.requests.map((r) => r.body.events.map((e: any) => e.name))).toEqual([['A'], ['A'], ['B']]);
    // B failed too: no more fresh events, so nothing until the retry is due.
    await vi.advanceTimersByTimeAsync(1000);
    expect(net.requests).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(60000);
    await settle();
    expect(net.delivered()).toEqual(['A', 'B']);
  });

  it("a fresh round's failure leaves the retry its time, and the backoff its step (a page tracking offline does not push the retry out)", async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { courier, add, net, reported } = setup({ replies: [503, 503, 503, 503] });
    add(['A']);
    await courier.flush(); // 503: a retry in 1 s (backoff step 0)
    for (const name of ['B', 'C']) {
      await vi.advanceTimersByTimeAsync(200);
      add([name]);
      courier.schedule(100, true);
      await vi.advanceTimersByTimeAsync(100);
      await settle();
    }
    expect(net.requests).toHaveLength(3); // B and C went fresh, and failed
    await vi.advanceTimersByTimeAsync(400); // 1,000 ms after the first failure
    await settle();
    expect(net.requests).toHaveLength(4); // the retry kept its time
    // Step 1 after the retry (2,000 ms), not step 3: the fresh failures took no steps.
    expect(reported('failed').map((detail) => detail.retryIn)).toEqual([1000, 700, 400, 2000]);
  });

  it('a fresh round with nothing fresh to send leaves the retry its time (the one timer is not lost)', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { courier, add, net } = setup({ replies: [503, 200] });
    add(['A']);
    await courier.flush(); // 503: a retry in 1 s
    courier.schedule(100, true); // e.g. an event dropped before it was stored
    await vi.advanceTimersByTimeAsync(100);
    await settle();
    expect(net.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(900);
    await settle();
    expect(net.delivered()).toEqual(['A']);
  });

  it('a plain schedule() still waits out the backoff', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const held = deferred<any>();
    const { courier, add, net } = setup({ replies: [held.promise] });
    add(['A']);
    const first = courier.flush();
    await settle();
    courier.schedule(0);
    held.resolve(503);
    await first;
    await settle();
    expect(net.requests).toHaveLength(1); // not a second request 20 ms after the 503
    await vi.advanceTimersByTimeAsync(1000);
    await settle();
    expect(net.requests).toHaveLength(2);
  });

  it('stored(): events just stored go at once when nothing is in flight, and behind the request in flight otherwise', async () => {
    const held = deferred<any>();
    const { courier, add, outbox, net } = setup({ replies: [held.promise, 200] });
    add(['A']);
    await outbox.written();
    courier.stored();
    await vi.advanceTimersByTimeAsync(0);
    await settle();
    expect(net.names()).toEqual(['A']);
    add(['B']);
    await outbox.written();
    courier.stored();
    await vi.advanceTimersByTimeAsync(0);
    expect(net.requests).toHaveLength(1);
    held.resolve(200);
    await settle();
    await vi.advanceTimersByTimeAsync(0);
    await settle();
    expect(net.names()).toEqual(['A', 'B']);
  });
});

describe('express(): events recorded while nothing is in flight go at the end of the task', () => {
  /** A courier whose first round (the one at load) is done, as after load(). */
  async function ready(options: Setup = {}) {
    const parts = setup(options);
    await parts.courier.flush();
    return parts;
  }

  /** Records `eventNames` in one task, as track() does (add, then express()), and lets its microtasks run. */
  async function recordTask({ add, courier }: ReturnType<typeof setup>, eventNames: string[]) {
    add(eventNames);
    courier.express();
    await drain();
  }

  it('in one keepalive request, in a microtask of the task that recorded them, before they are stored; the 2xx leaves nothing stored', async () => {
    const { courier, add, net, store } = await ready();
    add(['A', 'B']);
    courier.express();
    add(['C']);
    courier.express(); // once per task
    expect(net.requests).toHaveLength(0); // not within the task: the whole task's events go together
    await Promise.resolve();
    expect(net.requests).toHaveLength(1);
    expect(net.requests[0].init.keepalive).toBe(true); // it outlives a page that leaves in that task
    expect(net.names()).toEqual(['A', 'B', 'C']);
    expect(await store.all()).toEqual([]); // not written yet
    await advance(0);
    expect(await store.all()).toEqual([]); // the 2xx came first: never written
    await courier.flush();
    expect(net.requests).toHaveLength(1);
  });

  it("a callback runs once, whether the 2xx comes before the event is stored or after; no write lands after the delete", async () => {
    const held = deferred<any>();
    const { courier, outbox, net, store } = await ready({ replies: [200, held.promise] });
    const early = vi.fn();
    outbox.add(event('Early'), early);
    courier.express();
    await drain();
    expect(early).toHaveBeenCalledTimes(1); // at the receipt, before any write
    await advance(0);
    expect(early).toHaveBeenCalledTimes(1);
    const late = vi.fn();
    outbox.add(event('Late'), late);
    courier.express();
    await advance(0);
    expect(late).toHaveBeenCalledTimes(1); // stored while its request is out
    expect(await store.all()).toHaveLength(1);
    held.resolve(200);
    await advance(0);
    expect(late).toHaveBeenCalledTimes(1);
    expect(await store.all()).toEqual([]);
    expect(net.names()).toEqual(['Early', 'Late']);
  });

  it('not before the first round, while a request is in flight, during a backoff, or in a hidden page', async () => {
    const before = setup();
    await recordTask(before, ['A']);
    expect(before.net.requests).toHaveLength(0); // the round at load sends what earlier visits left first

    const held = deferred<any>();
    const busy = await ready({ replies: [held.promise] });
    await recordTask(busy, ['A']);
    await recordTask(busy, ['B']);
    expect(busy.net.names()).toEqual(['A']); // B goes behind the request in flight

    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const failing = await ready({ replies: [503] });
    await recordTask(failing, ['A']);
    await recordTask(failing, ['B']);
    expect(failing.net.names()).toEqual(['A']); // B waits for its fresh round within flushInterval, not now

    const hidden = await ready();
    const show = hidePage();
    try {
      await recordTask(hidden, ['A']);
      expect(hidden.net.requests).toHaveLength(0); // a hidden page's events go by its keepalive rounds
    } finally {
      show();
    }
  });

  it(`a keepalive request that fails without an answer stays in flight for KEEPALIVE_DOUBT_MS (${KEEPALIVE_DOUBT_MS} ms): Chromium rejects it as the page navigates, and sends it anyway`, async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { courier, add, net, reported } = await ready({ replies: ['network-error'] });
    add(['A']);
    courier.express();
    await drain();
    expect(net.requests[0].status).toBe(0);
    expect(courier.keepalive().keys).toHaveLength(1); // a hide now hands it over as sent: marked, not sent again
    expect(reported('failed')).toEqual([]);
    await vi.advanceTimersByTimeAsync(KEEPALIVE_DOUBT_MS);
    await drain();
    expect(courier.keepalive().keys).toEqual([]);
    expect(reported('failed')).toHaveLength(1); // a page that lives on: a failure, retried after the backoff
  });

  it('a sweep set for later (another tab handed over: later()) does not stop them meanwhile', async () => {
    const parts = await ready();
    parts.courier.later(Date.now() + HANDOVER_GRACE_MS);
    await recordTask(parts, ['A']);
    expect(parts.net.names()).toEqual(['A']);
  });

  it(`sends the first EXPRESS_BYTES (${EXPRESS_BYTES}) keepalive, and once its 2xx is read the next of the task's events (up to maxBatchBytes) plain, before they are stored; more as stored`, async () => {
    const { courier, add, net, store } = await ready({ maxBatchBytes: 30000 });
    add(range(60), 1000);
    courier.express();
    await Promise.resolve();
    // The keepalive request (16 KiB of the page's 64 KiB quota) in the recording task's microtask.
    expect(net.requests).toHaveLength(1);
    const [first] = net.requests;
    expect(first.init.keepalive).toBe(true);
    expect(byteLength(first.text)).toBeLessThanOrEqual(EXPRESS_BYTES + 1100);
    expect(first.body.events.length).toBeGreaterThan(10);
    // Behind its answer, the next events in plain requests
    // (no quota), still before any was stored:
    // a visitor leaving in that task has their answers read before the next page commits, in
    // Chromium, instead of handing them over (re-send case 1).
    await drain(); // the keepalive request's 2xx is read
    expect(net.requests.length).toBeGreaterThan(1);
    const rest = net.requests.slice(1);
    expect(rest.every((request) => request.init.keepalive === false)).toBe(true);
    expect(rest.every((request) => byteLength(request.text) <= 30000)).toBe(true);
    const express = net.requests.flatMap((request) => request.body.events.length);
    expect(express.reduce((a, b) => a + b)).toBeLessThan(60); // at most EXPRESS_BYTES + maxBatchBytes of them
    await flushed(courier.flush());
    expect(net.names()).toEqual(range(60));
    expect(await store.all()).toEqual([]);
  });

  it('sends the plain part only behind the keepalive part\'s 2xx: none while it is unanswered (offline, a slow network), none after a 503', async () => {
    const held = hold(1);
    const { courier, add, net } = await ready({ replies: [held[0].promise], maxBatchBytes: 30000 });
    add(range(60), 1000);
    courier.express();
    await drain();
    await advance(500); // tasks and timers run: still only the keepalive request
    expect(net.requests).toHaveLength(1);
    expect(net.requests[0].init.keepalive).toBe(true);
    held[0].resolve(503);
    await drain();
    expect(net.requests).toHaveLength(1); // the backoff decides when the rest goes
  });
});

describe("compression: 'gzip'", () => {
  const gzipped = (request: { init: RequestInit }) => new Headers(request.init.headers).get('Content-Encoding') === 'gzip';

  it("a visible page's batches go gzipped, and decode to the events, each once", async () => {
    const { courier, add, net, store } = setup({ compression: 'gzip', maxBatchBytes: 5000 });
    add(range(20), 1000);
    await flushed(courier.flush());
    expect(net.requests.length).toBeGreaterThan(3);
    expect(net.requests.every(gzipped)).toBe(true);
    // Requests in flight together are compressed (and read here) in real time, so they may arrive
    // in any order, as on the network (created_at orders the events); within each body, in order.
    const byNumber = (names: string[]) => [...names].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    const names = net.requests.map((request) => request.body.events.map((event: any) => event.name));
    names.forEach((body) => expect(body).toEqual(byNumber(body)));
    expect(byNumber(names.flat())).toEqual(range(20));
    expect(await store.all()).toEqual([]);
  });

  it("never for keepalive requests: a hidden page's, and the express send at the end of a recording task", async () => {
    const { courier, add, net } = setup({ compression: 'gzip' });
    await flushed(courier.flush()); // ready: the express send waits for the first round
    add(['A']);
    courier.express();
    await drain();
    expect(net.requests).toHaveLength(1);
    expect(net.requests[0].init.keepalive).toBe(true);
    const restore = hidePage();
    try {
      add(['B']);
      await flushed(courier.flush());
      expect(net.requests[1].init.keepalive).toBe(true);
    } finally {
      restore();
    }
    expect(net.requests.some(gzipped)).toBe(false);
    expect(net.names()).toEqual(['A', 'B']);
  });

  it('off by default: plain JSON', async () => {
    const { courier, add, net } = setup();
    add(['A']);
    await flushed(courier.flush());
    expect(gzipped(net.requests[0])).toBe(false);
    expect(net.requests[0].init.body).toBe(net.requests[0].text);
  });
});
