/** callbackOf (src/tracker/callbacks.ts): the first function argument, run once, by done() or the timeout. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { callbackOf } from '../../src/tracker/callbacks';

beforeEach(() => {
  vi.useFakeTimers();
  vi.spyOn(console, 'warn').mockImplementation(() => {});
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('callbackOf', () => {
  it('takes the first function among the arguments, wherever it is', () => {
    const first = vi.fn();
    const second = vi.fn();
    callbackOf(['A', {}, first, second], 300)();
    expect(first).toHaveBeenCalledTimes(1);
    expect(second).not.toHaveBeenCalled();
  });

  it('runs it once: done() any number of times, then the timeout', () => {
    const callback = vi.fn();
    const done = callbackOf([callback], 300);
    done();
    done();
    vi.advanceTimersByTime(1000);
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it('runs it at the timeout when done() has not come, and not again at done()', () => {
    const callback = vi.fn();
    const done = callbackOf(['A', callback], 300);
    vi.advanceTimersByTime(299);
    expect(callback).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(callback).toHaveBeenCalledTimes(1);
    done();
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it('without a function, is a done that does nothing and sets no timer', () => {
    const done = callbackOf(['A', {}, null], 300);
    expect(vi.getTimerCount()).toBe(0);
    expect(() => done()).not.toThrow();
  });

  it('a throwing callback does not throw out of done() or the timer', () => {
    const done = callbackOf([() => { throw new Error('page bug'); }], 300);
    expect(() => done()).not.toThrow();
    callbackOf([() => { throw new Error('page bug'); }], 300);
    expect(() => vi.advanceTimersByTime(300)).not.toThrow();
    expect(console.warn).toHaveBeenCalledTimes(2);
  });
});
