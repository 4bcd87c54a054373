/**
 * Delivery, wired: the outbox, courier and handover of one tab, and the page
 * signals they answer — `online` (retry now), `offline` (the collector counts
 * as failing), hide and show, and this tab's liveness for the others (a Web
 * Lock, or a heartbeat). Made at load(), since the parts need its options.
 */
import { KEEPALIVE_LIMIT } from '../lib/batch';
import { holdTabLock } from '../lib/locks';
import { onPageHide } from '../lib/onPageHide';
import type { ResolvedOptions } from '../lib/options';
import type { EventStore } from '../lib/queue';
import type { Reachability } from '../lib/reachability';
import { createCourier } from './courier';
import { createHandover } from './handover';
import { createOutbox } from './outbox';

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
  options(): ResolvedOptions;
  fetch?: typeof fetch;
  sendBeacon(url: string, body: string): boolean;
  report(name: string, detail?: unknown): void;
}

/** Wires the parts and starts listening; `stop()` removes every listener and timer. */
export function startDelivery({ store, spill, tabId, nextKey, reach, endpoint, options, fetch, sendBeacon, report }: DeliveryDependencies) {
  // No single event may be larger than a hidden page can send (64 KiB, less the envelope).
  const limits = () => ({ ...options(), maxEventBytes: Math.min(options().maxBatchBytes, KEEPALIVE_LIMIT) - 32 });
  const outbox = createOutbox({ store, spill, tabId, nextKey, limits, failing: reach.failing, report });
  const courier = createCourier({ outbox, reach, tabId, endpoint, options, fetch, report });
  const handover = createHandover({ outbox, courier, reach, endpoint, options, sendBeacon, report });
  const onOnline = () => courier.online();
  addEventListener('online', onOnline);
  addEventListener('offline', reach.fail);
  const stops = [holdTabLock(tabId, !!spill), onPageHide(handover.hide, handover.show), courier.stop];
  return {
    outbox,
    courier,
    handover,
    stop(): void {
      removeEventListener('online', onOnline);
      removeEventListener('offline', reach.fail);
      stops.forEach((stop) => stop());
    },
  };
}

/** The delivery of one tracker. */
export type Delivery = ReturnType<typeof startDelivery>;
