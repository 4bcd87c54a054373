/**
 * Issue 7, hostile storage: IndexedDB refusing (QuotaExceededError), hanging
 * (5 s timeout), blocked, or left by something else; localStorage throwing
 * SecurityError; cookies disabled; corrupt records in the queue. Each: tracking
 * goes on, at most one warning, no exception.
 */
import { describe, expect, it, vi } from 'vitest';
import { createStore, set } from 'idb-keyval';
import { createFirstparty } from '../../src/firstparty';
import { createQueue, DB_NAME, idbStore, localStorageStore, memoryStore, STORE_NAME, type EventStore, type QueueRecord } from '../../src/lib/queue';
import { type Reply, BODY_LIMIT, byteLength, limitOf, envelopeProblems, fakeCollector, HOST, KEY, macrotask, pass, T0, tracker, until, useHardeningEnvironment, warnings } from './helpers';

useHardeningEnvironment();

const LS_QUEUE = 'firstparty-js:queue';
const quota = () => new DOMException('The quota has been exceeded.', 'QuotaExceededError');
const security = () => new DOMException('The operation is insecure.', 'SecurityError');
const storageWarnings = () => warnings().filter((w) => /storage|fallback|store/i.test(w));

/** A tracker on the real default queue (IndexedDB → localStorage → memory). */
function defaultTracker(replies: Reply[] = [], options?: Record<string, unknown>) {
  const net = fakeCollector(replies);
  const fp = createFirstparty({ fetch: net.fetch, sendBeacon: () => true });
  fp.load(KEY, HOST, options as any);
  return { fp, net };
}

/** Tracks, then lets time pass (flushInterval, timeouts, IndexedDB) until `count` events arrived. */
async function delivered(net: ReturnType<typeof fakeCollector>, count: number, maxMs = 60_000) {
  return until(() => net.delivered().length >= count, { maxMs });
}

/** A key as the tracker writes them: 9 base-36 ms + 4 base-36 sequence + '.' + tab ID. */
const keyAt = (ms: number, tab = 'oldtab01', seq = 0) => ms.toString(36).padStart(9, '0') + seq.toString(36).padStart(4, '0') + '.' + tab;
let ids = 0;
const storedEvent = (name: string, at = T0) =>
  JSON.stringify({
    event_id: 'EV' + String(++ids).padStart(30, '0'),
    name,
    write_key: KEY,
    profile_id: 'PR' + 'p'.repeat(30),
    session_id: 'SE' + 's'.repeat(30),
    properties: {},
    context: { page: { url: 'http://localhost:3000/', path: '/', title: '', referrer: '', search: '' } },
    created_at: new Date(at).toISOString(),
  });

describe('IndexedDB refuses or hangs', () => {
  it('put rejecting with QuotaExceededError → localStorage, one warning, delivery goes on', async () => {
    const put = vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(() => {
      throw quota();
    });
    const { fp, net } = defaultTracker([503]); // the first attempt fails, so the event waits in the queue
    fp.track('Quota 1');
    expect(await until(() => net.requests.length === 1, { step: 10, maxMs: 2000 })).toBe(true);
    await until(() => localStorage.getItem(LS_QUEUE)?.includes('Quota 1'), { step: 10, maxMs: 500 });
    expect(localStorage.getItem(LS_QUEUE)).toContain('Quota 1');
    fp.track('Quota 2');
    expect(await delivered(net, 2)).toBe(true);
    // A fresh event's first attempt may overtake a retry: requests land in any order, created_at orders the events.
    expect(net.names().sort()).toEqual(['Quota 1', 'Quota 2']);
    expect(put).toHaveBeenCalled();
    expect(storageWarnings()).toHaveLength(1);
    expect(storageWarnings()[0]).toMatch(/QuotaExceeded|quota/i);
    // Delivered events leave the fallback store too.
    expect(await until(() => !localStorage.getItem(LS_QUEUE)?.includes('Quota'), { maxMs: 5000 })).toBe(true);
  });

  it('a store whose promises never settle → after the 5 s timeout, the next store; delivery goes on', async () => {
    const never: EventStore = { put: () => new Promise(() => {}), all: () => new Promise(() => {}), remove: () => new Promise(() => {}) };
    const fallback = localStorageStore('hardening:queue');
    const { fp, net } = tracker({ queue: createQueue([never, fallback, memoryStore()]) });
    fp.track('Hung Store');
    await vi.advanceTimersByTimeAsync(4999);
    expect(localStorage.getItem('hardening:queue')).toBeNull(); // still waiting for the hung store
    await vi.advanceTimersByTimeAsync(1);
    expect(localStorage.getItem('hardening:queue')).toContain('Hung Store');
    expect(await delivered(net, 1)).toBe(true);
    expect(net.names()).toEqual(['Hung Store']);
    expect(storageWarnings()).toHaveLength(1);
  });

  it('indexedDB.open() blocked forever (another tab holds an old version open) → the 5 s timeout, then localStorage', async () => {
    const open = vi.spyOn(indexedDB, 'open').mockImplementation(() => ({}) as IDBOpenDBRequest); // never fires
    const { fp, net } = defaultTracker();
    fp.track('Blocked Open');
    expect(await delivered(net, 1)).toBe(true);
    expect(open).toHaveBeenCalled();
    expect(net.names()).toEqual(['Blocked Open']);
    expect(storageWarnings()).toHaveLength(1);
  });

  it('indexedDB.open() throwing SecurityError (opaque origin) → fallback, delivery goes on', async () => {
    vi.spyOn(indexedDB, 'open').mockImplementation(() => {
      throw security();
    });
    const { fp, net } = defaultTracker();
    fp.track('No IDB');
    expect(await delivered(net, 1)).toBe(true);
    expect(storageWarnings()).toHaveLength(1);
  });

  it('a database named firstparty-js without the "events" store (older or foreign) → delivery goes on via the fallback, no exception', async () => {
    await new Promise<void>((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 3);
      request.onupgradeneeded = () => request.result.createObjectStore('something-else');
      request.onsuccess = () => {
        request.result.close();
        resolve();
      };
      request.onerror = () => reject(request.error);
    });
    const { fp, net } = defaultTracker();
    expect(() => fp.track('Foreign DB')).not.toThrow();
    expect(await delivered(net, 1)).toBe(true);
    expect(net.names()).toEqual(['Foreign DB']);
    expect(storageWarnings()).toHaveLength(1);
    expect(net.problems()).toEqual([]);
  });
});

