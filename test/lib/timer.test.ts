/** createTimer() (src/lib/timer.ts): one timer, the earliest time asked for wins. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTimer } from '../../src/lib/timer';

beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
afterEach(() => vi.useRealTimers());

describe('createTimer()', () => {
  it('fires once at the earliest time asked for: a later one does not move it, an earlier one does', () => {
    const fire = vi.fn();
    const timer = createTimer(fire);
    timer.at(Date.now() + 10_000);
    timer.at(Date.now() + 1_000); // a pending 10 s wait never swallows a 1 s one
    timer.at(Date.now() + 5_000); // later than what is due: ignored
    vi.advanceTimersByTime(999);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fire).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(60_000);
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it('after it fired, or was cleared, any time is taken again', () => {
    const fire = vi.fn();
    const timer = createTimer(fire);
    timer.at(Date.now() + 100);
    vi.advanceTimersByTime(100);
    timer.at(Date.now() + 5_000);
    vi.advanceTimersByTime(5_000);
    expect(fire).toHaveBeenCalledTimes(2);
    timer.at(Date.now() + 100);
    timer.clear();
    vi.advanceTimersByTime(1_000);
    expect(fire).toHaveBeenCalledTimes(2);
    timer.at(Date.now() + 2_000);
    vi.advanceTimersByTime(2_000);
    expect(fire).toHaveBeenCalledTimes(3);
  });
});
