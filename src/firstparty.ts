import { backoff } from './lib/backoff';
import { batchBody, KEEPALIVE_LIMIT, recordBytes, splitBatches, utf8Length } from './lib/batch';
import { captureContext, eventJson, pageSnapshot, type EventContext, type PageSnapshot } from './lib/context';
import { topDomain } from './lib/cookies';
import { createEmitter, type Handler } from './lib/emitter';
import { createIdentity, type Identity } from './lib/identity';
import { holdTabLock, liveTabs, withFlushLock } from './lib/locks';
import { debug, logState, warn } from './lib/log';
import { onPageHide } from './lib/onPageHide';
import { DEFAULTS, resolveOptions, type FirstpartyOptions, type ResolvedOptions } from './lib/options';
import { endpointFor } from './lib/endpoint';
import { createQueue, memoryStore, type EventStore, type QueueRecord } from './lib/queue';
import { randomId } from './lib/randomId';
import { lsGet, lsSet } from './lib/storage';
import { parseJson } from './lib/parseJson';
import { cleanProperties } from './lib/toJson';
import { beacon, post } from './lib/transport';
import { bindElements, forElement, toElements, type Elements, type PerElement } from './lib/bindElements';
import { hasPrivacySignal, isOptedOut, setOptedOut } from './lib/privacy';
import { watchHistory } from './lib/watchHistory';
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

/** Properties or traits: a plain object of JSON-able values. */
export type Properties = Record<string, unknown>;

/**
 * A source middleware sees each event before it is queued and calls `next`
 * with it (changed or not) to let it through; not calling `next`, or calling
 * it with `null`, drops the event. `payload.obj` is the event too, so
 * middlewares written for Segment's analytics.js work unchanged.
 */
export type SourceMiddleware = (context: { payload: FirstpartyEvent & { obj: FirstpartyEvent }; next: (event: FirstpartyEvent | null) => void }) => void;

/** The public API, the same on `window.firstparty` and from `createFirstparty()`. */
export interface Firstparty {
  /** Starts tracking: `host` is the collection Domain (`fp.example.com`), or an origin with a scheme. */
  load(writeKey: string, host: string, options?: FirstpartyOptions): void;
  /** Records an event; `callback` runs once it is stored. */
  track(name: string, properties?: Properties, options?: unknown, callback?: () => void): void;
  /** Records `Page Viewed` with the page fields: `page()`, `page(name)`, `page(category, name, properties)`. */
  page(...args: unknown[]): void;
  /** The same as `page()` (Firstparty's older name). */
  pageview(...args: unknown[]): void;
  /** Sets (or keeps) the profile ID and records `Profile Identified` with the traits. */
  identify(profileId?: string | Properties, traits?: Properties, options?: unknown, callback?: () => void): void;
  /** Records `Group Identified` with `group_id` and the traits. */
  group(groupId: string, traits?: Properties, options?: unknown, callback?: () => void): void;
  /** Records `Profile Aliased` (`previous_id` → `new_id`) and continues as `newId`. */
  alias(newId: string, previousId?: string, options?: unknown, callback?: () => void): void;
  /** Replaces the profile ID without recording anything. */
  setAnonymousId(id?: string): string | undefined;
  /** New profile and session IDs (e.g. at log-out); queued events are kept. */
  reset(): void;
  /** Runs `callback` once the library is loaded. */
  ready(callback: () => void): void;
  /** Sends whatever is queued now; resolves when this attempt is over. */
  flush(): Promise<void>;
  getProfileId(): string | undefined;
  /** The current session ID; reading it is not activity (it does not extend the session). */
  getSessionId(): string | undefined;
  /** Console logging of every event and decision (`debug(false)` stops it). */
  debug(on?: boolean): void;
  /** Listens to the library's own events: `track`, `sent`, `failed`, `dropped`, `ready`. */
  on(name: string, handler: Handler): void;
  once(name: string, handler: Handler): void;
  off(name: string, handler?: Handler): void;
  /** Adds a function that may change or drop each event before it is queued (e.g. to strip PII). */
  addSourceMiddleware(middleware: SourceMiddleware): void;
  /** Accepted for compatibility; there are no integrations to apply it to. */
  addIntegrationMiddleware(middleware: unknown): void;
  /** Accepted for compatibility; there are no destinations to apply it to. */
  addDestinationMiddleware(integration: unknown, middleware?: unknown): void;
  /** Tracks clicks on links or other elements. */
  trackLink(elements: Elements, name: PerElement<string>, properties?: PerElement<Properties>): void;
  trackClick(elements: Elements, name: PerElement<string>, properties?: PerElement<Properties>): void;
  /** Tracks form submissions. */
  trackForm(forms: Elements, name: PerElement<string>, properties?: PerElement<Properties>): void;
  trackSubmit(forms: Elements, name: PerElement<string>, properties?: PerElement<Properties>): void;
  /** Gives (`true`) or refuses (`false`) consent when loaded with `consent: 'pending'`. */
  consent(granted: boolean): void;
  /** Stops all tracking for this visitor, across visits, and empties the queue. */
  optOut(): void;
  /** Undoes `optOut()`. */
  optIn(): void;
  /** Stops timers and listeners and restores patched history methods. Queued events stay queued. */
  destroy(): void;
  /** Replays a call made before this library loaded, with its own time and page. @internal */
  _replay(method: string, args: unknown[], site: CallSite): void;
}

