/**
 * The page-hide handover: when the page is, or may be, going away, this
 * tab's unacknowledged events are handed to the browser in keepalive requests
 * (`sendBeacon` where fetch has no keepalive: transport.ts handOff), which it
 * delivers after the page is gone (64 KiB in flight per page, shared by all
 * keepalive requests and beacons). No receipt, no delete: a 2xx from before
 * the hide proves nothing about the handover (the collector may fail just
 * then, the page's own keepalive requests may leave ours no quota, a page's
 * fetch wrapper may never call the real one), and neither does a later
 * page's 2xx (an outage of a second, over before the next page asks, looks
 * the same). So the events are handed over *and kept*, marked, and sent
 * again with the same `event_id` once the grace period is over (outbox.ts),
 * unless the handover's own 2xx is read first, by a page that lives on (a
 * tab switch). A failure read for it makes its events plainly unsent again. Events not yet
 * stored are spilled to localStorage, whose writes are synchronous.
 *
 * It runs at every hide signal (onPageHide.ts), and for every event recorded
 * while one is being dispatched (the page's own `visibilitychange` or
 * `pagehide` listener), in a microtask: before the page can be torn down.
 */
import { batchBody, KEEPALIVE_LIMIT, splitBatches, utf8Length } from '../lib/batch';
import { keysOf } from '../lib/eventKey';
import { pageHidden } from '../lib/onPageHide';
import type { Reachability } from '../lib/reachability';
import type { Courier } from './courier';
import { HANDOVER_GRACE_MS, type Outbox } from './outbox';

export interface HandoverDependencies {
  outbox: Outbox;
  courier: Courier;
  reach: Reachability;
  endpoint(): string;
  /** Whether events may leave now (see courier.ts): a hiding page hands nothing over otherwise. */
  mayLeave(): boolean;
  options(): { maxBatchBytes: number; flushInterval: number };
  /** Hands one body over (transport.ts handOff); false when the browser refuses it. `answered`: its outcome (a receipt or not), read by a page that lives on. */
  sendBeacon(url: string, body: string, answered?: (ok: boolean) => void): boolean;
  report(name: string, detail?: unknown): void;
}

/** Creates the handover of one tab. */
export function createHandover({ outbox, courier, reach, endpoint, mayLeave, options, sendBeacon, report }: HandoverDependencies) {
  /** A hide signal is being dispatched (until the next task). */
  let hiding = false;
  let queued = false;

  function handOver(): void {
    queued = false;
    if (!endpoint() || !mayLeave()) return;
    const keepalive = courier.keepalive();
    // A keepalive request may outlive the page, and its answer with it: its
    // events (this tab's or another's) wait out the grace period on the next
    // page instead of going again at once.
    outbox.handOver(keepalive.keys, -1);
    const inKeepalive = new Set(keepalive.keys);
    let budget = KEEPALIVE_LIMIT - keepalive.bytes;
    // Events in a plain (visible-time) request are included: unload cancels it.
    for (const batch of splitBatches(outbox.unsent(true, (key) => inKeepalive.has(key)), Math.min(options().maxBatchBytes, budget))) {
      const body = batchBody(batch);
      const bytes = utf8Length(body);
      const keys = keysOf(batch);
      // The answer read by a page that lives on (a tab switch), or by a dying one in a
      // microtask (the browser refusing it over the keepalive quota): a 2xx is a receipt;
      // anything else leaves the events plainly unsent, to go again now.
      const answered = (ok: boolean) => {
        ok ? (reach.ok(), outbox.handOver(keys, 0)) : (reach.fail(), outbox.reclaim(keys), courier.schedule(0));
      };
      if (bytes > budget || !sendBeacon(endpoint(), body, answered)) {
        report('failed', { beacon: 1, count: batch.length });
        break;
      }
      budget -= bytes;
      outbox.handOver(keys, -1);
      report('sent', { beacon: 1, count: batch.length, kept: 1 });
    }
    outbox.rescue();
    // A page that lives on (a tab switch) sends what it kept once the grace is over.
    courier.schedule(HANDOVER_GRACE_MS);
  }

  return {
    /** A hide signal: hand everything over now. */
    hide(): void {
      hiding = true;
      setTimeout(() => (hiding = false), 0);
      handOver();
    },
    /** The page is visible again (a tab switch back, a bfcache restore): delivery resumes within flushInterval. */
    show(): void {
      hiding = false;
      courier.schedule(options().flushInterval);
    },
    /**
     * An event was added: during a hide signal it is handed over before the
     * page can go; in a hidden page it is sent at once (a keepalive request,
     * whose answer a living page still reads); otherwise at the end of this
     * task when nothing is in flight (courier.express()), else behind the
     * request in flight, and within `flushInterval` in any case, a backoff or
     * not (its first attempt).
     */
    added(): void {
      if (hiding) {
        if (!queued) queueMicrotask(handOver);
        queued = true;
      } else {
        courier.schedule(pageHidden() ? 0 : options().flushInterval, true);
        courier.express();
      }
    },
  };
}
