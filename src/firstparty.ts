import { backoff } from './lib/backoff';
import { batchBody, KEEPALIVE_LIMIT, recordBytes, splitBatches, utf8Length } from './lib/batch';
import { captureContext, type EventContext, type PageSnapshot } from './lib/context';
import { topDomain } from './lib/cookies';
import { createEmitter, type Handler } from './lib/emitter';
import { createIdentity, type Identity } from './lib/identity';
import { holdTabLock, liveTabs, withFlushLock } from './lib/locks';
import { debug, logState, warn } from './lib/log';
import { onPageHide } from './lib/onPageHide';
import { DEFAULTS, endpointFor, resolveOptions, type FirstpartyOptions, type ResolvedOptions } from './lib/options';
import { createQueue, type EventStore, type QueueRecord } from './lib/queue';
import { randomId } from './lib/randomId';
import { toJson } from './lib/toJson';
import { beacon, post, type SendResult } from './lib/transport';
import { VERSION } from './version';

/** An event as it is sent to `/events/track/bulk` (plus `sent_at`, added as it leaves). */
export interface FirstpartyEvent {
  /** Unique per event (`EV` + 30 base-62 characters), so a collector can drop re-sends. */
  event_id: string;
  name: string;
  write_key: string;
  profile_id: string;
  session_id: string;
  properties: Record<string, unknown>;
  context: EventContext;
  /** When the call was made, ISO 8601, by the client's clock. */
  created_at: string;
}

/** When and where a call was made, for calls replayed from the snippet's queue. */
export interface CallSite {
  /** ms since the epoch when the call was made. */
  time?: number;
  page?: PageSnapshot;
}

/** The test seams: everything with side effects beyond the page, swappable. */
export interface Dependencies {
  queue?: EventStore;
  fetch?: typeof fetch;
  sendBeacon?: (url: string, body: string) => boolean;
}

/** The public API, the same on `window.firstparty` and from `createFirstparty()`. */
export interface Firstparty {
  load(writeKey: string, host: string, options?: FirstpartyOptions): void;
  track(name: string, properties?: Record<string, unknown>, options?: unknown, callback?: () => void): void;
  flush(): Promise<void>;
  getProfileId(): string | undefined;
  getSessionId(): string | undefined;
  reset(): void;
  debug(on?: boolean): void;
  on(name: string, handler: Handler): void;
  once(name: string, handler: Handler): void;
  off(name: string, handler?: Handler): void;
  /** Stops timers and listeners (tests, or a page tearing the library down). Queued events stay queued. */
  destroy(): void;
  /** Replays a call made before this library loaded, with its own time and page. @internal */
  _replay(method: string, args: unknown[], site: CallSite): void;
}

const RETRYABLE = [0, 408, 429];

/**
 * Creates a tracker. The IIFE build creates one for `window.firstparty`;
 * bundler users create their own:
 * `const fp = createFirstparty(); fp.load('WRITE_KEY', 'fp.example.com');`
 */
