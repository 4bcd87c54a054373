/** reachability.ts: when the collector counts as failing (the caps). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CAP_AFTER_MS, createReachability } from '../../src/lib/reachability';

/** A record on a clock the test moves (the `now` seam), with caps after 5,000 ms. */
function onClock(capAfterMs = 5000) {
  const clock = { now: 50000 };
  return { clock, reach: createReachability(capAfterMs, () => clock.now) };
}

describe('createReachability', () => {
  it('knows nothing before any answer: not failing', () => {
    expect(onClock().reach.failing()).toBe(false);
  });

  it('failing() holds only after failing for capAfterMs with no 2xx: a blip of 503s caps nothing', () => {
    const { clock, reach } = onClock(5000);
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
});

describe('createReachability() defaults', () => {
  afterEach(() => vi.useRealTimers());

  it(`reads Date.now() and caps after CAP_AFTER_MS (${CAP_AFTER_MS} ms)`, () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const reach = createReachability();
    reach.fail();
    vi.setSystemTime(1_000_000 + CAP_AFTER_MS - 1);
    expect(reach.failing()).toBe(false);
    vi.setSystemTime(1_000_000 + CAP_AFTER_MS);
    expect(reach.failing()).toBe(true);
  });
});
