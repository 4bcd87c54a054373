/**
 * Prerendering (issue 15): a page Chrome prerenders for speculation rules may
 * never be opened. While `document.prerendering` is true nothing is recorded,
 * stored, written or sent; at activation the calls made meanwhile happen, the
 * page view with the activation time.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { names, settle, setup, spies, useApiEnvironment } from './helpers';

useApiEnvironment();

/** Makes the page a prerendering one (happy-dom has no prerendering). */
function prerendering(value: boolean): void {
  Object.defineProperty(document, 'prerendering', { value, configurable: true });
}

/** The visitor opens the prerendered page. */
function activate(): void {
  prerendering(false);
  document.dispatchEvent(new Event('prerenderingchange'));
}

afterEach(() => {
  delete (document as any).prerendering;
});

describe('a prerendered page', () => {
  it('records, stores, writes and sends nothing until it is opened; then the page view has the activation time', async () => {
    prerendering(true);
    const loadedAt = Date.now();
    const { fp, net, queue } = setup({ noLoad: true });
    // The snippet's page() call, noted at the snippet's moment, replayed at load.
    fp.load('wk_1234567890abcd', 'http://127.0.0.1:9999');
    fp._replay('page', [], { time: loadedAt - 200, page: { url: location.href, title: 'Prerendered', referrer: '' } });
    fp.track('Scrolled');
    await vi.advanceTimersByTimeAsync(60_000);
    await fp.flush();
    expect(net.requests).toEqual([]);
    expect(await queue.all()).toEqual([]);
    expect(spies.jar.writes).toEqual([]);
    expect(fp.getProfileId()).toBeUndefined();

    const activatedAt = Date.now();
    activate();
    await settle();
    await fp.flush();
    expect(names(net.events())).toEqual(['Page Viewed', 'Scrolled']);
    for (const event of net.events()) expect(event.created_at).toBe(new Date(activatedAt).toISOString());
    expect(fp.getProfileId()).toMatch(/^PR/);
  });

  it('a callback given while prerendering still runs (at its timeout), and only once', async () => {
    prerendering(true);
    const { fp } = setup();
    const callback = vi.fn();
    fp.track('A', callback);
    await vi.advanceTimersByTimeAsync(300);
    expect(callback).toHaveBeenCalledTimes(1);
    activate();
    await settle();
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it('a page that is not prerendered records at once, with each call’s own time', async () => {
    const { fp, net } = setup({ noLoad: true });
    fp.load('wk_1234567890abcd', 'http://127.0.0.1:9999');
    fp._replay('track', ['Early'], { time: Date.now() - 200, page: { url: location.href, title: '', referrer: '' } });
    await fp.flush();
    expect(net.events()[0].created_at).toBe(new Date(Date.now() - 200).toISOString());
  });

  it('destroy() before activation: nothing starts later', async () => {
    prerendering(true);
    const { fp, net } = setup();
    fp.track('A');
    fp.destroy();
    activate();
    await settle();
    await fp.flush();
    expect(net.requests).toEqual([]);
  });
});
