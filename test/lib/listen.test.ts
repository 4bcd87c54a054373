/** listen() (src/lib/listen.ts): window listeners added as a set, removed as one, in the phase asked for. */
import { describe, expect, it, vi } from 'vitest';
import { listen } from '../../src/lib/listen';

describe('listen()', () => {
  it('adds each listener to window and the returned function removes them all', () => {
    const online = vi.fn();
    const storage = vi.fn();
    const stop = listen([
      ['online', online],
      ['storage', storage],
    ]);
    dispatchEvent(new Event('online'));
    dispatchEvent(new Event('storage'));
    expect([online.mock.calls.length, storage.mock.calls.length]).toEqual([1, 1]);
    stop();
    dispatchEvent(new Event('online'));
    dispatchEvent(new Event('storage'));
    expect([online.mock.calls.length, storage.mock.calls.length]).toEqual([1, 1]);
  });

  it('with capture, runs ahead of a listener the page added to window first, in the bubble phase', () => {
    const order: string[] = [];
    const page = () => order.push('page');
    addEventListener('pagehide', page);
    const stop = listen([['pagehide', () => order.push('ours')]], true);
    try {
      dispatchEvent(new Event('pagehide'));
      expect(order).toEqual(['ours', 'page']);
      stop(); // removed from the capture phase it was added to
      dispatchEvent(new Event('pagehide'));
      expect(order).toEqual(['ours', 'page', 'page']);
    } finally {
      stop();
      removeEventListener('pagehide', page);
    }
  });
});
