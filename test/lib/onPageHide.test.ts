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

  it('fires at every signal, so events recorded between pagehide and visibilitychange are handed over too', () => {
    const cb = vi.fn();
    stop = onPageHide(cb);
    dispatchEvent(new Event('pagehide'));
    setVisibility('hidden');
    expect(cb).toHaveBeenCalledTimes(2);
  });

  it('fires on freeze (Chromium may discard a frozen tab without another event)', () => {
    const cb = vi.fn();
    stop = onPageHide(cb);
    document.dispatchEvent(new Event('freeze', { bubbles: true }));
    expect(cb).toHaveBeenCalledTimes(1);
  });

  it('calls onShow when visible again and on a pageshow from the back/forward cache, not on a first pageshow', () => {
    const shown = vi.fn();
    stop = onPageHide(() => {}, shown);
    setVisibility('visible');
    expect(shown).toHaveBeenCalledTimes(1);
    dispatchEvent(Object.assign(new Event('pageshow'), { persisted: false }));
    expect(shown).toHaveBeenCalledTimes(1);
    dispatchEvent(Object.assign(new Event('pageshow'), { persisted: true }));
    expect(shown).toHaveBeenCalledTimes(2);
  });

  it('stops listening after cleanup', () => {
    const cb = vi.fn();
    onPageHide(cb)();
    setVisibility('hidden');
    dispatchEvent(new Event('pagehide'));
    expect(cb).not.toHaveBeenCalled();
  });
});

describe('onPageHide and a page still loading', () => {
  afterEach(() => vi.restoreAllMocks());

  it('fires on beforeunload while the document is loading (WebKit fires no pagehide then), not once it is complete', () => {
    const cb = vi.fn();
    const stop = onPageHide(cb);
    const state = vi.spyOn(document, 'readyState', 'get').mockReturnValue('complete');
    dispatchEvent(new Event('beforeunload'));
    expect(cb).not.toHaveBeenCalled();
    state.mockReturnValue('interactive');
    dispatchEvent(new Event('beforeunload'));
    expect(cb).toHaveBeenCalledTimes(1);
    stop();
  });
});