/** Names of the events the API methods record (Firstparty's Title Case "Object Action" style). */
export const EVENT_NAMES = {
  page: 'Page Viewed',
  identify: 'Profile Identified',
  group: 'Group Identified',
  alias: 'Profile Aliased',
};

/** Methods that record events: before `load()` (or consent) they wait, in call order. */
const RECORDING = ['track', 'page', 'pageview', 'identify', 'group', 'alias'];

/**
 * localStorage key listing the queue keys of events handed to sendBeacon. The
 * IndexedDB delete issued as a page unloads often never commits (the page is
 * torn down first: seen in the browser suite), while localStorage writes are
 * synchronous; every flush first removes the events listed here, so they are
 * not sent a second time by the next page.
 */
const BEACONED = 'firstparty-js:beaconed';

function beaconed(): string[] {
  return parseJson(lsGet(BEACONED)) || [];
}


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
  /** Keys of events in a request now; their bytes count against the 64 KiB keepalive cap. */
  const inflight = new Set<string>();
  let inflightBytes = 0;
  let writeBuffer: QueueRecord[] = [];
  let writing: Promise<unknown> = Promise.resolve();
  let queuedEstimate = 0;
  let lastKeyTime = 0;
  let sequence = 0;
  let endpoint = '';
  let writeKey = '';
  let cookieDomain = '';
  let options: ResolvedOptions = DEFAULTS;
  let identity: Identity | undefined;
  let queue: EventStore;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let retryAt = 0;
  let attempt = 0;
  let flushing: Promise<void> | undefined;
  /** Why nothing may be recorded now ('' when recording is allowed). */
  let blocked = '';
  let consent: boolean | 'pending' = true;
  /** Recording calls waiting for `load()` or for consent, with their call sites. */
  let waiting: [string, unknown[], CallSite][] = [];
  let readyCallbacks: (() => void)[] | undefined = [];
  const middlewares: SourceMiddleware[] = [];
  let noIntegrations = 0;
  let warnedFull = 0;
  let again = 0;
  /** Keys of records not written by this page that passed the corruption check. */
  const checked = new Set<string>();
  const cleanups: (() => void)[] = [];

  /** A library event for `on()` listeners, logged in debug mode. */
  function report(name: string, detail?: unknown): void {
    debug(name, detail);
    emitter.emit(name, detail);
  }

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
    } else if (++sequence > 1679615) {
      lastKeyTime++;
      sequence = 0;
    }
    return lastKeyTime.toString(36).padStart(9, '0') + sequence.toString(36).padStart(4, '0') + '.' + tabId;
  }

  const keyTime = (key: string) => parseInt(key.slice(0, 9), 36);
  const keyTab = (key: string) => key.slice(14);
  const keysOf = (records: QueueRecord[]) => records.map(([key]) => key);

  /** Wraps a function so that nothing it does can throw into the page. */
  function guard<A extends unknown[], R>(name: string, fn: (...args: A) => R) {
    return (...args: A): R | undefined => {
      try {
        return fn(...args);
      } catch (error) {
        warn(name + '() failed', error);
      }
    };
  }

  const isObject = (value: unknown): value is Properties => !!value && typeof value === 'object' && !Array.isArray(value);

  /** Builds an event at its call site and passes it through the source middlewares. */
  function record(name: unknown, properties: unknown, site: CallSite, callback?: unknown): void {
    // Control characters (C0 and C1) are removed and names capped at 200 characters.
    const clean = typeof name === 'string' && name.replace(/[\0-\x1f\x7f-\x9f]/g, '').trim().slice(0, 200);
    if (!clean) return warn('event without a name dropped:', name);
    const time = site.time || Date.now();
    // The session first: it is what re-reads storage, so a reset() in another
    // tab gives this event the new profile together with the new session.
    const session_id = identity!.sessionId(time);
    runMiddlewares(
      {
        event_id: randomId('EV'),
        name: clean,
        write_key: writeKey,
        profile_id: identity!.profileId(),
        session_id,
        properties: cleanProperties(properties),
        context: captureContext(VERSION, site.page),
        created_at: new Date(time).toISOString(),
      },
      0,
      callback,
    );
  }

  function runMiddlewares(event: FirstpartyEvent, index: number, callback: unknown): void {
    if (!middlewares[index]) return store(event, callback);
    let called = 0;
    try {
      // Segment-style middlewares read `payload.obj`; non-enumerable, so not sent.
      Object.defineProperty(event, 'obj', { value: event, configurable: true });
      middlewares[index]({
        payload: event as FirstpartyEvent & { obj: FirstpartyEvent },
        next: (result) => {
          if (!called++) isObject(result) ? runMiddlewares(result as FirstpartyEvent, index + 1, callback) : report('dropped', { reason: 'middleware' });
        },
      });
    } catch (error) {
      // A middleware that throws may have been about to strip PII: drop rather than leak.
      called++;
      warn('middleware threw; event dropped', error);
    }
  }

  function store(event: FirstpartyEvent, callback: unknown): void {
    let json: string;
    try {
      json = eventJson(event as unknown as Properties);
    } catch (error) {
      // Only a middleware can have put something unserializable in.
      return warn('unserializable event dropped', error);
    }
    const entry: QueueRecord = [nextKey(), json];
    if (recordBytes(entry) > options.maxBatchBytes - 32) {
      warn('event too large, dropped:', event.name);
      return report('dropped', { reason: 'too large', events: [event] });
    }
    unacked.set(entry[0], json);
    // One IndexedDB transaction for all the events of a task: 1,000 calls in a
    // loop cost one write, not 1,000.
    if (writeBuffer.push(entry) < 2) writing = writing.then(persist);
    if (typeof callback === 'function') writing.then(() => void guard('callback', callback as () => void)());
    report('track', event);
    schedule(options.flushInterval);
  }

  async function persist(): Promise<void> {
    let records = writeBuffer;
    writeBuffer = [];
    try {
      const excess = queuedEstimate + records.length - options.maxQueue;
      if (excess > 0) {
        // Full: the oldest go first. This tab's events, oldest first, are the keys
        // of `unacked`, so no full read of the queue is needed for each write (it
        // made tracking 10,000 events a second one long task after another); the
        // next flush's trim() enforces the cap on everything stored.
        const oldest = new Set([...unacked.keys()].slice(0, excess));
        records = records.filter(([key]) => !oldest.has(key));
        await forget([...oldest].map((key) => [key, '']));
        queuedEstimate = options.maxQueue - records.length;
        // Warned once a page: at 10,000 events a second this runs a hundred times.
        (warnedFull++ ? debug : warn)(oldest.size + ' oldest events dropped: queue full (maxQueue ' + options.maxQueue + ')');
        report('dropped', { reason: 'queue limits', count: oldest.size });
      }
      // One chunk per request's worth (see idbStore).
      for (const chunk of splitBatches(records, options.maxBatchBytes)) await queue.put(chunk);
      queuedEstimate += records.length;
    } catch (error) {
      // Unreachable in practice (memory never refuses); the events are still in `unacked`.
      warn('could not store events', error);
    }
  }

  /**
   * Enforces maxAge and maxQueue on a full read of the queue, and drops records
   * that are not ours to send (corrupt, or written by something else); returns
   * what is left.
   */
  async function trim(records: QueueRecord[]): Promise<QueueRecord[]> {
    const now = Date.now();
    const handedOver = beaconed();
    if (handedOver[0]) {
      records = records.filter(([key]) => !handedOver.includes(key));
      await queue.remove(handedOver);
      const rest = beaconed().filter((key) => !handedOver.includes(key));
      lsSet(BEACONED, rest[0] ? JSON.stringify(rest) : null);
    }
    // Only age counts: a record dated in the future (a clock that was ahead) is
    // kept, since dropping it would lose an event to a wrong clock; and this
    // page's own events never expire (its clock may have been corrected since).
    // Records not written by this page are checked once: a string that parses
    // to an object and fits in a request (anything else would block the queue).
    const kept = records.filter(
      ([key, json]) =>
        /^[\da-z]{13}\./.test(key) &&
        (unacked.has(key) ||
          checked.has(key) ||
          (typeof json === 'string' && isObject(parseJson(json)) && recordBytes([key, json]) < options.maxBatchBytes - 32 && checked.add(key))) &&
        (keyTab(key) === tabId || now - keyTime(key) <= options.maxAge),
    );
    const excess = kept.length - options.maxQueue;
    // A Set: this runs on every flush, over up to maxQueue records.
    const keptSet = new Set(kept);
    const dropped = records.filter((entry) => !keptSet.has(entry)).concat(kept.splice(0, excess > 0 ? excess : 0));
    if (dropped[0]) {
      warn(dropped.length + ' events dropped (maxQueue, maxAge or corrupt)');
      await forget(dropped);
      report('dropped', { reason: 'queue limits', count: dropped.length });
    }
    queuedEstimate = kept.length;
    return kept;
  }

  function forget(records: QueueRecord[]): Promise<unknown> {
    const keys = keysOf(records);
    keys.forEach((key) => unacked.delete(key));
    return queue.remove(keys);
  }

  /**
   * The batch's body, checked to parse: a page that replaced JSON.stringify with
   * something broken (old libraries did) makes events that are not JSON. Those
   * are dropped (when JSON.parse itself can be trusted) and taken out of `batch`.
   */
  async function validBody(batch: QueueRecord[]): Promise<string> {
    let body = batchBody(batch, new Date().toISOString());
    if (isObject(parseJson(body)) || !isObject(parseJson('{}'))) return body;
    const bad = batch.filter(([, json]) => !isObject(parseJson(json)));
    warn(bad.length + ' events dropped: not valid JSON (JSON.stringify replaced?)');
    await forget(bad);
    batch.splice(0, batch.length, ...batch.filter((record) => !bad.includes(record)));
    return batch[0] ? batchBody(batch, new Date().toISOString()) : '';
  }

  function schedule(delay: number): void {
    if (!timer && endpoint) timer = setTimeout(flush, Math.max(delay, retryAt - Date.now()));
  }

  function flush(): Promise<void> {
    clearTimeout(timer);
    timer = undefined;
    // Asked again while flushing: events stored meanwhile go in another round.
    if (flushing) again = 1;
    return (flushing =
      flushing ||
      (async () => {
        await writing;
        // Offline: the `online` listener flushes later. Another tab flushing: try again soon.
        if (endpoint && navigator.onLine !== false && !(await withFlushLock(sendQueued))) schedule(options.flushInterval);
      })()
        .catch((error) => warn('flush failed', error))
        .finally(() => {
          flushing = undefined;
          if (again) schedule((again = 0));
        }));
  }

  /** Sends what this tab may send, oldest first; runs under the flush lock. */
  async function sendQueued(): Promise<void> {
    const live = await liveTabs();
    const now = Date.now();
    const records = (await trim(await queue.all())).filter(([key], tab?: any) =>
      (tab = keyTab(key)) === tabId
        ? unacked.has(key) // ours, unless a beacon took it meanwhile
        : // A closed tab's events are anyone's. Without Web Locks a live tab cannot
          // be told from a closed one: its events are taken over after 10 minutes.
          live
          ? !live.has(tab)
          : Math.abs(now - keyTime(key)) > 600000,
    );
    for (const planned of splitBatches(records, options.maxBatchBytes)) {
      // Our own events handed to a beacon while this flush was running are gone.
      const batch = planned.filter(([key]) => unacked.has(key) || keyTab(key) !== tabId);
      if (navigator.onLine === false || !endpoint) return;
      if (!batch[0]) continue;
      const body = await validBody(batch);
      if (!body) continue;
      const keys = keysOf(batch);
      const bytes = utf8Length(body);
      keys.forEach((key) => inflight.add(key));
      inflightBytes += bytes;
      const { status, retryAfter } = await post(endpoint, body, fetchImpl);
      keys.forEach((key) => inflight.delete(key));
      inflightBytes -= bytes;
      const detail = { status, count: batch.length };
      if (status > 199 && status < 300) {
        attempt = retryAt = 0;
        queuedEstimate -= batch.length;
        await forget(batch);
        report('sent', detail);
      } else if (status > 499 || status == 0 || status == 408 || status == 429) {
        const delay = Math.max(backoff(attempt++), retryAfter);
        retryAt = Date.now() + delay;
        report('failed', { ...detail, retryIn: delay });
        // A timer set by track() meanwhile must not cut the backoff short.
        clearTimeout(timer);
        timer = undefined;
        return schedule(delay);
      } else {
        // Other 4xx: the collector will never take this batch; keeping it would block the queue forever.
        warn('HTTP ' + status + ': ' + batch.length + ' events dropped');
        await forget(batch);
        report('dropped', { ...detail, reason: 'refused' });
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
    let budget = KEEPALIVE_LIMIT - inflightBytes;
    for (const batch of splitBatches(
      [...unacked].filter(([key]) => !inflight.has(key)),
      Math.min(options.maxBatchBytes, budget),
    )) {
      const body = batchBody(batch, new Date().toISOString());
      const bytes = utf8Length(body);
      if (bytes > budget || !sendBeacon(endpoint, body)) return report('failed', { beacon: 1, count: batch.length });
      budget -= bytes;
      const keys = keysOf(batch);
      writeBuffer = writeBuffer.filter(([key]) => keys.indexOf(key) < 0);
      if (options.storage !== 'none') lsSet(BEACONED, JSON.stringify(beaconed().concat(keys)));
      forget(batch);
      report('sent', { beacon: 1, count: batch.length });
    }
  }

  /**
   * (Re)creates the identity for the current state: until consent is given, and
   * never for opted-out visitors, the IDs live in memory only; stored ones otherwise
   * (an earlier visit's, if there are any).
   */
  function useIdentity(): void {
    identity = createIdentity(options.sessionTimeout, cookieDomain, blocked || consent !== true ? 'memory' : options.storage);
  }

  function setProfile(id: unknown): void {
    // Capped: a huge ID would make every later event too large to send.
    if (typeof id === 'string' && id.trim() && id.length < 200) identity!.setProfileId(id.trim());
    else if (id != null) warn('bad profile ID:', id);
  }

  /**
   * Carries out one recording call at its call site (now, or replayed from the
   * snippet's queue, `load()` or consent). Calls wait while the library is not
   * loaded or consent is pending, and are discarded when recording is blocked.
   */
  function call(method: string, args: any[], site: CallSite): void {
    // A waiting call notes its own moment, as the snippet does.
    if (!identity || consent === 'pending') return void waiting.push([method, args, site.time ? site : { time: Date.now(), page: pageSnapshot() }]);
    if (blocked || !consent) return debug('not recorded:', blocked || 'no consent');
    const [first, second, , fourth] = args;
    const newId = typeof first === 'string' && first ? first : 0;
    if (method === 'track') return record(first, second, site, fourth);
    if (method === 'identify') {
      // identify(traits) or identify(profileId, traits, options, callback)
      if (isObject(first)) return record(EVENT_NAMES.identify, first, site, args[2]);
      setProfile(first);
      return record(EVENT_NAMES.identify, second, site, fourth);
    }
    if (method === 'group') return newId ? record(EVENT_NAMES.group, { group_id: first, ...cleanProperties(second) }, site, fourth) : warn('group() needs an ID');
    if (method === 'alias') {
      if (!newId) return warn('alias() needs an ID');
      record(EVENT_NAMES.alias, { previous_id: typeof second === 'string' ? second : identity.profileId(), new_id: first }, site, fourth);
      return setProfile(first);
    }
    // page(category?, name?, properties?, options?, callback?): leading strings, then objects, then a function.
    const names = args.slice(0, 2).filter((arg) => typeof arg === 'string');
    if (args.some((arg, i) => arg != null && !isObject(arg) && typeof arg !== 'function' && !(i < 2 && typeof arg === 'string')))
      warn('page(): arguments ignored:', args);
    const { url, title, referrer } = site.page || pageSnapshot();
    const { pathname, search } = new URL(url, location.href);
    record(
      EVENT_NAMES.page,
      {
        url,
        path: pathname,
        search,
        title,
        referrer,
        ...(names[1] && { category: names[0] }),
        ...(names[0] && { name: names.pop() }),
        ...cleanProperties(args.filter(isObject)[0]),
      },
      site,
      args.filter((arg) => typeof arg === 'function')[0],
    );
  }

  /** Runs the calls that were waiting, in order. */
  function release(): void {
    const calls = waiting;
    waiting = [];
    calls.forEach(([method, args, site]) => call(method, args, site));
  }

  /** trackLink/trackForm: binds listeners that record when an element is clicked or a form submitted. */
  const bind =
    (type: 'click' | 'submit') =>
    (elements: Elements, name: PerElement<string>, properties?: PerElement<Properties>) => {
      if (!toElements(elements)[0]) warn(type + ': no elements to track:', elements);
      cleanups.push(
        bindElements(elements, type, (element) =>
          guard(type, () => call('track', [forElement(name, element), properties && forElement(properties, element)], {}))(),
        ),
      );
    };

  /** Whether `value` is a function; warns about it when not. */
  const isFunction = (value: unknown, method: string) => typeof value === 'function' || warn(method + '() needs a function');

  /**
   * on()/once(). `ready` is a state: a listener added once it has happened (an
   * on('ready') replayed from the snippet's queue, which runs after load())
   * hears it at once, as ready() does.
   */
  const listen = (method: 'on' | 'once') => (name: string, handler: Handler) =>
    isFunction(handler, method) && (name == 'ready' && !readyCallbacks ? api.ready(handler as () => void) : emitter[method](name, handler));

  const api = {
    load(key: string, host: string, given?: FirstpartyOptions) {
      if (identity) return warn('load() called twice');
      if (typeof key !== 'string' || !key.trim()) return warn('load(): bad write key', key);
      endpoint = endpointFor(host);
      if (!endpoint) return warn('load(): bad host', host);
      writeKey = key.trim();
      options = resolveOptions(given, (name) => warn('bad option ' + name + ', default used'));
      if (options.debug) logState.debug = true;
      consent = options.consent;
      blocked = options.respectPrivacySignals && hasPrivacySignal() ? 'Global Privacy Control' : isOptedOut() ? 'opted out' : '';
      cookieDomain = options.cookieDomain ?? (options.storage === 'cookie' ? topDomain() : '');
      useIdentity();
      queue = givenQueue || (options.storage === 'none' ? memoryStore() : createQueue());
      holdTabLock(tabId);
      const onOnline = () => {
        retryAt = attempt = 0;
        flush();
      };
      addEventListener('online', onOnline);
      cleanups.push(onPageHide(onHide), () => removeEventListener('online', onOnline));
      if (options.pageviews === 'history') cleanups.push(watchHistory(() => call('page', [], {})));
      debug('loaded', endpoint, options, blocked);
      release();
      const callbacks = readyCallbacks!;
      readyCallbacks = undefined;
      callbacks.forEach((callback) => guard('ready', callback)());
      report('ready');
      // Events left by earlier visits go out at once.
      schedule(0);
    },
    setAnonymousId(id?: string) {
      if (id !== undefined) setProfile(id);
      return identity?.profileId();
    },
    reset: () => identity?.reset(),
    ready(callback: () => void) {
      // The callback's return value is dropped: a hostile thenable must not enter our promises.
      if (isFunction(callback, 'ready')) readyCallbacks ? readyCallbacks.push(callback) : Promise.resolve().then(() => void guard('ready', callback)());
    },
    flush,
    getProfileId: () => identity?.profileId(),
    getSessionId: () => identity?.sessionId(undefined, true),
    debug(on = true) {
      logState.debug = !!on;
    },
    on: listen('on'),
    once: listen('once'),
    off: emitter.off,
    addSourceMiddleware(middleware: SourceMiddleware) {
      if (isFunction(middleware, 'addSourceMiddleware')) middlewares.push(middleware);
    },
    addIntegrationMiddleware: () => noIntegrations++ || debug('no integrations: middleware unused'),
    addDestinationMiddleware: () => api.addIntegrationMiddleware(),
    trackLink: bind('click'),
    trackClick: bind('click'),
    trackForm: bind('submit'),
    trackSubmit: bind('submit'),
    consent(granted: boolean) {
      consent = !!granted;
      // From now on the IDs are stored (an earlier visit's, if there are any).
      if (granted && identity && !blocked) useIdentity();
      if (granted) release();
      else debug('no consent: discarded', waiting.splice(0).length);
    },
    optOut() {
      blocked = 'opted out';
      setOptedOut(true, cookieDomain);
      waiting = [];
      writeBuffer = [];
      unacked.clear();
      // Empty the queue, our own events and any other's alike, up to now: an
      // optIn() and track() later in the same task must not lose their event.
      const cutoff = nextKey();
      writing = writing.then(async () => queue && forget((await queue.all()).filter(([key]) => key < cutoff)));
    },
    optIn() {
      setOptedOut(false, cookieDomain);
      if (blocked === 'opted out') {
        blocked = '';
        // The IDs were kept in memory while opted out; stored ones from now on.
        if (identity && consent === true) useIdentity();
      }
    },
    destroy() {
      clearTimeout(timer);
      timer = undefined;
      endpoint = '';
      cleanups.splice(0).forEach((cleanup) => cleanup());
    },
    // Recording calls keep their call site; the others simply run now. A name
    // the library lacks (a typo; JSON.stringify(stub) calling the snippet's
    // Proxy's `toJSON`) is only warned about.
    _replay: (method: string, args: any[], site: CallSite) =>
      RECORDING.indexOf(method) >= 0
        ? call(method, args, site)
        : typeof (api as any)[method] === 'function'
          ? (api as any)[method](...args)
          : warn('unknown method:', method),
  };
  for (const method of RECORDING) (api as any)[method] = (...args: any[]) => call(method, args, {});
  // Every public method is guarded: whatever the page passes, nothing throws into it.
  for (const name of Object.keys(api) as (keyof typeof api)[]) (api as any)[name] = guard(name, api[name] as any);
  return api as unknown as Firstparty;
}
