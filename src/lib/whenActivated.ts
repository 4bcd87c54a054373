/**
 * Prerendering (Chrome's speculation rules, `<script type="speculationrules">`):
 * a page the browser prerenders may never be opened, so nothing is recorded
 * or sent while `document.prerendering` is true. Calls made meanwhile wait
 * (the tracker holds them), and happen at activation, with its time: the
 * visitor saw the page then, not when the browser guessed they might.
 */

/**
 * Runs `start(activatedAt)` now (`activatedAt` 0: not prerendered), or when
 * the visitor opens the prerendered page (`prerenderingchange`, fired at the
 * document), with that moment in ms since the epoch. Returns a function that
 * cancels a start still waiting.
 */
export function whenActivated(start: (activatedAt: number) => void): () => void {
  if (!(document as Document & { prerendering?: boolean }).prerendering) return start(0), () => {};
  const activate = () => start(Date.now());
  document.addEventListener('prerenderingchange', activate, { once: true });
  return () => document.removeEventListener('prerenderingchange', activate);
}
