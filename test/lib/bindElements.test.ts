import { afterEach, describe, expect, it, vi } from 'vitest';
import v8 from 'node:v8';
import vm from 'node:vm';
import { bindElements, forElement, toElements, type Elements } from '../../src/lib/bindElements';

/** Cleanups of the bindings a test made: run after it, so document's listeners come and go per test. */
const unbinds: (() => void)[] = [];

afterEach(() => {
  unbinds.splice(0).forEach((unbind) => unbind());
  document.body.innerHTML = '';
});

/** bindElements(), cleaned up after the test. */
function bind(elements: Elements, type: 'click' | 'submit', handler: (element: Element) => void): () => void {
  const unbind = bindElements(elements, type, handler);
  unbinds.push(unbind);
  return unbind;
}

const click = (target: EventTarget, init: EventInit = {}) => target.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true, ...init }));
const submit = (target: EventTarget) => target.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));

function html(markup: string): HTMLElement {
  document.body.innerHTML = markup;
  return document.body;
}

describe('toElements(elements)', () => {
  it('wraps a single element', () => {
    const a = html('<a id="a"></a>').querySelector('#a')!;
    expect(toElements(a)).toEqual([a]);
  });

  it('takes a NodeList, an HTMLCollection, an array and a jQuery-like array-like, in order', () => {
    const body = html('<a class="x" id="one"></a><a class="x" id="two"></a>');
    const [one, two] = [body.querySelector('#one')!, body.querySelector('#two')!];
    expect(toElements(body.querySelectorAll('.x'))).toEqual([one, two]);
    expect(toElements(body.getElementsByClassName('x'))).toEqual([one, two]);
    expect(toElements([one, two])).toEqual([one, two]);
    expect(toElements({ 0: one, 1: two, length: 2 } as ArrayLike<Element>)).toEqual([one, two]);
  });

  it('gives [] for null, undefined and an empty list', () => {
    expect(toElements(null)).toEqual([]);
    expect(toElements(undefined)).toEqual([]);
    expect(toElements(document.querySelectorAll('.missing'))).toEqual([]);
  });

  it('skips what is not an element: text nodes, strings, null entries', () => {
    const body = html('<a id="a"></a>text');
    const a = body.querySelector('#a')!;
    expect(toElements([a, body.lastChild as any, 'a' as any, null as any])).toEqual([a]);
    expect(toElements(body.lastChild as any)).toEqual([]);
    expect(toElements('a.buy' as any)).toEqual([]);
  });
});

describe('forElement(value, element)', () => {
  it('returns a plain value as is', () => {
    const a = document.createElement('a');
    expect(forElement('Clicked', a)).toBe('Clicked');
    const props = { a: 1 };
    expect(forElement(props, a)).toBe(props);
  });

  it('calls a function with the element', () => {
    const a = document.createElement('a');
    a.href = 'https://example.com/x';
    expect(forElement((el: Element) => 'Go ' + el.getAttribute('href'), a)).toBe('Go https://example.com/x');
  });
});

