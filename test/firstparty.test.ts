import { CAP_AFTER_MS } from '../src/lib/reachability';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFirstparty, type Firstparty } from '../src/firstparty';
import { createQueue, type EventStore, memoryStore } from '../src/lib/queue';
import { createKeyMaker } from '../src/lib/eventKey';
import { REQUEST_TIMEOUT_MS } from '../src/lib/transport';
import { HANDOVER_GRACE_MS, MARKS } from '../src/tracker/outbox';
import { VERSION } from '../src/version';
import { byteLength, deferred, drain, fakeFetch, flushed, type Reply } from './helpers/fakeNetwork';
import { FakeLockManager, installFakeLocks } from './helpers/fakeLocks';
import { hideAndShowPage, hidePage, setUrl, START_URL } from './helpers/page';
import { startTracker, type TrackerOptions } from './helpers/tracker';

const KEY = 'wk_1234567890abcd';
const HOST = 'http://127.0.0.1:9999';
const ENDPOINT = HOST + '/events/track/bulk';
const T0 = Date.UTC(2025, 3, 1, 10, 0, 0);
const MIN = 60000;
/** How often a tab looks for other tabs' events while it knows some are waiting. */
const SWEEP = 10000;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const instances: Firstparty[] = [];
let warn: ReturnType<typeof vi.spyOn>;
let uninstallLocks = () => {};


/** One tracker ("tab") with a fake collector and a fake sendBeacon. */
const setup = (given: TrackerOptions = {}) => startTracker(instances, KEY, HOST, given);

/** All console warnings so far, as text. */
const warnings = (): string[] => warn.mock.calls.map((args: unknown[]) => args.map(String).join(' '));

/** Lets timers due now run and every promise chain settle. */
async function settle() {
  await vi.advanceTimersByTimeAsync(0);
  await drain();
}

/** Advances fake time by `ms`, letting whatever that starts finish. */
async function advance(ms: number) {
  await vi.advanceTimersByTimeAsync(ms);
  await drain();
}

function hide(how: 'visibilitychange' | 'pagehide' = 'visibilitychange') {
  if (how === 'pagehide') return dispatchEvent(new Event('pagehide'));
  hideAndShowPage();
}

function offline() {
  return vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(false);
}

const names = (events: { name: string }[]) => events.map((e) => e.name);
const range = (n: number, prefix = 'E') => Array.from({ length: n }, (_, i) => prefix + (i + 1));

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
  warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  localStorage.clear();
});

afterEach(() => {
  instances.splice(0).forEach((fp) => fp.destroy());
  uninstallLocks();
  uninstallLocks = () => {};
  vi.useRealTimers();
  vi.restoreAllMocks();
  document.title = '';
  setUrl(START_URL);
});

describe('createFirstparty', () => {
  it('delivers a tracked event to the bulk endpoint and removes it after a 2xx', async () => {
    const queue = memoryStore();
    const { fn, bodies } = ((net) => ({ fn: net.fetch, bodies: net.requests }))(fakeFetch());
    const fp = createFirstparty({ queue, fetch: fn });
    instances.push(fp);
    fp.load('wk_1234567890abcd', 'http://127.0.0.1:9999');
    fp.track('Form Completed', { plan: 'pro' });
    await fp.flush();
    expect(bodies).toHaveLength(1);
    const [event] = bodies[0].body.events;
    expect(event).toMatchObject({ name: 'Form Completed', write_key: 'wk_1234567890abcd', properties: { plan: 'pro' } });
    expect(event.profile_id).toMatch(/^PR[A-Za-z0-9]{30}$/);
    expect(event.event_id).toMatch(/^EV[A-Za-z0-9]{20}$/);
    // sent_at once for the batch, not on each event.
    expect(Object.keys(bodies[0].body)).toEqual(['events', 'sent_at']);
    expect(typeof bodies[0].body.sent_at).toBe('string');
    expect(event).not.toHaveProperty('sent_at');
    expect(await queue.all()).toEqual([]);
  });
});

