/**
 * src/tracker/held.ts: calls held while waiting for load() or consent —
 * capped, released in order in slices of SLICE_MS.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHeld, MAX_HELD, type HeldCall } from '../../src/tracker/held';
import { SLICE_MS } from '../../src/tracker/outbox';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  vi.spyOn(console, 'warn').mockImplementation(() => {});
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function setup(cost = 0) {
  const ran: HeldCall[] = [];
  const state = { allowed: true };
  const held = createHeld(
    (...call) => {
      ran.push(call);
      // A call that takes `cost` ms of main thread (performance.now is real here).
      const until = performance.now() + cost;
      while (performance.now() < until);
    },
    () => state.allowed,
  );
  return { held, ran, state, args: () => ran.map(([, args]) => args[0]) };
}

describe('held calls', () => {
  it('are released in call order, with the site they were held with, or their own moment and page', () => {
    const { held, ran } = setup();
    const site = { time: 1, page: { url: 'https://a.example/', title: 'A', referrer: '' } };
    held.hold('track', ['A'], site);
    held.hold('page', [], {});
    expect(held.any()).toBe(true);
    held.release();
    expect(ran.map(([method]) => method)).toEqual(['track', 'page']);
    expect(ran[0][2]).toBe(site);
    expect(ran[1][2]).toEqual({ time: Date.now(), page: { url: location.href, title: document.title, referrer: document.referrer } });
    expect(held.any()).toBe(false);
  });

  it(`are capped at MAX_HELD (${MAX_HELD}): the oldest go, with one warning`, () => {
    const { held, args } = setup();
    for (let i = 0; i < MAX_HELD + 500; i++) held.hold('track', [i], {});
    held.release();
    expect(args()).toEqual(Array.from({ length: MAX_HELD }, (_, i) => i + 500));
    expect(console.warn).toHaveBeenCalledTimes(1);
    expect(console.warn).toHaveBeenCalledWith('[firstparty]', expect.stringContaining('oldest dropped'));
  });

  it(`are released in slices of about SLICE_MS (${SLICE_MS} ms), the rest in later tasks, still in order`, async () => {
    const { held, args } = setup(1);
    for (let i = 0; i < 30; i++) held.hold('track', [i], {});
    held.release();
    const first = args().length;
    // Each call takes 1 ms here: a slice stops after SLICE_MS of them (how long it took is the bench's business).
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(30);
    await vi.runAllTimersAsync();
    expect(args()).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('stop being released once recording is no longer allowed; clear() discards them', async () => {
    const { held, ran, state } = setup(1);
    for (let i = 0; i < 30; i++) held.hold('track', [i], {});
    held.release();
    state.allowed = false;
    await vi.runAllTimersAsync();
    const released = ran.length;
    expect(released).toBeLessThan(30);
    expect(held.clear()).toBe(30 - released);
    expect(held.any()).toBe(false);
  });
});
