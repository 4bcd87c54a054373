import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createQueue, type EventStore, idbStore, LOCAL_QUEUE_CHARS, PAGE_CHUNKS, localStorageStore, memoryStore, type QueueRecord } from '../../src/lib/queue';
import { refuseLocalStorage } from '../helpers/cookieJar';

const rec = (key: string, name = key): QueueRecord => [key, JSON.stringify({ name })];
const keys = (records: QueueRecord[]) => records.map(([k]) => k);

/** A store that refuses everything, counting calls. */
function refusingStore(): EventStore & { calls: number } {
  const store = {
    calls: 0,
    put: async () => {
      store.calls++;
      throw new DOMException('quota', 'QuotaExceededError');
    },
    all: async (): Promise<QueueRecord[]> => {
      throw new Error('unreadable');
    },
    remove: async () => {
      throw new Error('unwritable');
    },
  };
  return store;
}

async function empty(store: EventStore) {
  await store.remove(keys(await store.all()));
}

let warn: ReturnType<typeof vi.spyOn>;
beforeEach(async () => {
  warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  localStorage.clear();
  await empty(idbStore());
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  localStorage.clear();
});

describe('memoryStore', () => {
  it('puts, lists and removes', async () => {
    const store = memoryStore();
    await store.put([rec('a'), rec('b')]);
    await store.put([rec('a', 'A2')]);
    expect(await store.all()).toEqual([rec('a', 'A2'), rec('b')]);
    await store.remove(['a', 'missing']);
    expect(await store.all()).toEqual([rec('b')]);
  });
});

