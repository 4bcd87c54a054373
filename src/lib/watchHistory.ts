/**
 * Calls `callback(url, time)` once per SPA navigation that changes the path:
 * `history.pushState`/`replaceState` (wrapped, since browsers fire no event
 * for them) and `popstate`. Query-only or hash-only changes and
 * `replaceState` with the same path are not navigations, so they do not
 * count, and neither does the initial page — unless the path changed before
 * this script arrived: the page the site last recorded (`lastPage()`, read
 * once the snippet's queue has been replayed) is not the one shown, as when
 * an app redirects `/` to `/app/home` at boot.
 *
 * The call comes `SETTLE_MS` after the change, so that the page view reads
 * what the visitor sees: apps set `document.title` as the new route renders,
 * after the URL changed (React's effects run after the next paint, about 16
 * ms on). It comes sooner when the page may be going away, or when the path
 * changes again: before the next route replaces it. `url` and `time` are
 * those of the change. Returns a function that undoes everything, restoring
 * the original methods if nobody has wrapped them after us.
 */
import { onPageHide } from './onPageHide';

/** ms a new route is given to render before its page view is read (see above; a frame is 16 ms). */
export const SETTLE_MS = 100;

/** The path of `url` on this page ('' when it is no URL). */
const pathOf = (url: unknown): string => {
  try {
    return new URL(url as string, location.href).pathname;
  } catch {
    return '';
  }
};

export function watchHistory(callback: (url: string, time: number) => void, lastPage: () => string | undefined = () => undefined): () => void {
  let path: string | undefined = location.pathname;
  let pending: [url: string, time: number] | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** A path change was seen: the comparison with the last page() at load is moot. */
  let moved = false;

  /** The page view waiting to settle, recorded now. */
  const record = () => {
    clearTimeout(timer);
    const view = pending;
    pending = undefined;
    if (view && path) callback(...view);
  };

  /** A page view for the path shown now, once it has rendered. */
  const changed = () => {
    moved = true;
    record();
    path = location.pathname;
    pending = [location.href, Date.now()];
    timer = setTimeout(record, SETTLE_MS);
  };

  const check = () => {
    // After teardown our wrapper may still sit inside another script's: stay silent.
    if (path && location.pathname !== path) changed();
  };

  const wrapped: [string, Function, Function][] = ['pushState', 'replaceState'].map((name) => {
    const original = (history as any)[name];
    const wrapper = function (this: History, ...args: unknown[]) {
      // A new path: the page view waiting on the current one is read before it goes.
      if (args[2] != null && pathOf(args[2]) !== location.pathname) record();
      const result = original.apply(this, args);
      check();
      return result;
    };
    (history as any)[name] = wrapper;
    return [name, original, wrapper];
  });
  addEventListener('popstate', check);
  const stopHide = onPageHide(record);
  // After the calls queued in the snippet are replayed (synchronously, after load()).
  queueMicrotask(() => {
    const last = lastPage();
    if (path && !moved && last !== undefined && pathOf(last) !== location.pathname) changed();
  });
  return () => {
    record();
    path = undefined;
    removeEventListener('popstate', check);
    stopHide();
    for (const [name, original, wrapper] of wrapped) {
      if ((history as any)[name] === wrapper) (history as any)[name] = original;
    }
  };
}
