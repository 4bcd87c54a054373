/**
 * The outbox: this tab's side of the durable event queue. It owns
 * - the write buffer: events come in as objects (track() only captures) and
 *   are serialized and stored in later tasks, in slices of at most 8 ms;
 * - this tab's events not yet acknowledged by the collector (`unsent()`):
 *   what a flush sends and what the page-hide handover hands to the browser;
 * - the sweep of the whole store: records that are not ours to send (corrupt,
 *   foreign, past maxAge) are dropped, other tabs' events are returned, and,
 *   while the collector is failing, the caps (maxQueueBytes, maxQueue) are
 *   applied to what the read found: an exact count, whatever was delivered,
 *   handed over or dropped since the last one;
 * - the handover marks, in localStorage because an IndexedDB write issued as
 *   a page unloads often never commits (and in WebKit can stall the store for
 *   the next page), and in memory where localStorage refuses (full, blocked):
 *   `key: 0` for events the collector has (a 2xx read for their request: the
 *   next sweep deletes them unsent); `key: -time` for events given to the
 *   browser at page hide (or in a keepalive request then) at `time`, without
 *   a receipt: sent again, with the same event_id, once `HANDOVER_GRACE_MS`
 *   is over (marks of positive times, from earlier builds, count the same).
 */
import { recordBytes, splitBatches } from '../lib/batch';
import { eventJson } from '../lib/context';
import { isKey, keysOf, keyTab, keyTime } from '../lib/eventKey';
import { guard } from '../lib/guard';
import { debug, warn } from '../lib/log';
import { parseJson } from '../lib/parseJson';
import type { EventStore, QueueRecord } from '../lib/queue';
import type { FirstpartyEvent } from '../types';
import { createMarks } from './marks';
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

export { MARKS } from './marks';

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
  /** A store that writes synchronously, for events not yet stored when the page goes away; none where nothing may be written to localStorage. */
  spill?: EventStore;
  tabId: string;
  nextKey(): string;
  limits(): OutboxLimits;
  /** Whether the collector is failing now (see reachability.ts): only then do the caps drop anything. */
  failing(): boolean;
  /** Events were stored: the courier sends at once when nothing is in flight. */
  stored?(): void;
  report(name: string, detail?: unknown): void;
}

interface Entry {
  event?: FirstpartyEvent;
  json?: string;
  callback?: unknown;
  /** 1: written to the store; 0: its write is under way (see unsent()). */
  stored?: 0 | 1;
  /** When it was handed to the browser without proof of delivery. */
  handed?: number;
  /** A request has carried it (so it is no longer fresh: see unsent()). */
  tried?: 1;
}

