/**
 * The page-hide handover by keepalive fetch (issue 13), through the tracker's
 * own wiring (no sendBeacon seam): the browser allows 64 KiB of keepalive
 * requests in flight and refuses more only by rejecting the fetch later, so a
 * handover must leave room for the requests still in flight — its own earlier
 * ones included — or a proven-reachable handover would delete events whose
 * request the browser then refuses.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFirstparty } from '../../src/firstparty';
import { KEEPALIVE_LIMIT } from '../../src/lib/batch';
import { memoryStore } from '../../src/lib/queue';
import { keepaliveBytes, REQUEST_TIMEOUT_MS } from '../../src/lib/transport';
import { HANDOVER_GRACE_MS } from '../../src/tracker/outbox';
import { byteLength, fakeFetch } from '../helpers/fakeNetwork';
import { hideAndShowPage } from '../helpers/page';
import { HOST, KEY, remember, settle, useApiEnvironment } from './helpers';

useApiEnvironment();

// happy-dom's Request has no keepalive; the browsers we ship to do.
beforeEach(() => vi.stubGlobal('Request', class { get keepalive() { return true; } }));
afterEach(() => vi.unstubAllGlobals());

describe('handover by keepalive fetch', () => {
  it('hands over in keepalive fetches with credentials same-origin, never beyond 64 KiB in flight with its own earlier ones', async () => {
    const hung = new Promise<never>(() => {});
    // A first visible send (200) proves the collector reachable; every later request hangs, as one outliving its page would.
    const net = fakeFetch([200, ...Array(20).fill(hung)] as any);
    const queue = memoryStore();
    const fp = remember(createFirstparty({ queue, fetch: net.fetch }));
    fp.load(KEY, HOST);
    fp.track('Warm');
    await fp.flush();
    const big = 'x'.repeat(500);
    for (let i = 0; i < 100; i++) fp.track('First', { i, big });
    await settle();
    hideAndShowPage();
    for (let i = 0; i < 100; i++) fp.track('Second', { i, big });
    await settle();
    hideAndShowPage();
    const handovers = net.requests.slice(1).filter((r) => r.init.keepalive);
    expect(handovers.length).toBeGreaterThan(1);
    expect(handovers.every((r) => r.init.credentials === 'same-origin')).toBe(true);
    const inFlight = handovers.reduce((sum, r) => sum + byteLength(r.text), 0);
    expect(inFlight).toBeLessThanOrEqual(KEEPALIVE_LIMIT);
    expect(keepaliveBytes()).toBe(inFlight);
    // What did not fit is still stored, to be sent later: none of the 200 is lost.
    const handedOver = new Set(handovers.flatMap((r) => r.body.events.map((e: any) => e.name + e.properties.i)));
    const stored = new Set((await queue.all()).map(([, json]) => JSON.parse(json)).map((e) => e.name + e.properties.i));
    for (const name of ['First', 'Second']) for (let i = 0; i < 100; i++) expect(handedOver.has(name + i) || stored.has(name + i)).toBe(true);
    // A request that never answers is abandoned after REQUEST_TIMEOUT_MS, and its bytes are free again.
    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT_MS);
    expect(keepaliveBytes()).toBe(0);
  });
});

describe('a handover read by a page that lives on (a tab switch)', () => {
  it('its 2xx is proof: events handed over before any answer proved the collector are not sent again after the grace', async () => {
    const net = fakeFetch();
    const queue = memoryStore();
    const fp = remember(createFirstparty({ queue, fetch: net.fetch }));
    fp.load(KEY, HOST);
    // Tracked and hidden in the same task: no request has answered yet, so nothing proves the collector reachable.
    fp.track('Page Viewed');
    hideAndShowPage();
    expect(net.requests).toHaveLength(1);
    expect(net.requests[0].init.keepalive).toBe(true);
    await settle(); // the page reads the handover's 200
    await vi.advanceTimersByTimeAsync(HANDOVER_GRACE_MS + 5_000);
    await fp.flush();
    expect(net.requests).toHaveLength(1);
    expect(await queue.all()).toEqual([]);
  });

  it('without an answer (a failed handover), the kept events go again after the grace, with the same event_id', async () => {
    const net = fakeFetch(['network-error'] as any);
    const fp = remember(createFirstparty({ queue: memoryStore(), fetch: net.fetch }));
    fp.load(KEY, HOST);
    fp.track('Page Viewed');
    hideAndShowPage();
    await settle();
    await vi.advanceTimersByTimeAsync(HANDOVER_GRACE_MS + 5_000);
    await fp.flush();
    const ids = net.requests.flatMap((r) => r.body.events.map((e: any) => e.event_id));
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(ids[0]);
  });
});
