/**
 * The outbox and handover at the edges: callbacks of events that never go
 * through the normal write, spill failures, marks racing a sweep, another
 * tab's events in a keepalive request. Each case was a bug once.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createKeyMaker } from '../../src/lib/eventKey';
import { memoryStore } from '../../src/lib/queue';
import { createReachability } from '../../src/lib/reachability';
import type { Courier } from '../../src/tracker/courier';
import { createHandover } from '../../src/tracker/handover';
import { refuseLocalStorage } from '../helpers/cookieJar';
import { deferred, drain, fakeBeacon } from '../helpers/fakeNetwork';
import { marks, namesOf, OTHER_TAB, startOutbox } from '../helpers/outbox';

beforeEach(() => {
  vi.useFakeTimers({ now: Date.UTC(2025, 3, 1, 10) });
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  localStorage.clear();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  localStorage.clear();
});
const none = () => false;

describe('a callback runs once even when its event is spilled or handed over before the write slice', () => {
  it('rescue() (spilled to localStorage, a fallback store)', async () => {
    const { outbox, add } = startOutbox();
    const callback = vi.fn();
    add('A', {}, callback);
    outbox.rescue();
    await vi.runAllTimersAsync();
    await outbox.written();
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it('handOver(keys, 0) (the collector was reachable: delivered by beacon)', async () => {
    const { outbox, add } = startOutbox();
    const callback = vi.fn();
    const a = add('A', {}, callback);
    outbox.handOver([a], 0);
    await vi.runAllTimersAsync();
    await outbox.written();
    expect(callback).toHaveBeenCalledTimes(1);
  });
});

describe('rescue() with a spill store that refuses', () => {
  it('leaves the events to the normal write', async () => {
    const { outbox, store, add } = startOutbox();
    add('A');
    refuseLocalStorage(); // localStorage full: the spill write rejects
    outbox.rescue();
    vi.unstubAllGlobals();
    await vi.runAllTimersAsync();
    await outbox.written();
    await drain();
    expect(namesOf(await store.all())).toEqual(['A']);
  });
});

describe('without a spill store, a confirmed handover deletes the events from the store', () => {
  it('the next page does not send them again (storage: "memory" keeps events in IndexedDB but has no spill)', async () => {
    const store = memoryStore();
    const { outbox, add } = startOutbox({ store, spill: false });
    const a = add('Delivered while hidden');
    await outbox.written();
    outbox.handOver([a], 0); // courier.delivered() in a hidden page, or a proven beacon
    await outbox.sweep();
    const next = startOutbox({ store, spill: false, tabId: 'tabCCCC3' });
    expect((await next.outbox.sweep()).others).toEqual([]);
  });
});

describe('a sweep keeps the marks of events stored and handed over while it reads the store', () => {
  it('the next page does not send a delivered event again', async () => {
    const store = memoryStore();
    const gate = deferred<void>();
    // IndexedDB: the read is a snapshot taken when it starts, answered some tasks later.
    const slow = { ...store, all: async () => { const records = await store.all(); await gate.promise; return records; } };
    const { outbox, add } = startOutbox({ store: slow });
    const sweeping = outbox.sweep();
    const a = add('Stored during the sweep');
    await outbox.written();
    outbox.handOver([a], 0); // the page hides with the collector reachable
    gate.resolve();
    await sweeping;
    expect(marks()).toEqual({ [a]: 0 });
    const next = startOutbox({ store, tabId: 'tabCCCC3' });
    expect((await next.outbox.sweep()).others).toEqual([]);
  });
});

describe("another tab's events in a keepalive request at page hide are marked", () => {
  it('the next page waits out the grace period', async () => {
    const tab = startOutbox();
    const orphan = createKeyMaker(OTHER_TAB)();
    const courier = { keepalive: () => ({ keys: [orphan], bytes: 500 }), flush: vi.fn(), soon: vi.fn(), schedule: vi.fn() };
    const handover = createHandover({
      outbox: tab.outbox,
      courier: courier as unknown as Courier,
      reach: createReachability(),
      endpoint: () => 'http://127.0.0.1:9999/events/track/bulk',
      mayLeave: () => true,
      options: () => ({ maxBatchBytes: 524288, flushInterval: 1000 }),
      sendBeacon: fakeBeacon().send,
      report: vi.fn(),
    });
    handover.hide();
    expect(marks()).toEqual({ [orphan]: -Date.now() });
    expect(tab.outbox.unsent(true, none)).toEqual([]);
  });
});