describe('localStorage and cookies refused', () => {
  it('localStorage throwing SecurityError on every access (and IndexedDB fine): delivery goes on, no exception, IDs stable', async () => {
    vi.spyOn(window, 'localStorage', 'get').mockImplementation(() => {
      throw security();
    });
    expect(() => window.localStorage).toThrow();
    const { fp, net } = defaultTracker();
    fp.track('No LS 1');
    fp.track('No LS 2');
    expect(await delivered(net, 2)).toBe(true);
    const [a, b] = net.delivered();
    expect(a.profile_id).toBe(b.profile_id);
    expect(a.session_id).toBe(b.session_id);
    expect(storageWarnings().length).toBeLessThanOrEqual(1);
  });

  it('IndexedDB refusing and localStorage throwing SecurityError: memory, delivery goes on', async () => {
    vi.spyOn(window, 'localStorage', 'get').mockImplementation(() => {
      throw security();
    });
    vi.spyOn(indexedDB, 'open').mockImplementation(() => {
      throw security();
    });
    const { fp, net } = defaultTracker();
    fp.track('Memory Only');
    expect(await delivered(net, 1)).toBe(true);
    expect(net.names()).toEqual(['Memory Only']);
    // One clear warning, not one per store that refused.
    expect(storageWarnings()).toHaveLength(1);
  });

  it('cookies disabled (writes ignored): IDs come from the localStorage mirror, stable across a reload', async () => {
    Object.defineProperty(document, 'cookie', { configurable: true, get: () => '', set: () => {} });
    try {
      const first = tracker();
      first.fp.track('Cookies Off 1');
      await first.fp.flush();
      const second = tracker(); // the next page
      second.fp.track('Cookies Off 2');
      await second.fp.flush();
      const [a] = first.net.delivered();
      const [b] = second.net.delivered();
      expect(a.profile_id).toMatch(/^PR[A-Za-z0-9]{30}$/);
      expect(b.profile_id).toBe(a.profile_id);
      expect(b.session_id).toBe(a.session_id);
    } finally {
      delete (document as any).cookie;
    }
  });

  it('document.cookie throwing SecurityError (sandboxed iframe): no exception, delivery goes on', async () => {
    Object.defineProperty(document, 'cookie', {
      configurable: true,
      get: () => {
        throw security();
      },
      set: () => {
        throw security();
      },
    });
    try {
      const { fp, net } = tracker();
      expect(() => fp.track('Cookie Throws')).not.toThrow();
      await fp.flush();
      expect(() => fp.optOut()).not.toThrow();
      expect(() => fp.optIn()).not.toThrow();
      await pass(100);
      fp.track('Cookie Throws 2');
      await fp.flush();
      expect(net.names()).toEqual(['Cookie Throws', 'Cookie Throws 2']);
      const [a, b] = net.delivered();
      expect(b.profile_id).toMatch(/^PR[A-Za-z0-9]{30}$/);
      expect(a.session_id).toMatch(/^SE[A-Za-z0-9]{20}$/);
    } finally {
      delete (document as any).cookie;
    }
  });
});

