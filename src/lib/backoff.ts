/** Retry timing, Segment-style: exponential with full jitter. */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. Default 1,000. */
  minTimeout?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Ceiling for any delay, in ms. Default 60,000: a collector back from an outage is retried within a minute. */
  maxTimeout?: number;
}

/**
 * The delay before retry number `attempt` (0-based): `minTimeout × factor^attempt`,
 * capped at `maxTimeout`, then scaled by a random factor in [0.5, 1.5) so that
 * many visitors' browsers do not retry in lockstep after an outage.
 */
export function backoff(attempt: number, { minTimeout = 1000, factor = 2, maxTimeout = 60000 }: BackoffOptions = {}): number {
  return Math.min(minTimeout * Math.pow(factor, attempt), maxTimeout) * (0.5 + Math.random());
}

/**
 * A `Retry-After` header in ms (delta-seconds or an HTTP date), or 0 when
 * absent or unreadable. Capped at one hour, so a misconfigured server cannot
 * park the queue for days.
 */
export function retryAfterMs(header: string | null, now = Date.now()): number {
  if (!header) return 0;
  const ms = /^\d+$/.test(header.trim()) ? +header * 1000 : Date.parse(header) - now;
  return ms > 0 ? Math.min(ms, 3600000) : 0;
}
