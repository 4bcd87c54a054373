/**
 * Calls `callback` once each time the page stops being visible: on
 * `visibilitychange` to hidden (the last event mobile browsers reliably fire
 * before killing a tab) and on `pagehide` (fired without a visibility change
 * in some navigations, e.g. Safari — WebKit bug 151234). The two usually fire
 * together, so a hide is reported once, and re-armed when the page is visible
 * again, including a page restored from the back/forward cache (`pageshow`
 * with `persisted`). Returns a function that removes the listeners.
 */
export function onPageHide(callback: () => void): () => void {
  let hidden = false;
  const hide = () => {
    if (!hidden) {
      hidden = true;
      callback();
    }
  };
  const onVisibility = () => {
    if (document.visibilityState === 'hidden') hide();
    else hidden = false;
  };
  const onShow = () => {
    hidden = false;
  };
  addEventListener('visibilitychange', onVisibility, true);
  addEventListener('pagehide', hide, true);
  addEventListener('pageshow', onShow, true);
  return () => {
    removeEventListener('visibilitychange', onVisibility, true);
    removeEventListener('pagehide', hide, true);
    removeEventListener('pageshow', onShow, true);
  };
}
