import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setUrl } from '../helpers/page';
import { SETTLE_MS } from '../../src/lib/watchHistory';
import { names, settle, setup, useApiEnvironment } from './helpers';

useApiEnvironment();

// A test may leave someone else's wrapper in place: put the originals back.
let pushState: History['pushState'];
let replaceState: History['replaceState'];
beforeEach(() => {
  pushState = history.pushState;
  replaceState = history.replaceState;
});
afterEach(() => {
  history.pushState = pushState;
  history.replaceState = replaceState;
});

/** A back/forward navigation: the URL changes, then the browser fires popstate. */
function popTo(url: string): void {
  setUrl(new URL(url, location.href).href);
  dispatchEvent(new PopStateEvent('popstate', { state: null }));
}

describe("pageviews: 'history'", () => {
  it('sends exactly one Page Viewed per pushState path change, with the new page', async () => {
    setUrl('https://www.example.com/');
    const { fp, net } = setup({ options: { pageviews: 'history' } });
    history.pushState({}, '', '/pricing');
    document.title = 'Pricing';
    history.pushState({}, '', '/docs');
    await vi.advanceTimersByTimeAsync(SETTLE_MS);
    await fp.flush();
    expect(names(net.events())).toEqual(['Page Viewed', 'Page Viewed']);
    expect(net.events().map((e) => e.properties.path)).toEqual(['/pricing', '/docs']);
    expect(net.events()[0].properties.url).toBe('https://www.example.com/pricing');
  });

  it('does not count the initial page (that is the site’s own page() call)', async () => {
    const { fp, net } = setup({ options: { pageviews: 'history' } });
    await vi.advanceTimersByTimeAsync(SETTLE_MS);
    await fp.flush();
    expect(net.requests).toHaveLength(0);
  });

  it('counts nothing for a same-path replaceState, query-only or hash-only changes', async () => {
    setUrl('https://www.example.com/pricing');
    const { fp, net } = setup({ options: { pageviews: 'history' } });
    history.replaceState({ step: 1 }, '', '/pricing');
    history.replaceState({}, '', '/pricing?plan=pro');
    history.pushState({}, '', '/pricing?plan=team');
    history.pushState({}, '', '/pricing?plan=team#faq');
    history.pushState({}, '', '#top');
    await vi.advanceTimersByTimeAsync(SETTLE_MS);
    await fp.flush();
    expect(net.requests).toHaveLength(0);
  });

  it('counts a replaceState that changes the path, once', async () => {
    setUrl('https://www.example.com/a');
    const { fp, net } = setup({ options: { pageviews: 'history' } });
    history.replaceState({}, '', '/b');
    history.replaceState({}, '', '/b');
    await vi.advanceTimersByTimeAsync(SETTLE_MS);
    await fp.flush();
    expect(net.events().map((e) => e.properties.path)).toEqual(['/b']);
  });

  it('counts popstate (back/forward) when the path changed, not when it did not', async () => {
    setUrl('https://www.example.com/a');
    const { fp, net } = setup({ options: { pageviews: 'history' } });
    history.pushState({}, '', '/b');
    popTo('/a'); // back
    popTo('/a#section'); // a hash change fires popstate too: same path
    await vi.advanceTimersByTimeAsync(SETTLE_MS);
    await fp.flush();
    expect(net.events().map((e) => e.properties.path)).toEqual(['/b', '/a']);
  });

  it('pushState to the path already reported (after a popstate) does not double count', async () => {
    setUrl('https://www.example.com/a');
    const { fp, net } = setup({ options: { pageviews: 'history' } });
    history.pushState({}, '', '/b');
    history.pushState({}, '', '/b');
    popTo('/b');
    await vi.advanceTimersByTimeAsync(SETTLE_MS);
    await fp.flush();
    expect(net.events().map((e) => e.properties.path)).toEqual(['/b']);
  });

  it('keeps pushState/replaceState working: state and URL as given, return value passed through', () => {
    setUrl('https://www.example.com/a');
    setup({ options: { pageviews: 'history' } });
    expect(history.pushState({ n: 1 }, '', '/b?x=1')).toBeUndefined();
    expect(history.state).toEqual({ n: 1 });
    expect(location.pathname + location.search).toBe('/b?x=1');
    history.replaceState({ n: 2 }, '', '/c');
    expect(history.state).toEqual({ n: 2 });
    expect(location.pathname).toBe('/c');
  });

  it('destroy() restores history.pushState and history.replaceState, and stops counting', async () => {
    const { fp, queue } = setup({ options: { pageviews: 'history' } });
    expect(history.pushState).not.toBe(pushState);
    fp.destroy();
    expect(history.pushState).toBe(pushState);
    expect(history.replaceState).toBe(replaceState);
    history.pushState({}, '', '/after-destroy');
    popTo('/elsewhere');
    expect(await queue.all()).toEqual([]);
  });

  it('destroy() after another script wrapped pushState keeps their wrapper and records no more page views', async () => {
    const { fp, queue } = setup({ options: { pageviews: 'history' } });
    const ours = history.pushState;
    const theirs = function (this: History, ...args: Parameters<History['pushState']>) {
      return ours.apply(this, args);
    };
    history.pushState = theirs;
    fp.destroy();
    expect(history.pushState).toBe(theirs);
    history.pushState({}, '', '/after-destroy');
    expect(location.pathname).toBe('/after-destroy');
    await settle();
    expect(await queue.all()).toEqual([]);
  });

  it('without the option, history changes send nothing and history is left alone', async () => {
    const { fp, net } = setup();
    expect(history.pushState).toBe(pushState);
    history.pushState({}, '', '/b');
    popTo('/c');
    await vi.advanceTimersByTimeAsync(SETTLE_MS);
    await fp.flush();
    expect(net.requests).toHaveLength(0);
  });
});

describe("pageviews: 'history' records what the visitor saw (issue 15)", () => {
  it('the title the route rendered after pushState, and the time of the change', async () => {
    setUrl('https://www.example.com/');
    document.title = 'Home';
    const { fp, net } = setup({ options: { pageviews: 'history' } });
    history.pushState({}, '', '/pricing');
    const changedAt = Date.now();
    await vi.advanceTimersByTimeAsync(20);
    document.title = 'Pricing — Example'; // set by the app as the route renders
    await vi.advanceTimersByTimeAsync(SETTLE_MS);
    await fp.flush();
    const [event] = net.events();
    expect(event.properties).toMatchObject({ path: '/pricing', title: 'Pricing — Example' });
    expect(event.context.page.title).toBe('Pricing — Example');
    expect(event.created_at).toBe(new Date(changedAt).toISOString());
  });

  it('a redirect before the script arrived (/ → /app/home at boot): the snippet’s page() and the page shown', async () => {
    setUrl('https://www.example.com/app/home');
    document.title = 'App';
    const { fp, net } = setup({ options: { pageviews: 'history' } });
    // The snippet's page() call, replayed with the page it noted at '/'.
    fp._replay('page', [], { time: Date.now() - 500, page: { url: 'https://www.example.com/', title: 'Loading', referrer: '' } });
    await vi.advanceTimersByTimeAsync(SETTLE_MS);
    await fp.flush();
    expect(net.events().map((e) => e.properties.path)).toEqual(['/', '/app/home']);
    expect(net.events()[1].properties.title).toBe('App');
  });
});