describe('the event envelope', () => {
  it('carries every field of the reference, plus event_id and sent_at', async () => {
    setUrl('https://www.example.com/pricing?utm_source=news');
    document.title = 'Pricing';
    const { fp, net } = setup();
    fp.track('Plan Selected', { plan: 'pro', seats: 3 });
    vi.setSystemTime(T0 + 1500);
    await fp.flush();
    const [event] = net.events();
    expect(Object.keys(event).sort()).toEqual(
      ['context', 'created_at', 'event_id', 'name', 'profile_id', 'properties', 'sent_at', 'session_id', 'write_key'].sort(),
    );
    expect(event).toMatchObject({ name: 'Plan Selected', write_key: KEY, properties: { plan: 'pro', seats: 3 } });
    expect(event.event_id).toMatch(/^EV[A-Za-z0-9]{20}$/);
    expect(event.profile_id).toBe(fp.getProfileId());
    expect(event.profile_id).toMatch(/^PR[A-Za-z0-9]{30}$/);
    expect(event.session_id).toBe(fp.getSessionId());
    expect(event.session_id).toMatch(/^SE[A-Za-z0-9]{20}$/);
    expect(event.created_at).toBe(new Date(T0).toISOString());
    expect(event.sent_at).toBe(new Date(T0 + 1500).toISOString());
    expect(event.context).toMatchObject({
      page: { url: 'https://www.example.com/pricing?utm_source=news', path: '/pricing', title: 'Pricing', search: '?utm_source=news' },
      campaign: { source: 'news' },
      locale: navigator.language,
      useragent: navigator.userAgent,
      screen: { width: screen.width, height: screen.height },
      library: { name: 'firstparty-js', version: VERSION },
    });
    expect(event.context.timezone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
  });

  it('POSTs JSON to {host}/events/track/bulk: plain while visible, keepalive while hidden', async () => {
    const { fp, net } = setup();
    fp.track('A');
    await fp.flush();
    const { url, init } = net.requests[0];
    expect(url).toBe(ENDPOINT);
    expect(init.method).toBe('POST');
    expect(init.keepalive).toBe(false); // no 64 KiB in-flight quota while visible
    expect(new Headers(init.headers).get('Content-Type')).toBe('application/json');
    const show = hidePage();
    await settle(); // a task after the hide signal
    fp.track('B'); // a hidden page sends at once, with keepalive (it may not live to read the answer)
    await settle();
    expect(net.requests[1].init.keepalive).toBe(true);
    expect(names(net.requests[1].body.events)).toEqual(['B']);
    show();
  });

  it('turns a bare collection domain into https://…', async () => {
    const net = fakeFetch();
    const fp = createFirstparty({ queue: memoryStore(), fetch: net.fetch });
    instances.push(fp);
    fp.load(KEY, 'fp.example.com');
    fp.track('A');
    await fp.flush();
    expect(net.requests[0].url).toBe('https://fp.example.com/events/track/bulk');
  });

  it('gives every event its own event_id and keeps one profile and session', async () => {
    const { fp, net } = setup();
    for (let i = 0; i < 50; i++) fp.track('E' + i);
    await fp.flush();
    const events = net.events();
    expect(new Set(events.map((e) => e.event_id)).size).toBe(50);
    expect(new Set(events.map((e) => e.profile_id)).size).toBe(1);
    expect(new Set(events.map((e) => e.session_id)).size).toBe(1);
  });

  it('captures the page and time at call time, not at send time', async () => {
    setUrl('https://www.example.com/first?gclid=abc');
    document.title = 'First';
    const { fp, net } = setup();
    fp.track('On First');
    history.pushState({}, '', '/second');
    document.title = 'Second';
    vi.setSystemTime(T0 + 5000);
    fp.track('On Second');
    history.pushState({}, '', '/third');
    document.title = 'Third';
    await fp.flush();
    const [first, second] = net.events();
    expect(first.context.page).toMatchObject({ path: '/first', title: 'First', url: 'https://www.example.com/first?gclid=abc' });
    expect(first.context.campaign).toEqual({ gclid: 'abc' });
    expect(first.created_at).toBe(new Date(T0).toISOString());
    expect(second.context.page).toMatchObject({ path: '/second', title: 'Second', url: 'https://www.example.com/second' });
    expect(second.context.campaign).toBeUndefined();
    expect(second.created_at).toBe(new Date(T0 + 5000).toISOString());
  });
});

describe('delivery', () => {
  it('sends an event at once once stored when nothing is in flight; events tracked meanwhile go behind that request', async () => {
    const held = deferred<number>();
    const { fp, net } = setup({ replies: [held.promise, 200] });
    await settle(); // load's own flush of earlier visits' events: nothing to send
    expect(net.requests).toHaveLength(0);
    fp.track('A');
    await advance(1); // stored
    await advance(1); // sent (fake timers run a 0 ms timer set in a timer's callback once the clock moves)
    expect(names(net.events())).toEqual(['A']);
    fp.track('B');
    fp.track('C');
    await advance(1);
    await advance(1);
    expect(net.requests).toHaveLength(1); // behind the request in flight
    held.resolve(200);
    await advance(1);
    await advance(1);
    expect(net.requests.map((r) => names(r.body.events))).toEqual([['A'], ['B', 'C']]);
  });

  it('sends events left by an earlier visit at load', async () => {
    const queue = memoryStore();
    const earlier = setup({ queue, replies: ['network-error'] });
    earlier.fp.track('Left Over');
    await earlier.fp.flush(); // fails: stays queued
    earlier.fp.destroy();
    vi.setSystemTime(T0 + 11 * MIN); // no Web Locks here: another tab's events are taken once 10 min old
    const { net } = setup({ queue });
    await settle();
    expect(names(net.events())).toEqual(['Left Over']);
    expect(await queue.all()).toEqual([]);
  });

  it('removes events only after a 2xx: in flight and after a 503 they stay queued', async () => {
    const inFlight = deferred<number>();
    const { fp, net, queue } = setup({ replies: [inFlight.promise, 200] });
    fp.track('A');
    const flushing = fp.flush();
    await drain();
    expect(net.requests).toHaveLength(1);
    expect(await queue.all()).toHaveLength(1); // still there while in flight
    inFlight.resolve(503);
    await flushing;
    expect(await queue.all()).toHaveLength(1); // still there after the 503
    await fp.flush();
    expect(net.requests).toHaveLength(2);
    expect(net.requests[1].body.events[0].event_id).toBe(net.requests[0].body.events[0].event_id);
    expect(await queue.all()).toEqual([]);
  });

  it.each([200, 202, 204, 299])('treats %i as delivered', async (status) => {
    const { fp, queue } = setup({ replies: [status] });
    fp.track('A');
    await fp.flush();
    expect(await queue.all()).toEqual([]);
  });

  it('retries a 503 after Retry-After, not before', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999); // backoff(0) ≈ 1.5 s < Retry-After
    const { fp, net, queue } = setup({ replies: [{ status: 503, retryAfter: '10' }, 200] });
    const failed = vi.fn();
    fp.on('failed', failed);
    fp.track('A');
    await fp.flush();
    expect(failed).toHaveBeenCalledWith(expect.objectContaining({ status: 503, retryIn: 10000 }));
    await advance(9999);
    expect(net.requests).toHaveLength(1);
    await advance(1);
    await settle();
    expect(net.requests).toHaveLength(2);
    expect(names(net.requests[1].body.events)).toEqual(['A']);
    expect(await queue.all()).toEqual([]);
  });

  it('an event tracked during a Retry-After wait still gets its first attempt at once; its 2xx ends the wait for the rest', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const answer = deferred<Reply>();
    const { fp, net, queue } = setup({ replies: [answer.promise as Promise<any>, 200, 200] });
    fp.track('A');
    const flushing = fp.flush();
    await drain();
    fp.track('B'); // tracked while the request is out
    answer.resolve({ status: 503, retryAfter: '10' });
    await flushing;
    for (let i = 0; i < 5; i++) await advance(1);
    expect(net.requests.map((r) => names(r.body.events))).toEqual([['A'], ['B'], ['A']]);
    expect(await queue.all()).toEqual([]);
  });

  it('retries 5xx with exponential backoff, and starts over after a success', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5); // jitter factor 1: 1 s, 2 s, 4 s
    const { fp, net } = setup({ replies: [500, 502, 503, 200, 504, 200] });
    fp.track('A');
    await fp.flush();
    const times: number[] = [];
    fp.on('failed', () => times.push(Date.now()));
    for (const [wait, calls] of [
      [999, 1],
      [1, 2],
      [1999, 2],
      [1, 3],
      [3999, 3],
      [1, 4],
    ] as const) {
      await advance(wait);
      expect(net.requests).toHaveLength(calls);
    }
    expect(net.delivered()).toEqual(['A']);
    fp.track('B');
    await fp.flush(); // 504
    await advance(999);
    expect(net.requests).toHaveLength(5);
    await advance(1); // 1 s again, not 8 s
    expect(net.requests).toHaveLength(6);
    expect(net.delivered()).toEqual(['A', 'B']);
  });

  it.each([408, 429])('retries %i', async (status) => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { fp, net, queue } = setup({ replies: [status, 200] });
    fp.track('A');
    await fp.flush();
    await advance(1000);
    expect(net.delivered()).toEqual(['A']);
    expect(await queue.all()).toEqual([]);
  });

  it('retries after a network error (fetch rejects)', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { fp, net, queue } = setup({ replies: ['network-error', 'network-error', 200] });
    fp.track('A');
    await fp.flush();
    expect(await queue.all()).toHaveLength(1);
    await advance(499);
    expect(net.requests).toHaveLength(1);
    await advance(1);
    expect(net.requests).toHaveLength(2);
    await advance(1000);
    expect(net.requests).toHaveLength(3);
    expect(net.delivered()).toEqual(['A']);
    expect(await queue.all()).toEqual([]);
  });

  it('abandons a request the collector never answers, and retries it', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { fp, net, queue } = setup({ replies: [new Promise<never>(() => {}), 200] });
    fp.track('A');
    const flushing = fp.flush();
    await advance(REQUEST_TIMEOUT_MS - 1);
    expect(net.requests).toHaveLength(1);
    expect(await queue.all()).toHaveLength(1);
    await advance(1); // abandoned: counts as a network error
    await flushing;
    await advance(1000); // first backoff
    expect(net.requests).toHaveLength(2);
    expect(net.delivered()).toEqual(['A']);
    expect(await queue.all()).toEqual([]);
  });

  it('drops a batch refused with a 400 (with a warning) and moves on', async () => {
    const pad = 'x'.repeat(3000);
    const { fp, net, queue } = setup({ options: { maxBatchBytes: 5000 }, replies: [400, 200, 200] });
    const dropped = vi.fn();
    fp.on('dropped', dropped);
    fp.track('Poison', { pad });
    fp.track('Good 1', { pad });
    fp.track('Good 2', { pad });
    await flushed(fp.flush());
    expect(net.requests.map((r) => names(r.body.events))).toEqual([['Poison'], ['Good 1'], ['Good 2']]);
    expect(net.delivered()).toEqual(['Good 1', 'Good 2']);
    expect(await queue.all()).toEqual([]);
    expect(warnings().some((w) => w.includes('400'))).toBe(true);
    expect(dropped).toHaveBeenCalledWith(expect.objectContaining({ status: 400, count: 1 }));
    await fp.flush();
    expect(net.requests).toHaveLength(3); // never sent again
  });

  it('sends up to 3 requests at once, each in order; after a 503 starts no more, and retries what failed', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const held = Array.from({ length: 5 }, () => deferred<Reply>());
    const { fp, net } = setup({ options: { maxBatchBytes: 5000 }, replies: held.map((d) => d.promise as Promise<any>) });
    for (const name of range(20)) fp.track(name, { pad: 'x'.repeat(1200) });
    const flushing = fp.flush();
    await drain();
    expect(net.requests.length).toBe(1); // the others each in a task of its own
    await vi.advanceTimersByTimeAsync(0);
    expect(net.requests.length).toBe(3); // three in flight, no more
    for (const request of net.requests) expect(names(request.body.events)).toEqual([...names(request.body.events)].sort((a, b) => +a.slice(1) - +b.slice(1)));
    // Two answer 200: their workers each start the next batch.
    held[0].resolve(200);
    held[2].resolve(200);
    await drain();
    expect(net.requests.length).toBe(5);
    // A 503 for the second: no request starts after it, though two are still out.
    held[1].resolve(503);
    await drain();
    expect(net.requests.length).toBe(5);
    held[3].resolve(200);
    held[4].resolve(200);
    await flushing;
    await advance(1000);
    expect([...net.delivered()].sort()).toEqual(range(20).sort()); // each event delivered
    expect(new Set(net.delivered()).size).toBe(20);
  });

  it('splits a large queue into requests under maxBatchBytes, in order, each event once', async () => {
    const { fp, net } = setup({ options: { maxBatchBytes: 65536 } });
    const text = 'é€😀x'.repeat(120); // 2-, 3- and 4-byte characters
    for (const name of range(300)) fp.track(name, { text });
    await flushed(fp.flush());
    expect(net.requests.length).toBeGreaterThan(4);
    for (const request of net.requests) expect(byteLength(request.text)).toBeLessThanOrEqual(65536);
    expect([...net.names()].sort()).toEqual(range(300).sort());
    expect(new Set(net.events().map((e) => e.event_id)).size).toBe(300);
  });

  it('drops (with a warning) an event too large for any request, and sends the rest', async () => {
    const { fp, net } = setup();
    fp.track('Small 1');
    // 20 × 4,000 characters: over 64 KiB however long strings are capped.
    fp.track('Huge', Object.fromEntries(range(20).map((key) => [key, 'x'.repeat(4000)])));
    fp.track('Small 2');
    await fp.flush();
    expect(net.names()).toEqual(['Small 1', 'Small 2']);
    expect(warnings().some((w) => w.includes('Huge'))).toBe(true);
  });

  it('an event just under the size limit still fits a 64 KiB body (the keepalive quota) with the envelope; one over it is dropped', async () => {
    const { fp, net } = setup();
    // The time zone known (the first batch looks it up) and a new page state (a new context): the
    // events hold it, not the placeholder that batch.ts reserves room for.
    fp.track('Warm');
    await flushed(fp.flush());
    document.title = 'Edge page';
    net.requests.length = 0;
    const big = Object.fromEntries(range(16).map((key) => [key, 'x'.repeat(4000)]));
    fp.track('Edge', { ...big, pad: '' });
    await flushed(fp.flush());
    // The probe's JSON, as stored: its body less the envelope `{"events":[` … `],"sent_at":"…"}`.
    const probe = byteLength(net.requests[0].text) - byteLength(JSON.stringify({ events: [], sent_at: new Date().toISOString() }));
    net.requests.length = 0;
    // Events whose JSON is 65,440 to 65,540 B: around the limit (64 KiB less the 50 B envelope).
    const pads = range(101).map((_, i) => 65440 - probe + i);
    for (const length of pads) fp.track('Edge', { ...big, pad: 'y'.repeat(length) });
    await flushed(fp.flush());
    const sent = net.events().map((event) => event.properties.pad.length);
    for (const request of net.requests) expect(byteLength(request.text)).toBeLessThanOrEqual(65536);
    expect(sent.length).toBeGreaterThan(20); // those up to the limit went
    expect(sent).toEqual(pads.slice(0, sent.length)); // in order, none skipped below the limit
    expect(warnings().filter((w) => w.includes('too large'))).toHaveLength(pads.length - sent.length);
  });

  it('caps the queue at maxQueue while the collector is failing, dropping the oldest with a warning', async () => {
    const { fp, net } = setup({ options: { maxQueue: 5 }, replies: ['network-error', 'network-error', 200] });
    const dropped = vi.fn();
    fp.on('dropped', dropped);
    for (const name of range(8)) fp.track(name);
    await fp.flush(); // fails
    expect(dropped).not.toHaveBeenCalled(); // nothing dropped while it was not failing
    await fp.flush(); // a blip: not failing for long enough to cap anything
    expect(dropped).not.toHaveBeenCalled();
    vi.setSystemTime(Date.now() + CAP_AFTER_MS); // failing, with no 2xx, for 30 s
    await fp.flush(); // the store is read whole and capped before the retry
    expect(warnings().some((w) => /\b3\b/.test(w))).toBe(true);
    expect(dropped).toHaveBeenCalledWith(expect.objectContaining({ count: 3 }));
    expect(net.delivered()).toEqual(['E4', 'E5', 'E6', 'E7', 'E8']);
  });

  it('drops queued events older than maxAge, with a warning', async () => {
    const queue = memoryStore();
    const old = setup({ queue, replies: ['network-error'] });
    old.fp.track('Stale');
    await old.fp.flush();
    old.fp.destroy();
    vi.setSystemTime(T0 + 8 * 24 * 3600000);
    const { fp, net } = setup({ queue });
    fp.track('Fresh');
    await fp.flush();
    expect(net.names()).toEqual(['Fresh']);
    expect(await queue.all()).toEqual([]);
    expect(warnings().some((w) => /\b1\b/.test(w))).toBe(true);
  });

  it('offline is only a hint: it still tries (with backoff), keeps what fails, and flushes at once when back online', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const onLine = offline();
    const { fp, net, queue } = setup({ replies: ['network-error', 'network-error'] });
    fp.track('A');
    await fp.flush();
    expect(net.requests).toHaveLength(1);
    await advance(1000); // backoff(0)
    expect(net.requests).toHaveLength(2);
    expect(await queue.all()).toHaveLength(1);
    onLine.mockReturnValue(true);
    dispatchEvent(new Event('online')); // without waiting out the 2 s backoff
    await settle();
    expect(net.delivered()).toEqual(['A']);
  });

  it('does not drop anything while the collector answers 2xx, however much is queued', async () => {
    const dropped = vi.fn();
    const { fp, net } = setup({ options: { maxQueue: 5 } });
    fp.on('dropped', dropped);
    for (const name of range(50)) fp.track(name);
    await fp.flush();
    expect(dropped).not.toHaveBeenCalled();
    expect(net.delivered()).toHaveLength(50);
  });

  it('works through createQueue with a refusing first store', async () => {
    const refusing: EventStore = {
      put: () => Promise.reject(new Error('quota')),
      all: () => Promise.reject(new Error('no')),
      remove: () => Promise.reject(new Error('no')),
    };
    const fallback = memoryStore();
    const { fp, net } = setup({ queue: createQueue([refusing, fallback]) });
    fp.track('A');
    await fp.flush();
    expect(net.delivered()).toEqual(['A']);
    expect(await fallback.all()).toEqual([]);
  });
});

