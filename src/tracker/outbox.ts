/**
 * The outbox: this tab's side of the durable event queue. It owns
 * - the write buffer: events come in as objects (track() only captures) and
 *   are serialized and stored in later tasks, in slices of at most 8 ms;
 * - this tab's events not yet acknowledged by the collector (`unsent()`):
 *   what a flush sends and what the page-hide handover hands to the browser;
 * - the caps (stored bytes, count, age). Count and bytes bite only while the
 *   collector is failing, and are counted exactly: every event delivered,
 *   handed over or dropped leaves the count;
 * - the sweep of the whole store: records that are not ours to send (corrupt,
 *   foreign) are dropped, other tabs' events are returned for the courier;
 * - the handover marks, in localStorage because an IndexedDB write issued as a
 *   page unloads often never commits (and in WebKit can stall the store for
 *   the next page): `confirmed` keys the collector has (the next sweep deletes
 *   them unsent) and `handed` keys given to the browser without proof that
 *   the collector was reachable (re-sent, with the same event_id, only after
 *   `HANDOVER_GRACE_MS`).
 */
import { recordBytes, splitBatches } from '../lib/batch';
import { eventJson } from '../lib/context';
import { isKey, keyTab, keyTime } from '../lib/eventKey';
import { debug, warn } from '../lib/log';
import { parseJson } from '../lib/parseJson';
import type { EventStore, QueueRecord } from '../lib/queue';
import { lsGet, lsSet } from '../lib/storage';
import type { FirstpartyEvent } from '../types';
import { isObject } from './recorder';

/**
 * How long an event handed to the browser without proof of delivery is left
 * alone before it is sent again: a beacon or keepalive request normally lands
 * within a second or two; 10 s leaves room for a slow mobile link, and the
 * collector drops a copy that arrives anyway by its event_id.
 */
export const HANDOVER_GRACE_MS = 10000;

/** A serialization slice's budget, in ms: well under the 50 ms of a long task. */
export const SLICE_MS = 8;

/** localStorage keys of the handover marks (`beaconed` is the name earlier releases used). */
export const CONFIRMED = 'firstparty-js:beaconed';
export const HANDED = 'firstparty-js:handed';

/** The outbox's limits (the tracker's options). */
export interface OutboxLimits {
  maxQueue: number;
  maxQueueBytes: number;
  maxAge: number;
  /** Largest single event, in bytes of its batch entry. */
  maxEventBytes: number;
}

export interface OutboxDependencies {
  /** The queue (IndexedDB → localStorage → memory, or a test's). */
  store: EventStore;
  /** A store that writes synchronously, for events not yet stored when the page goes away; none with `storage: 'none'`. */
  spill?: EventStore;
  /** Whether handover marks may be written (not with `storage: 'none'`). */
  marks: boolean;
  tabId: string;
  nextKey(): string;
  limits(): OutboxLimits;
  /** Whether the collector is failing now (see reachability.ts): only then do the caps drop anything. */
  failing(): boolean;
  report(name: string, detail?: unknown): void;
}

interface Entry {
  event?: FirstpartyEvent;
  json?: string;
  callback?: unknown;
  /** Written to the store. */
  stored?: 1;
  /** When it was handed to the browser without proof of delivery. */
  handed?: number;
}

