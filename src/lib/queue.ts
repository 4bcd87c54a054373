import { createStore, delMany, entries, setMany, type UseStore } from 'idb-keyval';
import { lsGet, lsSet } from './storage';
import { warn } from './log';

/** One queued event: its ordering key and its JSON (without `sent_at`). */
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

/** IndexedDB database and object store names (our own, never idb-keyval's default). */
export const DB_NAME = 'firstparty-js';
export const STORE_NAME = 'events';

/**
 * The IndexedDB store, through idb-keyval: one record per event, so adding or
 * removing events never rewrites the others. `useStore` is the seam tests swap.
 */
export function idbStore(useStore: () => UseStore = () => createStore(DB_NAME, STORE_NAME)): EventStore {
  let store: UseStore | undefined;
  const get = () => (store = store || useStore());
  return {
    put: (records) => setMany(records, get()),
    all: () => entries<string, string>(get()),
    remove: (keys) => delMany(keys, get()),
  };
}

/**
 * The localStorage fallback for browsers where IndexedDB is missing or refuses
 * (Firefox private windows before 115, blocked storage): all records in one
 * JSON object under one key. Rewritten whole on each change, so it is kept for
 * when IndexedDB is unavailable.
 */
export function localStorageStore(key = 'firstparty-js:queue'): EventStore {
  const read = (): Record<string, string> => {
    try {
      return JSON.parse(lsGet(key) || '{}') || {};
    } catch {
      return {};
    }
  };
  const write = (records: Record<string, string>) => {
    const empty = Object.keys(records).length === 0;
    if (!lsSet(key, empty ? null : JSON.stringify(records))) throw new Error('localStorage refused the write');
  };
  return {
    put: async (records) => {
      const held = read();
      for (const [k, v] of records) held[k] = v;
      write(held);
    },
    all: async () => Object.entries(read()),
    remove: async (keys) => {
      const held = read();
      for (const k of keys) delete held[k];
      write(held);
    },
  };
}

/** The last resort: events live as long as the page does. */
export function memoryStore(): EventStore {
  const held = new Map<string, string>();
  return {
    put: async (records) => records.forEach(([k, v]) => held.set(k, v)),
    all: async () => [...held],
    remove: async (keys) => keys.forEach((k) => held.delete(k)),
  };
}

/**
 * IndexedDB can hang rather than fail (a blocked open, Safari's lost
 * connections — WebKit bug 226547), so every store call is given this long
 * before the queue treats it as refused.
 */
const STORE_TIMEOUT_MS = 5000;

function timed<T>(promise: () => Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('storage timed out')), STORE_TIMEOUT_MS);
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
          warn('event storage refused, falling back', error);
          current++;
        }
      }
    },
    async all() {
      const merged = new Map<string, string>();
      for (const store of stores) {
        try {
          for (const [k, v] of await timed(() => store.all())) merged.set(k, v);
        } catch {
          // An unreadable store holds nothing we can send now.
        }
      }
      return [...merged].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    },
    remove: (keys) => Promise.all(stores.map((store) => timed(() => store.remove(keys)).catch(() => undefined))),
  };
}
