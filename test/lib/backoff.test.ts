import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoff, retryAfterMs } from '../../src/lib/backoff';

describe('backoff', () => {
  afterEach(() => vi.restoreAllMocks());

  it('doubles from 1 s per attempt (jitter factor 1 at Math.random() = 0.5)', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    expect([0, 1, 2, 3, 4, 5].map((n) => backoff(n))).toEqual([1000, 2000, 4000, 8000, 16000, 32000]);
  });

  it('is capped at 60 s before jitter', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    expect(backoff(6)).toBe(60000);
    expect(backoff(50)).toBe(60000);
    expect(backoff(5000)).toBe(60000); // 2^5000 is Infinity; still capped
  });

  it('keeps jitter within [0.5, 1.5) of the nominal delay', () => {
    const random = vi.spyOn(Math, 'random');
    random.mockReturnValue(0);
    expect(backoff(0)).toBe(500);
    expect(backoff(3)).toBe(4000);
    expect(backoff(30)).toBe(30000);
    random.mockReturnValue(0.999);
    expect(backoff(0)).toBeCloseTo(1499, 6);
    expect(backoff(3)).toBeCloseTo(11992, 6);
    expect(backoff(30)).toBeCloseTo(89940, 6);
  });

  it('spreads retries: real random draws vary and stay in bounds', () => {
    const delays = Array.from({ length: 500 }, () => backoff(2));
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(2000);
      expect(d).toBeLessThan(6000);
    }
    expect(new Set(delays).size).toBeGreaterThan(400);
  });

  it('takes other options', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    expect(backoff(2, { minTimeout: 100, factor: 3, maxTimeout: 500 })).toBe(500);
    expect(backoff(1, { minTimeout: 100, factor: 3, maxTimeout: 500 })).toBe(300);
  });
});

describe('retryAfterMs', () => {
  const now = Date.UTC(2025, 0, 1, 12, 0, 0);

  it('reads delta-seconds', () => {
    expect(retryAfterMs('120', now)).toBe(120000);
    expect(retryAfterMs(' 5 ', now)).toBe(5000);
    expect(retryAfterMs('0', now)).toBe(0);
  });

  it('reads an HTTP date relative to now', () => {
    expect(retryAfterMs(new Date(now + 30000).toUTCString(), now)).toBe(30000);
    expect(retryAfterMs('Wed, 01 Jan 2025 12:02:00 GMT', now)).toBe(120000);
  });

  it('gives 0 for a date in the past, garbage, or no header', () => {
    expect(retryAfterMs(new Date(now - 30000).toUTCString(), now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBe(0);
    expect(retryAfterMs('-5', now)).toBe(0);
    expect(retryAfterMs('1.5', now)).toBe(0);
    expect(retryAfterMs('', now)).toBe(0);
    expect(retryAfterMs(null, now)).toBe(0);
  });

  it('caps the delay at one hour', () => {
    expect(retryAfterMs('3600', now)).toBe(3600000);
    expect(retryAfterMs('99999', now)).toBe(3600000);
    expect(retryAfterMs(new Date(now + 86400000).toUTCString(), now)).toBe(3600000);
  });
});