describe('what is written on the device', () => {
  it('cookies carry no more than the IDs (no properties, traits or write key)', async () => {
    const { installCookieJar, removeCookieJar } = await import('../helpers/cookieJar');
    const jar = installCookieJar();
    try {
      const { fp, net } = tracker();
      fp.identify('user-42', { email: 'secret@example.com', plan: 'pro' });
      fp.track('Checkout', { card: '4111 1111 1111 1111', email: 'secret@example.com' });
      fp.optOut();
      fp.optIn();
      await fp.flush();
      const names = new Set(jar.writes.map((w) => w.split('=')[0]));
      expect([...names].every((n) => ['fpid', 'fsid', 'fp_optout', 'fp_probe'].includes(n))).toBe(true);
      expect(jar.writes.join('\n')).not.toMatch(/secret|4111|pro\b|Checkout|wk_hardening/);
      expect(net.problems()).toEqual([]);
    } finally {
      removeCookieJar();
    }
  });
});

describe('corrupt records in the queue', () => {
  /** A store pre-filled with records as left by a damaged store, an old version or another script. */
  async function seeded(records: [unknown, unknown][]) {
    const queue = memoryStore();
    await queue.put(records as QueueRecord[]);
    return queue;
  }

  /** Runs tracking on `queue` until the valid events are delivered; returns the tracker and what is left. */
  async function runOn(queue: EventStore, names: string[]) {
    const { fp, net } = tracker({ queue });
    for (const name of names) fp.track(name);
    await until(() => names.every((n) => net.names().includes(n)), { maxMs: 30_000 });
    await pass(2000);
    return { fp, net, left: await queue.all() };
  }

  it('non-string values and foreign keys are dropped (with a warning) and do not block the queue', async () => {
    const old = T0 - 20 * 60_000; // a tab closed 20 minutes ago: its events are anyone's to send
    const queue = await seeded([
      [keyAt(old, 'oldtab01', 0), storedEvent('Old Valid', old)],
      [keyAt(old, 'oldtab01', 1), 12345],
      [keyAt(old, 'oldtab01', 2), { name: 'an object, not JSON text' }],
      [keyAt(old, 'oldtab01', 3), null],
      [keyAt(old, 'oldtab01', 4), ['{"name":"array holding JSON text"}']],
      ['keyval-foreign', storedEvent('Foreign Key')],
      ['', storedEvent('Empty Key')],
    ]);
    const { net, left } = await runOn(queue, ['New 1', 'New 2']);
    expect(net.problems()).toEqual([]);
    expect(net.names()).toEqual(['Old Valid', 'New 1', 'New 2']);
    expect(left).toEqual([]);
    expect(warnings().some((w) => /dropped/.test(w))).toBe(true);
  });

  it('a record that is not valid JSON (torn or garbled) is dropped, and the valid events around it are delivered', async () => {
    const old = T0 - 20 * 60_000;
    const queue = await seeded([
      [keyAt(old, 'oldtab01', 0), storedEvent('Old Valid 1', old)],
      [keyAt(old, 'oldtab01', 1), '{garbled}'],
      [keyAt(old, 'oldtab01', 2), '{"name":"torn", "properties": {"a": }'],
      [keyAt(old, 'oldtab01', 3), storedEvent('Old Valid 2', old)],
    ]);
    const { net, left } = await runOn(queue, ['New']);
    expect(net.problems()).toEqual([]);
    expect(net.names()).toEqual(['Old Valid 1', 'Old Valid 2', 'New']);
    expect(left).toEqual([]);
  });

  it('a stored record larger than the batch limit (left by an older version) is dropped, never sent, and does not block the queue', async () => {
    const old = T0 - 20 * 60_000;
    const huge = JSON.stringify({ ...JSON.parse(storedEvent('Huge Old', old)), properties: { blob: 'x'.repeat(100_000) } });
    const queue = await seeded([
      [keyAt(old, 'oldtab01', 0), huge],
      [keyAt(old, 'oldtab01', 1), storedEvent('Old Valid', old)],
    ]);
    const { net, left } = await runOn(queue, ['New']);
    for (const request of net.requests) expect(byteLength(request.text)).toBeLessThanOrEqual(limitOf(request));
    expect(net.names()).toEqual(['Old Valid', 'New']);
    expect(left).toEqual([]);
  });

  it('corrupt records in the real IndexedDB store (written raw) are dropped; the queue stays readable', async () => {
    const old = T0 - 20 * 60_000;
    const raw = createStore(DB_NAME, STORE_NAME);
    await set(keyAt(old, 'oldtab01', 0), storedEvent('From IDB', old), raw);
    await set(keyAt(old, 'oldtab01', 1), { not: 'a string' }, raw);
    await set(42, storedEvent('Number Key'), raw);
    await set(keyAt(old, 'oldtab01', 2), new Uint8Array([1, 2, 3]), raw);
    const { fp, net } = defaultTracker();
    fp.track('New');
    expect(await until(() => net.names().includes('New'), { maxMs: 30_000 })).toBe(true);
    await pass(2000);
    expect(net.problems()).toEqual([]);
    expect(net.names()).toEqual(['From IDB', 'New']);
    const left = await idbStore().all();
    expect(left).toEqual([]);
    for (const [key, json] of await createQueue().all()) {
      expect(typeof key).toBe('string');
      expect(envelopeProblems(JSON.parse(json), { stored: true })).toEqual([]);
    }
    await macrotask();
  });
});
