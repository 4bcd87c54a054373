/**
 * What this page knows of the collector's reachability, from the answers it
 * read. `navigator.onLine` is only a hint (it reads true behind a captive
 * portal, on a dead mobile link, or while Chromium's emulated offline
 * navigates), so only answers count, and no answer is a receipt for any
 * request but its own (courier.ts, handover.ts):
 * - failing: an attempt failed (or the browser said `offline`) and no 2xx has
 *   come since, for at least `capAfterMs` (30 s). Only then do the queue's
 *   caps drop anything: a busy page whose collector answers is never capped,
 *   and neither is one that met a blip of 503s.
 */
export interface Reachability {
  /** A 2xx arrived now. */
  ok(): void;
  /** An attempt failed, or the browser went offline. */
  fail(): void;
  /** Failing, with no 2xx, for at least `capAfterMs`. */
  failing(): boolean;
}

/** How long the collector must have failed, with no 2xx, before the caps apply, in ms. */
export const CAP_AFTER_MS = 30000;

/** Creates the record for one page; `now` is the seam tests swap. */
export function createReachability(capAfterMs = CAP_AFTER_MS, now = () => Date.now()): Reachability {
  /** When the first failure since the last 2xx happened (0: none). */
  let failedAt = 0;
  return {
    ok() {
      failedAt = 0;
    },
    fail() {
      failedAt ||= now();
    },
    failing: () => !!failedAt && now() - failedAt >= capAfterMs,
  };
}
