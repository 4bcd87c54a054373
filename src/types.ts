/**
 * The public types: the event as sent, the API (the same on
 * `window.firstparty` and from `createFirstparty()`), middlewares, and the
 * dependencies tests swap.
 */
import type { EventContext, PageSnapshot } from './lib/context';
import type { Handler } from './lib/emitter';
import type { FirstpartyOptions } from './lib/options';
import type { EventStore } from './lib/queue';
import type { Elements, PerElement } from './lib/bindElements';

/** An event as it is sent to `/events/track/bulk` (whose body adds the batch's `sent_at`). */
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
  /** The call's callback, run once (tracker/callbacks.ts). @internal */
  done?: () => void;
}

/** The test seams: everything with side effects beyond the page, swappable. */
export interface Dependencies {
  queue?: EventStore;
  fetch?: typeof fetch;
  /**
   * What hands a body over at page hide; default a keepalive `fetch` (or
   * `navigator.sendBeacon` without one), which calls `answered(true)` on a
   * 2xx and `answered(false)` on any other outcome, if the page lives to read it.
   */
  sendBeacon?: (url: string, body: string, answered?: (ok: boolean) => void) => boolean;
}

/** A call's callback: it runs exactly once (tracker/callbacks.ts). */
export type Callback = () => void;

/** Properties or traits: a plain object of JSON-able values. */
export type Properties = Record<string, unknown>;

/**
 * A source middleware sees each event before it is queued and calls `next`
 * with it (changed or not) to let it through; not calling `next`, or calling
 * it with `null`, drops the event. What it passes to `next` is what is sent
 * (its `context` is its own copy); a `next` called after an opt-out or a
 * refused consent is ignored. `payload.obj` is the event too, so
 * middlewares written for Segment's analytics.js work unchanged.
 */
export type SourceMiddleware = (context: { payload: FirstpartyEvent & { obj: FirstpartyEvent }; next: (event: FirstpartyEvent | null) => void }) => void;

/** The public API, the same on `window.firstparty` and from `createFirstparty()`. */
export interface Firstparty {
  /** Starts tracking: `host` is the collection Domain (`fp.example.com`), or an origin with a scheme. */
  load(writeKey: string, host: string, options?: FirstpartyOptions): void;
  /**
   * Records an event. `callback` (in any of the positions analytics.js takes)
   * runs exactly once: when the event is stored, at once when it will not be
   * recorded, and at the latest after `callbackTimeout` ms (300).
   */
  track(name: string, callback?: Callback): void;
  track(name: string, properties?: Properties, callback?: Callback): void;
  track(name: string, properties?: Properties, options?: unknown, callback?: Callback): void;
  /** Records `Page Viewed` with the page fields; its callback runs as track()'s. */
  page(callback?: Callback): void;
  page(name: string, callback?: Callback): void;
  page(name: string, properties?: Properties, options?: unknown, callback?: Callback): void;
  page(category: string, name: string, properties?: Properties, options?: unknown, callback?: Callback): void;
  page(properties?: Properties, options?: unknown, callback?: Callback): void;
  /** The same as `page()` (Firstparty's older name). */
  pageview(...args: unknown[]): void;
  /** Sets (or keeps) the profile ID and records `Profile Identified` with the traits; its callback runs as track()'s. */
  identify(callback?: Callback): void;
  identify(profileId: string, callback?: Callback): void;
  identify(profileId: string, traits?: Properties, callback?: Callback): void;
  identify(profileId: string | undefined, traits?: Properties, options?: unknown, callback?: Callback): void;
  identify(traits: Properties, callback?: Callback): void;
  identify(traits: Properties, options?: unknown, callback?: Callback): void;
  /** Records `Group Identified` with `group_id` and the traits; its callback runs as track()'s. */
  group(groupId: string, callback?: Callback): void;
  group(groupId: string, traits?: Properties, callback?: Callback): void;
  group(groupId: string, traits?: Properties, options?: unknown, callback?: Callback): void;
  /** Records `Profile Aliased` (`previous_id` → `new_id`) and continues as `newId`; its callback runs as track()'s. */
  alias(newId: string, callback?: Callback): void;
  alias(newId: string, previousId?: string, callback?: Callback): void;
  alias(newId: string, previousId?: string, options?: unknown, callback?: Callback): void;
  /**
   * Replaces the profile ID without recording anything; returns the current
   * one. Before load() or consent it waits with the recording calls.
   */
  setAnonymousId(id?: string): string | undefined;
  /** New profile and session IDs (e.g. at log-out); queued events are kept. Waits like setAnonymousId(). */
  reset(): void;
  /** Runs `callback` once the library is loaded. */
  ready(callback: () => void): void;
  /** Sends whatever is queued now; resolves when this attempt is over. */
  flush(): Promise<void>;
  /**
   * The profile ID the next event carries; `undefined` while nothing may be
   * recorded (before load(), before consent, opted out, Global Privacy Control).
   */
  getProfileId(): string | undefined;
  /** The current session ID (`undefined` as for getProfileId()); reading it is not activity (it does not extend the session). */
  getSessionId(): string | undefined;
  /** Console logging of every event and decision (`debug(false)` stops it). */
  debug(on?: boolean): void;
  /** ms a call's callback may wait for its event to be stored (analytics.js's timeout; the `callbackTimeout` option, default 300). */
  timeout(ms: number): void;
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
  /**
   * Gives consent (`true` or `'granted'`: anything else is a refusal):
   * held calls are recorded, and events stored and sent. A refusal discards
   * the held calls and deletes the queued events and the stored IDs.
   */
  consent(granted: boolean | 'granted' | 'denied'): void;
  /** Stops all tracking for this visitor in every tab, across visits; empties the queue and deletes the IDs. */
  optOut(): void;
  /** Undoes `optOut()`, with a new profile, or `profileId` if given. */
  optIn(profileId?: string): void;
  /** Stops timers and listeners and restores patched history methods. Queued events stay queued. */
  destroy(): void;
  /** Replays a call made before this library loaded, with its own time and page. @internal */
  _replay(method: string, args: unknown[], site: CallSite): void;
}

