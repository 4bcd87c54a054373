/**
 * The courier: delivery of the queue to the collector, as one unit —
 * schedule (a timer after each event, at load, back online, after a backoff),
 * send (batches of this tab's events from memory, and other tabs' orphaned
 * events from a sweep of the store under the origin-wide flush lock), and one
 * handler per kind of answer (delivered, retry later, refused).
 *
 * While the page is visible, requests go without `keepalive` (whose 64 KiB
 * in-flight quota would cap throughput) in bodies up to `maxBatchBytes`, up to
 * `MAX_IN_FLIGHT` at once; while it is hidden, one keepalive request at a
 * time within 64 KiB, so that it outlives the page. Requests may complete out
 * of order; each event's `created_at` orders them. The page-hide handover is
 * in handover.ts.
 *
 * Sending at once when nothing is in flight (at the end of the task that
 * recorded the events, before they are stored: express()), and batching only
 * behind a request in flight, keeps the time an event spends without a
 * receipt to one round trip: a visitor who follows a link usually leaves
 * after the answer was read.
 */
import { backoff } from '../lib/backoff';
import { batchBody, KEEPALIVE_LIMIT, splitBatches, utf8Length } from '../lib/batch';
import { keysOf, keyTab, keyTime } from '../lib/eventKey';
import { pageHidden } from '../lib/onPageHide';
import { liveTabs, withFlushLock } from '../lib/locks';
import { debug, warn } from '../lib/log';
import { parseJson } from '../lib/parseJson';
import type { QueueRecord } from '../lib/queue';
import type { Reachability } from '../lib/reachability';
import { locks } from '../lib/locks';
import { createTimer, nextTask } from '../lib/timer';
import { isNative, isReceipt, keepaliveBytes, post, type SendResult } from '../lib/transport';
import type { Outbox } from './outbox';
import { isObject } from './recorder';

/**
 * A tab that beats no heartbeat (it may not write localStorage) cannot be
 * told alive without Web Locks: its events are taken over only once this old
 * (with Web Locks its lock tells, as for any tab).
 */
export const ORPHAN_AGE_MS = 600000;

/**
 * Requests in flight at once while visible. Three: enough to keep a 1 MiB/s
 * stream moving over a 300 ms round trip, few enough to leave the browser's
 * six connections per host to the page.
 */
export const MAX_IN_FLIGHT = 3;

/** Requests' worth of this tab's events one round takes (2 per request in flight); the next round follows at once. */
export const ROUND_REQUESTS = 2 * MAX_IN_FLIGHT;

/**
 * How long a keepalive request that failed without an answer still counts
 * as in flight: Chromium rejects its promise as the document navigates away,
 * a moment before pagehide, and sends it all the same (whatwg/html#4483;
 * seen in test/browser/elements.test.mjs). A hide meanwhile hands its events
 * over as sent (marked, not sent again at once).
 */
export const KEEPALIVE_DOUBT_MS = 1000;

/**
 * Bytes of events an express send puts in its keepalive request (see
 * express()): serialized in a microtask of track(), about 0.2 ms per 16 KiB
 * on a desktop. 16 KiB of the page's 64 KiB keepalive quota leaves 48 KiB to
 * the page's own keepalive requests (RUM, session replay) and the handover.
 */
export const EXPRESS_BYTES = 16384;

/**
 * Other tabs' events are looked for (a read of the whole store) at load, then
 * at most this often while none are known to be waiting: a full read of a
 * large queue is tens of ms of main thread.
 */
export const SWEEP_MS = 10000;

export interface CourierDependencies {
  outbox: Outbox;
  reach: Reachability;
  tabId: string;
  /** The bulk endpoint ('' before load and after destroy()). */
  endpoint(): string;
  /**
   * Whether events may leave now (no opt-out in any tab, consent given, no
   * privacy signal): asked before each round and each request, not only when
   * events are recorded.
   */
  mayLeave(): boolean;
  /** The tracker's options (read when needed: load() sets them). */
  options(): { maxBatchBytes: number; flushInterval: number; credentials: RequestCredentials; compression: false | 'gzip' };
  fetch?: typeof fetch;
  report(name: string, detail?: unknown): void;
}

