import { listen } from './listen';

/** Whether the page is hidden now (a background tab, or one going away). */
export const pageHidden = (): boolean => document.visibilityState === 'hidden';

/**
 * Calls `onHide` at every signal that the page is, or may be, going away:
 * - `visibilitychange` to hidden: the last event mobile browsers reliably
 *   fire before killing a tab;
 * - `pagehide`: fired without a visibility change in some navigations, e.g.
 *   Safari (WebKit bug 151234);
 * - `freeze`: Chromium freezes hidden tabs (and may discard them) without
 *   running anything more until `resume`;
 * - `beforeunload` while the document is still loading: WebKit then fires
 *   neither `pagehide` nor `visibilitychange` as it leaves (WebKit bug
 *   319515, playwright#41754; seen in test/browser/engine-bugs.mjs, bug 3b).
 * On a navigation or close Chromium fires `pagehide` and then
 * `visibilitychange`: the callback runs at each, not once per hide, so events
 * the page records in its own listeners between them are handed over too.
 * `onShow` runs when the page is visible again, including a page restored
 * from the back/forward cache (`pageshow` with `persisted`). Returns a
 * function that removes the listeners.
 */
export function onPageHide(onHide: () => void, onShow: () => void = () => {}): () => void {
  const onVisibility = () => (pageHidden() ? onHide() : onShow());
  const onPageShow = (event: PageTransitionEvent) => event.persisted && onShow();
  const onBeforeUnload = () => document.readyState != 'complete' && onHide();
  // Capture on window: ours run before any listener the page adds to document.
  return listen(
    [
      ['visibilitychange', onVisibility],
      ['pagehide', onHide],
      ['freeze', onHide],
      ['pageshow', onPageShow],
      ['beforeunload', onBeforeUnload],
    ],
    true,
  );
}
