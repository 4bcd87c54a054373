/**
 * What this page knows of the collector's reachability, from the answers it
 * got. `navigator.onLine` is only a hint (it reads true behind a captive
 * portal, on a dead mobile link, or while Chromium's emulated offline
 * navigates), so only answers count, in both directions:
 * - proven: a 2xx within the last `windowMs` (30 s by default: a link that
 *   answered half a minute ago is very likely still up) and no failed attempt
 *   or `offline` event since. Only then is an event handed to the browser at
 *   page hide taken as delivered.
 * - failing: an attempt failed (or the browser said `offline`) and no 2xx has
 *   come since. Only then do the queue's caps drop anything: a busy page
 *   whose collector answers is never capped.
 */
export interface Reachability {
  /** A 2xx arrived now. */
  ok(): void;
  /** An attempt failed, or the browser went offline. */
  fail(): void;
  /** A recent 2xx and no failure since. */
  proven(): boolean;
  /** A failure and no 2xx since. */
  failing(): boolean;
}

/** Default window for `proven()`, in ms. */
export const REACHABLE_MS = 30000;

/** Creates the record for one page; `now` is the seam tests swap. */
export function createReachability(windowMs = REACHABLE_MS, now = () => Date.now()): Reachability {
  let lastOk = -Infinity;
  let failed = false;
  return {
    ok() {
      lastOk = now();
      failed = false;
    },
    fail() {
      failed = true;
    },
    proven: () => !failed && Math.abs(now() - lastOk) < windowMs,
    failing: () => failed,
  };
}
