/**
 * Calls `callback` after each SPA navigation that changes the path:
 * `history.pushState`/`replaceState` (wrapped, since browsers fire no event for
 * them) and `popstate`. Query-only or hash-only changes and `replaceState`
 * with the same path are not navigations, so they do not count, and neither
 * does the initial page. Returns a function that undoes everything, restoring
 * the original methods if nobody has wrapped them after us.
 */
export function watchHistory(callback: () => void): () => void {
  let path: string | undefined = location.pathname;
  const check = () => {
    // After teardown our wrapper may still sit inside another script's: stay silent.
    if (path && location.pathname !== path) {
      path = location.pathname;
      callback();
    }
  };
  const wrapped: [string, Function, Function][] = ['pushState', 'replaceState'].map((name) => {
    const original = (history as any)[name];
    const wrapper = function (this: History, ...args: unknown[]) {
      const result = original.apply(this, args);
      check();
      return result;
    };
    (history as any)[name] = wrapper;
    return [name, original, wrapper];
  });
  addEventListener('popstate', check);
  return () => {
    path = undefined;
    removeEventListener('popstate', check);
    for (const [name, original, wrapper] of wrapped) {
      if ((history as any)[name] === wrapper) (history as any)[name] = original;
    }
  };
}
