import { afterEach, describe, expect, it, vi } from 'vitest';
import { randomId } from '../../src/lib/randomId';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

describe('randomId', () => {
  afterEach(() => vi.restoreAllMocks());

  it.each(['PR', 'SE', 'EV'])('is %s followed by 30 base-62 characters', (prefix) => {
    for (let i = 0; i < 200; i++) expect(randomId(prefix)).toMatch(new RegExp('^' + prefix + '[A-Za-z0-9]{30}$'));
  });

  it('honours other lengths and an empty prefix', () => {
    expect(randomId('', 8)).toMatch(/^[A-Za-z0-9]{8}$/);
    expect(randomId('X', 100)).toMatch(/^X[A-Za-z0-9]{100}$/);
  });

  it('never repeats over 20,000 draws', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20000; i++) ids.add(randomId('EV'));
    expect(ids.size).toBe(20000);
  });

  it('uses every character about equally often (chi-square, 61 degrees of freedom)', () => {
    const counts = new Map<string, number>();
    const draws = 3000;
    for (let i = 0; i < draws; i++) for (const c of randomId('', 30)) counts.set(c, (counts.get(c) || 0) + 1);
    expect([...counts.keys()].sort().join('')).toBe([...ALPHABET].sort().join(''));
    const expected = (draws * 30) / 62;
    let chi = 0;
    for (const c of ALPHABET) chi += ((counts.get(c) || 0) - expected) ** 2 / expected;
    // Mean 61; P(chi² > 125) ≈ 1e-6. A plain `byte % 62` (no rejection) gives chi² in the hundreds.
    expect(chi).toBeLessThan(125);
  });

  it('discards bytes ≥ 248 so that `% 62` stays unbiased', () => {
    // Random bytes cycle through 248…255 (which `% 62` would turn into A…H),
    // then 0 (A) and 61 (9): only A and 9 may come out of them.
    const cycle = [248, 249, 250, 251, 252, 253, 254, 255, 0, 61];
    vi.spyOn(crypto, 'getRandomValues').mockImplementation(<T extends ArrayBufferView | null>(array: T): T => {
      const bytes = array as unknown as Uint8Array;
      for (let i = 0; i < bytes.length; i++) bytes[i] = cycle[i % cycle.length];
      return array;
    });
    // Long enough to use up any randomness drawn before the stub (a pool of a few KiB).
    const id = randomId('', 30000);
    expect(id).toHaveLength(30000);
    const tail = id.slice(-10000);
    expect(tail).toMatch(/^[A9]+$/);
    expect(tail).toContain('A');
    expect(tail).toContain('9');
  });
});
