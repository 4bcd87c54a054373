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
import { keepaliveBytes } from '../../src/lib/transport';
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
  });
});