/** Creates the outbox of one tab. */
export function createOutbox({ store, spill, tabId, nextKey, limits, failing, stored = () => {}, report }: OutboxDependencies) {
  /** This tab's events not yet acknowledged, in call order (a Map keeps insertion order). */
  const own = new Map<string, Entry>();
  /** Keys waiting to be serialized and stored, in order. */
  let buffer: string[] = [];
  let writing: Promise<unknown> = Promise.resolve();
  /** Keys of other pages' records that passed the corruption check once. */
  const checked = new Set<string>();
  let warned = 0;

  /** Removes events from memory only. */
  const drop = (keys: string[]) => keys.forEach((key) => own.delete(key));
  /** Keys whose delete from the store is issued and not yet done (see rescue()). */
  const deleting = new Set<string>();
  /** Removes events for good: acknowledged, refused, dropped. */
  function forget(keys: string[]): Promise<unknown> {
    drop(keys);
    keys.forEach((key) => deleting.add(key));
    return (keys[0] ? store.remove(keys) : Promise.resolve()).finally(() => keys.forEach((key) => deleting.delete(key)));
  }

  /** Serializes an entry; false (and the event dropped, with a warning) when it cannot be sent. */
  const serialize = (key: string, entry: Entry): boolean => serialized(key, entry, limits().maxEventBytes, report) || !own.delete(key);

  /** This tab's events `include` lets through, serialized (now, if need be), in order; it stops at about `bytes` (reading no more). */
  function records(include: (key: string, entry: Entry) => unknown, bytes = Infinity): QueueRecord[] {
    const list: QueueRecord[] = [];
    for (const [key, entry] of own)
      if (bytes <= 0) break;
      else if (include(key, entry) && serialize(key, entry)) bytes -= recordBytes(list[list.push([key, entry.json!]) - 1]);
    return list;
  }

  /** Serializes the buffer for up to `budget` ms and queues the write; more slices follow in later tasks. */
  function writeSlice(budget = SLICE_MS): void {
    const start = performance.now(), batch: QueueRecord[] = [];
    let taken = 0;
    // The clock is read every 32 events: reading it costs more than a small event.
    while (taken < buffer.length && (taken & 31 || performance.now() - start < budget)) {
      const key = buffer[taken++];
      const entry = own.get(key);
      if (entry && serialize(key, entry)) batch.push([key, entry.json!]);
    }
    buffer.splice(0, taken);
    if (batch[0]) writing = writing.then(() => persist(batch));
    if (buffer[0]) setTimeout(writeSlice);
  }

  /** Stores serialized events. */
  async function persist(batch: QueueRecord[]): Promise<void> {
    // Events acknowledged (an express send's 2xx can come first), handed over or spilled meanwhile
    // are not written.
    batch = batch.filter(([key]) => own.has(key) && !own.get(key)!.stored);
    batch.forEach(([key]) => (own.get(key)!.stored = 0));
    try {
      // One chunk per 64 KiB (see idbStore), all issued at once: at a page hide a chunk issued
      // behind another's commit would never be (R5 lost the last 4 of 100 events that way).
      await Promise.all(splitBatches(batch, 65536).map((chunk) => store.put(chunk)));
    } catch (error) {
      // Unreachable in practice (memory never refuses); the events are still in `own`.
      return warn('could not store events', error);
    }
    batch.forEach(([key]) => settled(own.get(key)));
    stored();
  }

  const { mark, clear: clearMarks } = createMarks(!!spill);

  return {
    forget,

    /** Takes an event captured now; it is serialized and stored in a later task. */
    add(event: FirstpartyEvent, callback?: unknown): void {
      const key = nextKey();
      own.set(key, { event, callback });
      if (buffer.push(key) < 2) setTimeout(writeSlice);
    },

    /** Serializes and stores everything added so far, now; resolves when the writes are over. */
    written(): Promise<unknown> {
      while (buffer[0]) writeSlice(Infinity);
      return writing;
    },

    /**
     * This tab's unacknowledged events, in order, but for those handed over
     * within the grace period and `except`; with `all`, also those not yet
     * stored (serialized now), and those first: the handover's 64 KiB may not
     * take everything, and a stored event survives the page without it (an
     * unstored one only by the spill, which a full localStorage refuses) —
     * and first of all those whose write has not even started (waiting
     * behind another, or in the write buffer), the least likely to be stored;
     * with `fresh`, only those no request has carried yet (sent during a
     * backoff); about `bytes` of them at most.
     */
    unsent(all: boolean, except: (key: string) => boolean, bytes?: number, fresh?: boolean): QueueRecord[] {
      const list = records((key, entry) => (all || entry.stored) && !(entry.handed && inGrace(entry)) && !except(key) && !(fresh && entry.tried), bytes);
      // A stable sort (ES2019): each group keeps its call order.
      const stage = (key: string) => own.get(key)!.stored ?? -1;
      return all ? list.sort(([a], [b]) => stage(a) - stage(b)) : list;
    },

    /** A 2xx was read for these events' request (maybe before they were stored): their callbacks run, and they are forgotten. */
    received(keys: string[]): void {
      keys.forEach((key) => settled(own.get(key)));
      forget(keys);
    },

    /** A request carries these events now: they are no longer fresh. */
    carried(keys: string[]): void {
      keys.forEach((key) => own.has(key) && (own.get(key)!.tried = 1));
    },

    /** Whether this tab's event `key` is still to be sent (not acknowledged, dropped, or in a handover's grace). */
    waiting(key: string): boolean {
      const entry = own.get(key);
      return !!entry && !(entry.handed && inGrace(entry));
    },

    /** When the first of this tab's handed-over events leaves its grace period (Infinity: none). */
    due: (): number => dueAfter([...own.values()].map((entry) => entry.handed!)),

    /**
     * Marks events as handed to the browser at page hide, or as delivered:
     * `state` 0, the collector has them (a 2xx read for their request): taken
     * out now, their delete left to the next sweep; -1, handed over: kept, and
     * left alone for the grace period. Synchronous: localStorage (or memory) only.
     */
    handOver(keys: string[], state: 0 | -1): void {
      const now = Date.now();
      // Without marks (localStorage off limits) a delivered event's delete must go to the store now.
      if (!state) {
        keys.forEach((key) => settled(own.get(key)));
        spill ? drop(keys) : forget(keys);
      } else keys.forEach((key) => own.has(key) && (own.get(key)!.handed = now));
      if (keys[0]) mark((marks) => keys.forEach((key) => (marks[key] = state * now)));
    },

    /** A living page read a failure for its handover: the events are plainly unsent again, for any page to send now. */
    reclaim(keys: string[]): void {
      keys.forEach((key) => own.has(key) && (own.get(key)!.handed = 0));
      mark((marks) => keys.forEach((key) => delete marks[key]));
    },

    /**
     * The page is going away: events not yet stored are written to the
     * synchronous spill store (localStorage), since the IndexedDB write may
     * never commit; for the same reason, events whose delete is still under
     * way (a 2xx just arrived) are marked as delivered.
     */
    rescue(): void {
      if (deleting.size) mark((marks) => deleting.forEach((key) => (marks[key] = 0)));
      const batch = records((_, entry) => !entry.stored);
      // Those no handover carries first, on their own: a filled localStorage may still take a few (R5 lost the
      // 4 of 100 the handover had no room for). Taken as stored once spilled (the normal write still runs).
      if (spill)
        [batch.filter(([key]) => !own.get(key)!.handed), batch.filter(([key]) => own.get(key)!.handed)].forEach(
          (part) => part[0] && spill.put(part).then(() => part.forEach(([key]) => settled(own.get(key))), () => debug('could not spill events at page hide')),
        );
    },

    /**
     * Reads the whole store: deletes what confirmed handovers delivered,
     * drops what is not ours to send (corrupt or foreign records, events past
     * maxAge) and, while the collector is failing, what is over the caps;
     * recounts what is stored. Returns other tabs' events that may be sent
     * now, and when the first one waiting out a handover's grace may go (Infinity: none).
     */
    async sweep(): Promise<{ others: QueueRecord[]; due: number }> {
      const now = Date.now();
      const marks = mark();
      const all = await store.all();
      const gone: string[] = [];
      let kept = keptOf(all, marks, (key) => own.has(key), checked, tabId, limits(), now, gone);
      const bad = gone.filter((key) => marks[key] !== 0).length;
      if (bad) {
        warn(bad + ' events dropped (maxAge or corrupt)');
        report('dropped', { reason: 'queue limits', count: bad });
      }
      const over = failing() ? overCaps(kept, limits(), (text) => (warned++ ? debug : warn)(text), report) : [];
      kept = kept.slice(over.length);
      await forget(gone.concat(over));
      // Marks read above whose events are gone are cleared (not those made
      // since, nor this tab's own still in memory); handed-over ones wait out their grace.
      const left = new Set(keysOf(kept));
      mark((held) => Object.keys(held).forEach((key) => key in marks && !left.has(key) && !own.has(key) && delete held[key]));
      return othersOf(kept.filter(([key]) => keyTab(key) !== tabId), marks, now);
    },

    /** Empties the queue up to now (opt-out): this tab's events and every other tab's, and the handover marks that name them. */
    clear(): Promise<unknown> {
      const cutoff = nextKey();
      buffer = [];
      own.clear();
      clearMarks();
      return (writing = writing.then(async () => forget(keysOf(await store.all()).filter((key) => key < cutoff))));
    },
  };
}

