/** reachability.ts: when a 2xx is proof of delivery, and when the collector is failing. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createReachability, REACHABLE_MS } from '../../src/lib/reachability';

/** A record on a clock the test moves (the `now` seam), with a 1,000 ms window. */
function onClock(windowMs = 1000) {
  const clock = { now: 50000 };
  return { clock, reach: createReachability(windowMs, () => clock.now) };
}

describe('createReachability', () => {
  it('knows nothing before any answer: neither proven nor failing', () => {
    const { reach } = onClock();
    expect(reach.proven()).toBe(false);
    expect(reach.failing()).toBe(false);
  });

  it('proven() holds only within windowMs after ok()', () => {
    const { clock, reach } = onClock(1000);
    reach.ok();
    expect(reach.proven()).toBe(true);
    clock.now += 999;
    expect(reach.proven()).toBe(true);
    clock.now += 1;
    expect(reach.proven()).toBe(false);
    reach.ok(); // a fresh 2xx opens a new window
    expect(reach.proven()).toBe(true);
  });

  it('proven() is false after fail(), even within the window, until the next ok()', () => {
    const { clock, reach } = onClock(1000);
    reach.ok();
    clock.now += 10;
    reach.fail();
    expect(reach.proven()).toBe(false);
    clock.now += 10;
    expect(reach.proven()).toBe(false);
    reach.ok();
    expect(reach.proven()).toBe(true);
  });

  it('failing() holds from fail() until ok(), however long that takes', () => {
    const { clock, reach } = onClock(1000);
    reach.fail();
    expect(reach.failing()).toBe(true);
    clock.now += 3600000;
    expect(reach.failing()).toBe(true);
    reach.ok();
    expect(reach.failing()).toBe(false);
    clock.now += 3600000; // an old 2xx is no longer proof, but not a failure either
    expect(reach.failing()).toBe(false);
    expect(reach.proven()).toBe(false);
  });

  it('a clock stepped back by the window or more is no proof either', () => {
    const { clock, reach } = onClock(1000);
    reach.ok();
    clock.now -= 999;
    expect(reach.proven()).toBe(true);
    clock.now -= 1;
    expect(reach.proven()).toBe(false);
  });
});

describe('createReachability() defaults', () => {
  afterEach(() => vi.useRealTimers());

  it('reads Date.now() with a window of REACHABLE_MS (30 s)', () => {
    expect(REACHABLE_MS).toBe(30000);
    vi.useFakeTimers({ now: Date.UTC(2025, 3, 1) });
    const reach = createReachability();
    reach.ok();
    vi.advanceTimersByTime(REACHABLE_MS - 1);
    expect(reach.proven()).toBe(true);
    vi.advanceTimersByTime(1);
    expect(reach.proven()).toBe(false);
  });
});
