import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { recordBytes } from '../../src/lib/batch';
import { createKeyMaker } from '../../src/lib/eventKey';
import { logState } from '../../src/lib/log';
import { localStorageStore, memoryStore, type EventStore, type QueueRecord } from '../../src/lib/queue';
import { HANDOVER_GRACE_MS, MARKS } from '../../src/tracker/outbox';
import { refuseLocalStorage } from '../helpers/cookieJar';
import { deferred, drain } from '../helpers/fakeNetwork';
import { marks, namesOf, OTHER_TAB, record, SPILL_KEY, startOutbox } from '../helpers/outbox';

const T0 = Date.UTC(2025, 3, 1, 10, 0, 0);
const DAY = 24 * 3600 * 1000;

let warn: ReturnType<typeof vi.spyOn>;
const warnings = (): string[] => warn.mock.calls.map((args: unknown[]) => args.map(String).join(' '));

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
  warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  localStorage.clear();
  sessionStorage.clear();
});
afterEach(() => {
  logState.debug = false;
  vi.useRealTimers();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  localStorage.clear();
  sessionStorage.clear();
});

/** Runs the timers due now (the write slices) and lets the writes settle. */
async function settle() {
  await vi.advanceTimersByTimeAsync(0);
  await drain();
}

const none = () => false;
/** Names of the events held in a store, in key order. */
const stored = async (store: { all(): Promise<[string, string][]> }) => namesOf((await store.all()).sort(([a], [b]) => (a < b ? -1 : 1)));
/** Other tabs' keys, one per ms from now on. */
function otherKeys(count: number, tab = OTHER_TAB): string[] {
  const next = createKeyMaker(tab);
  return Array.from({ length: count }, () => (vi.advanceTimersByTime(1), next()));
}

