import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KEEPALIVE_LIMIT } from '../../src/lib/batch';
import { createReachability, type Reachability } from '../../src/lib/reachability';
import type { Courier } from '../../src/tracker/courier';
import { createHandover } from '../../src/tracker/handover';
import { HANDOVER_GRACE_MS, MARKS } from '../../src/tracker/outbox';
import { byteLength, drain, fakeBeacon } from '../helpers/fakeNetwork';
import { marks, namesOf, SPILL_KEY, startOutbox } from '../helpers/outbox';
import { hidePage } from '../helpers/page';

const T0 = Date.UTC(2025, 3, 1, 10, 0, 0);
const ENDPOINT = 'http://127.0.0.1:9999/events/track/bulk';
const FLUSH_INTERVAL = 1000;

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  localStorage.clear();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  localStorage.clear();
});

interface HandoverSetup {
  endpoint?: string;
  maxBatchBytes?: number;
  /** What the fake sendBeacon answers. */
  accept?: boolean;
  /** Whether events may leave (consent, opt-out, GPC): see consent.ts. */
  mayLeave?: () => boolean;
}

/**
 * A handover on a real outbox (memory store, localStorage spill) and a real
 * reachability record, with a stub courier: `courier.keepalive` says what is
 * in keepalive requests now (nothing unless a test says otherwise).
 */
function startHandover({ endpoint = ENDPOINT, maxBatchBytes = 524288, accept = true, mayLeave = () => true }: HandoverSetup = {}) {
  const tab = startOutbox();
  const reach = createReachability();
  const courier = { keepalive: vi.fn(() => ({ keys: [] as string[], bytes: 0 })), flush: vi.fn(), soon: vi.fn(), schedule: vi.fn(), express: vi.fn() };
  const beacons = fakeBeacon(accept);
  const report = vi.fn();
  const handover = createHandover({
    outbox: tab.outbox,
    courier: courier as unknown as Courier,
    reach,
    endpoint: () => endpoint,
    mayLeave,
    options: () => ({ maxBatchBytes, flushInterval: FLUSH_INTERVAL }),
    sendBeacon: beacons.send,
    report,
  });
  return { ...tab, handover, reach, courier, beacons, report };
}

const none = () => false;
/** Keys of the events in the spill store, read straight from localStorage (no await: the page may be gone). */
const spilled = (): string[] => Object.keys(JSON.parse(localStorage.getItem(SPILL_KEY) || '{}'));
/** `count` events named E0… with about `size` bytes of properties each; returns their keys. */
const addMany = (add: (name: string, properties?: Record<string, unknown>) => string, count: number, size = 10) =>
  Array.from({ length: count }, (_, i) => add('E' + i, { text: 'x'.repeat(size) }));
const names = (count: number) => Array.from({ length: count }, (_, i) => 'E' + i);

