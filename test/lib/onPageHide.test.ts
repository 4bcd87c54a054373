import { afterEach, describe, expect, it, vi } from 'vitest';
import { onPageHide } from '../../src/lib/onPageHide';

function setVisibility(state: 'hidden' | 'visible') {
  vi.spyOn(document, 'visibilityState', 'get').mockReturnValue(state);
  document.dispatchEvent(new Event('visibilitychange'));
}

describe('onPageHide', () => {
  let stop = () => {};
  afterEach(() => {
    stop();
    vi.restoreAllMocks();
  });

  it('fires on visibilitychange to hidden, not to visible', () => {
    const cb = vi.fn();
    stop = onPageHide(cb);
    setVisibility('visible');
    expect(cb).not.toHaveBeenCalled();
    setVisibility('hidden');
    expect(cb).toHaveBeenCalledTimes(1);
  });

  it('fires on pagehide', () => {
    const cb = vi.fn();
    stop = onPageHide(cb);
    dispatchEvent(new Event('pagehide'));
    expect(cb).toHaveBeenCalledTimes(1);
  });

  it('reports one hide once when both events fire, and re-arms when visible again', () => {
    const cb = vi.fn();
    stop = onPageHide(cb);
    setVisibility('hidden');
    dispatchEvent(new Event('pagehide'));
    setVisibility('hidden');
    expect(cb).toHaveBeenCalledTimes(1);
    setVisibility('visible');
    setVisibility('hidden');
    expect(cb).toHaveBeenCalledTimes(2);
  });

  it('re-arms on pageshow (a page restored from the back/forward cache)', () => {
    const cb = vi.fn();
    stop = onPageHide(cb);
    dispatchEvent(new Event('pagehide'));
    dispatchEvent(new Event('pageshow'));
    dispatchEvent(new Event('pagehide'));
    expect(cb).toHaveBeenCalledTimes(2);
  });

  it('stops listening after cleanup', () => {
    const cb = vi.fn();
    onPageHide(cb)();
    setVisibility('hidden');
    dispatchEvent(new Event('pagehide'));
    expect(cb).not.toHaveBeenCalled();
  });
});
