import type { IdentityStorage } from './identity';

/** Settings of `load(writeKey, host, options)`. Every field is optional. */
export interface FirstpartyOptions {
  /** ms after the first queued event before a batch is sent. Default 1,000. */
  flushInterval?: number;
  /**
   * Most events kept in the queue while the collector is failing; beyond it
   * the oldest are dropped (with a warning and a `dropped` event). Default: no
   * count limit (`maxQueueBytes` bounds the queue). Kept from earlier releases,
   * whose default of 1,000 also applied to a busy page with a healthy collector.
   */
  maxQueue?: number;
  /**
   * Most bytes of events kept in the queue while the collector is failing;
   * beyond it the oldest are dropped. Default 5 MiB: about 7,000 typical
   * events, well within every browser's IndexedDB and localStorage quotas.
   */
  maxQueueBytes?: number;
  /** ms an event may wait for delivery before it is dropped. Default 7 days. */
  maxAge?: number;
  /** ms of inactivity after which a new session starts. Default 30 minutes. */
  sessionTimeout?: number;
  /** Cookie `Domain` for the IDs. Default: the highest domain that accepts a cookie (probed). */
  cookieDomain?: string;
  /**
   * Largest request body in bytes while the page is visible. Default 65,536
   * (64 KiB, about 90 typical events), the keepalive/beacon quota a hidden
   * page's requests keep to anyway: handing a body to fetch() is main-thread
   * work that grows with its size, and with the CPU 6× slower (a low-end
   * phone) a 128 KiB body took 20–67 ms of one task, a 64 KiB one 13–41 ms
   * (bench/profile.mjs `burst`; 10,000 events/s: longest task 76–101 ms
   * instead of 93–140 ms on the same machine). Three requests in flight of
   * 64 KiB still move 640 KB/s over a 300 ms round trip, and any proxy's body
   * limit (nginx: 1 MiB by default) takes them. No single event may be larger.
   */
  maxBatchBytes?: number;
  /** Log every event and decision to the console. Default false. */
  debug?: boolean;
  /**
   * Where IDs are kept: `'cookie'` (cookies + localStorage mirror), `'localStorage'`, `'memory'`, `'none'`.
   * Default `'cookie'`; anything else is taken as `'none'`, the strictest.
   */
  storage?: IdentityStorage;
  /** Path of the script on the host, used by the snippet. Default `/js/firstparty.min.js`. */
  libraryPath?: string;
  /**
   * Automatic `Page Viewed` events. `false` (default): only your `page()`
   * calls (the snippet's usual `firstparty.page()` records the first page).
   * `'history'`: also one per SPA path change (pushState/replaceState/popstate).
   */
  pageviews?: false | 'history';
  /** Honour Global Privacy Control: nothing recorded, stored or sent. Default true. */
  respectPrivacySignals?: boolean;
  /**
   * `true` or `'granted'` (default `true`): track at once. `'pending'`: hold
   * the calls in memory, store nothing, until `consent(true)` (then they are
   * recorded) or a refusal (then they are discarded). `false` or `'denied'`:
   * record nothing until `consent(true)`. Anything else is taken as `false`.
   */
  consent?: boolean | 'pending' | 'granted' | 'denied';
  /**
   * Whether requests to the collector carry cookies (fetch's credentials
   * mode). `'same-origin'` (default): only on a path of the site's own origin
   * (`host: '/fp'`, a reverse proxy), never cross-origin, so a collector
   * answering CORS with `Access-Control-Allow-Origin: *` receives every event.
   * `'include'`: cross-origin too, for a collector that needs its own cookies
   * and echoes the page's origin with `Access-Control-Allow-Credentials: true`.
   * `'omit'`: never. Anything else is taken as the default.
   */
  credentials?: 'omit' | 'same-origin' | 'include';
  /**
   * `'gzip'`: visible pages send their batches gzipped (`CompressionStream`,
   * `Content-Encoding: gzip`): about a fifth of the bytes. Only for a
   * collector that decodes request bodies (the demo's does; README "Options"
   * says which do). Never for the `keepalive` requests of a hidden or leaving
   * page (a compression still under way when the page dies would lose the
   * request), nor where `CompressionStream` is missing: those go as plain
   * JSON. Default `false`.
   */
  compression?: false | 'gzip';
  /**
   * The collector keeps the `fpid`/`fsid` cookies alive with `Set-Cookie`
   * (README "Deploy on your own origin"): the script then writes one only
   * when it is missing or its value changes (a new session, identify(),
   * reset()), never merely to extend it, since a cookie written by script is
   * capped at 7 days in Safari. Default false: the script keeps them alive.
   */
  serverCookie?: boolean;
  /**
   * ms after which a call's callback runs even if the event is not stored yet
   * (analytics.js's `timeout`, also settable with `firstparty.timeout(ms)`).
   * Default 300: a link that navigates in its callback waits at most that long.
   */
  callbackTimeout?: number;
}

/** Options with every default filled in. */
export type ResolvedOptions = Required<Omit<FirstpartyOptions, 'cookieDomain' | 'libraryPath'>> & { cookieDomain?: string };

/** The values allowed for the options that are neither numbers nor booleans. */
const CHOICES: Record<string, unknown[]> = {
  storage: ['cookie', 'localStorage', 'memory', 'none'],
  pageviews: [false, 'history'],
  consent: [true, 'granted', 'pending', false, 'denied'],
  credentials: ['same-origin', 'include', 'omit'],
  compression: [false, 'gzip'],
};

/**
 * What a bad value of a privacy option becomes: the strictest value, never
 * the default (a typo such as `consent: 'Denied'` or `storage: 'None'` must not
 * mean tracking with cookies).
 */
const STRICTEST: Record<string, unknown> = { storage: 'none', consent: false };

/** The defaults, one place for README and code to agree on. */
export const DEFAULTS: ResolvedOptions = {
  flushInterval: 1000,
  maxQueue: Infinity,
  maxQueueBytes: 5 * 1024 * 1024,
  maxAge: 7 * 24 * 3600 * 1000,
  sessionTimeout: 30 * 60 * 1000,
  maxBatchBytes: 65536,
  debug: false,
  storage: 'cookie',
  pageviews: false,
  respectPrivacySignals: true,
  consent: true,
  credentials: 'same-origin',
  compression: false,
  serverCookie: false,
  callbackTimeout: 300,
};

/**
 * Fills in defaults, replacing each value of the wrong type or range with its
 * default, or with the strictest value for `storage` and `consent` (and
 * naming it, and what is used instead, in a warning through `onBad`).
 */
export function resolveOptions(options: any, onBad: (key: string, used: unknown) => void): ResolvedOptions {
  const resolved: any = { ...DEFAULTS };
  if (typeof options?.cookieDomain === 'string') resolved.cookieDomain = options.cookieDomain;
  // Own keys only: old libraries add enumerable methods to Object.prototype.
  for (const key of Object.keys(DEFAULTS)) {
    const value = options?.[key];
    const fallback = resolved[key];
    const choices = Object.prototype.hasOwnProperty.call(CHOICES, key) && CHOICES[key];
    if (value !== undefined) {
      // Numbers must be positive and within setTimeout's 2^31 ms ceiling (any size limit fits too).
      (choices ? choices.includes(value) : typeof value == typeof fallback && (typeof value != 'number' || (value > 0 && value < 2 ** 31)))
        ? (resolved[key] = value)
        : onBad(key, (resolved[key] = key in STRICTEST ? STRICTEST[key] : fallback));
    }
  }
  return resolved;
}
