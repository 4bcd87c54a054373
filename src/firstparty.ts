/**
 * The tracker's public facade: `createFirstparty()` wires the parts and
 * carries out the API — `load()`, the calls waiting for it or for consent,
 * what starts and what ends with consent, listeners, element tracking. The
 * work is done by the parts:
 * - consent.ts: whether recording and sending are allowed (consent, opt-out, GPC);
 * - recorder.ts: a call becomes an event, through the middlewares;
 * - outbox.ts: events are serialized, stored, capped and marked;
 * - courier.ts: stored events are delivered, retried, or dropped;
 * - handover.ts: what is left when the page goes away is handed to the browser.
 */
import { pageSnapshot, rememberZone } from './lib/context';
import { topDomain } from './lib/cookies';
import { createEmitter, type Handler } from './lib/emitter';
import { createKeyMaker } from './lib/eventKey';
import { createIdentity, eraseIds, type Identity } from './lib/identity';
import { guard } from './lib/guard';
import { debug, logState, warn } from './lib/log';
import { DEFAULTS, resolveOptions, type FirstpartyOptions, type ResolvedOptions } from './lib/options';
import { endpointFor } from './lib/endpoint';
import { createQueue, localStorageStore, memoryStore, type EventStore } from './lib/queue';
import { randomId } from './lib/randomId';
import { createReachability } from './lib/reachability';
import { bindElements, forElement, toElements, type Elements, type PerElement } from './lib/bindElements';
import { watchHistory } from './lib/watchHistory';
import { whenActivated } from './lib/whenActivated';
import { createConsent } from './tracker/consent';
import { createDelivery, type Delivery } from './tracker/delivery';
import { createHeld } from './tracker/held';
import { callbackOf } from './tracker/callbacks';
import { createRecorder, EVENT_NAMES } from './tracker/recorder';
import { handOff } from './lib/transport';
import type { CallSite, Dependencies, Firstparty, FirstpartyEvent, Properties, SourceMiddleware } from './types';

export type { Callback, CallSite, Dependencies, Firstparty, FirstpartyEvent, Properties, SourceMiddleware } from './types';
export { EVENT_NAMES };

/**
 * Methods that record events: before `load()` (or consent) they wait, in call
 * order, with setAnonymousId() and reset(), which set the IDs events carry.
 */
const RECORDING = ['track', 'page', 'pageview', 'identify', 'group', 'alias'];

/** Whether `value` is a function; warns about it when not. */
const isFunction = (value: unknown, method: string) => typeof value === 'function' || warn(method + '() needs a function');

/** trackLink/trackForm: records a track call when an element is clicked or a form submitted. */
const trackElements =
  (type: 'click' | 'submit', call: (method: string, args: any[], site: CallSite) => void, cleanups: (() => void)[]) =>
  (elements: Elements, name: PerElement<string>, properties?: PerElement<Properties>) => {
    if (!toElements(elements)[0]) warn(type + ': no elements to track:', elements);
    cleanups.push(
      bindElements(elements, type, (element) =>
        guard(type, () => call('track', [forElement(name, element), properties && forElement(properties, element)], {}))(),
      ),
    );
  };

/**
 * _replay(): recording calls keep their call site; the others simply run
 * now. A name the library lacks (a typo; JSON.stringify(stub) calling the
 * snippet's Proxy's `toJSON`) is only warned about.
 */
const replayer = (api: Record<string, any>, call: (method: string, args: any[], site: CallSite) => void) => (method: string, args: any[], site: CallSite) =>
  RECORDING.indexOf(method) >= 0 ? call(method, args, site) : typeof api[method] === 'function' ? api[method](...args) : warn('unknown method:', method);

/**
 * Creates a tracker. The IIFE build creates one for `window.firstparty`;
 * bundler users create their own:
 * `const fp = createFirstparty(); fp.load('WRITE_KEY', 'fp.example.com');`
 */
