/** whenActivated (src/lib/whenActivated.ts): now, or at `prerenderingchange` with its time. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { whenActivated } from '../../src/lib/whenActivated';

afterEach(() => {
  delete (document as any).prerendering;
  vi.useRealTimers();
});

describe('whenActivated', () => {
  it('starts at once, with 0, in a page that is not prerendered', () => {
    const start = vi.fn();
    whenActivated(start);
    expect(start).toHaveBeenCalledWith(0);
  });

  it('in a prerendering page, starts once at prerenderingchange with that time', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    Object.defineProperty(document, 'prerendering', { value: true, configurable: true });
    const start = vi.fn();
    whenActivated(start);
    expect(start).not.toHaveBeenCalled();
    vi.setSystemTime(1_005_000);
    document.dispatchEvent(new Event('prerenderingchange'));
    document.dispatchEvent(new Event('prerenderingchange'));
    expect(start).toHaveBeenCalledTimes(1);
    expect(start).toHaveBeenCalledWith(1_005_000);
  });

  it('the returned function cancels a start still waiting', () => {
    Object.defineProperty(document, 'prerendering', { value: true, configurable: true });
    const start = vi.fn();
    whenActivated(start)();
    document.dispatchEvent(new Event('prerenderingchange'));
    expect(start).not.toHaveBeenCalled();
  });
});