/** Creates the courier of one tab. */
export function createCourier({ outbox, reach, tabId, endpoint, mayLeave, options, fetch: fetchImpl, report }: CourierDependencies): Courier {
  const timer = createTimer(() => flush());
  let retryAt = 0;
  let attempt = 0;
  let flushing: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  let lastSweep = 0;
  /** Set by a failed request: the workers of send() start no more requests. */
  let halted = false;
  /** Keys in a request now, and whether that request is keepalive (it may outlive the page). */
  const inflight = new Map<string, boolean>();
  /** Whether a request of ours carries `key` now: what a round, an express send, a sweep leave out. */
  const carrying = (key: string) => inflight.has(key);
  /** Warned about a redirected collector; an express send is queued for the end of this task. */
  let redirectWarned = 0, expressing = false;
  /** A sweep has run since load and since the last failure (so none is due during a backoff). */
  let swept = false;
  // Nothing in flight, no round under way (it keeps the queue's order: a round already has the earlier events
  // in hand), no failure since the last 2xx (express sends must not feed the backoff), and a sweep done since
  // load (the round at load sends what earlier visits left first).
  const idle = () => !inflight.size && !flushing && swept && !attempt;
  /** A failure's backoff is under way: its retry is due later. */
  const backingOff = () => retryAt > Date.now();

  /** See Courier. */
  function schedule(delay: number, fresh?: boolean): void {
    if (endpoint()) timer.at(Date.now() + (fresh ? delay : Math.max(delay, retryAt - Date.now())));
  }

  /** A round with a sweep at `time` (ms since the epoch; Infinity: never). */
  function later(time: number): void {
    if (time < Infinity) {
      lastSweep = 0;
      schedule(time - Date.now());
    }
  }

  /** Sends what is queued; `sweep` (an explicit flush()) also looks for other tabs' events at once. */
  function flush(sweepNow?: boolean): Promise<void> {
    if (sweepNow === true) lastSweep = 0;
    timer.clear();
    // Asked while flushing: what is queued now goes in one more round, after this one.
    // (Not before a retry that this round's failure made due later.)
    if (flushing) return (next ||= flushing.then(() => ((next = undefined), backingOff() ? schedule(0) : flush())));
    // flush() sends everything queued, a round's worth at a time (bounded: a page tracking faster than it sends).
    return underWay(outbox.written().then(async () => {
      for (let rounds = sweepNow === true ? 100 : 1; rounds-- && (await round(sweepNow === true)); );
    }));
  }

  /** `work` is the round under way: a flush asked for meanwhile, or a timer's, goes after it. */
  function underWay(work: Promise<void>): Promise<void> {
    return (flushing = work.catch((error) => warn('flush failed', error)).finally(() => (flushing = undefined)));
  }

  /** One round: other tabs' orphaned events when it is time to look, then this tab's own; true when more are waiting. */
  async function round(explicit: boolean): Promise<boolean | void> {
    if (!endpoint() || !mayLeave()) return;
    halted = false;
    // During a backoff only events no request has carried go (their first attempt); the rest wait
    // for the retry. An explicit flush() sends everything.
    const fresh = !explicit && backingOff();
    // (Math.abs: a clock set back delays it by at most SWEEP_MS more.)
    if (!fresh && Math.abs(Date.now() - lastSweep) >= SWEEP_MS) {
      // Another tab flushing holds the lock: it sends the orphans; we look again next round.
      if (!(await withFlushLock(sweep))) schedule(options().flushInterval);
    }
    // Handed-over events go again once their grace is over (unless a retry is due first).
    // A failed request for other tabs' events ends the round too: one failure, one backoff.
    // A round takes a few requests' worth: building more bodies in one go would be a long task.
    const budget = ROUND_REQUESTS * options().maxBatchBytes;
    const mine = halted ? [] : outbox.unsent(false, carrying, budget, fresh);
    if (!halted && (await send(mine))) {
      later(outbox.due());
      // More was waiting, or came while this round was out: the next round now, in a task of its own
      // (all of it once a 2xx ended the backoff).
      const still = backingOff();
      if (outbox.unsent(false, carrying, 1, still)[0]) {
        schedule(0, still);
        return true;
      }
    }
    // A fresh round took the timer the retry was waiting on: the retry keeps its time.
    if (fresh) schedule(0);
  }

  /** Sends other tabs' events that are nobody's now; runs under the flush lock. */
  async function sweep(): Promise<void> {
    lastSweep = Date.now();
    swept = true;
    const { others, due } = await outbox.sweep();
    const orphans = orphansOf(others, await liveTabs(), carrying);
    // Events of live tabs, or waiting out a handover's grace: look again then.
    if (orphans.length < others.length) later(Date.now() + SWEEP_MS);
    later(due);
    await send(orphans);
  }

  /**
   * Sends records in batches, up to MAX_IN_FLIGHT at once (one keepalive
   * request within 64 KiB while hidden); false once one needs a retry.
   */
  async function send(records: QueueRecord[]): Promise<boolean> {
    const keepalive = pageHidden();
    const { maxBatchBytes } = options();
    const limit = keepalive ? Math.min(maxBatchBytes, KEEPALIVE_LIMIT - keepaliveBytes()) : maxBatchBytes;
    await inParallel(splitBatches(records, limit), keepalive ? 1 : MAX_IN_FLIGHT, (batch) => deliver(batch, keepalive), () => !halted && !!endpoint());
    return !halted;
  }

  /** Sends one batch and hands its answer to the handler for its status. */
  async function deliver(planned: QueueRecord[], keepalive: boolean): Promise<boolean> {
    // Events handed over or acknowledged while earlier batches were out are skipped.
    const batch = planned.filter(([key]) => !carrying(key) && (keyTab(key) !== tabId || outbox.waiting(key)));
    // Synchronous from the check above to the request: an express send and a round never both take an event.
    const body = batch[0] ? validBody(batch, outbox) : '';
    if (!body) return true;
    const bytes = keepalive ? utf8Length(body) : 0;
    if (bytes > KEEPALIVE_LIMIT - keepaliveBytes()) return true; // the next round, once the quota frees up
    // An opt-out (here or in another tab) or a withdrawn consent since the round began: nothing more goes.
    if (!mayLeave()) return (halted = true), false;
    const keys = keysOf(batch);
    keys.forEach((key) => inflight.set(key, keepalive));
    outbox.carried(keys);
    const result = await post(endpoint(), body, keepalive, fetchImpl, options().credentials, !keepalive && options().compression);
    // See KEEPALIVE_DOUBT_MS.
    if (keepalive && !result.status) await nextTask(KEEPALIVE_DOUBT_MS);
    keys.forEach((key) => inflight.delete(key));
    const { status } = result;
    const receipt = isReceipt(result);
    if (result.redirected && !receipt && !redirectWarned++) warn('collector redirected: use its final URL as host');
    return (receipt ? delivered : result.redirected || status > 499 || !status || status == 408 || status == 429 ? retry : refused)(batch, result, keepalive);
  }

  /** 2xx: the collector has the events. Deleted now (marked, if the page is hidden and may die before the delete commits). */
  function delivered(batch: QueueRecord[], result: SendResult): boolean {
    reach.ok();
    attempt = retryAt = 0;
    const keys = keysOf(batch);
    pageHidden() ? outbox.handOver(keys, 0) : outbox.received(keys);
    result.read!.then(() => report('sent', sentDetail(batch, result))); // with the body's rejections, if any
    return true;
  }

  /** 5xx, 408, 429, no answer, or a redirect that lost the body: kept (within the caps), and retried after a jittered backoff (or Retry-After). */
  function retry(batch: QueueRecord[], { status, retryAfter }: SendResult): boolean {
    halted = true;
    reach.fail();
    // The next round reads the whole store, which applies the caps while the collector fails.
    lastSweep = 0;
    swept = false;
    // A fresh event's first attempt failing during a backoff says nothing new: the retry keeps its
    // time (10,000 events tracked offline pushed it ~90 s out, a step a second, and the caps with it).
    const delay = Math.max(backingOff() ? retryAt - Date.now() : backoff(attempt++), retryAfter);
    retryAt = Date.now() + delay;
    report('failed', { status, count: batch.length, retryIn: delay });
    // A timer set by track() meanwhile must not cut the backoff short; events no request has
    // carried yet still get their first attempt within flushInterval (round()).
    timer.clear();
    schedule(delay);
    if (outbox.unsent(false, carrying, 1, true)[0]) schedule(options().flushInterval, true);
    return false;
  }

  /** Any other 4xx (413 too): see refusedBatch(). */
  const refused = (batch: QueueRecord[], result: SendResult, keepalive: boolean) =>
    refusedBatch(batch, result, (records) => deliver(records, keepalive), (records) => drop(records, result.status, outbox, report));

  return {
    schedule,
    flush,
    later,
    stored(): void {
      if (!inflight.size) schedule(0, true);
    },
    express(): void {
      if (expressing || !idle()) return;
      expressing = true;
      queueMicrotask(() => {
        expressing = false;
        if (!endpoint() || !mayLeave() || pageHidden() || !idle()) return;
        const mine = outbox.unsent(true, carrying, Math.min(EXPRESS_BYTES, options().maxBatchBytes), true);
        // A round of its own (what is recorded while it is out waits behind it); once its 2xx is read
        // (deliver() is false for a failure, which brings the backoff: none offline), the next
        // maxBatchBytes, read then; then a round.
        if (mine[0]) underWay(deliver(mine, true).then((ok) => ok && send(outbox.unsent(true, carrying, options().maxBatchBytes))).then(() => schedule(0)));
      });
    },
    online(): void {
      retryAt = attempt = 0;
      flush();
    },
    keepalive: () => ({ keys: [...inflight].filter(([, keepalive]) => keepalive).map(([key]) => key), bytes: keepaliveBytes() }),
    stop: timer.clear,
  };
}