export function createFirstparty({ queue: givenQueue, fetch: fetchImpl, sendBeacon = beacon }: Dependencies = {}): Firstparty {
  const emitter = createEmitter();
  /** Tags this page's events, so other tabs leave them to us while we live. */
  const tabId = randomId('', 8);
  /** This page's events not yet acknowledged: what a hiding page hands to sendBeacon. */
  const unacked = new Map<string, string>();
  /** Keys of events in a request now, and the bytes of those requests (they count against the keepalive cap). */
  const inflight = new Set<string>();
  let inflightBytes = 0;
  let writeBuffer: QueueRecord[] = [];
  let writing: Promise<unknown> = Promise.resolve();
  let queuedEstimate = 0;
  let lastKeyTime = 0;
  let sequence = 0;
  let endpoint = '';
  let writeKey = '';
  let options: ResolvedOptions = DEFAULTS;
  let identity: Identity | undefined;
  let queue: EventStore | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let retryAt = 0;
  let attempt = 0;
  let flushing: Promise<void> | undefined;
  let beforeLoad: [string, unknown[], CallSite][] = [];
  const cleanups: (() => void)[] = [];

  /**
   * Queue keys sort in call order: a per-tab monotonic time in ms (a clock
   * stepping backwards does not reorder this tab's events), a sequence number
   * within the ms, then the tab ID, which also makes keys unique across tabs.
   */
  function nextKey(): string {
    const now = Date.now();
    if (now > lastKeyTime) {
      lastKeyTime = now;
      sequence = 0;
    } else if (++sequence >= 1679616) {
      lastKeyTime++;
      sequence = 0;
    }
    return lastKeyTime.toString(36).padStart(9, '0') + sequence.toString(36).padStart(4, '0') + '.' + tabId;
  }

  const keyTime = (key: string) => parseInt(key.slice(0, 9), 36);
  const keyTab = (key: string) => key.slice(14);

  function guard<A extends unknown[], R>(name: string, fn: (...args: A) => R) {
    return (...args: A): R | undefined => {
      try {
        return fn(...args);
      } catch (error) {
        warn(name + '() failed', error);
        return undefined;
      }
    };
  }

  function enqueue(name: unknown, properties: unknown, site: CallSite, callback?: unknown): void {
    if (!identity) {
      beforeLoad.push(['track', [name, properties, undefined, callback], site]);
      return;
    }
    if (typeof name !== 'string' || !name.trim()) {
      warn('track() needs an event name (a non-empty string); event dropped:', name);
      return;
    }
    if (properties != null && (typeof properties !== 'object' || Array.isArray(properties))) {
      warn('track() properties must be an object; sent without them:', properties);
      properties = undefined;
    }
    const time = site.time || Date.now();
    const event: FirstpartyEvent = {
      event_id: randomId('EV'),
      name: name.trim(),
      write_key: writeKey,
      profile_id: identity.profileId(),
      session_id: identity.sessionId(time),
      properties: (properties as Record<string, unknown>) || {},
      context: captureContext(VERSION, site.page),
      created_at: new Date(time).toISOString(),
    };
    const json = toJson(event);
    if (!json) return;
    const record: QueueRecord = [nextKey(), json];
    if (recordBytes(record) + 32 > options.maxBatchBytes) {
      warn('event dropped: larger than one request may carry (' + options.maxBatchBytes + ' bytes):', event.name);
      emitter.emit('dropped', { events: [event], reason: 'too large' });
      return;
    }
    debug('track', event);
    unacked.set(record[0], json);
    writeBuffer.push(record);
    if (writeBuffer.length === 1) {
      // One IndexedDB transaction for every event of this task: 1,000 calls in a
      // loop cost one write, not 1,000.
      writing = writing.then(persist);
    }
    if (typeof callback === 'function') writing.then(() => guard('callback', callback as () => void)());
    emitter.emit('track', event);
    schedule(options.flushInterval);
  }

  async function persist(): Promise<void> {
    const records = writeBuffer;
    writeBuffer = [];
    if (!records.length || !queue) return;
    try {
      await queue.put(records);
      queuedEstimate += records.length;
      if (queuedEstimate > options.maxQueue) await trim(await queue.all());
    } catch (error) {
      // Unreachable in practice (memory never refuses); the events are still in `unacked`.
      warn('could not store events', error);
    }
  }

  /** Enforces the caps on a full read of the queue; returns what is left. */
  async function trim(records: QueueRecord[]): Promise<QueueRecord[]> {
    const now = Date.now();
    // Math.abs: a record dated far in the future (a clock that was wrong) is as stale as an old one.
    const expired = records.filter(([key]) => Math.abs(now - keyTime(key)) > options.maxAge);
    const kept = records.filter((record) => expired.indexOf(record) < 0);
    const excess = kept.splice(0, Math.max(0, kept.length - options.maxQueue));
    const dropped = expired.concat(excess);
    if (dropped.length) {
      warn(dropped.length + ' queued events dropped: older than maxAge or beyond maxQueue (' + options.maxQueue + ')');
      await forget(dropped);
      emitter.emit('dropped', { count: dropped.length, reason: 'queue limits' });
    }
    queuedEstimate = kept.length;
    return kept;
  }

  async function forget(records: QueueRecord[]): Promise<void> {
    const keys = records.map(([key]) => key);
    keys.forEach((key) => unacked.delete(key));
    await queue!.remove(keys);
  }

  function schedule(delay: number): void {
    if (!timer && endpoint) timer = setTimeout(() => flush(), Math.max(delay, retryAt - Date.now()));
  }

  function flush(): Promise<void> {
    clearTimeout(timer);
    timer = undefined;
    if (!flushing) {
      flushing = (async () => {
        await writing;
        if (!endpoint || navigator.onLine === false) return; // the `online` listener flushes later
        const ran = await withFlushLock(sendQueued);
        if (!ran) schedule(options.flushInterval); // another tab is flushing; ours may have events it skips
      })()
        .catch((error) => warn('flush failed', error))
        .finally(() => (flushing = undefined));
    }
    return flushing;
  }

  /** Sends what this tab may send, oldest first; runs under the flush lock. */
  async function sendQueued(): Promise<void> {
    const live = await liveTabs();
    const now = Date.now();
    // Without Web Locks we cannot tell a closed tab from a live one: another
    // tab's events are taken over only once they have waited this long.
    const orphanAge = 10 * 60000;
    const records = (await trim(await queue!.all())).filter(([key]) => {
      const tab = keyTab(key);
      return tab === tabId || (live ? !live.has(tab) : now - keyTime(key) > orphanAge);
    });
    for (const planned of splitBatches(records, options.maxBatchBytes)) {
      if (navigator.onLine === false) return;
      // Our own events handed to a beacon while this flush was running are gone.
      const batch = planned.filter(([key]) => unacked.has(key) || keyTab(key) !== tabId);
      if (!batch.length) continue;
      const keys = batch.map(([key]) => key);
      const body = batchBody(batch, new Date().toISOString());
      const bytes = utf8Length(body);
      keys.forEach((key) => inflight.add(key));
      inflightBytes += bytes;
      let result: SendResult;
      try {
        result = await post(endpoint, body, fetchImpl);
      } finally {
        keys.forEach((key) => inflight.delete(key));
        inflightBytes -= bytes;
      }
      const { status } = result;
      if (status >= 200 && status < 300) {
        attempt = 0;
        retryAt = 0;
        await forget(batch);
        queuedEstimate -= batch.length;
        debug('sent', batch.length, 'events');
        emitter.emit('sent', { count: batch.length, status });
      } else if (status >= 500 || RETRYABLE.indexOf(status) >= 0) {
        const delay = Math.max(backoff(attempt++), result.retryAfter);
        retryAt = Date.now() + delay;
        debug('send failed with status', status, '- retrying in', Math.round(delay), 'ms');
        emitter.emit('failed', { count: batch.length, status, retryIn: delay });
        clearTimeout(timer); // a timer set by track() meanwhile must not cut the backoff short
        timer = undefined;
        schedule(delay);
        return;
      } else {
        // Other 4xx: the collector will never take this batch; keeping it would block the queue forever.
        warn('collector refused ' + batch.length + ' events (HTTP ' + status + '); dropped');
        await forget(batch);
        emitter.emit('dropped', { count: batch.length, status, reason: 'refused' });
      }
    }
  }

  /**
   * The page is going away (or may be: hidden pages get killed): hand this
   * tab's unacknowledged events to sendBeacon. A beacon gets no answer, so
   * accepted events are removed from the queue at once: they are the
   * browser's to deliver now, and keeping them would send them again on the
   * next visit. Nothing is handed over while the browser is offline, and a
   * beacon the browser refuses leaves its events queued for the next visit.
   * Events in a keepalive fetch are left to it.
   */
  function onHide(): void {
    if (!endpoint || navigator.onLine === false) return;
    const records = [...unacked].filter(([key]) => !inflight.has(key));
    let budget = KEEPALIVE_LIMIT - inflightBytes;
    for (const batch of splitBatches(records, Math.min(options.maxBatchBytes, budget))) {
      const body = batchBody(batch, new Date().toISOString());
      const bytes = utf8Length(body);
      if (bytes > budget || !sendBeacon(endpoint, body)) {
        debug('beacon refused; events stay queued');
        return;
      }
      budget -= bytes;
      const keys = new Set(batch.map(([key]) => key));
      writeBuffer = writeBuffer.filter(([key]) => !keys.has(key));
      void forget(batch);
      debug('beacon sent', batch.length, 'events');
      emitter.emit('sent', { count: batch.length, beacon: true });
    }
  }

  const api: Firstparty = {
    load: guard('load', (key: string, host: string, given?: FirstpartyOptions) => {
      if (identity) {
        warn('load() was already called; ignored');
        return;
      }
      if (typeof key !== 'string' || !key.trim()) {
        warn('load() needs a write key (a non-empty string)');
        return;
      }
      endpoint = endpointFor(host);
      if (!endpoint) {
        warn('load() needs a collection host like "fp.example.com"; got', host);
        return;
      }
      writeKey = key.trim();
      options = resolveOptions(given, (name) => warn('option ' + name + ' is invalid; using the default'));
      if (options.debug) logState.debug = true;
      const domain = options.cookieDomain !== undefined ? options.cookieDomain : options.storage === 'cookie' ? topDomain() : '';
      identity = createIdentity(options.sessionTimeout, domain, options.storage);
      queue = givenQueue || createQueue();
      holdTabLock(tabId);
      cleanups.push(onPageHide(onHide));
      const onOnline = () => {
        retryAt = 0;
        attempt = 0;
        flush();
      };
      addEventListener('online', onOnline);
      cleanups.push(() => removeEventListener('online', onOnline));
      debug('loaded', { writeKey, endpoint, options });
      const calls = beforeLoad;
      beforeLoad = [];
      calls.forEach(([method, args, site]) => api._replay(method, args, site));
      // Events left by earlier visits go out at once.
      schedule(0);
    }),
    track: guard('track', (name: string, properties?: Record<string, unknown>, _options?: unknown, callback?: () => void) =>
      enqueue(name, properties, {}, callback),
    ),
    flush: () => flush(),
    getProfileId: guard('getProfileId', () => identity?.profileId()),
    getSessionId: guard('getSessionId', () => identity?.sessionId()),
    reset: guard('reset', () => identity?.reset()),
    debug: guard('debug', (on = true) => {
      logState.debug = !!on;
    }),
    on: guard('on', (name: string, handler: Handler) => emitter.on(name, handler)),
    once: guard('once', (name: string, handler: Handler) => emitter.once(name, handler)),
    off: guard('off', (name: string, handler?: Handler) => emitter.off(name, handler)),
    destroy: guard('destroy', () => {
      clearTimeout(timer);
      timer = undefined;
      endpoint = '';
      cleanups.splice(0).forEach((cleanup) => cleanup());
    }),
    _replay: guard('replay', (method: string, args: unknown[], site: CallSite) => {
      if (method === 'track') enqueue(args[0], args[1], site, args[3]);
      else if (typeof (api as any)[method] === 'function' && method !== '_replay') (api as any)[method](...args);
      else warn('unknown method ' + method + '() ignored');
    }),
  };
  return api;
}
