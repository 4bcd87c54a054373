/** reachability.ts: when the collector counts as healthy (handover marks) and as failing (the caps). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CAP_AFTER_MS, createReachability, REACHABLE_MS } from '../../src/lib/reachability';

/** A record on a clock the test moves (the `now` seam), with a 1,000 ms window and caps after 5,000 ms. */
function onClock(windowMs = 1000, capAfterMs = 5000) {
  const clock = { now: 50000 };
  return { clock, reach: createReachability(windowMs, capAfterMs, () => clock.now) };
}

describe('createReachability', () => {
  it('knows nothing before any answer: neither healthy nor failing', () => {
    const { reach } = onClock();
    expect(reach.healthy()).toBe(false);
    expect(reach.failing()).toBe(false);
  });

  it('healthy() holds only within windowMs after ok()', () => {
    const { clock, reach } = onClock(1000);
    reach.ok();
    expect(reach.healthy()).toBe(true);
    clock.now += 999;
    expect(reach.healthy()).toBe(true);
    clock.now += 1;
    expect(reach.healthy()).toBe(false);
    reach.ok();
    expect(reach.healthy()).toBe(true);
  });

  it('healthy() is false while a request waits for its answer: one in flight is evidence of trouble, not health', () => {
    const { reach } = onClock();
    reach.ok();
    reach.pending(1);
    expect(reach.healthy()).toBe(false);
    reach.pending(1);
    reach.pending(-1);
    expect(reach.healthy()).toBe(false);
    reach.pending(-1);
    expect(reach.healthy()).toBe(true);
  });

  it('healthy() is false after fail(), even within the window, until the next ok()', () => {
    const { clock, reach } = onClock(1000);
    reach.ok();
    reach.fail();
    expect(reach.healthy()).toBe(false);
    clock.now += 10;
    reach.ok();
    expect(reach.healthy()).toBe(true);
  });

  it('failing() holds only after failing for capAfterMs with no 2xx: a blip of 503s caps nothing', () => {
    const { clock, reach } = onClock(1000, 5000);
    reach.fail();
    expect(reach.failing()).toBe(false);
    clock.now += 4999;
    reach.fail(); // later failures do not move the start
    expect(reach.failing()).toBe(false);
    clock.now += 1;
    expect(reach.failing()).toBe(true);
    reach.ok();
    expect(reach.failing()).toBe(false);
    reach.fail();
    expect(reach.failing()).toBe(false); // a new failure starts a new wait
  });

  it('a clock stepped back by the window or more is no proof either', () => {
    const { clock, reach } = onClock(1000);
    reach.ok();
    clock.now -= 1000;
    expect(reach.healthy()).toBe(false);
  });
});

describe('createReachability() defaults', () => {
  afterEach(() => vi.useRealTimers());

  it(`reads Date.now() with a window of REACHABLE_MS (${REACHABLE_MS} ms) and caps after CAP_AFTER_MS (${CAP_AFTER_MS} ms)`, () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const reach = createReachability();
    reach.ok();
    vi.setSystemTime(1_000_000 + REACHABLE_MS - 1);
    expect(reach.healthy()).toBe(true);
    vi.setSystemTime(1_000_000 + REACHABLE_MS);
    expect(reach.healthy()).toBe(false);
    reach.fail();
    vi.setSystemTime(1_000_000 + REACHABLE_MS + CAP_AFTER_MS);
    expect(reach.failing()).toBe(true);
  });
});
