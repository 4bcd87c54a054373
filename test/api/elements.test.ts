import { describe, expect, it } from 'vitest';
import { hidePage, names, setup, useApiEnvironment } from './helpers';

useApiEnvironment();

/** Adds `html` to the body and returns the body. */
function page(html: string): HTMLElement {
  document.body.innerHTML = html;
  return document.body;
}

function click(element: Element): { notPrevented: boolean; event: MouseEvent } {
  const event = new MouseEvent('click', { bubbles: true, cancelable: true });
  const notPrevented = element.dispatchEvent(event);
  return { notPrevented, event };
}

function submit(form: Element): { notPrevented: boolean; event: Event } {
  const event = new Event('submit', { bubbles: true, cancelable: true });
  const notPrevented = form.dispatchEvent(event);
  return { notPrevented, event };
}

describe.each(['trackLink', 'trackClick'] as const)('%s(elements, name, properties?)', (method) => {
  it('records on click of an element, with the name and properties, without preventing default', async () => {
    const body = page('<a id="buy" href="/checkout">Buy</a>');
    const { fp, net } = setup();
    fp[method](body.querySelector('#buy'), 'Buy Clicked', { plan: 'pro' });
    await fp.flush();
    expect(net.requests).toHaveLength(0); // nothing until the click
    const { notPrevented, event } = click(body.querySelector('#buy')!);
    expect(notPrevented).toBe(true);
    expect(event.defaultPrevented).toBe(false);
    await fp.flush();
    expect(net.events()).toHaveLength(1);
    expect(net.events()[0]).toMatchObject({ name: 'Buy Clicked', properties: { plan: 'pro' } });
  });

  it('binds every element of a NodeList; name and properties may be functions of the clicked element', async () => {
    const body = page('<a class="plan" data-plan="free">Free</a><a class="plan" data-plan="pro"><span>Pro</span></a>');
    const { fp, net } = setup();
    fp[method](
      body.querySelectorAll('.plan'),
      (element) => 'Plan ' + element.getAttribute('data-plan') + ' Clicked',
      (element) => ({ plan: element.getAttribute('data-plan'), text: element.textContent }),
    );
    click(body.querySelectorAll('.plan')[1].querySelector('span')!); // a click inside the link
    click(body.querySelectorAll('.plan')[0]);
    await fp.flush();
    expect(net.events().map((e) => [e.name, e.properties])).toEqual([
      ['Plan pro Clicked', { plan: 'pro', text: 'Pro' }],
      ['Plan free Clicked', { plan: 'free', text: 'Free' }],
    ]);
  });

  it('records once per click, every click', async () => {
    const body = page('<button id="b">Go</button>');
    const { fp, net } = setup();
    fp[method](body.querySelector('#b'), 'Go Clicked');
    click(body.querySelector('#b')!);
    click(body.querySelector('#b')!);
    await fp.flush();
    expect(names(net.events())).toEqual(['Go Clicked', 'Go Clicked']);
  });

  it('the event is handed to sendBeacon if the click unloads the page at once', () => {
    const body = page('<a id="out" href="https://elsewhere.example/">Out</a>');
    const { fp, beacons } = setup();
    fp[method](body.querySelector('#out'), 'Outbound Clicked');
    click(body.querySelector('#out')!);
    hidePage(); // the navigation hides the page before any flush
    expect(beacons.events().map((e) => e.name)).toEqual(['Outbound Clicked']);
  });

  it('stops recording after destroy()', async () => {
    const body = page('<button id="b">Go</button>');
    const { fp, queue } = setup();
    fp[method](body.querySelector('#b'), 'Go Clicked');
    fp.destroy();
    click(body.querySelector('#b')!);
    expect(await queue.all()).toEqual([]);
  });
});

describe.each(['trackForm', 'trackSubmit'] as const)('%s(forms, name, properties?)', (method) => {
  it('records on submit, with the name and properties, without preventing default', async () => {
    const body = page('<form id="signup" action="/signup"><input name="email"></form>');
    const { fp, net } = setup();
    fp[method](body.querySelector('#signup'), 'Signup Submitted', { source: 'footer' });
    const { notPrevented, event } = submit(body.querySelector('#signup')!);
    expect(notPrevented).toBe(true);
    expect(event.defaultPrevented).toBe(false);
    await fp.flush();
    expect(net.events()).toHaveLength(1);
    expect(net.events()[0]).toMatchObject({ name: 'Signup Submitted', properties: { source: 'footer' } });
  });

  it('binds every form of a NodeList, with name/properties as functions of the form', async () => {
    const body = page('<form id="a"></form><form id="b"></form>');
    const { fp, net } = setup();
    fp[method](
      body.querySelectorAll('form'),
      (form) => 'Form ' + form.id,
      (form) => ({ id: form.id }),
    );
    submit(body.querySelector('#b')!);
    submit(body.querySelector('#a')!);
    await fp.flush();
    expect(net.events().map((e) => [e.name, e.properties])).toEqual([
      ['Form b', { id: 'b' }],
      ['Form a', { id: 'a' }],
    ]);
  });

  it('does not record on click', async () => {
    const body = page('<form id="f"><button>Send</button></form>');
    const { fp, net } = setup();
    fp[method](body.querySelector('#f'), 'Sent');
    click(body.querySelector('#f')!);
    await fp.flush();
    expect(net.requests).toHaveLength(0);
  });

  it('the event is handed to sendBeacon if the submission unloads the page at once', () => {
    const body = page('<form id="f" action="/next"></form>');
    const { fp, beacons } = setup();
    fp[method](body.querySelector('#f'), 'Form Sent');
    submit(body.querySelector('#f')!);
    hidePage();
    expect(beacons.events().map((e) => e.name)).toEqual(['Form Sent']);
  });
});