describe('outbox: the write buffer', () => {
  it('add() only captures: the event is serialized and stored in a later task', async () => {
    const { outbox, store, add } = startOutbox();
    const toJSON = vi.fn(() => ({ plan: 'pro' }));
    add('Signed Up', { toJSON } as any);
    expect(toJSON).not.toHaveBeenCalled();
    await drain();
    expect(await store.all()).toEqual([]);
    expect(toJSON).not.toHaveBeenCalled();
    await settle();
    expect(toJSON).toHaveBeenCalledTimes(1);
    const [[, json]] = await store.all();
    expect(JSON.parse(json)).toMatchObject({ name: 'Signed Up', properties: { plan: 'pro' } });
    expect(outbox.unsent(false, none).map(([, json]) => JSON.parse(json).name)).toEqual(['Signed Up']);
  });

  it('a large buffer is written in slices of about SLICE_MS of serializing, one per task, in order', async () => {
    const { store, add } = startOutbox();
    // Serializing an event takes 0.5 ms; reading the clock takes none.
    let clock = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const toJSON = vi.fn(() => ((clock += 0.5), {}));
    const names = Array.from({ length: 1000 }, (_, i) => 'E' + i);
    names.forEach((name) => add(name, { toJSON } as any));
    await vi.advanceTimersToNextTimerAsync();
    // The first slice serialized until the clock (read every 32 events) was past SLICE_MS: 32 events, 16 ms.
    expect(toJSON).toHaveBeenCalledTimes(32);
    await drain();
    expect((await store.all()).length).toBe(32);
    await vi.runAllTimersAsync();
    await drain();
    expect(await stored(store)).toEqual(names);
  });

  it('while the clock stays under SLICE_MS, the whole buffer is written in one task', async () => {
    const { store, add } = startOutbox();
    vi.spyOn(performance, 'now').mockReturnValue(0);
    for (let i = 0; i < 1000; i++) add('E' + i);
    await vi.advanceTimersToNextTimerAsync();
    await drain();
    expect((await store.all()).length).toBe(1000);
  });

  it('written() serializes and stores everything added so far, now, without waiting for a timer', async () => {
    const { outbox, store, add } = startOutbox();
    add('A');
    add('B');
    add('C');
    await outbox.written();
    expect(await stored(store)).toEqual(['A', 'B', 'C']);
    await settle();
    expect(await stored(store)).toEqual(['A', 'B', 'C']);
  });

  it("an event's callback runs once it is stored, and only once", async () => {
    const store = localStorageStore('test:queue');
    const { outbox, add } = startOutbox({ store });
    const seen: string[][] = [];
    const callback = vi.fn(() => seen.push(Object.keys(JSON.parse(localStorage.getItem('test:queue') || '{}'))));
    const key = add('A', {}, callback);
    expect(callback).not.toHaveBeenCalled();
    await settle();
    expect(callback).toHaveBeenCalledTimes(1);
    expect(seen[0]).toContain(key);
    add('B');
    await outbox.written();
    outbox.rescue();
    await settle();
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it('a throwing callback is warned about; the other callbacks still run and written() resolves', async () => {
    const { outbox, store, add } = startOutbox();
    const after = vi.fn();
    add('A', {}, () => {
      throw new Error('page bug');
    });
    add('B', {}, after);
    await expect(outbox.written()).resolves.not.toThrow();
    expect(after).toHaveBeenCalledTimes(1);
    expect(warnings().some((w) => w.includes('callback() failed') && w.includes('page bug'))).toBe(true);
    expect(await stored(store)).toEqual(['A', 'B']);
  });

  it('an event a middleware made unserializable (a BigInt) is dropped with a warning; the others are stored', async () => {
    const { outbox, store, add, report } = startOutbox();
    const callback = vi.fn();
    add('A');
    const bad = add('Bad', { amount: 10n }, callback);
    add('C');
    await outbox.written();
    expect(await stored(store)).toEqual(['A', 'C']);
    expect(warnings().some((w) => w.includes('unserializable event dropped'))).toBe(true);
    expect(outbox.waiting(bad)).toBe(false);
    expect(namesOf(outbox.unsent(true, none))).toEqual(['A', 'C']);
    expect(callback).not.toHaveBeenCalled();
    expect(report).not.toHaveBeenCalledWith('dropped', expect.objectContaining({ reason: 'queue limits' }));
  });

  it('an event over maxEventBytes is dropped with a warning and a dropped report', async () => {
    const { outbox, store, add, report } = startOutbox({ limits: { maxEventBytes: 500 } });
    add('Small');
    const big = add('Big', { text: 'x'.repeat(600) });
    await outbox.written();
    expect(await stored(store)).toEqual(['Small']);
    expect(warnings()).toContain('[firstparty] event too large, dropped: Big');
    expect(report).toHaveBeenCalledWith('dropped', { reason: 'too large', events: [expect.objectContaining({ name: 'Big' })] });
    expect(outbox.waiting(big)).toBe(false);
  });

  it('an event too large is dropped as well when it is serialized on demand (unsent(true))', () => {
    const { outbox, add, report } = startOutbox({ limits: { maxEventBytes: 500 } });
    add('Small');
    add('Big', { text: 'x'.repeat(600) });
    expect(namesOf(outbox.unsent(true, none))).toEqual(['Small']);
    expect(report).toHaveBeenCalledWith('dropped', expect.objectContaining({ reason: 'too large' }));
  });
});

describe('outbox: unsent() and waiting()', () => {
  it('unsent(false) lists the stored events; unsent(true) also those not yet stored, serialized now, and first (each group in call order)', async () => {
    const { outbox, store, add } = startOutbox();
    const [a, b] = [add('A'), add('B')];
    await outbox.written();
    const c = add('C', { step: 3 });
    expect(outbox.unsent(false, none).map(([key]) => key)).toEqual([a, b]);
    const all = outbox.unsent(true, none);
    // A handover whose quota cannot take all sends first what has nothing else to survive the page by.
    expect(all.map(([key]) => key)).toEqual([c, a, b]);
    expect(JSON.parse(all[0][1])).toMatchObject({ name: 'C', properties: { step: 3 } });
    // Serialized on demand, not stored: that is still the write buffer's job.
    expect(await stored(store)).toEqual(['A', 'B']);
    await settle();
    expect(await stored(store)).toEqual(['A', 'B', 'C']);
  });

  it('a write of several 64 KiB chunks issues them all at once (one issued behind another’s commit never is, at a page hide); the events count as stored when all are', async () => {
    const base = memoryStore();
    const held = deferred<void>();
    let puts = 0;
    const store: EventStore = { ...base, put: (records) => (puts++, held.promise.then(() => base.put(records))) };
    const { outbox, add } = startOutbox({ store });
    for (let i = 0; i < 12; i++) add('E' + i, { pad: 'x'.repeat(8000) }); // ~96 KiB: two chunks
    outbox.written();
    await drain();
    expect(puts).toBe(2); // both under way before either is done
    expect(outbox.unsent(false, none)).toEqual([]);
    // An event whose write waits behind those: the handover takes it first, then the ones under way.
    const late = add('Late');
    outbox.written();
    await drain();
    expect(puts).toBe(2);
    expect(outbox.unsent(true, none).map(([key]) => key)[0]).toBe(late);
    held.resolve();
    await outbox.written();
    expect(outbox.unsent(false, none)).toHaveLength(13);
  });

  it('unsent() leaves out the keys `except` names', async () => {
    const { outbox, add } = startOutbox();
    const [a, b, c] = [add('A'), add('B'), add('C')];
    await outbox.written();
    expect(outbox.unsent(false, (key) => key === b).map(([key]) => key)).toEqual([a, c]);
    expect(outbox.unsent(true, (key) => key !== c).map(([key]) => key)).toEqual([c]);
  });

  it("waiting() is true for this tab's events until they are forgotten; false for keys it does not hold", async () => {
    const { outbox, add } = startOutbox();
    const a = add('A');
    expect(outbox.waiting(a)).toBe(true);
    await outbox.written();
    expect(outbox.waiting(a)).toBe(true);
    await outbox.forget([a]);
    expect(outbox.waiting(a)).toBe(false);
    expect(outbox.waiting(otherKeys(1)[0])).toBe(false);
  });
});

describe('outbox: handOver()', () => {
  it('confirmed: the events leave at once, are marked 0 in localStorage, and the store is not touched', async () => {
    const { outbox, store, add } = startOutbox();
    const [a, b, c] = [add('A'), add('B'), add('C')];
    await outbox.written();
    const put = vi.spyOn(store, 'put');
    const remove = vi.spyOn(store, 'remove');
    outbox.handOver([a, b], 0);
    expect(marks()).toEqual({ [a]: 0, [b]: 0 });
    expect(put).not.toHaveBeenCalled();
    expect(remove).not.toHaveBeenCalled();
    expect([a, b, c].map(outbox.waiting)).toEqual([false, false, true]);
    expect(outbox.due()).toBe(Infinity);
    await vi.advanceTimersByTimeAsync(HANDOVER_GRACE_MS + 1);
    expect(namesOf(outbox.unsent(true, none))).toEqual(['C']);
  });

  it('unconfirmed: the events are kept, marked with the time, and left out until HANDOVER_GRACE_MS; due() says when', async () => {
    const { outbox, add } = startOutbox();
    const [a, b] = [add('A'), add('B')];
    await outbox.written();
    vi.advanceTimersByTime(1000);
    const handed = Date.now();
    outbox.handOver([a], -1);
    expect(marks()).toEqual({ [a]: -handed });
    expect(outbox.due()).toBe(handed + HANDOVER_GRACE_MS);
    expect(outbox.waiting(a)).toBe(false);
    expect(namesOf(outbox.unsent(true, none))).toEqual(['B']);
    vi.advanceTimersByTime(HANDOVER_GRACE_MS - 1);
    expect(outbox.waiting(a)).toBe(false);
    expect(namesOf(outbox.unsent(false, none))).toEqual(['B']);
    vi.advanceTimersByTime(1);
    expect(outbox.waiting(a)).toBe(true);
    expect(namesOf(outbox.unsent(false, none))).toEqual(['A', 'B']);
    expect(outbox.waiting(b)).toBe(true);
  });

  it('due() is the earliest of several handovers', async () => {
    const { outbox, add } = startOutbox();
    const [a, b] = [add('A'), add('B')];
    outbox.handOver([a], -1);
    vi.advanceTimersByTime(3000);
    outbox.handOver([b], -1);
    expect(outbox.due()).toBe(T0 + HANDOVER_GRACE_MS);
  });

  it('without a spill store (localStorage off limits) no marks are written, but the grace still holds', async () => {
    const { outbox, add } = startOutbox({ spill: false });
    const [a, b] = [add('A'), add('B')];
    outbox.handOver([a], -1);
    outbox.handOver([b], 0);
    expect(localStorage.getItem(MARKS)).toBeNull();
    expect(localStorage.length).toBe(0);
    expect(outbox.waiting(a)).toBe(false);
    expect(outbox.unsent(true, none)).toEqual([]);
  });
});

describe('outbox: rescue()', () => {
  it('spills the events not yet stored to the spill store synchronously, and they are not written to the store again', async () => {
    const { outbox, store, add } = startOutbox();
    add('A');
    await outbox.written();
    const [b, c] = [add('B'), add('C')];
    outbox.rescue();
    // No await: the page may be gone after this task.
    expect(Object.keys(JSON.parse(localStorage.getItem(SPILL_KEY) || '{}'))).toEqual([b, c]);
    expect(namesOf(await localStorageStore(SPILL_KEY).all())).toEqual(['B', 'C']);
    const put = vi.spyOn(store, 'put');
    await settle();
    expect(put).not.toHaveBeenCalled();
    expect(await stored(store)).toEqual(['A']);
    // They are still this tab's to send.
    expect(namesOf(outbox.unsent(false, none))).toEqual(['A', 'B', 'C']);
  });

  it("spills first, on their own, the events no handover carries: a localStorage nearly full still takes them (receipts R5 lost the 4 a handover had no room for)", async () => {
    // A spill store with room for 2 events at a time, as a localStorage the site has filled.
    const room = localStorageStore(SPILL_KEY);
    const spill = { ...room, put: (records: QueueRecord[]) => (records.length > 2 ? Promise.reject(new Error('full')) : room.put(records)) };
    const { outbox, add } = startOutbox({ spill });
    const keys = ['A', 'B', 'C', 'D', 'E'].map((name) => add(name));
    outbox.handOver(keys.slice(0, 3), -1); // the handover's 64 KiB took A, B and C
    outbox.rescue();
    expect(namesOf(await room.all())).toEqual(['D', 'E']);
  });

  it('spills nothing when everything is stored', async () => {
    const { outbox, add } = startOutbox();
    add('A');
    await outbox.written();
    outbox.rescue();
    expect(localStorage.getItem(SPILL_KEY)).toBeNull();
  });

  it('without a spill store writes nothing to localStorage; the events are stored later as usual', async () => {
    const { outbox, store, add } = startOutbox({ spill: false });
    add('A');
    outbox.rescue();
    expect(localStorage.length).toBe(0);
    await settle();
    expect(await stored(store)).toEqual(['A']);
  });
});

describe('outbox: sweep()', () => {
  it("returns other tabs' records, not this tab's own", async () => {
    const { outbox, store, add } = startOutbox();
    const [x, y] = otherKeys(2);
    await store.put([record(x, 'X'), record(y, 'Y')]);
    add('Mine');
    await outbox.written();
    const { others, due } = await outbox.sweep();
    expect(namesOf(others)).toEqual(['X', 'Y']);
    expect(due).toBe(Infinity);
    expect((await stored(store)).sort()).toEqual(['Mine', 'X', 'Y']);
  });

  it('deletes the records marked 0 (delivered) without returning them, and clears their marks', async () => {
    const { outbox, store, add, report } = startOutbox();
    const [x, y] = otherKeys(2);
    await store.put([record(x, 'X'), record(y, 'Y')]);
    const mine = add('Mine');
    await outbox.written();
    outbox.handOver([mine], 0);
    localStorage.setItem(MARKS, JSON.stringify({ ...marks(), [x]: 0 }));
    const { others } = await outbox.sweep();
    expect(namesOf(others)).toEqual(['Y']);
    expect(await stored(store)).toEqual(['Y']);
    expect(localStorage.getItem(MARKS)).toBeNull();
    expect(warn).not.toHaveBeenCalled();
    expect(report).not.toHaveBeenCalled();
  });

  it("drops other tabs' corrupt, foreign, too large and expired records, with one warning and one dropped report", async () => {
    const { outbox, store, report } = startOutbox({ limits: { maxAge: DAY, maxEventBytes: 500 } });
    const [old] = otherKeys(1);
    vi.advanceTimersByTime(DAY + 1);
    const [broken, text, big, numeric, good] = otherKeys(5);
    await store.put([
      record(old, 'Old'),
      [broken, '{"name":"Broken"'],
      [text, '"just a string"'],
      [big, JSON.stringify({ name: 'Big', text: 'x'.repeat(600) })],
      [numeric, 42 as any],
      ['someone-elses-key', JSON.stringify({ name: 'Foreign' })],
      record(good, 'Good'),
    ]);
    const { others } = await outbox.sweep();
    expect(namesOf(others)).toEqual(['Good']);
    expect((await store.all()).map(([key]) => key)).toEqual([good]);
    expect(warnings()).toEqual(['[firstparty] 6 events dropped (maxAge or corrupt)']);
    expect(report.mock.calls).toEqual([['dropped', { reason: 'queue limits', count: 6 }]]);
  });

  it("never drops this tab's own events for age (its clock may have been corrected since)", async () => {
    const { outbox, store, add } = startOutbox({ limits: { maxAge: DAY } });
    add('Mine');
    await outbox.written();
    vi.advanceTimersByTime(2 * DAY);
    await outbox.sweep();
    expect(await stored(store)).toEqual(['Mine']);
    expect(namesOf(outbox.unsent(false, none))).toEqual(['Mine']);
    expect(warn).not.toHaveBeenCalled();
  });

  it('keeps a record dated in the future (a clock that was ahead)', async () => {
    const { outbox, store } = startOutbox({ limits: { maxAge: DAY } });
    vi.advanceTimersByTime(DAY);
    const [ahead] = otherKeys(1);
    vi.setSystemTime(T0);
    await store.put([record(ahead, 'Ahead')]);
    expect(namesOf((await outbox.sweep()).others)).toEqual(['Ahead']);
  });

  it("leaves out other tabs' records in a handover's grace, says when they are due, and returns them after it", async () => {
    const { outbox, store } = startOutbox();
    const [x, y] = otherKeys(2);
    await store.put([record(x, 'X'), record(y, 'Y')]);
    const handed = Date.now();
    localStorage.setItem(MARKS, JSON.stringify({ [y]: handed }));
    const first = await outbox.sweep();
    expect(namesOf(first.others)).toEqual(['X']);
    expect(first.due).toBe(handed + HANDOVER_GRACE_MS);
    expect(marks()).toEqual({ [y]: handed });
    vi.advanceTimersByTime(HANDOVER_GRACE_MS);
    expect(namesOf((await outbox.sweep()).others)).toEqual(['X', 'Y']);
  });

  it('clears the marks whose records are gone, and keeps those whose records are still there', async () => {
    const { outbox, store } = startOutbox();
    const [x, gone, gone0] = otherKeys(3);
    await store.put([record(x, 'X')]);
    localStorage.setItem(MARKS, JSON.stringify({ [x]: T0, [gone]: T0, [gone0]: 0 }));
    await outbox.sweep();
    expect(marks()).toEqual({ [x]: T0 });
  });

  it('reads marks that are not a JSON object as none', async () => {
    const { outbox, store } = startOutbox();
    const [x] = otherKeys(1);
    await store.put([record(x, 'X')]);
    localStorage.setItem(MARKS, '[0]');
    expect(namesOf((await outbox.sweep()).others)).toEqual(['X']);
    localStorage.setItem(MARKS, '{broken');
    expect(namesOf((await outbox.sweep()).others)).toEqual(['X']);
  });
});

describe('outbox: the caps (applied by sweep() only while the collector fails)', () => {
  it('drops nothing over maxQueue or maxQueueBytes while the collector answers', async () => {
    const { outbox, store, report } = startOutbox({ limits: { maxQueue: 2, maxQueueBytes: 100 } });
    const keys = otherKeys(5);
    await store.put(keys.map((key, i) => record(key, 'E' + i)));
    expect((await outbox.sweep()).others).toHaveLength(5);
    expect(await store.all()).toHaveLength(5);
    expect(report).not.toHaveBeenCalled();
    expect(warn).not.toHaveBeenCalled();
  });

  it('while failing, drops the oldest over maxQueue, own and other tabs alike: an exact count, a warning once then debug', async () => {
    logState.debug = true;
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const { outbox, store, add, report, state } = startOutbox({ limits: { maxQueue: 3 } });
    state.failing = true;
    add('Mine1');
    add('Mine2');
    await outbox.written();
    const keys = otherKeys(3);
    await store.put(keys.map((key, i) => record(key, 'X' + i)));
    const { others } = await outbox.sweep();
    expect(namesOf(others)).toEqual(['X0', 'X1', 'X2']);
    expect(await stored(store)).toEqual(['X0', 'X1', 'X2']);
    expect(outbox.unsent(true, none)).toEqual([]);
    expect(warnings()).toEqual(['[firstparty] 2 oldest events dropped: queue full (maxQueue 3, maxQueueBytes 5242880) while the collector fails']);
    expect(report.mock.calls).toEqual([['dropped', { reason: 'queue limits', count: 2 }]]);
    // A second time: the same report, but only a debug line.
    await store.put(otherKeys(1).map((key) => record(key, 'X3')));
    await outbox.sweep();
    expect(await stored(store)).toEqual(['X1', 'X2', 'X3']);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(report).toHaveBeenLastCalledWith('dropped', { reason: 'queue limits', count: 1 });
    expect(log.mock.calls.some((args) => String(args[1]).startsWith('1 oldest events dropped: queue full'))).toBe(true);
  });

  it('while failing, drops the oldest over maxQueueBytes', async () => {
    const keys = otherKeys(5);
    const records = keys.map((key, i) => record(key, 'E' + i));
    const { outbox, store, report, state } = startOutbox({ limits: { maxQueueBytes: 3 * recordBytes(records[0]) } });
    state.failing = true;
    await store.put(records);
    expect(namesOf((await outbox.sweep()).others)).toEqual(['E2', 'E3', 'E4']);
    expect(await stored(store)).toEqual(['E2', 'E3', 'E4']);
    expect(report).toHaveBeenCalledWith('dropped', { reason: 'queue limits', count: 2 });
  });

  it('counts what is in the store now: events forgotten or handed over confirmed are not counted', async () => {
    // The case: 90 events handed to the beacon, then 20 tracked, maxQueue 100.
    const { outbox, store, add, report, state, keys } = startOutbox({ limits: { maxQueue: 100 } });
    for (let i = 0; i < 90; i++) add('Beaconed' + i);
    await outbox.written();
    outbox.handOver(keys.slice(0, 90), 0);
    for (let i = 0; i < 15; i++) add('Later' + i);
    await outbox.written();
    await outbox.forget(keys.slice(90, 95));
    for (let i = 0; i < 5; i++) add('Last' + i);
    await outbox.written();
    state.failing = true;
    await outbox.sweep();
    expect(report).not.toHaveBeenCalled();
    expect(warn).not.toHaveBeenCalled();
    expect(await store.all()).toHaveLength(15);
    expect(outbox.unsent(false, none)).toHaveLength(15);
  });
});

describe('outbox: forget() and clear()', () => {
  it('forget() removes events from the store and from memory, stored or not', async () => {
    const { outbox, store, add } = startOutbox();
    const [a, b] = [add('A'), add('B')];
    await outbox.written();
    const c = add('C');
    await outbox.forget([a, c]);
    expect(await stored(store)).toEqual(['B']);
    expect(namesOf(outbox.unsent(true, none))).toEqual(['B']);
    await settle();
    expect(await stored(store)).toEqual(['B']);
    expect([a, b, c].map(outbox.waiting)).toEqual([false, true, false]);
  });

  it("clear() empties this tab's events and every other tab's up to now, and keeps what is added after", async () => {
    const { outbox, store, add } = startOutbox();
    const [x] = otherKeys(1);
    await store.put([record(x, 'X')]);
    add('Stored');
    await outbox.written();
    const callback = vi.fn();
    add('Buffered', {}, callback);
    const cleared = outbox.clear();
    add('After');
    await cleared;
    await settle();
    expect(await stored(store)).toEqual(['After']);
    expect(namesOf(outbox.unsent(true, none))).toEqual(['After']);
    expect(callback).not.toHaveBeenCalled();
  });

  it('clear() in the task of a write stores nothing of that write', async () => {
    const { outbox, store, add } = startOutbox();
    add('A');
    const writing = outbox.written();
    await outbox.clear();
    await writing;
    expect(await store.all()).toEqual([]);
  });

  it("clear() leaves another tab's records dated after now", async () => {
    const { outbox, store } = startOutbox();
    vi.advanceTimersByTime(5000);
    const [later] = otherKeys(1);
    vi.setSystemTime(T0);
    await store.put([record(later, 'Later')]);
    await outbox.clear();
    expect(await stored(store)).toEqual(['Later']);
  });
});

describe('outbox: storage that refuses', () => {
  it('a store that rejects a write: a warning, and the events are still sent from memory', async () => {
    const store = memoryStore();
    store.put = () => Promise.reject(new Error('quota'));
    const { outbox, add } = startOutbox({ store });
    const callback = vi.fn();
    add('A', {}, callback);
    await expect(outbox.written()).resolves.toBeUndefined();
    expect(warnings().some((w) => w.includes('could not store events'))).toBe(true);
    expect(callback).not.toHaveBeenCalled();
    expect(namesOf(outbox.unsent(true, none))).toEqual(['A']);
  });

  it('handOver() with localStorage refusing writes does not throw', async () => {
    const { outbox, add } = startOutbox();
    const a = add('A');
    refuseLocalStorage();
    expect(() => outbox.handOver([a], -1)).not.toThrow();
    expect(outbox.waiting(a)).toBe(false);
  });
});

describe('outbox: the receipt rules for handovers (reclaim(), marks in memory)', () => {
  it('reclaim(): a failure read for the handover itself makes its events plainly unsent at once, with no mark', async () => {
    const { outbox, add } = startOutbox();
    const a = add('A');
    await outbox.written();
    outbox.handOver([a], -1);
    expect(outbox.waiting(a)).toBe(false);
    outbox.reclaim([a]);
    expect(marks()).toEqual({});
    expect(outbox.waiting(a)).toBe(true);
    expect(namesOf(outbox.unsent(false, none))).toEqual(['A']);
  });

  it('marks localStorage refuses (full) are kept in memory: this page still honours them', async () => {
    const { outbox, add } = startOutbox();
    const a = add('A');
    await outbox.written();
    const restore = refuseLocalStorage();
    outbox.handOver([a], -1);
    vi.advanceTimersByTime(300);
    outbox.handOver([a], 0); // its 2xx, read later
    restore();
    expect(localStorage.getItem(MARKS)).toBeNull();
    // Delivered, as this page knows: not sent again, and the sweep deletes it.
    expect(outbox.waiting(a)).toBe(false);
    vi.advanceTimersByTime(HANDOVER_GRACE_MS);
    expect(namesOf(outbox.unsent(false, none))).toEqual([]);
  });

  it("marks localStorage refuses reach the tab's next page (sessionStorage): a handover whose 2xx was read is deleted there, not sent again; one unanswered waits out its grace", async () => {
    const store = memoryStore();
    const first = startOutbox({ store });
    const a = first.add('A');
    const b = first.add('B');
    await first.outbox.written();
    const restore = refuseLocalStorage();
    const handed = Date.now();
    first.outbox.handOver([a, b], -1);
    first.outbox.handOver([a], 0); // A's 2xx, read as the page went
    // The next page of the tab (a tab ID of its own), localStorage still full.
    const next = startOutbox({ store, tabId: OTHER_TAB });
    const early = await next.outbox.sweep();
    expect(namesOf(early.others)).toEqual([]);
    expect(early.due).toBe(handed + HANDOVER_GRACE_MS);
    expect(await stored(store)).toEqual(['B']);
    vi.advanceTimersByTime(HANDOVER_GRACE_MS);
    expect(namesOf((await next.outbox.sweep()).others)).toEqual(['B']);
    restore();
  });
});
