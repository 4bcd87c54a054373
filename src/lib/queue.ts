import { createStore, promisifyRequest, type UseStore } from 'idb-keyval';
import { lsGet, lsSet } from './storage';
import { parseJson } from './parseJson';
import { warn } from './log';
import { nextTask } from './timer';

/** One queued event: its ordering key and its JSON, as it is sent. */
export type QueueRecord = [key: string, json: string];

/** A place events wait in until the collector acknowledges them. */
export interface EventStore {
  /** Adds records; rejects when the storage refuses. */
  put(records: QueueRecord[]): Promise<unknown>;
  /** Every record held. */
  all(): Promise<QueueRecord[]>;
  /** Removes records by key (missing keys are ignored). */
  remove(keys: string[]): Promise<unknown>;
}

/**
 * IndexedDB database and object store names (our own, never idb-keyval's
 * default). The layout's version is part of the name: a later layout will use
 * a new name and move this database's records over, then delete it. A
 * database of this name without our store (a foreign or damaged one) makes
 * every call fail, and the queue then falls back to localStorage.
 */
export const DB_NAME = 'firstparty-js';
export const STORE_NAME = 'events';

/**
 * How many chunks (of at most 64 KiB each) one read of the store takes: at
 * most 1 MiB per task. 50,000 events (550 chunks) read in one go were a
 * 200 ms task at 1× CPU, most of it garbage collection of what the read had
 * deserialized.
 */
export const PAGE_CHUNKS = 16;

/**
 * The IndexedDB store, through idb-keyval's `createStore` (our own database,
 * never idb-keyval's default). Each `put()` writes its events as one record, a
 * chunk `[[key, json], …]` stored under its first event's key: an IndexedDB
 * request costs about 90 µs of main thread in Chromium, so 1,000 events queued
 * in one task must not be 1,000 requests. The tracker writes chunks of at most
 * one request's worth, so a chunk is usually removed whole after its 2xx; a
 * partial removal rewrites the chunk with what is left.
 * `useStore` is the seam tests swap.
 */
export function idbStore(useStore: () => UseStore = () => createStore(DB_NAME, STORE_NAME)): EventStore {
  let store: UseStore | undefined;
  /** Which chunk each event is in, learnt from put() and all(). */
  const chunkOf = new Map<string, string>();
  // async: a missing indexedDB rejects like any other failure instead of throwing.
  const run = async <T>(mode: IDBTransactionMode, fn: (store: IDBObjectStore) => T | PromiseLike<T>) => (store = store || useStore())(mode, fn);
  /**
   * Whether a read or removal can answer "nothing" without opening the
   * database, because it does not exist: opening creates it, and a page that
   * must not store anything (opted out, no consent, Global Privacy Control)
   * reads the queue only to empty it. Asked until this page opens it; where
   * `indexedDB.databases()` is missing (Firefox before 126) it is opened.
   */
  const missing = async () => !store && !!(await indexedDB.databases?.())?.every((db) => db.name !== DB_NAME);
  const write = (fn: (store: IDBObjectStore) => void) =>
    run('readwrite', (objects) => {
      fn(objects);
      return promisifyRequest(objects.transaction);
    });
  /** Reads the chunks after `after` (all of them: none) into `records`, a page per task (see PAGE_CHUNKS). */
  const page = (records: QueueRecord[], after?: IDBKeyRange): Promise<QueueRecord[]> =>
    // Keys and values read in one transaction line up one to one.
    run('readonly', (objects) => Promise.all([promisifyRequest(objects.getAllKeys(after, PAGE_CHUNKS)), promisifyRequest(objects.getAll(after, PAGE_CHUNKS))])).then(([keys, values]) => {
      values.forEach((chunk, i) =>
        // Anything else (a damaged record) is returned as it is, for the tracker to drop.
        Array.isArray(chunk) ? chunk.forEach((record) => records.push(record) && chunkOf.set(record[0], keys[i] as string)) : records.push([keys[i] as string, chunk]),
      );
      return keys.length < PAGE_CHUNKS ? records : nextTask().then(() => page(records, IDBKeyRange.lowerBound(keys[PAGE_CHUNKS - 1], true)));
    });
  return {
    put: (records) =>
      write((objects) => {
        records.forEach(([key]) => chunkOf.set(key, records[0][0]));
        objects.put(records, records[0][0]);
      }),
    all: async () => ((await missing()) ? [] : page([])),
    remove: async (keys) =>
      (await missing()) ||
      write((objects) => {
        const gone = new Set(keys);
        /** Rewrites one chunk without the removed events (or deletes it, or a damaged record of a removed key). */
        const prune = (chunk: IDBValidKey, value: unknown) => {
          const rest = Array.isArray(value) ? value.filter(([key]) => !gone.has(key)) : gone.has(chunk as string) ? [] : value;
          if (rest !== value && (rest as unknown[]).length !== (value as unknown[])?.length) (rest as unknown[])[0] ? objects.put(rest, chunk) : objects.delete(chunk);
        };
        if (keys.every((key) => chunkOf.has(key))) {
          // The usual case: only the chunks holding these events are read.
          new Set(keys.map((key) => chunkOf.get(key)!)).forEach((chunk) => {
            const request = objects.get(chunk);
            request.onsuccess = () => prune(chunk, request.result);
          });
        } else {
          // Keys this instance has not seen (another page's): look through every chunk.
          const request = objects.openCursor();
          request.onsuccess = () => {
            const cursor = request.result;
            if (cursor) {
              prune(cursor.key, cursor.value);
              cursor.continue();
            }
          };
        }
        keys.forEach((key) => chunkOf.delete(key));
      }),
  };
}