describe('the page-hide handover', () => {
  /** A tracker whose collector has just answered 2xx: reachability is proven for 30 s. */
  async function provenSetup(given: TrackerOptions = {}) {
    const tab = setup(given);
    tab.fp.track('Warm Up');
    await tab.fp.flush();
    expect(tab.net.delivered()).toEqual(['Warm Up']);
    return tab;
  }

  it('a collector that answered 2xx just before: events handed over at hide are still kept, and sent again after the grace (same event_id) unless a receipt was read', async () => {
    const { fp, net, beacons, queue } = await provenSetup();
    for (const name of range(3)) fp.track(name);
    hide('visibilitychange'); // same task: not yet sent
    expect(beacons.send).toHaveBeenCalledTimes(1);
    expect(beacons.calls[0].url).toBe(ENDPOINT);
    expect(names(beacons.events())).toEqual(range(3));
    for (const event of beacons.events()) expect(event.sent_at).toMatch(ISO);
    expect(Object.values(JSON.parse(localStorage.getItem('firstparty-js:handover')!))).toEqual([-Date.now(), -Date.now(), -Date.now()]);
    fp.destroy();
    await settle();
    expect(await queue.all()).toHaveLength(3);
    await advance(1000); // the next page: its 2xx is no receipt for the handover
    const next = setup({ queue });
    next.fp.track('Next Page');
    await next.fp.flush();
    await advance(10000);
    await next.fp.flush();
    expect(next.net.delivered().sort()).toEqual([...range(3), 'Next Page'].sort());
    expect(next.net.events().filter((e) => e.name !== 'Next Page').map((e) => e.event_id)).toEqual(beacons.events().map((e) => e.event_id));
    expect(await queue.all()).toEqual([]);
    expect(net.requests).toHaveLength(1); // only the warm-up
  });

  it('healthy collector, but the next answer is a failure (the collector went silent): the handover is sent again once it answers', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const queue = memoryStore();
    const { fp, beacons } = await provenSetup({ queue });
    for (const name of range(3)) fp.track(name);
    hide('pagehide');
    expect(names(beacons.events())).toEqual(range(3));
    fp.destroy();
    await settle();
    await advance(500);
    const next = setup({ queue, replies: ['network-error', 200, 200, 200] });
    next.fp.track('Next Page');
    await next.fp.flush(); // fails: the handover is doubtful now
    await advance(60000);
    await next.fp.flush();
    expect(next.net.delivered().sort()).toEqual([...range(3), 'Next Page'].sort());
    expect(await queue.all()).toEqual([]);
  });

  it('without proof of reachability, hands events over and keeps them; re-sends them, same event_id, after the 10 s grace', async () => {
    const { fp, net, beacons, queue } = setup();
    for (const name of range(3)) fp.track(name);
    hide('visibilitychange');
    expect(names(beacons.events())).toEqual(range(3));
    expect(await queue.all()).toHaveLength(3); // kept (spilled: not yet stored at the hide)
    await fp.flush();
    expect(net.requests).toHaveLength(0); // within the grace period
    await advance(10000);
    await settle();
    expect(net.delivered()).toEqual(range(3));
    expect(net.events().map((e) => e.event_id)).toEqual(beacons.events().map((e) => e.event_id));
    expect(await queue.all()).toEqual([]);
  });

  it('a 2xx more than 30 s ago, or a failed attempt since, is no proof', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { fp, net, queue } = await provenSetup({ replies: [200, 'network-error'] });
    await advance(31000);
    fp.track('Stale Proof');
    hide(); // in the task that tracked it: no express send
    expect(await queue.all()).toHaveLength(1); // kept
    await advance(10000); // re-sent after the grace, fails: no proof now
    expect(net.requests).toHaveLength(2);
    fp.track('After Failure');
    await settle();
    hide();
    expect(await queue.all()).toHaveLength(2);
  });

  it('runs at every hide signal: an event tracked between pagehide and visibilitychange is handed over too', async () => {
    const { fp, beacons } = await provenSetup();
    fp.track('A');
    dispatchEvent(new Event('pagehide'));
    dispatchEvent(new Event('pagehide'));
    expect(names(beacons.events())).toEqual(['A']); // once, though signalled twice
    fp.track('Between');
    hide('visibilitychange');
    expect(names(beacons.events())).toEqual(['A', 'Between']);
  });

  it("hands over, before the page can go, an event tracked in the page's own pagehide or visibilitychange listener", async () => {
    const { fp, beacons } = await provenSetup();
    const onHide = () => fp.track('Engagement');
    addEventListener('pagehide', onHide); // added after load: runs after ours
    try {
      dispatchEvent(new Event('pagehide'));
      await Promise.resolve(); // the microtask after the listener
      expect(names(beacons.events())).toEqual(['Engagement']);
    } finally {
      removeEventListener('pagehide', onHide);
    }
  });

  it('covers events tracked just before navigating away (20 events arrive, once); a visit much later cannot confirm, and sends them again', async () => {
    const queue = memoryStore();
    const { fp, beacons, net } = await provenSetup({ queue });
    for (const name of range(20)) fp.track(name);
    hide('pagehide'); // same task: nothing stored yet
    expect(names(beacons.events())).toEqual(range(20));
    fp.destroy();
    await settle();
    // No receipt was read: the next visit sends them again (same event_id).
    vi.setSystemTime(T0 + 20 * MIN);
    const next = setup({ queue });
    await next.fp.flush();
    expect(next.net.delivered()).toEqual(range(20));
    expect(next.net.events().map((e) => e.event_id)).toEqual(beacons.events().map((e) => e.event_id));
    expect(await queue.all()).toEqual([]);
    expect(net.requests).toHaveLength(1); // the warm-up
  });

  it('does not resend beaconed events on the next visit even if their removal never committed', async () => {
    // The IndexedDB delete issued as a page unloads often never commits: model
    // a store that ignores removals while the page goes away.
    const inner = memoryStore();
    let unloading = false;
    const queue: EventStore = {
      put: (records) => inner.put(records),
      all: () => inner.all(),
      remove: (keys) => (unloading ? Promise.resolve() : inner.remove(keys)),
    };
    const { fp, beacons } = await provenSetup({ queue });
    for (const name of range(5)) fp.track(name);
    unloading = true;
    hide('pagehide');
    beacons.calls[0].answered!(true); // its 2xx, read as the page went
    fp.destroy();
    await drain();
    expect(names(beacons.events())).toEqual(range(5));
    expect(await inner.all()).toHaveLength(5); // still there
    unloading = false;
    vi.setSystemTime(T0 + 11 * MIN);
    const next = setup({ queue });
    await settle();
    await next.fp.flush();
    expect(next.net.requests).toHaveLength(0);
    expect(await inner.all()).toEqual([]);
  });

  it('keeps events queued when the beacon is refused, and sends them later', async () => {
    const { fp, net, beacons, queue } = setup({ beacon: false });
    for (const name of range(3)) fp.track(name);
    hide();
    expect(beacons.send).toHaveBeenCalled();
    expect(await queue.all()).toHaveLength(3);
    await fp.flush();
    expect(net.delivered()).toEqual(range(3));
    expect(await queue.all()).toEqual([]);
  });

  it('offline is a hint: hands over anyway, keeps everything, and 100 events arrive once on the next visit', async () => {
    const queue = memoryStore();
    const onLine = offline();
    dispatchEvent(new Event('offline'));
    const { fp, beacons, net } = setup({ queue });
    for (const name of range(100)) fp.track(name);
    hide('visibilitychange');
    hide('pagehide');
    expect(names(beacons.events())).toEqual(range(100));
    expect(net.requests).toHaveLength(0);
    fp.destroy(); // the tab closes
    await settle();
    expect(await queue.all()).toHaveLength(100); // not stored before the hide: spilled
    onLine.mockReturnValue(true);
    vi.setSystemTime(T0 + 11 * MIN);
    const next = setup({ queue });
    await settle();
    await next.fp.flush();
    expect(next.net.delivered()).toEqual(range(100));
    expect(new Set(next.net.events().map((e) => e.event_id)).size).toBe(100);
    expect(await queue.all()).toEqual([]);
  });

  it('hands over events in a plain request (unload cancels it), and marks those in a keepalive one instead of re-sending them', async () => {
    const plain = deferred<number>();
    const { fp, net, beacons, queue } = setup({ replies: [plain.promise] });
    fp.track('In Plain Request');
    const flushing = fp.flush();
    await drain();
    fp.track('Late');
    hide();
    expect(names(beacons.events())).toEqual(['Late', 'In Plain Request']); // the one not yet stored first
    plain.resolve(200);
    await flushing;
    expect(net.delivered()).toEqual(['In Plain Request']);

    const kept = deferred<number>();
    const hidden = setup({ replies: [kept.promise] });
    const show = hidePage();
    await settle(); // a task after the hide signal
    hidden.fp.track('In Keepalive');
    await settle();
    expect(hidden.net.requests[0].init.keepalive).toBe(true);
    dispatchEvent(new Event('pagehide'));
    expect(names(hidden.beacons.events())).toEqual([]); // left to its keepalive request
    expect(Object.values(JSON.parse(localStorage.getItem('firstparty-js:handover')!))).toEqual([-Date.now()]); // doubtful: the next page waits out the grace
    kept.resolve(200);
    show();
    void queue;
  });

  it('keeps beacon bodies under 64 KiB', async () => {
    const { fp, beacons } = setup();
    for (const name of range(120)) fp.track(name, { text: 'é€😀'.repeat(200) });
    hide();
    expect(beacons.calls.length).toBeGreaterThan(0);
    for (const call of beacons.calls) expect(byteLength(call.text)).toBeLessThanOrEqual(65536);
  });
});

