import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { watchHistory } from '../../src/lib/watchHistory';
import { setUrl, START_URL } from '../helpers/page';

const undos: (() => void)[] = [];
let originalPush: History['pushState'];
let originalReplace: History['replaceState'];

/** Starts watching; undone after the test. Returns the callback spy (recording the path it saw) and the undo. */
function watch() {
  const paths: string[] = [];
  const callback = vi.fn(() => paths.push(location.pathname));
  const undo = watchHistory(callback);
  undos.push(undo);
  return { callback, paths, undo };
}

/** Back/forward: the URL changes, then popstate fires. */
function popTo(path: string) {
  setUrl(new URL(path, location.href).href);
  dispatchEvent(new PopStateEvent('popstate', { state: null }));
}

beforeEach(() => {
  setUrl('https://www.example.com/start');
  originalPush = history.pushState;
  originalReplace = history.replaceState;
});

afterEach(() => {
  undos.splice(0).forEach((undo) => undo());
  history.pushState = originalPush;
  history.replaceState = originalReplace;
  setUrl(START_URL);
});

describe('watchHistory(callback)', () => {
  it('does not call back for the initial page', () => {
    const { callback } = watch();
    expect(callback).not.toHaveBeenCalled();
  });

  it('calls back once per pushState that changes the path, after the URL changed', () => {
    const { callback, paths } = watch();
    history.pushState({}, '', '/pricing');
    history.pushState({}, '', '/docs/install');
    expect(callback).toHaveBeenCalledTimes(2);
    expect(paths).toEqual(['/pricing', '/docs/install']);
  });

  it('calls back for replaceState that changes the path', () => {
    const { paths } = watch();
    history.replaceState({}, '', '/other');
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
    expect(callback).not.toHaveBeenCalled();
  });

  it('calls back on popstate when the path changed, not when it did not', () => {
    const { paths } = watch();
    history.pushState({}, '', '/a');
    popTo('/start');
    popTo('/start#x');
    popTo('/start?q=1');
    expect(paths).toEqual(['/a', '/start']);
  });

  it('never double counts a path: a push then a popstate to the same path count once', () => {
    const { paths } = watch();
    history.pushState({}, '', '/a');
    popTo('/a');
    history.replaceState({}, '', '/a');
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
    expect(callback).not.toHaveBeenCalled();
  });

  it('two watchers each count, and undoing in reverse order restores the originals', () => {
    const first = watch();
    const second = watch();
    history.pushState({}, '', '/x');
    expect(first.callback).toHaveBeenCalledTimes(1);
    expect(second.callback).toHaveBeenCalledTimes(1);
    second.undo();
    first.undo();
    expect(history.pushState).toBe(originalPush);
    expect(history.replaceState).toBe(originalReplace);
  });
});
