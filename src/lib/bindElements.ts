/** An element, a list of them, or a jQuery-style collection. */
export type Elements = Element | ArrayLike<Element> | null | undefined;

/** A value, or a function of the element that computes it when the event fires. */
export type PerElement<T> = T | ((element: Element) => T);

/** The elements of `Elements` as an array (skipping anything that is not an element). */
export function toElements(elements: Elements): Element[] {
  if (!elements) return [];
  // At most 1,000: an array-like may claim any length.
  const list = (elements as Element).nodeType ? [elements as Element] : Array.prototype.slice.call(elements, 0, 1000);
  return list.filter((element: Element) => element && element.nodeType === 1);
}

/** Resolves a `PerElement` value for one element. */
export function forElement<T>(value: PerElement<T>, element: Element): T {
  return typeof value === 'function' ? (value as (element: Element) => T)(element) : value;
}

/**
 * Listens for `type` on each element and calls `handler` with the element.
 * Nothing is delayed or prevented: the tracked event is queued synchronously
 * (in memory, then IndexedDB within the same task's microtasks) and the
 * page-hide beacon delivers it if the click or submit unloads the page, so
 * the visitor is never held back. Returns a function removing the listeners.
 */
export function bindElements(elements: Elements, type: 'click' | 'submit', handler: (element: Element) => void): () => void {
  const bound = toElements(elements);
  const listener = (event: Event) => handler(event.currentTarget as Element);
  bound.forEach((element) => element.addEventListener(type, listener));
  return () => bound.forEach((element) => element.removeEventListener(type, listener));
}
