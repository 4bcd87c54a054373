// What trackLink/trackForm (and trackClick/trackSubmit) bind to: the elements a
// site passes (`toElements`), a value computed per element (`forElement`), and
// the listening itself (`bindElements`) — by delegation, holding no element.
// A single-page app renders, binds and drops links all day: a listener per
// element, with the elements kept for its cleanup, left 20,000 anchors and
// 40,418 DOM nodes alive after 20,000 links were rendered and removed
// (issue 15). Here an element is only a key of a WeakMap, so the library
// never keeps one alive.

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
 * One bindElements() call: its handler, or nothing once the call is cleaned up
 * (an array: pop() turns it off and says whether it was on).
 */
type Binding = [handler?: (element: Element) => void];

/**
 * Per type, each bound element's bindings (a Set: an element listed twice in
 * one call is bound once). Weak: an element the page drops is collected with
 * its entry. A binding turned off stays in its elements' sets as an empty
 * array until they go (cleanups run only at destroy()).
 */
const bindings = { click: new WeakMap<EventTarget, Set<Binding>>(), submit: new WeakMap<EventTarget, Set<Binding>>() };

/** Bindings still on, per type: document listens for a type while its count is above 0. */
const active = { click: 0, submit: 0 };

/**
 * Per event, the nodes of its path already served, so that each listener on
 * the path serves only the rest. Weak both ways: a page may keep an event.
 */
const served = new WeakMap<Event, WeakSet<EventTarget>>();

/**
 * The one listener: on document, and on the root of any element bound outside
 * the page's own tree — a shadow root, another document, or the detached tree
 * an element is rendered in before it is inserted. Capture runs from document
 * down, so document serves every bound element on the path it sees, open
 * shadow roots included (wherever they were bound); a shadow root's listener
 * serves what document could not see: a closed root's elements (left out of
 * document's composedPath()), and events that never leave the root (submit is
 * not composed). A bound element anywhere on the path counts, so a click on
 * the text inside a link is the link's.
 */
function dispatch(event: Event): void {
  const done = served.get(event) || new WeakSet();
  served.set(event, done);
  for (const node of event.composedPath()) {
    if (done.has(node)) continue;
    done.add(node);
    for (const binding of bindings[event.type as 'click'].get(node) || []) binding[0]?.(node as Element);
  }
}

/**
 * Calls `handler` with each of `elements` when `type` happens on it or inside it.
 *
 * Listens in the capture phase, from document down: a page handler calling
 * stopPropagation() on the link or form, as many do, cannot hide the event
 * from us. Nothing is delayed or prevented: the tracked event is queued
 * synchronously (in memory, then IndexedDB within the same task's microtasks)
 * and the page-hide handover delivers it if the click or submit unloads the
 * page, so the visitor is never held back.
 *
 * Each element counts once per call (listed twice, it is still one binding),
 * once per call that bound it. Nothing here holds an element: they are keys of
 * a WeakMap, and the returned cleanup holds only its binding, which it turns
 * off (document stops listening when no binding of `type` is left).
 */
export function bindElements(elements: Elements, type: 'click' | 'submit', handler: (element: Element) => void): () => void {
  const binding: Binding = [handler];
  const bound = bindings[type];
  if (!active[type]++) document.addEventListener(type, dispatch, true);
  for (const element of toElements(elements)) {
    // A new Set, not add(): a handler that binds again mid-dispatch does not grow the Set being walked.
    bound.set(element, new Set(bound.get(element)).add(binding));
    // Document, already listening; or a shadow root, another document, or a detached tree. Never
    // removed there: it holds no element, and costs a lookup per event once no binding is left.
    element.getRootNode().addEventListener(type, dispatch, true);
  }
  return () => {
    if (binding.pop() && !--active[type]) document.removeEventListener(type, dispatch, true);
  };
}