describe('handover: hide()', () => {
  it('beacons the unsent events in order, in bodies within the 64 KiB left by keepalive requests; the rest stay and are spilled', () => {
    const { handover, courier, beacons, outbox, add, report } = startHandover();
    courier.keepalive.mockReturnValue({ keys: [], bytes: 20000 });
    const keys = addMany(add, 300, 400);
    handover.hide();
    const budget = KEEPALIVE_LIMIT - 20000;
    const sizes = beacons.calls.map(({ text }) => byteLength(text));
    const total = sizes.reduce((sum, size) => sum + size, 0);
    expect(total).toBeLessThanOrEqual(budget);
    expect(total).toBeGreaterThan(budget - 1000); // the budget is used, less than one event short
    expect(beacons.calls.every(({ url }) => url === ENDPOINT)).toBe(true);
    const sent = beacons.events().map((e) => e.name);
    expect(sent).toEqual(names(sent.length));
    expect(beacons.events().every((e) => typeof e.sent_at === 'string')).toBe(true);
    // What did not fit is still this tab's to send, and safe in the spill store.
    expect(keys.slice(sent.length).every(outbox.waiting)).toBe(true);
    // (Those the handover could not carry are written first: the spill's order is not the queue's.)
    expect(spilled().sort()).toEqual([...keys].sort());
    expect(report).toHaveBeenCalledWith('sent', { beacon: 1, count: sent.length, kept: 1 });
    expect(report).toHaveBeenCalledWith('failed', expect.objectContaining({ beacon: 1 }));
  });

  it('splits into bodies of maxBatchBytes when that is smaller, and stops at the budget', () => {
    const { handover, courier, beacons, add } = startHandover({ maxBatchBytes: 8192 });
    courier.keepalive.mockReturnValue({ keys: [], bytes: 40000 });
    addMany(add, 300, 400);
    handover.hide();
    const sizes = beacons.calls.map(({ text }) => byteLength(text));
    expect(sizes.length).toBeGreaterThan(1);
    expect(sizes.every((size) => size <= 8192)).toBe(true);
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBeLessThanOrEqual(KEEPALIVE_LIMIT - 40000);
    expect(beacons.events().map((e) => e.name)).toEqual(names(beacons.events().length));
  });

  it('a 2xx just before the hide is no receipt: the handed-over events are kept, marked -time, nothing deleted on a guess', async () => {
    const { handover, reach, beacons, outbox, add, keys, report } = startHandover();
    reach.ok();
    addMany(add, 3);
    await outbox.written();
    handover.hide();
    expect(beacons.events().map((e) => e.name)).toEqual(names(3));
    expect(marks()).toEqual(Object.fromEntries(keys.map((key) => [key, -Date.now()])));
    expect(keys.some(outbox.waiting)).toBe(false);
    expect(report).toHaveBeenCalledWith('sent', { beacon: 1, count: 3, kept: 1 });
    // No answer read, no later evidence: they go again after the grace.
    vi.advanceTimersByTime(HANDOVER_GRACE_MS);
    expect(keys.every(outbox.waiting)).toBe(true);
  });

  it('the handover’s own 2xx, read by a page that lives on, is a receipt: marked 0, not sent again', async () => {
    const { handover, reach, beacons, outbox, add, keys } = startHandover();
    reach.ok();
    addMany(add, 3);
    await outbox.written();
    handover.hide();
    beacons.calls[0].answered!(true);
    expect(marks()).toEqual(Object.fromEntries(keys.map((key) => [key, 0])));
    vi.advanceTimersByTime(HANDOVER_GRACE_MS);
    expect(outbox.unsent(true, none)).toEqual([]);
  });

  it('a failure read for the handover (a 503 after a tab switch, a refused keepalive) leaves its events plainly unsent, sent again at once, though a 2xx came just before', async () => {
    const { handover, reach, beacons, courier, outbox, add, keys } = startHandover();
    reach.ok();
    addMany(add, 3);
    await outbox.written();
    handover.hide();
    courier.schedule.mockClear();
    beacons.calls[0].answered!(false);
    expect(marks()).toEqual({});
    expect(keys.every(outbox.waiting)).toBe(true);
    expect(courier.schedule).toHaveBeenCalledWith(0);
  });

  it.each<[string, (reach: Reachability) => void]>([
    ['no 2xx yet', () => {}],
    ['a 2xx just before', (reach) => reach.ok()],
    ['a failure since the last 2xx', (reach) => (reach.ok(), reach.fail())],
  ])('without a receipt (%s) the beaconed events are kept, marked with the time, spilled, and due again after the grace', async (_, history) => {
    const { handover, reach, beacons, outbox, add, keys, report } = startHandover();
    history(reach);
    addMany(add, 3);
    handover.hide();
    expect(beacons.events().map((e) => e.name)).toEqual(names(3));
    expect(marks()).toEqual(Object.fromEntries(keys.map((key) => [key, -Date.now()])));
    expect(keys.some(outbox.waiting)).toBe(false);
    expect(spilled()).toEqual(keys);
    expect(report).toHaveBeenCalledWith('sent', { beacon: 1, count: 3, kept: 1 });
    await drain(); // the spill store's answer: stored
    vi.advanceTimersByTime(HANDOVER_GRACE_MS);
    expect(keys.every(outbox.waiting)).toBe(true);
    expect(namesOf(outbox.unsent(false, none))).toEqual(names(3));
  });

  it('events in a keepalive request are marked doubtful (it may outlive the page, its answer unread), not beaconed again', async () => {
    const { handover, reach, courier, beacons, outbox, add } = startHandover();
    reach.ok();
    const [a, b, c] = addMany(add, 3);
    await outbox.written();
    courier.keepalive.mockReturnValue({ keys: [a], bytes: 500 });
    handover.hide();
    expect(beacons.events().map((e) => e.name)).toEqual(['E1', 'E2']);
    expect(marks()).toEqual({ [a]: -Date.now(), [b]: -Date.now(), [c]: -Date.now() });
    expect(outbox.waiting(a)).toBe(false);
    vi.advanceTimersByTime(HANDOVER_GRACE_MS);
    expect(outbox.waiting(a)).toBe(true);
  });

  it("a refused beacon stops the handover and reports 'failed'; the events stay, unmarked, and are spilled", () => {
    const { handover, reach, beacons, outbox, add, report } = startHandover({ maxBatchBytes: 2048, accept: false });
    reach.ok();
    const keys = addMany(add, 20, 200);
    handover.hide();
    expect(beacons.send).toHaveBeenCalledTimes(1);
    const count = beacons.calls[0].body.events.length;
    expect(count).toBeLessThan(20);
    expect(report.mock.calls).toEqual([['failed', { beacon: 1, count }]]);
    expect(localStorage.getItem(MARKS)).toBeNull();
    expect(keys.every(outbox.waiting)).toBe(true);
    expect(spilled()).toEqual(keys);
  });

  it('a second hide signal hands over only what came since the first', () => {
    const { handover, beacons, add } = startHandover();
    add('First');
    handover.hide();
    add('Second');
    handover.hide();
    expect(beacons.calls.map(({ body }) => body.events.map((e) => e.name))).toEqual([['First'], ['Second']]);
  });

  it('without an endpoint (destroyed) nothing is handed over', async () => {
    const { handover, beacons, outbox, add } = startHandover({ endpoint: '' });
    const [a] = addMany(add, 1);
    await outbox.written();
    handover.hide();
    add('During');
    handover.added();
    await Promise.resolve();
    expect(beacons.send).not.toHaveBeenCalled();
    expect(localStorage.getItem(MARKS)).toBeNull();
    expect(outbox.waiting(a)).toBe(true);
  });
});

