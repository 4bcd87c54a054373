/**
 * Window listeners added as a set and removed as one: returns the function
 * that removes them. `capture` puts them in the capture phase, ahead of any
 * listener the page adds to document.
 */
export function listen(listeners: [string, (event: any) => unknown][], capture?: boolean): () => void {
  listeners.forEach(([type, listener]) => addEventListener(type, listener, capture));
  return () => listeners.forEach(([type, listener]) => removeEventListener(type, listener, capture));
}