describe('bindElements(elements, type, handler)', () => {
  it('calls the handler with the bound element, also for a click on a child', () => {
    const body = html('<a id="a"><span id="s"><b id="b">x</b></span></a>');
    const handler = vi.fn();
    bind(body.querySelector('#a'), 'click', handler);
    click(body.querySelector('#b')!);
    click(body.querySelector('#a')!);
    expect(handler.mock.calls).toEqual([[body.querySelector('#a')], [body.querySelector('#a')]]);
  });

  it('binds each element of a list, each reporting itself', () => {
    const body = html('<button id="1"></button><button id="2"></button>');
    const seen: string[] = [];
    bind(body.querySelectorAll('button'), 'click', (el) => seen.push(el.id));
    click(body.querySelectorAll('button')[1]);
    click(body.querySelectorAll('button')[0]);
    expect(seen).toEqual(['2', '1']);
  });

  it('reports nested bound elements innermost first, as bubbling listeners did', () => {
    const body = html('<div id="outer"><a id="inner">x</a></div>');
    const seen: string[] = [];
    bind(body.querySelectorAll('div, a'), 'click', (el) => seen.push(el.id));
    click(body.querySelector('#inner')!);
    expect(seen).toEqual(['inner', 'outer']);
  });

  it('still sees a click the page stops on the link (it listens in the capture phase on document)', () => {
    const body = html('<a id="a"><span id="s">x</span></a>');
    const a = body.querySelector('#a')!;
    a.addEventListener('click', (event) => event.stopPropagation());
    body.querySelector('#s')!.addEventListener('click', (event) => event.stopImmediatePropagation());
    const handler = vi.fn();
    bind(a, 'click', handler);
    click(body.querySelector('#s')!);
    expect(handler).toHaveBeenCalledTimes(1);
    expect(handler).toHaveBeenCalledWith(a);
  });

  it('never prevents the default action (the navigation or submission proceeds), and runs before the page does', () => {
    const body = html('<a id="a" href="/next"></a><form id="f"></form>');
    const order: string[] = [];
    body.querySelector('#a')!.addEventListener('click', () => order.push('page'));
    bind(body.querySelector('#a'), 'click', () => order.push('bound'));
    bind(body.querySelector('#f'), 'submit', () => order.push('bound'));
    const clickEvent = new MouseEvent('click', { bubbles: true, cancelable: true });
    const submitEvent = new Event('submit', { bubbles: true, cancelable: true });
    expect(body.querySelector('#a')!.dispatchEvent(clickEvent)).toBe(true);
    expect(body.querySelector('#f')!.dispatchEvent(submitEvent)).toBe(true);
    expect(clickEvent.defaultPrevented).toBe(false);
    expect(submitEvent.defaultPrevented).toBe(false);
    // Called synchronously, within the event's dispatch: nothing waits for a timer.
    expect(order).toEqual(['bound', 'page', 'bound']);
  });

  it('records a form submission, from the form or a button inside it, and only the given type', () => {
    const body = html('<form id="f"><button id="go">Go</button></form>');
    const form = body.querySelector('#f')!;
    const handler = vi.fn();
    bind(form, 'submit', handler);
    click(form);
    expect(handler).not.toHaveBeenCalled();
    submit(form);
    expect(handler).toHaveBeenCalledTimes(1);
    expect(handler).toHaveBeenCalledWith(form);
  });

  it('an element bound by two calls reports once per call; listed twice in one call, once', () => {
    const body = html('<a id="a"></a>');
    const a = body.querySelector('#a')!;
    const first = vi.fn();
    const second = vi.fn();
    const unbindFirst = bind([a, a], 'click', first);
    bind(a, 'click', second);
    click(a);
    expect([first.mock.calls.length, second.mock.calls.length]).toEqual([1, 1]);
    unbindFirst();
    click(a);
    expect([first.mock.calls.length, second.mock.calls.length]).toEqual([1, 2]);
  });

  it('a click binding and a submit binding of one element each hear their own type', () => {
    const body = html('<form id="f"></form>');
    const form = body.querySelector('#f')!;
    const seen: string[] = [];
    bind(form, 'click', () => seen.push('click'));
    bind(form, 'submit', () => seen.push('submit'));
    submit(form);
    click(form);
    expect(seen).toEqual(['submit', 'click']);
  });

  it('the returned function turns its binding off, and document stops listening once none is left', () => {
    const body = html('<button id="1"></button><button id="2"></button>');
    const added = vi.spyOn(document, 'addEventListener');
    const removed = vi.spyOn(document, 'removeEventListener');
    try {
      const handler = vi.fn();
      const unbindOne = bindElements(body.querySelector('button'), 'click', handler);
      const unbindAll = bindElements(body.querySelectorAll('button'), 'click', handler);
      // One listener, capturing (adding it again is a no-op).
      const listeners = added.mock.calls.filter(([type]) => type === 'click');
      expect(new Set(listeners.map(([, listener]) => listener)).size).toBe(1);
      expect(listeners.every(([, , capture]) => capture === true)).toBe(true);
      unbindOne();
      expect(removed).not.toHaveBeenCalled();
      unbindAll();
      unbindAll(); // twice: no harm, nothing counted twice
      expect(removed.mock.calls).toEqual([['click', listeners[0][1], true]]);
      body.querySelectorAll('button').forEach((b) => click(b));
      expect(handler).not.toHaveBeenCalled();
      // Bound again: document listens again.
      bind(body.querySelector('button'), 'click', handler);
      click(body.querySelector('button')!);
      expect(handler).toHaveBeenCalledTimes(1);
    } finally {
      added.mockRestore();
      removed.mockRestore();
    }
  });

  it('hears elements in open and closed shadow roots: composed clicks, and submits, which stay inside', () => {
    const body = html('<div id="open"></div><div id="closed"></div>');
    const seen: string[] = [];
    for (const mode of ['open', 'closed'] as const) {
      const root = body.querySelector('#' + mode)!.attachShadow({ mode });
      root.innerHTML = `<a id="${mode}-a"><span>x</span></a><form id="${mode}-f"></form>`;
      bind(root.querySelector('a'), 'click', (el) => seen.push(el.id));
      bind(root.querySelector('form'), 'submit', (el) => seen.push(el.id));
      click(root.querySelector('span')!, { composed: true });
      click(root.querySelector('span')!); // not composed: it never reaches document
      submit(root.querySelector('form')!);
    }
    expect(seen).toEqual(['open-a', 'open-a', 'open-f', 'closed-a', 'closed-a', 'closed-f']);
  });

  it('hears an element bound before it is in the page, there and once it is inserted', () => {
    const list = document.createElement('ul');
    list.innerHTML = '<li><a id="a">x</a></li>';
    const a = list.querySelector('a')!;
    const handler = vi.fn();
    bind(a, 'click', handler);
    a.click();
    expect(handler).toHaveBeenCalledTimes(1);
    document.body.appendChild(list);
    a.click();
    expect(handler).toHaveBeenCalledTimes(2);
  });

  it('hears an element bound before it is inserted into a shadow root, once per click', () => {
    const body = html('<div id="host"></div>');
    const fragment = document.createElement('template').content;
    fragment.appendChild(document.createElement('div')).innerHTML = '<a id="a"><span>x</span></a>';
    const a = fragment.querySelector('a')!;
    const handler = vi.fn();
    bind(a, 'click', handler);
    body.querySelector('#host')!.attachShadow({ mode: 'open' }).appendChild(fragment);
    click(a.querySelector('span')!, { composed: true });
    expect(handler.mock.calls).toEqual([[a]]);
  });

  it('binds nothing (and does not throw) for null or non-elements', () => {
    expect(() => bind(null, 'click', () => {})()).not.toThrow();
    expect(() => bind('a' as any, 'click', () => {})()).not.toThrow();
  });
});

