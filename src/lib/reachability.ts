/**
 * What this page knows of the collector's reachability, from the answers it
 * read. `navigator.onLine` is only a hint (it reads true behind a captive
 * portal, on a dead mobile link, or while Chromium's emulated offline
 * navigates), so only answers count, and no answer is a receipt for any
 * request but its own:
 * - healthy: the last answer read was a 2xx, within the last `windowMs`
 *   (30 s), no failure or `offline` event since, and no request of this page
 *   is waiting for its answer (one in flight is evidence of trouble, not of
 *   health: a hung collector looks exactly like that). Only then is a
 *   page-hide handover marked as one a later page may confirm (outbox.ts).
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
  /** A request starts (`+1`) or has its answer (`-1`). */
  pending(change: number): void;
  /** The last answer a recent 2xx, nothing failed since, nothing waiting for an answer. */
  healthy(): boolean;
  /** Failing, with no 2xx, for at least `capAfterMs`. */
  failing(): boolean;
}

/** How recent the last 2xx must be for `healthy()`, in ms. */
export const REACHABLE_MS = 30000;

/** How long the collector must have failed, with no 2xx, before the caps apply, in ms. */
export const CAP_AFTER_MS = 30000;

/** Creates the record for one page; `now` is the seam tests swap. */
export function createReachability(windowMs = REACHABLE_MS, capAfterMs = CAP_AFTER_MS, now = () => Date.now()): Reachability {
  let lastOk = -Infinity;
  /** When the first failure since the last 2xx happened (0: none). */
  let failedAt = 0;
  let waiting = 0;
  return {
    ok() {
      lastOk = now();
      failedAt = 0;
    },
    fail() {
      failedAt ||= now();
    },
    pending(change) {
      waiting += change;
    },
    healthy: () => !failedAt && !waiting && Math.abs(now() - lastOk) < windowMs,
    failing: () => !!failedAt && now() - failedAt >= capAfterMs,
  };
}
