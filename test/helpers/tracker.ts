/**
 * One tracker ("tab") wired to a fake collector and a fake sendBeacon, shared
 * by the unit suites (test/firstparty.test.ts, test/api, test/hardening).
 */
import { createFirstparty, type Firstparty } from '../../src/firstparty';
import { memoryStore, type EventStore } from '../../src/lib/queue';
import { fakeBeacon, fakeFetch } from './fakeNetwork';

export interface TrackerOptions {
  options?: Record<string, unknown>;
  /** The queue; a fresh memory store unless given. */
  queue?: EventStore;
  /** The collector's answers, in order (each collector has its own Reply type). */
  replies?: any[];
  /** What the fake sendBeacon answers. */
  beacon?: boolean | (() => boolean);
  /** Create the tracker without calling load(). */
  noLoad?: boolean;
}

/**
 * Creates a tracker on `collector(replies)` (fakeFetch unless given), records
 * it in `instances` (so the suite destroys it after the test) and loads it
 * with `key`/`host` unless `noLoad`.
 */
export function startTracker<Net extends { fetch: typeof fetch } = ReturnType<typeof fakeFetch>>(
  instances: Firstparty[],
  key: string,
  host: string,
  { options, queue = memoryStore(), replies = [], beacon = true, noLoad }: TrackerOptions = {},
  collector: (replies: any[]) => Net = fakeFetch as unknown as (replies: any[]) => Net,
) {
  const net = collector(replies);
  const beacons = fakeBeacon(beacon);
  const fp = createFirstparty({ queue, fetch: net.fetch, sendBeacon: beacons.send });
  instances.push(fp);
  if (!noLoad) fp.load(key, host, options as any);
  return { fp, queue, net, beacons };
}
