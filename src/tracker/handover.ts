/**
 * The page-hide handover: when the page is, or may be, going away, this
 * tab's unacknowledged events are handed to the browser in keepalive requests
 * (`sendBeacon` where fetch has no keepalive: transport.ts handOff), which it
 * delivers after the page is gone (64 KiB in flight per page, shared by all
 * keepalive requests and beacons). No receipt, no delete: the events are deleted only
 * when the collector was demonstrably reachable (reachability.ts: a 2xx in
 * the last 30 s and no failure since), or when a page that lives on (a tab
 * switch) reads the handover's own 2xx; otherwise they are handed over *and
 * kept*, marked, and sent again with the same `event_id` once the grace
 * period is over (outbox.ts). Events not yet stored are spilled to
 * localStorage, whose writes are synchronous.
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
  /** Hands one body over (transport.ts handOff); false when the browser refuses it. `delivered`: its 2xx, read by a page that lives on. */
  sendBeacon(url: string, body: string, delivered?: () => void): boolean;
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
    const proven = reach.proven();
    const keepalive = courier.keepalive();
    // A keepalive request may outlive the page, and its answer with it: its
    // events (this tab's or another's) wait out the grace period on the next
    // page instead of going again at once.
    outbox.handOver(keepalive.keys, false);
    const inKeepalive = new Set(keepalive.keys);
    let budget = KEEPALIVE_LIMIT - keepalive.bytes;
    // Events in a plain (visible-time) request are included: unload cancels it.
    for (const batch of splitBatches(outbox.unsent(true, (key) => inKeepalive.has(key)), Math.min(options().maxBatchBytes, budget))) {
      const body = batchBody(batch, new Date().toISOString());
      const bytes = utf8Length(body);
      const keys = keysOf(batch);
      // A 2xx read by a page that lives on (a tab switch) is proof: the kept
      // events are not sent again once the grace is over.
      const delivered = () => {
        reach.ok();
        outbox.handOver(keys, true);
      };
      if (bytes > budget || !sendBeacon(endpoint(), body, delivered)) {
        report('failed', { beacon: 1, count: batch.length });
        break;
      }
      budget -= bytes;
      outbox.handOver(keys, proven);
      report('sent', { beacon: 1, count: batch.length, ...(!proven && { kept: 1 }) });
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
    /** The page is visible again. */
    show(): void {
      hiding = false;
    },
    /**
     * An event was added: during a hide signal it is handed over before the
     * page can go; in a hidden page it is sent at once (a keepalive request,
     * whose answer a living page still reads); otherwise after `flushInterval`.
     */
    added(): void {
      if (hiding) {
        if (!queued) queueMicrotask(handOver);
        queued = true;
      } else if (pageHidden()) courier.soon();
      else courier.schedule(options().flushInterval);
    },
  };
}