describe('handover: privacy', () => {
  it('hands nothing over, and spills nothing, while events may not leave (opt-out in any tab, no consent, GPC)', async () => {
    const mayLeave = vi.fn(() => false);
    const { handover, beacons, outbox, add } = startHandover({ mayLeave });
    const [a] = addMany(add, 3);
    handover.hide();
    add('During');
    handover.added();
    await Promise.resolve();
    expect(mayLeave).toHaveBeenCalled();
    expect(beacons.send).not.toHaveBeenCalled();
    expect(localStorage.getItem(MARKS)).toBeNull();
    expect(spilled()).toEqual([]);
    expect(outbox.waiting(a)).toBe(true);
  });
});

describe('handover: added()', () => {
  it('an event added while a hide signal is dispatched is handed over in a microtask, with the others added in that task', async () => {
    const { handover, beacons, courier, add } = startHandover();
    handover.hide();
    add('In the page’s own hide listener');
    handover.added();
    add('And another');
    handover.added();
    expect(beacons.send).not.toHaveBeenCalled();
    await Promise.resolve();
    expect(beacons.send).toHaveBeenCalledTimes(1);
    expect(beacons.events().map((e) => e.name)).toEqual(['In the page’s own hide listener', 'And another']);
    expect(courier.flush).not.toHaveBeenCalled();
    // Only the send after the grace period, for a page that lives on: no flushInterval timer.
    expect(courier.schedule.mock.calls.every(([delay]: [number]) => delay === HANDOVER_GRACE_MS)).toBe(true);
  });

  it('in a hidden page, once the hide signal is over, an added event is sent at once (a fresh round now), not beaconed', async () => {
    const { handover, beacons, courier, add } = startHandover();
    hidePage();
    handover.hide();
    vi.advanceTimersByTime(0);
    add('Later, in the background');
    handover.added();
    await Promise.resolve();
    expect(courier.schedule).toHaveBeenLastCalledWith(0, true);
    expect(beacons.send).not.toHaveBeenCalled();
  });

  it('in a visible page, an added event gets its first attempt within flushInterval, a backoff or not (a fresh round), and an express send if the courier is idle', () => {
    const { handover, courier, add } = startHandover();
    add('A');
    handover.added();
    expect(courier.schedule).toHaveBeenCalledWith(FLUSH_INTERVAL, true);
    expect(courier.express).toHaveBeenCalledTimes(1);
    expect(courier.flush).not.toHaveBeenCalled();
  });

  it('during a hide signal an added event is handed over, not sent by express', async () => {
    const { handover, beacons, courier, add } = startHandover();
    handover.hide();
    add('In a pagehide listener');
    handover.added();
    await Promise.resolve();
    expect(courier.express).not.toHaveBeenCalled();
    expect(beacons.events().map((e) => e.name)).toEqual(['In a pagehide listener']);
  });

  it('show() (a tab switch back, a bfcache restore) resumes delivery within flushInterval', () => {
    const { handover, courier } = startHandover();
    handover.hide();
    courier.schedule.mockClear();
    handover.show();
    expect(courier.schedule).toHaveBeenCalledWith(FLUSH_INTERVAL);
  });

  it('show() ends the hide signal: an event added after it is scheduled, not beaconed', async () => {
    const { handover, beacons, courier, add } = startHandover();
    handover.hide();
    handover.show();
    add('A');
    handover.added();
    await Promise.resolve();
    expect(beacons.send).not.toHaveBeenCalled();
    expect(courier.schedule).toHaveBeenCalledWith(FLUSH_INTERVAL, true);
  });
});
