import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SETTLE_MS, watchHistory } from '../../src/lib/watchHistory';
import { setUrl, START_URL } from '../helpers/page';

const undos: (() => void)[] = [];
let originalPush: History['pushState'];
let originalReplace: History['replaceState'];

/** Starts watching; undone after the test. Returns the callback spy (recording the path it saw) and the undo. */
function watch(lastPage?: () => string | undefined) {
  const paths: string[] = [];
  const titles: string[] = [];
  const callback = vi.fn((url: string, _time: number) => {
    paths.push(new URL(url).pathname);
    titles.push(document.title);
  });
  const undo = watchHistory(callback, lastPage);
  undos.push(undo);
  return { callback, paths, titles, undo };
}

/** Back/forward: the URL changes, then popstate fires. */
function popTo(path: string) {
  setUrl(new URL(path, location.href).href);
  dispatchEvent(new PopStateEvent('popstate', { state: null }));
}

/** The routes render: page views waiting SETTLE_MS are recorded. */
const rendered = () => vi.advanceTimersByTime(SETTLE_MS);

beforeEach(() => {
  vi.useFakeTimers();
  setUrl('https://www.example.com/start');
  originalPush = history.pushState;
  originalReplace = history.replaceState;
});

afterEach(() => {
  undos.splice(0).forEach((undo) => undo());
  vi.useRealTimers();
  document.title = '';
  history.pushState = originalPush;
  history.replaceState = originalReplace;
  setUrl(START_URL);
});

describe('watchHistory(callback)', () => {
  it('does not call back for the initial page', () => {
    const { callback } = watch();
    rendered();
    expect(callback).not.toHaveBeenCalled();
  });

  it('calls back once per pushState that changes the path, after the URL changed', () => {
    const { callback, paths } = watch();
    history.pushState({}, '', '/pricing');
    history.pushState({}, '', '/docs/install');
    rendered();
    expect(callback).toHaveBeenCalledTimes(2);
    rendered();
    expect(paths).toEqual(['/pricing', '/docs/install']);
  });

  it('calls back for replaceState that changes the path', () => {
    const { paths } = watch();
    history.replaceState({}, '', '/other');
    rendered();
    expect(paths).toEqual(['/other']);
  });

  it('ignores same-path replaceState and pushState, and query-only or hash-only changes', () => {
    const { callback } = watch();
    history.replaceState({ a: 1 }, '', '/start');
    history.pushState({}, '', '/start');
    history.pushState({}, '', '/start?tab=2');
    history.replaceState({}, '', '/start?tab=3#faq');
    history.pushState({}, '', '#top');
    history.pushState({}, ''); // no URL at all
    rendered();
    expect(callback).not.toHaveBeenCalled();
  });

  it('calls back on popstate when the path changed, not when it did not', () => {
    const { paths } = watch();
    history.pushState({}, '', '/a');
    popTo('/start');
    popTo('/start#x');
    popTo('/start?q=1');
    rendered();
    expect(paths).toEqual(['/a', '/start']);
  });

  it('never double counts a path: a push then a popstate to the same path count once', () => {
    const { paths } = watch();
    history.pushState({}, '', '/a');
    popTo('/a');
    history.replaceState({}, '', '/a');
    rendered();
    expect(paths).toEqual(['/a']);
  });

  it('leaves pushState/replaceState behaving as before: arguments, this, return value', () => {
    const spy = vi.fn(originalPush);
    history.pushState = spy;
    watch();
    const state = { n: 1 };
    const result = history.pushState(state, 'title', '/b');
    expect(spy).toHaveBeenCalledWith(state, 'title', '/b');
    expect(spy.mock.contexts[0]).toBe(history);
    expect(result).toBeUndefined();
    expect(history.state).toEqual(state);
    expect(location.pathname).toBe('/b');
  });

  it('a throwing pushState (e.g. a cross-origin URL) still throws to its caller, and counts nothing', () => {
    const { callback } = watch();
    expect(() => history.pushState({}, '', 'https://elsewhere.example/x')).toThrow();
    rendered();
    expect(callback).not.toHaveBeenCalled();
  });

  it('undo restores the original methods and stops listening to popstate', () => {
    const { callback, undo } = watch();
    expect(history.pushState).not.toBe(originalPush);
    expect(history.replaceState).not.toBe(originalReplace);
    undo();
    expect(history.pushState).toBe(originalPush);
    expect(history.replaceState).toBe(originalReplace);
    history.pushState({}, '', '/after');
    popTo('/after-pop');
    rendered();
    expect(callback).not.toHaveBeenCalled();
  });

  it('undo leaves a wrapper installed later by someone else in place, and our callback stops', () => {
    const { callback, undo } = watch();
    const ours = history.pushState;
    const theirs = vi.fn(function (this: History, ...args: Parameters<History['pushState']>) {
      return ours.apply(this, args);
    });
    history.pushState = theirs;
    undo();
    expect(history.pushState).toBe(theirs);
    history.pushState({}, '', '/after');
    expect(theirs).toHaveBeenCalledTimes(1);
    expect(location.pathname).toBe('/after');
    rendered();
    expect(callback).not.toHaveBeenCalled();
  });

  it('two watchers each count, and undoing in reverse order restores the originals', () => {
    const first = watch();
    const second = watch();
    history.pushState({}, '', '/x');
    rendered();
    expect(first.callback).toHaveBeenCalledTimes(1);
    rendered();
    expect(second.callback).toHaveBeenCalledTimes(1);
    second.undo();
    first.undo();
    expect(history.pushState).toBe(originalPush);
    expect(history.replaceState).toBe(originalReplace);
  });
});