/** A store kept as one `{key: json}` object, read and written whole by `read`/`write`. */
function objectStore(read: () => Record<string, string>, write: (records: Record<string, string>) => void): EventStore {
  const change = async (fn: (records: Record<string, string>) => void) => {
    const records = read();
    fn(records);
    write(records);
  };
  return {
    put: (records) => change((held) => records.forEach(([key, json]) => (held[key] = json))),
    all: async () => Object.entries(read()),
    remove: (keys) => change((held) => keys.forEach((key) => delete held[key])),
  };
}

/**
 * The most of localStorage the queue takes, in what `setItem` counts (UTF-16
 * units of key and value): 1 MiB of the 5 MiB most browsers give an origin,
 * so the site's own writes keep room. Past it a write is refused, and the
 * queue moves on to memory (with one warning: those events live only as long
 * as the page does).
 */
export const LOCAL_QUEUE_CHARS = 1048576;

/**
 * The localStorage fallback for browsers where IndexedDB is missing or refuses
 * (Firefox private windows before 115, blocked storage): all records in one
 * JSON object under one key, rewritten whole on each change, at most
 * `maxChars` (LOCAL_QUEUE_CHARS).
 */
export function localStorageStore(key = 'firstparty-js:queue', maxChars = LOCAL_QUEUE_CHARS): EventStore {
  return objectStore(
    () => parseJson(lsGet(key)) || {},
    (records) => {
      const text = Object.keys(records)[0] ? JSON.stringify(records) : null;
      // An empty queue leaves no key behind (a removal must not write one); a removal never grows it.
      if ((text && key.length + text.length > maxChars) || !lsSet(key, text)) throw Error('localStorage queue full');
    },
  );
}

/** The last resort: events live as long as the page does. */
export function memoryStore(): EventStore {
  let held: Record<string, string> = {};
  return objectStore(
    () => held,
    (records) => (held = records),
  );
}

/**
 * IndexedDB can hang rather than fail (a blocked open, Safari's lost
 * connections — WebKit bug 226547), so every store call is given this long
 * before the queue treats it as refused.
 */
const STORE_TIMEOUT_MS = 5000;

function timed<T>(promise: () => Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(), STORE_TIMEOUT_MS);
    promise()
      .then(resolve, reject)
      .finally(() => clearTimeout(timer));
  });
}

/**
 * The event queue: writes go to the first store that accepts them (IndexedDB,
 * then localStorage, then memory), and reads and removals cover every store,
 * so events written to a fallback on an earlier visit are still sent. Records
 * come back ordered by key.
 */
export function createQueue(stores: EventStore[] = [idbStore(), localStorageStore(), memoryStore()]): EventStore {
  let current = 0;
  return {
    async put(records) {
      for (;;) {
        try {
          return await timed(() => stores[current].put(records));
        } catch (error) {
          if (current === stores.length - 1) throw error;
          if (!current++) warn('event storage refused; falling back', error);
        }
      }
    },
    async all() {
      let all: QueueRecord[] = [];
      for (const store of stores) {
        try {
          all = all.concat(await timed(() => store.all()));
        } catch {
          // An unreadable store holds nothing we can send now.
        }
      }
      // A stable sort, then of a key held twice (spilled and stored) the later store's record: no
      // Map of 50,000 entries in the sweep's task. Keys of damaged records need not be strings.
      all.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      return all.filter((record, i) => record[0] !== all[i + 1]?.[0]);
    },
    remove: (keys) => Promise.all(stores.map((store) => timed(() => store.remove(keys)).catch(() => undefined))),
  };
}