describe('calls before load()', () => {
  it('are replayed after it, in order', async () => {
    const { fp, net } = setup({ noLoad: true });
    fp.track('Early 1', { n: 1 });
    fp.track('Early 2');
    await fp.flush();
    expect(net.requests).toHaveLength(0);
    fp.load(KEY, HOST);
    fp.track('Late');
    await fp.flush();
    expect(names(net.events())).toEqual(['Early 1', 'Early 2', 'Late']);
    expect(net.events()[0].properties).toEqual({ n: 1 });
  });

  it('keep the time and page of the call, not of load()', async () => {
    setUrl('https://www.example.com/early?utm_source=ad');
    document.title = 'Early';
    const { fp, net } = setup({ noLoad: true });
    fp.track('Early');
    vi.setSystemTime(T0 + 60000);
    history.pushState({}, '', '/later');
    document.title = 'Later';
    fp.load(KEY, HOST);
    fp.track('Late');
    await fp.flush();
    const [early, late] = net.events();
    expect(early.created_at).toBe(new Date(T0).toISOString());
    expect(early.context.page).toMatchObject({ path: '/early', title: 'Early' });
    expect(early.context.campaign).toEqual({ source: 'ad' });
    expect(late.created_at).toBe(new Date(T0 + 60000).toISOString());
    expect(late.context.page).toMatchObject({ path: '/later', title: 'Later' });
  });

  it('replayed snippet calls keep their own time and page', async () => {
    const { fp, net } = setup({ noLoad: true });
    const page = { url: 'https://www.example.com/landing?utm_campaign=spring', title: 'Landing', referrer: 'https://ref.example/' };
    fp._replay('track', ['Queued', { a: 1 }], { time: T0 - 3000, page });
    fp.load(KEY, HOST);
    await fp.flush();
    const [event] = net.events();
    expect(event.created_at).toBe(new Date(T0 - 3000).toISOString());
    expect(event.context.page).toMatchObject({ url: page.url, path: '/landing', title: 'Landing', referrer: page.referrer });
    expect(event.context.campaign).toEqual({ name: 'spring' });
  });
});