/** Creates the outbox of one tab. */
export function createOutbox({ store, spill, marks, tabId, nextKey, limits, failing, report }: OutboxDependencies) {
  /** This tab's events not yet acknowledged, in call order (a Map keeps insertion order). */
  const own = new Map<string, Entry>();
  /** Keys waiting to be serialized and stored, in order. */
  let buffer: string[] = [];
  let slice: ReturnType<typeof setTimeout> | undefined;
  let writing: Promise<unknown> = Promise.resolve();
  /** Every stored record this tab knows of, with its size: the exact count behind the caps. */
  const known = new Map<string, number>();
  let knownBytes = 0;
  /** Keys of other pages' records that passed the corruption check once. */
  const checked = new Set<string>();

  const count = (key: string, bytes: number) => {
    if (!known.has(key)) {
      known.set(key, bytes);
      knownBytes += bytes;
    }
  };
  const uncount = (key: string) => {
    knownBytes -= known.get(key) || 0;
    known.delete(key);
  };

  /** Serializes an entry; false (and the event dropped, with a warning) when it cannot be sent. */
  function serialize(key: string, entry: Entry): boolean {
    if (entry.json) return true;
    const event = entry.event!;
    try {
      entry.json = eventJson(event as never);
    } catch (error) {
      // Only a middleware can have put something unserializable in.
      own.delete(key);
      warn('unserializable event dropped', error);
      return false;
    }
    entry.event = undefined;
    if (recordBytes([key, entry.json]) <= limits().maxEventBytes) return true;
    own.delete(key);
    warn('event too large, dropped:', event.name);
    report('dropped', { reason: 'too large', events: [event] });
    return false;
  }

  /** Serializes the buffer for up to `budget` ms and queues the write; more slices follow. */
  function writeSlice(budget = SLICE_MS): void {
    clearTimeout(slice);
    slice = undefined;
    const start = performance.now();
    let taken = 0;
    // The clock is read every 32 events: reading it costs more than a small event.
    while (taken < buffer.length && (taken & 31 || performance.now() - start < budget)) taken++;
    const records: QueueRecord[] = [];
    for (const key of buffer.splice(0, taken)) {
      const entry = own.get(key);
      if (entry && serialize(key, entry)) records.push([key, entry.json!]);
    }
    if (records[0]) writing = writing.then(() => persist(records));
    if (buffer[0]) slice = setTimeout(writeSlice, 0);
  }

  /** Stores serialized events, within the caps while the collector is failing. */
  async function persist(records: QueueRecord[]): Promise<void> {
    // Events acknowledged or handed over meanwhile are not written.
    records = records.filter(([key]) => own.has(key) && !own.get(key)!.stored);
    if (failing()) records = await capped(records);
    try {
      // One chunk per 64 KiB (see idbStore): a partial removal rewrites little.
      for (const chunk of splitBatches(records, 65536)) await store.put(chunk);
    } catch (error) {
      // Unreachable in practice (memory never refuses); the events are still in `own`.
      return warn('could not store events', error);
    }
    for (const record of records) {
      const entry = own.get(record[0]);
      count(record[0], recordBytes(record));
      if (entry) {
        entry.stored = 1;
        if (typeof entry.callback === 'function') {
          const callback = entry.callback as () => void;
          entry.callback = undefined;
          // A throwing callback is the page's problem, not the queue's.
          try {
            callback();
          } catch (error) {
            warn('callback() failed', error);
          }
        }
      }
    }
  }

  /**
   * Enforces maxQueue and maxQueueBytes over what is stored plus `incoming`:
   * the oldest go first (stored ones, then the oldest incoming), with a
   * warning and a `dropped` event. Returns what may still be written.
   */
  async function capped(incoming: QueueRecord[]): Promise<QueueRecord[]> {
    const { maxQueue, maxQueueBytes } = limits();
    let n = known.size + incoming.length;
    let bytes = knownBytes + incoming.reduce((sum, record) => sum + recordBytes(record), 0);
    const over = () => n > maxQueue || bytes > maxQueueBytes;
    if (!over()) return incoming;
    const victims: string[] = [];
    for (const key of [...known.keys()].sort()) {
      if (!over()) break;
      victims.push(key);
      n--;
      bytes -= known.get(key)!;
    }
    let skip = 0;
    for (; over() && skip < incoming.length; skip++) {
      n--;
      bytes -= recordBytes(incoming[skip]);
      own.delete(incoming[skip][0]);
    }
    dropped(victims.length + skip, 'queue limits (maxQueue ' + maxQueue + ', maxQueueBytes ' + maxQueueBytes + ') while the collector is failing');
    await forget(victims);
    return incoming.slice(skip);
  }

  let warnedFull = 0;
  function dropped(n: number, why: string): void {
    // Warned once a page: an outage at a high event rate runs this often.
    (warnedFull++ ? debug : warn)(n + ' oldest events dropped: ' + why);
    report('dropped', { reason: 'queue limits', count: n });
  }

  /** Removes events from memory and the count only (no store write). */
  function drop(keys: string[]): void {
    for (const key of keys) {
      own.delete(key);
      uncount(key);
    }
  }

  /** Removes events for good: acknowledged, refused, dropped. */
  function forget(keys: string[]): Promise<unknown> {
    drop(keys);
    return keys[0] ? store.remove(keys) : Promise.resolve();
  }

  /**
   * This tab's unacknowledged events, in order, except those handed over
   * within the grace period and `except`; with `all`, also those not yet
   * stored (serialized now), for the handover.
   */
  const inGrace = (entry: Entry, now = Date.now()) => !!entry.handed && Math.abs(now - entry.handed) < HANDOVER_GRACE_MS;

  function unsent(all: boolean, except: (key: string) => boolean = () => false): QueueRecord[] {
    const now = Date.now();
    const records: QueueRecord[] = [];
    for (const [key, entry] of own)
      if ((all || entry.stored) && !inGrace(entry, now) && !except(key) && serialize(key, entry))
        records.push([key, entry.json!]);
    return records;
  }

  /** The handover marks, read without trusting them. */
  const readConfirmed = (): string[] => (Array.isArray(parseJson(lsGet(CONFIRMED))) ? parseJson(lsGet(CONFIRMED)) : []);
  const readHanded = (): Record<string, number> => {
    const handed = parseJson(lsGet(HANDED));
    return isObject(handed) ? (handed as Record<string, number>) : {};
  };
  const writeMarks = (key: string, value: unknown[] | object) =>
    marks && lsSet(key, (Array.isArray(value) ? value[0] : Object.keys(value)[0]) ? JSON.stringify(value) : null);

  return {
    /** Takes an event captured now; it is serialized and stored in a later task. Returns its key. */
    add(event: FirstpartyEvent, callback?: unknown): string {
      const key = nextKey();
      own.set(key, { event, callback });
      if (buffer.push(key) < 2) slice = setTimeout(writeSlice, 0);
      return key;
    },

    /** Serializes and stores everything added so far, now; resolves when the writes are over. */
    written(): Promise<unknown> {
      while (buffer[0]) writeSlice(Infinity);
      return writing;
    },

    unsent,

    /** Whether this tab's event `key` is still to be sent (not acknowledged, handed over or dropped). */
    waiting(key: string): boolean {
      const entry = own.get(key);
      return !!entry && !inGrace(entry);
    },

    /** When the next of this tab's handed-over events leaves its grace period (0: none waiting). */
    nextHandedDue(): number {
      let due = 0;
      for (const entry of own.values()) if (entry.handed && (!due || entry.handed < due)) due = entry.handed;
      return due && due + HANDOVER_GRACE_MS;
    },

    forget,

    /**
     * Marks events as handed to the browser at page hide: `confirmed` (the
     * collector was demonstrably reachable) removes them; otherwise they are
     * kept and left alone for the grace period. Synchronous: localStorage only.
     */
    handOver(keys: string[], confirmed: boolean): void {
      if (!keys[0]) return;
      if (confirmed) {
        drop(keys);
        writeMarks(CONFIRMED, readConfirmed().concat(keys));
      } else {
        const now = Date.now();
        const handed = readHanded();
        for (const key of keys) {
          const entry = own.get(key);
          if (entry) entry.handed = now;
          handed[key] = now;
        }
        writeMarks(HANDED, handed);
      }
    },

    /**
     * The page is going away: events not yet stored are written to the
     * synchronous spill store (localStorage), since the IndexedDB write may
     * never commit. Events already confirmed as delivered are not among them.
     */
    rescue(): void {
      const records: QueueRecord[] = [];
      for (const [key, entry] of own) if (!entry.stored && serialize(key, entry)) records.push([key, entry.json!]);
      if (!spill || !records[0]) return;
      spill.put(records).then(
        () => records.forEach(([key]) => own.has(key) && (own.get(key)!.stored = 1)),
        () => debug('could not spill events at page hide'),
      );
    },

    /**
     * Reads the whole store: deletes what confirmed handovers delivered,
     * drops what is not ours to send (corrupt or foreign records, events
     * past maxAge) and, while the collector is failing, what is over the
     * caps; recounts what is stored. Returns other tabs' events that may be
     * sent now, and when the next handed-over one leaves its grace (0: none).
     */
    async sweep(): Promise<{ others: QueueRecord[]; due: number }> {
      let records = await store.all();
      const confirmed = readConfirmed();
      if (confirmed[0]) {
        const gone = new Set(confirmed);
        records = records.filter(([key]) => !gone.has(key));
        await store.remove(confirmed);
        // Another tab may have added marks meanwhile: keep those.
        writeMarks(CONFIRMED, readConfirmed().filter((key) => !gone.has(key)));
      }
      const now = Date.now();
      const { maxAge, maxEventBytes } = limits();
      // Only age counts: a record dated in the future (a clock that was ahead)
      // is kept, and this tab's own events never expire (its clock may have
      // been corrected since). Other pages' records are checked once: a
      // string that parses to an object and fits in a request.
      let kept = records.filter(
        ([key, json]) =>
          isKey(key) &&
          (own.has(key) ||
            checked.has(key) ||
            (typeof json === 'string' && isObject(parseJson(json)) && recordBytes([key, json]) <= maxEventBytes && !!checked.add(key))) &&
          (keyTab(key) === tabId || now - keyTime(key) <= maxAge),
      );
      const keptKeys = new Set(kept.map(([key]) => key));
      const bad = records.filter(([key]) => !keptKeys.has(key as string)).map(([key]) => key);
      if (bad[0]) {
        warn(bad.length + ' events dropped (maxAge or corrupt)');
        report('dropped', { reason: 'queue limits', count: bad.length });
        await forget(bad);
      }
      known.clear();
      knownBytes = 0;
      kept.forEach((record) => count(record[0], recordBytes(record)));
      if (failing()) {
        await capped([]);
        kept = kept.filter(([key]) => known.has(key));
      }
      // Handed-over marks: those whose events are gone are cleared; the others wait out their grace.
      const handed = readHanded();
      let due = 0;
      const others = kept.filter(([key]) => {
        const at = handed[key];
        if (keyTab(key) === tabId) return false;
        if (at && Math.abs(now - at) < HANDOVER_GRACE_MS) return !(due = Math.min(due || Infinity, at + HANDOVER_GRACE_MS));
        return true;
      });
      const stale = Object.keys(handed).filter((key) => !known.has(key));
      if (stale[0]) writeMarks(HANDED, (stale.forEach((key) => delete handed[key]), handed));
      return { others, due };
    },

    /** Empties the queue up to now (opt-out): this tab's events and every other tab's. */
    clear(): Promise<unknown> {
      const cutoff = nextKey();
      buffer = [];
      own.clear();
      writing = writing.then(async () => forget((await store.all()).map(([key]) => key).filter((key) => key < cutoff)));
      return writing;
    },

    /** Applies the caps to what is stored now (the collector has just failed). */
    cap: (): Promise<unknown> => capped([]),
  };
}

/** The outbox of one tracker. */
export type Outbox = ReturnType<typeof createOutbox>;