/**
 * Runs `work` on each of `items` in order, `width` at a time, while `going()`.
 * Each worker but one starts in a task of its own: building a 64 KiB body and
 * handing it to fetch() takes 13–41 ms with the CPU 6× slower, so three in one
 * task were a 64 ms long task (bench/profile.mjs). Only visible pages send
 * more than one at once, so the timer is not one a background tab throttles.
 * A loop, not Array.from({length}, fn): Prototype.js 1.6's Array.from ignores the map function.
 */
async function inParallel<T>(items: T[], width: number, work: (item: T) => Promise<unknown>, going: () => boolean): Promise<void> {
  let next = 0;
  const worker = async (later: number) => {
    if (later) await nextTask();
    while (going() && next < items.length) await work(items[next++]);
  };
  const workers = [];
  for (let i = Math.min(width, items.length); i--; ) workers.push(worker(i));
  await Promise.all(workers);
}

/**
 * The `sent` event's detail for a 2xx: with what the collector says it
 * rejected, when it says (the demo's does; Firstparty's answers 200 with no
 * detail). Debug mode logs it, as every library event.
 */
function sentDetail(batch: QueueRecord[], { status, text }: SendResult) {
  const answer = parseJson(text);
  const rejected = isObject(answer) && typeof answer.rejected === 'number' ? answer.rejected : 0;
  return { status, count: batch.length, ...(rejected && { rejected, rejections: answer!.rejections }) };
}