export function createFirstparty({ queue: givenQueue, fetch: fetchImpl, sendBeacon: givenBeacon }: Dependencies = {}): Firstparty {
  const emitter = createEmitter();
  /** Tags this page's events, so other tabs leave them to us while we live. */
  let tabId = randomId('', 8);
  let nextKey = createKeyMaker(tabId);
  const reach = createReachability();
  let endpoint = '';
  let writeKey = '';
  let cookieDomain: string | undefined;
  /**
   * The cookie Domain, probed when first needed: the probe writes a test cookie
   * per parent domain (a synchronous IPC each in Chromium), which load() need not pay.
   */
  const domain = () => (cookieDomain ??= options.cookieDomain ?? (options.storage === 'cookie' ? topDomain() : ''));
  let options: ResolvedOptions = DEFAULTS;
  /** The IDs: only while recording is allowed (none before consent, none for an opted-out visitor). */
  let identity: Identity | undefined;
  let readyCallbacks: (() => void)[] | undefined = [];
  const middlewares: SourceMiddleware[] = [];
  let noIntegrations = 0;
  /** The URL of the last page() call: the path an SPA shows is compared with it at load (watchHistory.ts). */
  let lastPage: string | undefined;
  /** When a prerendered page was opened (ms since the epoch; 0: not prerendered). */
  let activated = 0;
  /** Set by timeout(ms), which wins over the option. */
  let callbackTimeout: number | undefined;
  const cleanups: (() => void)[] = [];

  /** A library event for `on()` listeners, logged in debug mode. */
  function report(name: string, detail?: unknown): void {
    debug(name, detail);
    emitter.emit(name, detail);
  }

  let delivery: Delivery | undefined;

  /** Takes a finished event from the recorder into the outbox. */
  function keep(event: FirstpartyEvent, done?: () => void): void {
    delivery!.outbox.add(event, done);
    report('track', event);
    delivery!.handover.added();
  }

  /** Whether the site lets us write localStorage (spills, marks, heartbeats, the time zone): storage 'cookie' or 'localStorage'. */
  const local = () => options.storage === 'cookie' || options.storage === 'localStorage';

  const privacy = createConsent({
    domain,
    // Recording is allowed (at load, consent, opt-in): the IDs (stored ones, an earlier visit's, if any), delivery, the held calls.
    allow() {
      identity = createIdentity(options.sessionTimeout, domain, options.storage, options.serverCookie);
      rememberZone(local());
      delivery!.start();
      held.release();
    },
    // A "no": what we hold of the visitor goes, in memory and on the device.
    forget() {
      debug('not recorded: ' + privacy.reason() + '; discarded', held.clear());
      identity = undefined;
      // Before load(), the rest is done at load.
      if (!delivery) return;
      delivery.outbox.clear();
      eraseIds(domain);
      rememberZone(false);
    },
  });

  const recorder = createRecorder({ identity: () => identity!, writeKey: () => writeKey, middlewares, era: privacy.era, keep, report });

  /**
   * Carries out one recording call at its call site (now, or replayed from the
   * snippet's queue, `load()` or consent). Calls wait while the library is not
   * loaded or consent is pending (and behind calls still waiting), and are
   * discarded when recording is blocked.
   */
  function call(method: string, args: any[], given: CallSite): void {
    // The callback's timeout runs from the call (or its replay): it is never later than that.
    const site = { ...given, done: callbackOf(args, callbackTimeout ?? options.callbackTimeout) };
    if (method[0] == 'p') lastPage = given.page?.url || location.href;
    if (privacy.blocks()) {
      debug('not recorded:', privacy.reason());
      site.done();
    } else if (held.any() || !privacy.recording()) held.hold(method, args, site);
    else run(method, args, site);
  }

  /** Carries out a recording call now (one made while prerendering happens at activation: whenActivated.ts). */
  function run(method: string, args: any[], site: CallSite): void {
    if (site.time! < activated) site.time = activated;
    if (method == 'reset') identity!.reset();
    else if (method == 'setAnonymousId') recorder.setProfile(args[0]);
    else recorder.call(method, args, site);
  }

  const held = createHeld(run, privacy.recording);

  /**
   * on()/once(). `ready` is a state: a listener added once it has happened (an
   * on('ready') replayed from the snippet's queue, which runs after load())
   * hears it at once, as ready() does.
   */
  const listen = (method: 'on' | 'once') => (name: string, handler: Handler) =>
    isFunction(handler, method) && (name == 'ready' && !readyCallbacks ? api.ready(handler as () => void) : emitter[method](name, handler));

  const api = {
    load(key: string, host: string, given?: FirstpartyOptions) {
      if (delivery) return warn('load() called twice');
      if (typeof key !== 'string' || !key.trim()) return warn('load(): bad write key', key);
      endpoint = endpointFor(host);
      if (!endpoint) return warn('load(): bad host', host);
      writeKey = key.trim();
      options = resolveOptions(given, (name, used) => warn('bad option ' + name + ', using', used));
      if (options.debug) logState.debug = true;
      // A tab that may not write localStorage beats no heartbeat: its '_' tells other tabs
      // without Web Locks to leave its events alone for ORPHAN_AGE_MS (see courier.ts).
      if (!local()) nextKey = createKeyMaker((tabId = '_' + tabId));
      delivery = createDelivery({
        store: givenQueue || (options.storage === 'none' ? memoryStore() : createQueue()),
        // Spilled events go where the queue looks: the given queue itself (tests), or localStorage.
        spill: local() ? givenQueue || localStorageStore() : undefined,
        tabId,
        nextKey,
        reach,
        endpoint: () => endpoint,
        mayLeave: privacy.mayLeave,
        options: () => options,
        fetch: fetchImpl,
        // A keepalive fetch in the credentials mode asked for (transport.ts), unless a test swaps in a beacon.
        sendBeacon: givenBeacon || ((url, body, answered) => handOff(url, body, options.credentials, fetchImpl, answered)),
        report,
      });
      cleanups.push(delivery.stop);
      // The page fields of a path change are read once the route has rendered (watchHistory.ts).
      if (options.pageviews === 'history') cleanups.push(watchHistory((url, time) => call('page', [], { time, page: { ...pageSnapshot(), url } }), () => lastPage));
      // Recording starts now (or when a prerendered page is opened), waits for consent, or is blocked (and what we held forgotten).
      cleanups.push(
        whenActivated((at) => {
          activated = at;
          cleanups.push(privacy.load(options));
        }),
      );
      debug('loaded', endpoint, options, privacy.recording() || privacy.reason());
      const callbacks = readyCallbacks!;
      readyCallbacks = undefined;
      callbacks.forEach((callback) => guard('ready', callback)());
      report('ready');
    },
    setAnonymousId(id?: string) {
      if (id !== undefined) call('setAnonymousId', [id], {});
      return identity?.profileId();
    },
    reset: () => call('reset', [], {}),
    ready(callback: () => void) {
      // The callback's return value is dropped: a hostile thenable must not enter our promises.
      if (isFunction(callback, 'ready')) readyCallbacks ? readyCallbacks.push(callback) : Promise.resolve().then(() => void guard('ready', callback)());
    },
    flush: () => (delivery ? delivery.courier.flush(true) : Promise.resolve()),
    getProfileId: () => identity?.profileId(),
    getSessionId: () => identity?.sessionId(undefined, true),
    debug(on = true) {
      logState.debug = !!on;
    },
    // analytics.js's timeout(ms): how long a callback may wait for its event to be stored.
    timeout(ms: number) {
      ms >= 0 ? (callbackTimeout = ms) : warn('timeout() needs a number of ms', ms);
    },
    on: listen('on'),
    once: listen('once'),
    off: emitter.off,
    addSourceMiddleware(middleware: SourceMiddleware) {
      if (isFunction(middleware, 'addSourceMiddleware')) middlewares.push(middleware);
    },
    addIntegrationMiddleware: () => noIntegrations++ || debug('no integrations: middleware unused'),
    addDestinationMiddleware: () => api.addIntegrationMiddleware(),
    trackLink: trackElements('click', call, cleanups),
    trackClick: trackElements('click', call, cleanups),
    trackForm: trackElements('submit', call, cleanups),
    trackSubmit: trackElements('submit', call, cleanups),
    consent: privacy.consent,
    // The queue is emptied up to now, every tab's events alike: an optIn() and
    // track() later in the same task must not lose their event (outbox.clear).
    optOut: privacy.optOut,
    // A new profile (the old IDs were erased at the opt-out), unless the site passes one.
    optIn(profileId?: string) {
      privacy.optIn();
      if (profileId !== undefined) api.setAnonymousId(profileId);
    },
    destroy() {
      endpoint = '';
      cleanups.splice(0).forEach((cleanup) => cleanup());
    },
  };
  (api as any)._replay = replayer(api, call);
  for (const method of RECORDING) (api as any)[method] = (...args: any[]) => call(method, args, {});
  // Every public method is guarded: whatever the page passes, nothing throws into it.
  for (const name of Object.keys(api) as (keyof typeof api)[]) (api as any)[name] = guard(name, api[name] as any);
  return api as unknown as Firstparty;
}
