/** eventKey.ts: queue keys sort in call order whatever the clock does, and read back. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createKeyMaker, isKey, keyTab, keyTime } from '../../src/lib/eventKey';

const T0 = Date.UTC(2025, 3, 1, 10, 0, 0);
/** Keys a tab can make within one ms before the time is pushed on (36^4). */
const PER_MS = 36 ** 4;

/** Whether `keys` are unique and already in sorted order. */
const inOrder = (keys: string[]) => new Set(keys).size === keys.length && keys.every((key, i) => !i || keys[i - 1] < key);

beforeEach(() => vi.useFakeTimers({ now: T0 }));
afterEach(() => vi.useRealTimers());

describe('createKeyMaker', () => {
  it('keys sort in call order within one ms', () => {
    const next = createKeyMaker('tab1');
    const keys = Array.from({ length: 2000 }, next);
    expect(inOrder(keys)).toBe(true);
    expect(keys.map(keyTime).every((time) => time === T0)).toBe(true);
  });

  it('keys sort in call order across ms, the sequence starting again each ms', () => {
    const next = createKeyMaker('tab1');
    const keys: string[] = [];
    for (let ms = 0; ms < 50; ms++) {
      vi.setSystemTime(T0 + ms * 7);
      keys.push(next(), next(), next());
    }
    expect(inOrder(keys)).toBe(true);
    expect(keys[3].slice(9, 13)).toBe('0000');
    expect(keyTime(keys[3])).toBe(T0 + 7);
  });

  it('a clock stepping backwards keeps the order (the time stays where it was)', () => {
    const next = createKeyMaker('tab1');
    const before = next();
    vi.setSystemTime(T0 - 60000);
    const after = [next(), next()];
    expect(inOrder([before, ...after])).toBe(true);
    expect(after.map(keyTime)).toEqual([T0, T0]);
    vi.setSystemTime(T0 + 5); // the clock catches up: its time again
    const later = next();
    expect(later > after[1]).toBe(true);
    expect(keyTime(later)).toBe(T0 + 5);
  });

  it('the sequence overflowing pushes the time on by one ms, in order', () => {
    const next = createKeyMaker('tab1');
    let last = '';
    for (let i = 0; i < PER_MS; i++) last = next();
    expect(keyTime(last)).toBe(T0);
    expect(last.slice(9, 13)).toBe('zzzz');
    const pushed = next();
    expect(pushed > last).toBe(true);
    expect(keyTime(pushed)).toBe(T0 + 1);
    expect(pushed.slice(9, 13)).toBe('0000');
    // The clock reaching the pushed time continues its sequence instead of repeating it.
    vi.setSystemTime(T0 + 1);
    const then = next();
    expect(then > pushed).toBe(true);
    expect(then.slice(9, 13)).toBe('0001');
  });

  it('tells tabs apart: the same moment in two tabs gives two keys', () => {
    const a = createKeyMaker('tabA')();
    const b = createKeyMaker('tabB')();
    expect(a).not.toBe(b);
    expect(keyTab(a)).toBe('tabA');
    expect(keyTab(b)).toBe('tabB');
  });
});

describe('keyTime / keyTab', () => {
  it('read back the time and the tab of a key', () => {
    vi.setSystemTime(T0 + 123);
    const key = createKeyMaker('Ab3dE6g8')();
    expect(keyTime(key)).toBe(T0 + 123);
    expect(keyTab(key)).toBe('Ab3dE6g8');
  });
});

describe('isKey', () => {
  it('accepts keys we make', () => {
    const next = createKeyMaker('Ab3dE6g8');
    expect(isKey(next())).toBe(true);
    expect(isKey(next())).toBe(true);
  });

  it.each([
    ['a number', 12345],
    ['null', null],
    ['an object', {}],
    ['an empty string', ''],
    ['an idb-keyval-style key', 'keyval'],
    ['no dot after 13 characters', '0000000000000tab1'],
    ['12 characters before the dot', '000000000000.tab1'],
    ['upper case (not base 36 as we write it)', '00000000000A0.tab1'],
    ['punctuation in the time', '00000-0000000.tab1'],
  ])('refuses %s', (_, key) => {
    expect(isKey(key)).toBe(false);
  });
});
