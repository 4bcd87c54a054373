import { afterEach, describe, expect, it, vi } from 'vitest';
import { bindElements, forElement, toElements } from '../../src/lib/bindElements';

afterEach(() => {
  document.body.innerHTML = '';
});

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
    const body = html('<a id="a"><span id="s">x</span></a>');
    const handler = vi.fn();
    bindElements(body.querySelector('#a'), 'click', handler);
    body.querySelector('#s')!.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(handler).toHaveBeenCalledTimes(1);
    expect(handler).toHaveBeenCalledWith(body.querySelector('#a'));
  });

  it('binds each element of a list, each reporting itself', () => {
    const body = html('<button id="1"></button><button id="2"></button>');
    const seen: string[] = [];
    bindElements(body.querySelectorAll('button'), 'click', (el) => seen.push(el.id));
    body.querySelectorAll('button')[1].dispatchEvent(new MouseEvent('click', { bubbles: true }));
    body.querySelectorAll('button')[0].dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(seen).toEqual(['2', '1']);
  });

  it('never prevents the default action (the navigation or submission proceeds)', () => {
    const body = html('<a id="a" href="/next"></a><form id="f"></form>');
    bindElements(body.querySelector('#a'), 'click', () => {});
    bindElements(body.querySelector('#f'), 'submit', () => {});
    const click = new MouseEvent('click', { bubbles: true, cancelable: true });
    const submit = new Event('submit', { bubbles: true, cancelable: true });
    expect(body.querySelector('#a')!.dispatchEvent(click)).toBe(true);
    expect(body.querySelector('#f')!.dispatchEvent(submit)).toBe(true);
    expect(click.defaultPrevented).toBe(false);
    expect(submit.defaultPrevented).toBe(false);
  });

  it('listens only to the given type', () => {
    const body = html('<form id="f"></form>');
    const handler = vi.fn();
    bindElements(body.querySelector('#f'), 'submit', handler);
    body.querySelector('#f')!.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(handler).not.toHaveBeenCalled();
    body.querySelector('#f')!.dispatchEvent(new Event('submit', { bubbles: true }));
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it('the returned function removes every listener it added', () => {
    const body = html('<button id="1"></button><button id="2"></button>');
    const handler = vi.fn();
    const unbind = bindElements(body.querySelectorAll('button'), 'click', handler);
    unbind();
    body.querySelectorAll('button').forEach((b) => b.dispatchEvent(new MouseEvent('click', { bubbles: true })));
    expect(handler).not.toHaveBeenCalled();
  });

  it('binds nothing (and does not throw) for null or non-elements', () => {
    expect(() => bindElements(null, 'click', () => {})()).not.toThrow();
    expect(() => bindElements('a' as any, 'click', () => {})()).not.toThrow();
  });
});
