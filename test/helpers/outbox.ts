/**
 * One tab's outbox (src/tracker/outbox.ts) on a memory store, with stub
 * dependencies the test can steer (limits, whether the collector is failing)
 * and a record of the keys it hands out, for the unit suites of the outbox and
 * of the parts built on it (test/tracker).
 */
import { vi } from 'vitest';
import { createKeyMaker } from '../../src/lib/eventKey';
import { DEFAULTS } from '../../src/lib/options';
import { localStorageStore, memoryStore, type EventStore, type QueueRecord } from '../../src/lib/queue';
import { createOutbox, type OutboxLimits } from '../../src/tracker/outbox';
import type { FirstpartyEvent } from '../../src/types';

/** This tab's ID, and another tab's. */
export const TAB = 'tabAAAA1';
export const OTHER_TAB = 'tabBBBB2';
/** The localStorage key of the spill store `startOutbox` gives by default. */
export const SPILL_KEY = 'test:spill';

export interface OutboxSetup {
  store?: EventStore;
  /** The spill store; `false` for none (localStorage off limits). A localStorage store under SPILL_KEY unless given. */
  spill?: EventStore | false;
  tabId?: string;
  limits?: Partial<OutboxLimits>;
}

/** An event as the recorder makes it (only the fields the outbox reads matter). */
export const event = (name: string, properties: Record<string, unknown> = {}): FirstpartyEvent =>
  ({ event_id: 'EV' + name, name, properties, created_at: new Date().toISOString() }) as FirstpartyEvent;

/** A stored record of `key` for an event named `name`. */
export const record = (key: string, name: string): QueueRecord => [key, JSON.stringify({ event_id: 'EV' + name, name })];

/** Event names of records, in order. */
export const namesOf = (records: QueueRecord[]): string[] => records.map(([, json]) => JSON.parse(json).name);

/**
 * The handover marks in localStorage ({} when none), read under the key
 * itself: a page of the next release must find the marks this one leaves.
 */
export const marks = (): Record<string, number> => JSON.parse(localStorage.getItem('firstparty-js:handover') || '{}');

/**
 * Creates an outbox for tab `tabId`. `state` steers it: `state.failing` is
 * what failing() answers, `state.limits` what limits() does. `add(name)` adds
 * an event and returns its key.
 */
export function startOutbox({ store = memoryStore(), spill = localStorageStore(SPILL_KEY), tabId = TAB, limits }: OutboxSetup = {}) {
  const report = vi.fn();
  const state = {
    failing: false,
    limits: { maxQueue: DEFAULTS.maxQueue, maxQueueBytes: DEFAULTS.maxQueueBytes, maxAge: DEFAULTS.maxAge, maxEventBytes: 65486, ...limits },
  };
  const makeKey = createKeyMaker(tabId);
  /** Every key handed out, in order. */
  const keys: string[] = [];
  const outbox = createOutbox({
    store,
    spill: spill || undefined,
    tabId,
    nextKey: () => keys[keys.push(makeKey()) - 1],
    limits: () => state.limits,
    failing: () => state.failing,
    report,
  });
  const add = (name: string, properties?: Record<string, unknown>, callback?: unknown): string => {
    outbox.add(event(name, properties), callback);
    return keys[keys.length - 1];
  };
  return { outbox, store, spill: spill || undefined, report, state, keys, add };
}