/**
 * Serializes an entry (once: `json` is kept, `event` let go); false, with a
 * warning and a `dropped` event, when it cannot be sent: not serializable
 * (only a middleware can have put such a thing in), or over `maxEventBytes`.
 */
function serialized(key: string, entry: Entry, maxEventBytes: number, report: OutboxDependencies['report']): boolean {
  const event = entry.event!;
  try {
    entry.json ||= eventJson(event as never);
  } catch (error) {
    warn('unserializable event dropped', error);
    report('dropped', { reason: 'unserializable', events: [event] });
    return false;
  }
  entry.event = undefined;
  if (recordBytes([key, entry.json]) <= maxEventBytes) return true;
  warn('event too large, dropped:', event.name);
  report('dropped', { reason: 'too large', events: [event] });
  return false;
}

/**
 * The records of a read of the whole store to keep, the others' keys pushed
 * to `gone`: not known delivered (mark 0), and this tab's own (`own`: in
 * memory, so sound), or of our keys' shape, sound and young enough. Only age
 * counts: a record dated in the future (a clock that was ahead) is kept, and
 * this tab's events never expire (its clock may have been corrected since).
 * Other pages' records are checked once (`checked` remembers them): a string
 * that parses to an object and fits in a request. One pass, no copies: a
 * sweep of 50,000 records runs this in one task.
 */