describe('bindElements() holds no element', () => {
  // Node's collector, as `node --expose-gc` gives it: only then can a test see an element collected.
  v8.setFlagsFromString('--expose-gc');
  const gc: () => void = vm.runInNewContext('gc');

  /**
   * Renders, binds and removes `count` links in a function whose references
   * end with it. The cleanup stays in `unbinds` until afterEach, as
   * firstparty.ts keeps it until destroy(): it must not keep the links.
   */
  function renderBindRemove(count: number, detached: boolean): WeakRef<Element>[] {
    const list = document.createElement('div');
    list.innerHTML = '<a href="/x"><span>x</span></a>'.repeat(count);
    if (!detached) document.body.appendChild(list);
    const links = list.querySelectorAll('a');
    bind(links, 'click', () => {});
    list.remove();
    return Array.from(links, (link) => new WeakRef(link));
  }

  it.each([
    ['bound in the page', false],
    ['bound before being inserted', true],
  ])('a removed link is collected while its binding is still on (%s)', async (_, detached) => {
    const refs = renderBindRemove(100, detached as boolean);
    for (let i = 0; i < 3 && refs.some((ref) => ref.deref()); i++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      gc();
    }
    expect(refs.filter((ref) => ref.deref()).length).toBe(0);
    expect(unbinds).toHaveLength(1);
  });
});
