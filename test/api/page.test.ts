import { beforeEach, describe, expect, it, vi } from 'vitest';
import { setUrl } from '../helpers/page';
import { names, settle, setup, T0, useApiEnvironment } from './helpers';

useApiEnvironment();

const URL_NOW = 'https://www.example.com/pricing?utm_source=news';
const PAGE_FIELDS = { url: URL_NOW, path: '/pricing', search: '?utm_source=news', title: 'Pricing', referrer: 'https://ref.example/post' };

beforeEach(() => {
  setUrl(URL_NOW);
  document.title = 'Pricing';
  vi.spyOn(document, 'referrer', 'get').mockReturnValue('https://ref.example/post');
});

/** Calls `page` (or `pageview`) with `args` and returns the one event sent. */
async function pageEvent(args: unknown[], method: 'page' | 'pageview' = 'page') {
  const { fp, net } = setup();
  (fp[method] as any)(...args);
  await fp.flush();
  expect(names(net.events())).toEqual(['Page Viewed']);
  return net.events()[0];
}

describe('page(category?, name?, properties?, options?, callback?)', () => {
  it('page() sends Page Viewed with url, path, search, title and referrer', async () => {
    const event = await pageEvent([]);
    expect(event.properties).toEqual(PAGE_FIELDS);
    expect(event.context.page).toEqual(PAGE_FIELDS);
    expect(event.created_at).toBe(new Date(T0).toISOString());
  });

  it('page(name) adds the name, no category', async () => {
    const event = await pageEvent(['Pricing']);
    expect(event.properties).toEqual({ ...PAGE_FIELDS, name: 'Pricing' });
  });

  it('page(category, name) adds both', async () => {
    const event = await pageEvent(['Docs', 'Install']);
    expect(event.properties).toEqual({ ...PAGE_FIELDS, category: 'Docs', name: 'Install' });
  });

  it('page(properties) merges the properties with the page fields', async () => {
    const event = await pageEvent([{ plan: 'pro' }]);
    expect(event.properties).toEqual({ ...PAGE_FIELDS, plan: 'pro' });
  });

  it('page(category, name, properties) carries all three; properties may override a page field', async () => {
    const event = await pageEvent(['Docs', 'Install', { plan: 'pro', title: 'Custom' }]);
    expect(event.properties).toEqual({ ...PAGE_FIELDS, category: 'Docs', name: 'Install', plan: 'pro', title: 'Custom' });
  });

  it('page(name, properties) carries the name and the properties', async () => {
    const event = await pageEvent(['Pricing', { plan: 'pro' }]);
    expect(event.properties).toEqual({ ...PAGE_FIELDS, name: 'Pricing', plan: 'pro' });
  });

  it.each([
    ['page(callback)', (cb: () => void) => [cb]],
    ['page(name, callback)', (cb: () => void) => ['Pricing', cb]],
    ['page(category, name, properties, options, callback)', (cb: () => void) => ['Docs', 'Install', { a: 1 }, {}, cb]],
  ])('%s calls the callback once stored', async (_label, args) => {
    const { fp, net } = setup();
    const callback = vi.fn();
    fp.page(...args(callback));
    expect(callback).not.toHaveBeenCalled();
    await settle();
    expect(callback).toHaveBeenCalledTimes(1);
    await fp.flush();
    expect(names(net.events())).toEqual(['Page Viewed']);
  });

  it('a callback is not sent as a property', async () => {
    const event = await pageEvent(['Pricing', () => {}]);
    expect(event.properties).toEqual({ ...PAGE_FIELDS, name: 'Pricing' });
  });

  it('takes the page fields at call time, not at send time', async () => {
    const { fp, net } = setup();
    fp.page();
    history.pushState({}, '', '/checkout');
    document.title = 'Checkout';
    fp.page();
    await fp.flush();
    const [first, second] = net.events();
    expect(first.properties).toMatchObject({ path: '/pricing', title: 'Pricing' });
    expect(second.properties).toMatchObject({ url: 'https://www.example.com/checkout', path: '/checkout', search: '', title: 'Checkout' });
  });
});

describe('pageview()', () => {
  it('is the same as page()', async () => {
    expect((await pageEvent([], 'pageview')).properties).toEqual(PAGE_FIELDS);
    expect((await pageEvent(['Docs', 'Install', { plan: 'pro' }], 'pageview')).properties).toEqual({
      ...PAGE_FIELDS,
      category: 'Docs',
      name: 'Install',
      plan: 'pro',
    });
  });
});