describe('localStorageStore', () => {
  it('round-trips records through localStorage', async () => {
    const store = localStorageStore('test:queue');
    await store.put([rec('k2'), rec('k1')]);
    expect(JSON.parse(localStorage.getItem('test:queue')!)).toEqual({ k2: rec('k2')[1], k1: rec('k1')[1] });
    // A new instance (a reload) reads the same records.
    expect((await localStorageStore('test:queue').all()).sort()).toEqual([rec('k1'), rec('k2')]);
    await store.remove(['k1']);
    expect(await store.all()).toEqual([rec('k2')]);
  });

  it(`takes at most LOCAL_QUEUE_CHARS (${LOCAL_QUEUE_CHARS}) of localStorage, counted as setItem counts: past it a write is refused, the site keeps its room`, async () => {
    const store = localStorageStore('test:queue', 1000);
    const big = (key: string): QueueRecord => [key, JSON.stringify({ name: 'x'.repeat(400) })];
    await store.put([big('a'), big('b')]);
    await expect(store.put([big('c')])).rejects.toThrow('localStorage queue full');
    expect(Object.keys(JSON.parse(localStorage.getItem('test:queue')!))).toEqual(['a', 'b']);
    await store.remove(['a']); // a removal always goes through
    expect(Object.keys(JSON.parse(localStorage.getItem('test:queue')!))).toEqual(['b']);
  });

  it('past the cap the queue moves on to memory (one warning), and still reads both', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const queue = createQueue([localStorageStore('test:queue', 600), memoryStore()]);
    const big = (key: string): QueueRecord => [key, JSON.stringify({ name: 'x'.repeat(400) })];
    await queue.put([big('a')]);
    await queue.put([big('b')]);
    expect((await queue.all()).map(([key]) => key)).toEqual(['a', 'b']);
    expect(Object.keys(JSON.parse(localStorage.getItem('test:queue')!))).toEqual(['a']);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('is empty again once every record is removed', async () => {
    const store = localStorageStore('test:queue');
    await store.put([rec('a')]);
    await store.remove(['a']);
    expect(await localStorageStore('test:queue').all()).toEqual([]);
    expect(JSON.parse(localStorage.getItem('test:queue') || '{}')).toEqual({});
  });

  it('leaves no key behind once emptied, and a removal from an empty store writes nothing', async () => {
    const store = localStorageStore('test:queue');
    await store.put([rec('a')]);
    await store.remove(['a']);
    expect(localStorage.getItem('test:queue')).toBeNull();
    await store.remove(['b']);
    expect(localStorage.length).toBe(0);
  });

  it('reads corrupt data as empty', async () => {
    localStorage.setItem('test:queue', '{not json');
    expect(await localStorageStore('test:queue').all()).toEqual([]);
    localStorage.setItem('test:queue', 'null');
    expect(await localStorageStore('test:queue').all()).toEqual([]);
  });

  it('rejects a put when localStorage refuses (so the queue can fall back)', async () => {
    refuseLocalStorage();
    await expect(localStorageStore('test:queue').put([rec('a')])).rejects.toThrow();
  });
});

describe('idbStore (fake-indexeddb)', () => {
  // (Order is createQueue's job: idbStore's own order is not part of the interface.)
  const sorted = (records: QueueRecord[]) => [...records].sort((a, b) => (a[0] < b[0] ? -1 : 1));

  it('persists across a new instance (a reload)', async () => {
    const store = idbStore();
    await store.put([rec('0002'), rec('0001'), rec('0003')]);
    const reloaded = idbStore();
    const all = await reloaded.all();
    expect(sorted(all)).toEqual([rec('0001'), rec('0002'), rec('0003')]);
    await reloaded.remove(['0002', 'nope']);
    expect(sorted(await idbStore().all())).toEqual([rec('0001'), rec('0003')]);
  });

  it('a put adds to what is stored, it does not replace it', async () => {
    const store = idbStore();
    await store.put([rec('a')]);
    await store.put([rec('b'), rec('c')]);
    expect(sorted(await store.all())).toEqual([rec('a'), rec('b'), rec('c')]);
    await store.remove(['b']);
    expect(sorted(await idbStore().all())).toEqual([rec('a'), rec('c')]);
    await store.remove(['a', 'c']);
    expect(await idbStore().all()).toEqual([]);
  });

  it('a read or a removal does not create a database that does not exist (opening creates it)', async () => {
    vi.stubGlobal('indexedDB', new IDBFactory());
    const store = idbStore();
    expect(await store.all()).toEqual([]);
    await store.remove(['a']);
    expect(await indexedDB.databases()).toEqual([]);
    await store.put([rec('a')]);
    expect((await indexedDB.databases()).map((db) => db.name)).toEqual(['firstparty-js']);
    // Once it exists, another page reads and removes as usual.
    const next = idbStore();
    expect(await next.all()).toEqual([rec('a')]);
    await next.remove(['a']);
    expect(await idbStore().all()).toEqual([]);
  });

  it('without indexedDB.databases() (Firefox before 126), a read opens the database', async () => {
    const factory = new IDBFactory();
    vi.stubGlobal('indexedDB', Object.assign(Object.create(factory), { databases: undefined, open: factory.open.bind(factory) }));
    expect(await idbStore().all()).toEqual([]);
    expect((await factory.databases()).map((db) => db.name)).toEqual(['firstparty-js']);
  });

  it(`reads PAGE_CHUNKS (${PAGE_CHUNKS}) chunks a read, a task each: every record of a larger store, page after page`, async () => {
    const store = idbStore();
    const chunks = 2 * PAGE_CHUNKS + 3;
    const written: QueueRecord[] = [];
    for (let i = 0; i < chunks; i++) {
      const chunk = [rec(`${i}`.padStart(4, '0') + 'a'), rec(`${i}`.padStart(4, '0') + 'b')];
      written.push(...chunk);
      await store.put(chunk);
    }
    const getAll = vi.spyOn(IDBObjectStore.prototype, 'getAll');
    const all = await idbStore().all();
    expect(sorted(all)).toEqual(written);
    expect(getAll.mock.calls.map(([, count]) => count)).toEqual([PAGE_CHUNKS, PAGE_CHUNKS, PAGE_CHUNKS]);
    // Each page starts after the last key of the page before.
    expect(getAll.mock.calls.map(([range]) => (range as IDBKeyRange | undefined)?.lower)).toEqual([undefined, written[2 * PAGE_CHUNKS - 2][0], written[4 * PAGE_CHUNKS - 2][0]]);
    // Removal still finds each event's chunk (learnt by the paged read).
    const reader = idbStore();
    await reader.all();
    await reader.remove(keys(written).filter((_, i) => i % 2));
    expect(sorted(await idbStore().all())).toEqual(written.filter((_, i) => !(i % 2)));
  });

  it('fails when IndexedDB is missing', async () => {
    vi.stubGlobal('indexedDB', undefined);
    // (async wrapper: idbStore().put currently throws synchronously here instead of rejecting; see report)
    await expect(async () => idbStore().put([rec('a')])).rejects.toThrow();
  });
});

describe('createQueue', () => {
  it('writes to the first store while it accepts', async () => {
    const [a, b] = [memoryStore(), memoryStore()];
    const queue = createQueue([a, b]);
    await queue.put([rec('1')]);
    expect(await a.all()).toEqual([rec('1')]);
    expect(await b.all()).toEqual([]);
    expect(warn).not.toHaveBeenCalled();
  });

  it('falls back from a store whose put rejects to the next one, with one warning', async () => {
    const bad = refusingStore();
    const good = memoryStore();
    const queue = createQueue([bad, good]);
    await queue.put([rec('1')]);
    await queue.put([rec('2')]);
    await queue.put([rec('3')]);
    expect(await good.all()).toEqual([rec('1'), rec('2'), rec('3')]);
    expect(bad.calls).toBe(1); // not retried for every put
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('falls back through several stores, and rejects when the last one refuses', async () => {
    const last = memoryStore();
    await createQueue([refusingStore(), refusingStore(), last]).put([rec('x')]);
    expect(await last.all()).toEqual([rec('x')]);
    await expect(createQueue([refusingStore(), refusingStore()]).put([rec('y')])).rejects.toThrow();
  });

  it('treats a store that never answers as refused', async () => {
    vi.useFakeTimers();
    const hanging: EventStore = { put: () => new Promise(() => {}), all: () => new Promise(() => {}), remove: () => new Promise(() => {}) };
    const good = memoryStore();
    const queue = createQueue([hanging, good]);
    let done = false;
    const put = queue.put([rec('1')]).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(60000);
    await put;
    expect(done).toBe(true);
    expect(await good.all()).toEqual([rec('1')]);
    const all = queue.all();
    await vi.advanceTimersByTimeAsync(60000);
    expect(await all).toEqual([rec('1')]);
  });

  it('all() merges every store, ordered by key', async () => {
    const [a, b, c] = [memoryStore(), memoryStore(), memoryStore()];
    await a.put([rec('0003'), rec('0001')]);
    await b.put([rec('0002'), rec('0005')]);
    await c.put([rec('0004')]);
    expect(keys(await createQueue([a, b, c]).all())).toEqual(['0001', '0002', '0003', '0004', '0005']);
  });

  it('all() gives a key held by two stores once (a spilled event also stored), as the later store holds it', async () => {
    const [a, b] = [memoryStore(), memoryStore()];
    await a.put([rec('0003', 'stored'), rec('0001'), rec('0002', 'stored')]);
    await b.put([rec('0002', 'spilled'), rec('0004')]);
    expect(await createQueue([a, b]).all()).toEqual([rec('0001'), rec('0002', 'spilled'), rec('0003', 'stored'), rec('0004')]);
  });

  it('all() skips a store it cannot read', async () => {
    const good = memoryStore();
    await good.put([rec('b'), rec('a')]);
    expect(await createQueue([refusingStore(), good]).all()).toEqual([rec('a'), rec('b')]);
  });

  it('remove() covers every store, even after a store failed', async () => {
    const [a, b] = [memoryStore(), memoryStore()];
    await a.put([rec('1'), rec('2')]);
    await b.put([rec('2'), rec('3')]);
    const queue = createQueue([a, refusingStore(), b]);
    await expect(queue.remove(['2', '3'])).resolves.toBeDefined();
    expect(await a.all()).toEqual([rec('1')]);
    expect(await b.all()).toEqual([]);
  });

  it('by default uses IndexedDB, and reads events a fallback store kept on an earlier visit', async () => {
    await localStorageStore().put([rec('0001', 'from localStorage')]);
    const queue = createQueue();
    await queue.put([rec('0002', 'from IndexedDB')]);
    expect(await idbStore().all()).toEqual([rec('0002', 'from IndexedDB')]);
    expect(await queue.all()).toEqual([rec('0001', 'from localStorage'), rec('0002', 'from IndexedDB')]);
    await queue.remove(['0001', '0002']);
    expect(await createQueue().all()).toEqual([]);
  });

  it('by default falls back to localStorage when IndexedDB is missing', async () => {
    vi.stubGlobal('indexedDB', undefined);
    const queue = createQueue();
    await queue.put([rec('1')]);
    expect(await localStorageStore().all()).toEqual([rec('1')]);
    expect(await queue.all()).toEqual([rec('1')]);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('by default ends in memory when IndexedDB and localStorage both refuse', async () => {
    vi.stubGlobal('indexedDB', undefined);
    refuseLocalStorage();
    const queue = createQueue();
    await queue.put([rec('1')]);
    await queue.put([rec('2')]);
    expect(await queue.all()).toEqual([rec('1'), rec('2')]);
    await queue.remove(['1']);
    expect(await queue.all()).toEqual([rec('2')]);
  });
});
