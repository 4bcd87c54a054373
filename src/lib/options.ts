import type { IdentityStorage } from './identity';

/** Settings of `load(writeKey, host, options)`. Every field is optional. */
export interface FirstpartyOptions {
  /** ms after the first queued event before a batch is sent. Default 1,000. */
  flushInterval?: number;
  /** Most events kept in the queue; beyond it the oldest are dropped (with a warning). Default 1,000. */
  maxQueue?: number;
  /** ms an event may wait for delivery before it is dropped. Default 7 days. */
  maxAge?: number;
  /** ms of inactivity after which a new session starts. Default 30 minutes. */
  sessionTimeout?: number;
  /** Cookie `Domain` for the IDs. Default: the highest domain that accepts a cookie (probed). */
  cookieDomain?: string;
  /** Largest request body in bytes. Default 65,536 (the keepalive/beacon cap; larger is clamped to it). */
  maxBatchBytes?: number;
  /** Log every event and decision to the console. Default false. */
  debug?: boolean;
  /** Where IDs are kept: `'cookie'` (cookies + localStorage mirror), `'localStorage'`, `'memory'`, `'none'`. Default `'cookie'`. */
  storage?: IdentityStorage;
  /** Path of the script on the host, used by the snippet. Default `/js/firstparty.min.js`. */
  libraryPath?: string;
}

/** Options with every default filled in. */
export type ResolvedOptions = Required<Omit<FirstpartyOptions, 'cookieDomain' | 'libraryPath'>> & { cookieDomain?: string };

/** The defaults, one place for README and code to agree on. */
export const DEFAULTS: ResolvedOptions = {
  flushInterval: 1000,
  maxQueue: 1000,
  maxAge: 7 * 24 * 3600 * 1000,
  sessionTimeout: 30 * 60 * 1000,
  maxBatchBytes: 65536,
  debug: false,
  storage: 'cookie',
};

/**
 * Fills in defaults, replacing each value of the wrong type or range with its
 * default (and naming it in a warning through `onBad`).
 */
export function resolveOptions(options: unknown, onBad: (key: string) => void): ResolvedOptions {
  const given = (options && typeof options === 'object' ? options : {}) as Record<string, unknown>;
  const resolved: Record<string, unknown> = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof ResolvedOptions)[]) {
    const value = given[key];
    if (value === undefined) continue;
    const fallback = DEFAULTS[key];
    const ok = typeof value === typeof fallback && (typeof value !== 'number' || value > 0);
    if (ok) resolved[key] = value;
    else onBad(key);
  }
  if (typeof given.cookieDomain === 'string') resolved.cookieDomain = given.cookieDomain;
  resolved.maxBatchBytes = Math.min(resolved.maxBatchBytes as number, DEFAULTS.maxBatchBytes);
  return resolved as ResolvedOptions;
}

/**
 * The bulk endpoint for a collection host: a bare domain (`fp.example.com`)
 * means https; a host with a scheme (`http://127.0.0.1:8787`) is used as
 * given. Returns '' for a host that is not a usable origin.
 */
export function endpointFor(host: unknown): string {
  if (typeof host !== 'string' || !host.trim()) return '';
  try {
    const text = host.trim();
    const url = new URL(/^https?:\/\//i.test(text) ? text : 'https://' + text);
    return url.origin + '/events/track/bulk';
  } catch {
    return '';
  }
}