describe('watchHistory: what the visitor saw (issue 15)', () => {
  it('reads the page after the route rendered: the new title set after pushState, at SETTLE_MS', () => {
    document.title = 'Home';
    const { callback, titles } = watch();
    const before = Date.now();
    history.pushState({}, '', '/pricing');
    document.title = 'Pricing'; // the app renders the route after the URL changed
    vi.advanceTimersByTime(SETTLE_MS - 1);
    expect(callback).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(titles).toEqual(['Pricing']);
    const [url, time] = callback.mock.calls[0];
    expect(url).toBe('https://www.example.com/pricing');
    // The time is the change's, not the settle's.
    expect(time).toBe(before);
  });

  it('a second path change before the first settled: the first is recorded before it goes, with its own URL and title', () => {
    document.title = 'Home';
    const { paths, titles } = watch();
    history.pushState({}, '', '/a');
    document.title = 'A';
    history.replaceState({}, '', '/b'); // a redirect
    document.title = 'B';
    rendered();
    expect(paths).toEqual(['/a', '/b']);
    expect(titles).toEqual(['A', 'B']);
  });

  it('a same-path replaceState (Next.js keeps scroll state this way) does not cut the settle short', () => {
    const { callback, titles } = watch();
    history.pushState({}, '', '/a');
    history.replaceState({ scroll: 1 }, '', '/a');
    history.replaceState({ scroll: 2 }, '');
    document.title = 'A';
    expect(callback).not.toHaveBeenCalled();
    rendered();
    expect(titles).toEqual(['A']);
  });

  it('a page that hides before the route settled records it at once', () => {
    const { paths } = watch();
    history.pushState({}, '', '/leaving');
    dispatchEvent(new Event('pagehide'));
    expect(paths).toEqual(['/leaving']);
    rendered();
    expect(paths).toEqual(['/leaving']);
  });

  it('a path changed before the script arrived: the last page() recorded is not the page shown, so it is recorded', async () => {
    setUrl('https://www.example.com/app/home'); // the app redirected / → /app/home at boot
    const { paths } = watch(() => 'https://www.example.com/');
    await Promise.resolve();
    rendered();
    expect(paths).toEqual(['/app/home']);
  });

  it('no page() recorded yet, or the same path: nothing extra', async () => {
    const none = watch(() => undefined);
    const same = watch(() => 'https://www.example.com/start?utm_source=x');
    await Promise.resolve();
    rendered();
    expect(none.callback).not.toHaveBeenCalled();
    expect(same.callback).not.toHaveBeenCalled();
  });
});