function keptOf(all: QueueRecord[], marks: Record<string, number>, own: (key: string) => boolean, checked: Set<string>, tabId: string, { maxAge, maxEventBytes }: OutboxLimits, now: number, gone: string[]): QueueRecord[] {
  return all.filter(
    ([key, json]) =>
      (marks[key] !== 0 &&
        (own(key) ||
          (isKey(key) &&
            (checked.has(key) || (typeof json == 'string' && isObject(parseJson(json)) && recordBytes([key, json]) <= maxEventBytes && checked.add(key))) &&
            (keyTab(key) === tabId || now - keyTime(key) <= maxAge)))) ||
      !gone.push(key),
  );
}

/**
 * The keys of the oldest of `records` (in key order) that must go for the
 * rest to fit in maxQueue events and maxQueueBytes, said through `say` (a
 * warning once a page, then debug: an outage at a high event rate runs this
 * often) and a `dropped` report.
 */
function overCaps(records: QueueRecord[], { maxQueue, maxQueueBytes }: OutboxLimits, say: (text: string) => void, report: OutboxDependencies['report']): string[] {
  // A loop, not reduce(): Prototype.js 1.6's Array.prototype.reduce returns the array.
  let bytes = 0;
  for (const record of records) bytes += recordBytes(record);
  let excess = 0;
  while (records.length - excess > maxQueue || bytes > maxQueueBytes) bytes -= recordBytes(records[excess++]);
  if (excess) {
    say(excess + ' oldest events dropped: queue full (maxQueue ' + maxQueue + ', maxQueueBytes ' + maxQueueBytes + ') while the collector fails');
    report('dropped', { reason: 'queue limits', count: excess });
  }
  return keysOf(records.slice(0, excess));
}

/** Other tabs' records that may be sent `now` (not in a handover's grace), and when the first of the others may go (Infinity: none). */
function othersOf(records: QueueRecord[], marks: Record<string, number>, now: number): { others: QueueRecord[]; due: number } {
  const others = records.filter(([key]) => !marks[key] || Math.abs(now - Math.abs(marks[key])) >= HANDOVER_GRACE_MS);
  return { others, due: dueAfter(records.map(([key]) => Math.abs(marks[key]))) };
}

/**
 * An event is kept for good (stored, spilled, or delivered by a beacon):
 * its callback runs, once.
 */
function settled(entry?: Entry): void {
  if (!entry) return;
  entry.stored = 1;
  const callback = entry.callback;
  entry.callback = 0;
  // A throwing callback is the page's problem, not the queue's.
  if (typeof callback == 'function') guard('callback', callback as () => void)();
}
/** Whether a handed-over entry is still within its grace period. */
const inGrace = (entry: Entry, now = Date.now()) => Math.abs(now - entry.handed!) < HANDOVER_GRACE_MS;

/** The earliest of `times` (0 or undefined: none) plus the grace period; Infinity when there is none. */
const dueAfter = (times: (number | undefined)[]) => times.reduce<number>((first, time) => Math.min(first, time || Infinity), Infinity) + HANDOVER_GRACE_MS;

/** The outbox of one tracker. */
export type Outbox = ReturnType<typeof createOutbox>;
