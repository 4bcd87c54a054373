/**
 * Delivery, wired: the outbox, courier and handover of one tab, and the page
 * signals they answer — `online` (retry now), `offline` (the collector counts
 * as failing), hide and show, another tab's handover (`storage`: its marks
 * changed), and this tab's liveness for the others (a Web Lock, or a
 * heartbeat). Made at load(), since the parts need its options;
 * started (listeners, liveness, the first send) only once recording is
 * allowed: a page under Global Privacy Control, opted out, or waiting for
 * consent listens to nothing, touches no storage, and sends nothing.
 */
import { ENVELOPE_BYTES, KEEPALIVE_LIMIT } from '../lib/batch';
import { listen } from '../lib/listen';
import { holdTabLock } from '../lib/locks';
import { onPageHide } from '../lib/onPageHide';
import type { ResolvedOptions } from '../lib/options';
import type { EventStore } from '../lib/queue';
import type { Reachability } from '../lib/reachability';
import { createCourier } from './courier';
import { createHandover } from './handover';
import { MARKS } from './marks';
import { createOutbox, HANDOVER_GRACE_MS } from './outbox';

export interface DeliveryDependencies {
  store: EventStore;
  /**
   * The synchronous store for events not yet stored at page hide; none where
   * localStorage is not ours to write (then no marks and no heartbeat either).
   */
  spill?: EventStore;
  tabId: string;
  nextKey(): string;
  reach: Reachability;
  endpoint(): string;
  /** Whether events may leave now: checked where they leave (courier rounds and requests, handover). */
  mayLeave(): boolean;
  options(): ResolvedOptions;
  fetch?: typeof fetch;
  sendBeacon(url: string, body: string, answered?: (ok: boolean) => void): boolean;
  report(name: string, detail?: unknown): void;
}

/** Wires the parts; `start()` starts listening and sending, `stop()` removes every listener and timer. */
export function createDelivery(parts: DeliveryDependencies) {
  const { spill, tabId, reach, options } = parts;
  // No single event may be larger than a hidden page can send: 64 KiB, less the body's envelope
  // (32 B, as it was, left a 65,504 B event's body 17 B over the quota).
  const limits = () => ({ ...options(), maxEventBytes: Math.min(options().maxBatchBytes, KEEPALIVE_LIMIT) - ENVELOPE_BYTES });
  // Each part takes what it needs of the same dependencies (one object, not three lists of them).
  const outbox = createOutbox({ ...parts, limits, failing: reach.failing, stored: () => courier.stored() });
  const courier = createCourier({ ...parts, outbox });
  const handover = createHandover({ ...parts, outbox, courier });
  let stops: (() => void)[] = [];
  return {
    outbox,
    courier,
    handover,
    /** Starts listening, and sends what earlier visits left; once (later calls do nothing). */
    start(): void {
      if (stops[0]) return;
      stops = [
        listen([
          ['online', () => courier.online()],
          ['offline', reach.fail],
          // Another tab handed events over as it went away (its marks changed): if it is gone, its events are
          // ours to send once their grace is over, though this tab may have nothing of its own to send then.
          ['storage', (event: StorageEvent) => event.key == MARKS && courier.later(Date.now() + HANDOVER_GRACE_MS)],
        ]),
        holdTabLock(tabId, !!spill),
        onPageHide(handover.hide, handover.show),
      ];
      courier.schedule(0);
    },
    stop(): void {
      [...stops, courier.stop].forEach((stop) => stop());
    },
  };
}

/** The delivery of one tracker. */
export type Delivery = ReturnType<typeof createDelivery>;