/**
 * Other tabs' records that are nobody's now: not in a request of ours
 * (`sending`), and of a tab not among the `live` ones. Without Web Locks or
 * heartbeats (`live` undefined) a live tab cannot be told from a closed one:
 * none is taken over; nor, without Web Locks, for ORPHAN_AGE_MS, are those of
 * a tab that beats no heartbeat ('_': storage 'memory').
 */
function orphansOf(others: QueueRecord[], live: Set<string> | undefined, sending: (key: string) => boolean, now = Date.now()): QueueRecord[] {
  return others.filter(
    ([key], _, __, tab = keyTab(key)) => !sending(key) && live && !live.has(tab) && (tab[0] != '_' || !!locks() || Math.abs(now - keyTime(key)) > ORPHAN_AGE_MS),
  );
}

/**
 * Any other 4xx (413 too): the collector will not take this batch as it is.
 * The events its answer names (`rejections` by `index`: the demo collector's
 * format) are dropped and the rest sent `again`; an answer that names none
 * splits the batch in halves, sent one after the other, so that one bad event
 * (or a body over the collector's limit) never takes its neighbours down. A
 * single event refused is dropped: keeping it would block the queue forever.
 */
async function refusedBatch(batch: QueueRecord[], result: SendResult, again: (records: QueueRecord[]) => Promise<boolean>, dropIt: (records: QueueRecord[]) => void): Promise<boolean> {
  await result.read;
  const bad = named(batch, parseJson(result.text));
  if (bad[0] && bad.length < batch.length) {
    dropIt(bad);
    return again(batch.filter((record) => !bad.includes(record)));
  }
  if (batch.length > 1) {
    const half = batch.length >> 1;
    return (await again(batch.slice(0, half))) && again(batch.slice(half));
  }
  dropIt(batch);
  return true;
}