describe('bad inputs', () => {
  it('track() without a usable name warns and drops the event', async () => {
    const { fp, net, queue } = setup();
    const bad: unknown[][] = [[], [''], ['   '], [42], [null], [{}], [['Array']]];
    for (const args of bad) {
      const before = warn.mock.calls.length;
      expect(() => (fp.track as any)(...args)).not.toThrow();
      expect(warn.mock.calls.length).toBe(before + 1);
    }
    await fp.flush();
    expect(net.requests).toHaveLength(0);
    expect(await queue.all()).toEqual([]);
  });

  it('trims the name', async () => {
    const { fp, net } = setup();
    fp.track('  Signed Up  ');
    await fp.flush();
    expect(names(net.events())).toEqual(['Signed Up']);
  });

  it('repairs properties JSON cannot carry: circular, BigInt, functions, symbols, throwing getters', async () => {
    const { fp, net } = setup();
    const props: any = {
      big: 2n ** 70n,
      fn: () => 1,
      sym: Symbol('s'),
      undef: undefined,
      nested: { ok: true },
      get boom() {
        throw new Error('getter');
      },
    };
    props.self = props;
    props.nested.parent = props;
    expect(() => fp.track('Repaired', props)).not.toThrow();
    await fp.flush();
    const [event] = net.events();
    expect(event.name).toBe('Repaired');
    expect(event.properties).toEqual({ big: (2n ** 70n).toString(), nested: { ok: true, parent: '[Circular]' }, self: '[Circular]' });
  });

  it('sends BigInt properties without a repair warning', async () => {
    const { fp, net } = setup();
    fp.track('Big', { n: 10n });
    await fp.flush();
    expect(net.events()[0].properties).toEqual({ n: '10' });
    expect(warn).not.toHaveBeenCalled();
  });

  it('sends an event without properties that are not an object, with a warning', async () => {
    const { fp, net } = setup();
    fp.track('Array Props', ['a'] as any);
    fp.track('String Props', 'nope' as any);
    fp.track('Null Props', null as any);
    await fp.flush();
    expect(names(net.events())).toEqual(['Array Props', 'String Props', 'Null Props']);
    for (const event of net.events()) expect(event.properties).toEqual({});
    expect(warn.mock.calls.length).toBe(2);
  });

  it.each([[''], ['   '], [42], [undefined], [null]])('load() with write key %j warns and does nothing', async (key) => {
    const { fp, net } = setup({ noLoad: true });
    expect(() => fp.load(key as any, HOST)).not.toThrow();
    expect(warn).toHaveBeenCalled();
    fp.track('A');
    await fp.flush();
    await advance(5000);
    expect(net.requests).toHaveLength(0);
    expect(fp.getProfileId()).toBeUndefined();
    fp.load(KEY, HOST); // a correct load afterwards works, with the waiting call
    await fp.flush();
    expect(names(net.events())).toEqual(['A']);
  });

  it.each([[''], ['not a host'], ['http://'], [42], [undefined], [{}]])('load() with host %j warns and does nothing', async (host) => {
    const { fp, net } = setup({ noLoad: true });
    expect(() => fp.load(KEY, host as any)).not.toThrow();
    expect(warn).toHaveBeenCalled();
    fp.track('A');
    await fp.flush();
    await advance(5000);
    expect(net.requests).toHaveLength(0);
    expect(fp.getProfileId()).toBeUndefined();
  });

  it('load() twice warns and keeps the first', async () => {
    const { fp, net } = setup();
    const before = warn.mock.calls.length;
    expect(() => fp.load('other_key_123456', 'http://other.example:1234')).not.toThrow();
    expect(warn.mock.calls.length).toBe(before + 1);
    fp.track('A');
    await fp.flush();
    expect(net.requests[0].url).toBe(ENDPOINT);
    expect(net.events()[0].write_key).toBe(KEY);
  });

  it('warns about invalid options and uses the defaults', async () => {
    const { fp, net } = setup({ options: { maxQueue: -5, flushInterval: 'soon' } });
    expect(warn.mock.calls.length).toBe(2);
    fp.track('A');
    await advance(1000);
    expect(names(net.events())).toEqual(['A']);
  });

  it('no public method throws, whatever it is given, loaded or not', async () => {
    for (const loaded of [false, true]) {
      const { fp } = setup({ noLoad: !loaded });
      const garbage: unknown[] = [undefined, null, 0, NaN, '', 'x', {}, [], () => {}, Symbol('s'), 10n];
      const circular: any = {};
      circular.me = circular;
      garbage.push(circular);
      for (const name of Object.keys(fp) as (keyof Firstparty)[]) {
        if (name === 'destroy' || name === 'load' || typeof fp[name] !== 'function') continue;
        for (const a of garbage) {
          let result: unknown;
          expect(() => (result = (fp[name] as any)(a, a, a, a)), name + '(' + String(typeof a) + ')').not.toThrow();
          if (result instanceof Promise) await expect(result).resolves.toBeUndefined();
        }
      }
      expect(() => fp.load(circular, circular, circular)).not.toThrow();
      await settle();
    }
  });

  it('a throwing listener does not stop tracking', async () => {
    const { fp, net } = setup();
    fp.on('track', () => {
      throw new Error('site bug');
    });
    fp.on('sent', () => {
      throw new Error('site bug');
    });
    expect(() => fp.track('A')).not.toThrow();
    await fp.flush();
    expect(names(net.events())).toEqual(['A']);
  });

  it('reset() gives new IDs to later events', async () => {
    const { fp, net } = setup();
    fp.track('Before');
    const profile = fp.getProfileId();
    fp.reset();
    fp.track('After');
    await fp.flush();
    const [before, after] = net.events();
    expect(before.profile_id).toBe(profile);
    expect(after.profile_id).toMatch(/^PR[A-Za-z0-9]{30}$/);
    expect(after.profile_id).not.toBe(before.profile_id);
    expect(after.session_id).not.toBe(before.session_id);
  });
});