/** Drops refused events for good, with a warning and a `dropped` event. */
function drop(batch: QueueRecord[], status: number, outbox: Outbox, report: CourierDependencies['report']): void {
  warn('HTTP ' + status + ': ' + batch.length + ' events dropped');
  outbox.forget(keysOf(batch));
  report('dropped', { status, count: batch.length, reason: 'refused' });
}

/**
 * The batch's body, checked to parse: a page that replaced JSON.stringify
 * with something broken (old libraries did) makes events that are not
 * JSON. Those are dropped (when JSON.parse itself can be trusted) and taken
 * out of `batch`.
 */
function validBody(batch: QueueRecord[], outbox: Outbox): string {
  const body = batchBody(batch);
  // JSON.stringify still the browser's own: every stored event is JSON, no parse needed (about 0.5 ms per 64 KiB).
  if (isNative(JSON.stringify) || isObject(parseJson(body)) || !isObject(parseJson('{}'))) return body;
  const bad = batch.filter(([, json]) => !isObject(parseJson(json)));
  warn(bad.length + ' events dropped: not valid JSON (JSON.stringify replaced?)');
  outbox.forget(keysOf(bad));
  batch.splice(0, batch.length, ...batch.filter((record) => !bad.includes(record)));
  return batch[0] ? batchBody(batch) : '';
}

/** The records of `batch` that a refusal's `rejections` name by `index` (the demo collector's format). */
function named(batch: QueueRecord[], answer: unknown): QueueRecord[] {
  const list = isObject(answer) && Array.isArray(answer.rejections) ? answer.rejections : [];
  return batch.filter((_, index) => list.some((item: unknown) => isObject(item) && item.index === index));
}

/** The courier of one tracker. */
export interface Courier {
  /**
   * A round in `delay` ms, or sooner if one is due sooner (the earliest
   * wins: a pending 10 s wait never swallows a 1 s flush); not before a
   * backoff's retry unless `fresh` (a round for events no request has
   * carried yet: a retry timer never delays a new event's first attempt).
   */
  schedule(delay: number, fresh?: boolean): void;
  /** Sends what is queued; `sweep` (an explicit flush()) also looks for other tabs' events at once. */
  flush(sweep?: boolean): Promise<void>;
  /** A round with a sweep at `time` (ms since the epoch; Infinity: never). */
  later(time: number): void;
  /** Events were stored: sent at once when nothing is in flight (else they go behind the request in flight). */
  stored(): void;
  /**
   * Events were recorded in this task: with nothing in flight, no backoff
   * and the page visible, they go in a microtask, before they are even
   * stored: the first EXPRESS_BYTES in a keepalive request, and once its
   * 2xx is read the next `maxBatchBytes` in plain ones (no quota: Chromium
   * reads their answers while a navigation is pending too, so the visitor
   * who leaves with 100 events tracked in the leaving task seldom needs them
   * handed over; read in the answer's task, so that a burst's bodies are not
   * one long task; none after a failure, which brings the backoff); the rest
   * as stored. A visitor who follows
   * a link or submits a form in the same task leaves a round trip later
   * (the next document takes one too): the answer's status is usually read
   * first (on 6 pages in 7 on 127.0.0.1: bench/copies.mjs),
   * so the events need no handover and are never sent twice. The request
   * is a keepalive one (16 KiB of the page's 64 KiB): if the page goes
   * first, it still arrives, and the handover only marks its events.
   */
  express(): void;
  /** Back online: retry at once, without waiting out the backoff. */
  online(): void;
  /** Keys now in a keepalive request of the courier's (it may outlive the page), and the page's keepalive bytes in flight (transport.ts). */
  keepalive(): { keys: string[]; bytes: number };
  /** Cancels the timer, a retry's included. */
  stop(): void;
}