describe('two tabs sharing one queue (Web Locks)', () => {
  function withLocks() {
    const fake = installFakeLocks(new FakeLockManager());
    uninstallLocks = fake.uninstall;
    return fake.locks;
  }

  /** Opens a tab, returns it with the name of the lock that marks it alive. */
  async function openTab(locks: FakeLockManager, queue: EventStore, replies: Reply[] = []) {
    const tab = setup({ queue, replies });
    await settle();
    const lock = locks.requests.filter((name) => name.startsWith('firstparty-js:tab:')).pop()!;
    return { ...tab, lock };
  }

  /** A tab that queued events and closed before an answer came (its collector never answered the one request). */
  async function closedTab(locks: FakeLockManager, queue: EventStore, eventNames: string[]) {
    const tab = await openTab(locks, queue, [new Promise<never>(() => {})]);
    for (const name of eventNames) tab.fp.track(name);
    await settle();
    tab.fp.destroy();
    locks.kill(tab.lock);
    expect(tab.net.requests).toHaveLength(1);
    expect(await queue.all()).toHaveLength(eventNames.length);
  }

  it('each tab holds a lock of its own', async () => {
    const locks = withLocks();
    const queue = memoryStore();
    const a = await openTab(locks, queue);
    const b = await openTab(locks, queue);
    expect(a.lock).not.toBe(b.lock);
    expect(locks.heldNames()).toEqual(expect.arrayContaining([a.lock, b.lock]));
  });

  it('each tab sends its own events, not those of another live tab', async () => {
    const locks = withLocks();
    const queue = memoryStore();
    const a = await openTab(locks, queue);
    const answer = deferred<number>();
    const b = await openTab(locks, queue, [answer.promise]);
    for (const name of range(5, 'A')) a.fp.track(name);
    for (const name of range(5, 'B')) b.fp.track(name);
    await settle();
    await a.fp.flush();
    expect(a.net.names()).toEqual(range(5, 'A'));
    expect(await queue.all()).toHaveLength(5); // B's, in B's request still unanswered: left to B
    answer.resolve(200);
    await b.fp.flush();
    expect(b.net.names()).toEqual(range(5, 'B'));
    expect(await queue.all()).toEqual([]);
  });

  it('never sends the same event from two tabs flushing at once', async () => {
    const locks = withLocks();
    const queue = memoryStore();
    await closedTab(locks, queue, range(10, 'C')); // orphans both tabs may take
    const slow = deferred<number>();
    const a = await openTab(locks, queue, [slow.promise]);
    const b = await openTab(locks, queue, [slow.promise]);
    for (const name of range(3, 'A')) a.fp.track(name);
    for (const name of range(3, 'B')) b.fp.track(name);
    const flushes = [a.fp.flush(), b.fp.flush()];
    await drain();
    // Each sends its own; the orphans go with whichever holds the flush lock.
    slow.resolve(200);
    await Promise.all(flushes);
    await advance(5000); // the tab that found the lock taken tries again by itself
    const all = [...a.net.events(), ...b.net.events()];
    const ids = all.map((e) => e.event_id);
    expect(new Set(ids).size).toBe(ids.length); // no event sent twice
    expect(names(all).sort()).toEqual([...range(3, 'A'), ...range(3, 'B'), ...range(10, 'C')].sort());
    expect(names(a.net.events()).filter((n) => n[0] === 'B')).toEqual([]);
    expect(names(b.net.events()).filter((n) => n[0] === 'A')).toEqual([]);
    expect(await queue.all()).toEqual([]);
  });

  it("takes over a closed tab's events once its lock is released", async () => {
    const locks = withLocks();
    const queue = memoryStore();
    const a = await openTab(locks, queue);
    const b = await openTab(locks, queue, [new Promise<never>(() => {})]);
    b.fp.track('From B');
    await settle();
    await a.fp.flush();
    expect(a.net.requests).toHaveLength(0); // B is alive: its events are B's to send
    b.fp.destroy();
    locks.kill(b.lock); // B's tab closes, its request unanswered
    await a.fp.flush();
    expect(a.net.names()).toEqual(['From B']);
    expect(b.net.requests).toHaveLength(1);
    expect(await queue.all()).toEqual([]);
  });

  it("another tab's handover (its marks changed: a storage event) brings a sweep once the grace is over, though this tab has nothing to send", async () => {
    const locks = withLocks();
    const queue = memoryStore();
    const a = await openTab(locks, queue);
    // A tab (no lock: gone) left an event in a keepalive request no page read the answer of.
    const key = createKeyMaker('tabGONE01')();
    await queue.put([[key, JSON.stringify({ event_id: 'EVgone', name: 'Gone Tab', properties: {} })]]);
    localStorage.setItem(MARKS, JSON.stringify({ [key]: -Date.now() }));
    dispatchEvent(new StorageEvent('storage', { key: MARKS }));
    await advance(HANDOVER_GRACE_MS - 1000);
    expect(a.net.requests).toHaveLength(0); // within its grace
    await advance(2000);
    expect(a.net.names()).toEqual(['Gone Tab']);
    expect(await queue.all()).toEqual([]);
  });

  it("takes over a closed tab's events at once, in order with its own", async () => {
    const locks = withLocks();
    const queue = memoryStore();
    await closedTab(locks, queue, ['Closed 1', 'Closed 2']);
    vi.setSystemTime(T0 + 1000);
    const a = await openTab(locks, queue);
    a.fp.track('Mine');
    await a.fp.flush();
    expect(a.net.names()).toEqual(['Closed 1', 'Closed 2', 'Mine']);
  });

  it('without Web Locks, never takes a live tab’s events (it beats a heartbeat), and takes a closed one’s at once', async () => {
    const queue = memoryStore();
    const other = setup({ queue, replies: Array(50).fill('network-error') });
    other.fp.track('Other');
    await settle();
    const a = setup({ queue });
    await a.fp.flush();
    expect(a.net.requests).toHaveLength(0);
    await advance(11 * MIN); // long past the old 10-minute rule: the other tab still beats
    await a.fp.flush();
    await advance(SWEEP);
    expect(a.net.names()).toEqual([]);
    other.fp.destroy(); // closes: its heartbeat is removed
    await advance(SWEEP);
    await a.fp.flush();
    expect(a.net.names()).toEqual(['Other']);
  });
});
