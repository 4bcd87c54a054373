/**
 * "Every entry point is guarded: wrong argument types, a missing write key, a
 * `load` called twice, calls after `reset` — a clear warning, never an
 * exception."
 */
import { describe, expect, it } from 'vitest';
import type { Firstparty } from '../../src/firstparty';
import { ENDPOINT, HOST, KEY, names, PROFILE_ID, settle, setup, useApiEnvironment, warnings } from './helpers';

useApiEnvironment();

type Call = [label: string, run: (fp: Firstparty) => unknown];

/** Wrong types where the API wants a string, an object, a function or elements. */
const WRONG: Call[] = [
  ['track(42)', (fp) => fp.track(42 as any)],
  ['track(null)', (fp) => fp.track(null as any)],
  ['track({})', (fp) => fp.track({} as any)],
  ['track(undefined)', (fp) => (fp.track as any)()],
  ["track('A', 'not properties')", (fp) => fp.track('A', 'not properties' as any)],
  ["track('A', 42)", (fp) => fp.track('A', 42 as any)],
  ['page(42)', (fp) => fp.page(42)],
  ["page('Docs', 42)", (fp) => fp.page('Docs', 42)],
  ["page('Docs', 'Install', 'not properties')", (fp) => fp.page('Docs', 'Install', 'not properties')],
  ['identify(42)', (fp) => fp.identify(42 as any)],
  ["identify('user-1', 'not traits')", (fp) => fp.identify('user-1', 'not traits' as any)],
  ['group(null)', (fp) => fp.group(null as any)],
  ['group(42)', (fp) => fp.group(42 as any)],
  ['group({})', (fp) => fp.group({} as any)],
  ['alias(null)', (fp) => fp.alias(null as any)],
  ['alias(42)', (fp) => fp.alias(42 as any)],
  ['alias({})', (fp) => fp.alias({} as any)],
  ['setAnonymousId(42)', (fp) => fp.setAnonymousId(42 as any)],
  ['setAnonymousId({})', (fp) => fp.setAnonymousId({} as any)],
  ["ready('not a function')", (fp) => fp.ready('not a function' as any)],
  ["on('track', 'not a function')", (fp) => fp.on('track', 'not a function' as any)],
  ["once('track', 42)", (fp) => fp.once('track', 42 as any)],
  ["addSourceMiddleware('not a function')", (fp) => fp.addSourceMiddleware('not a function' as any)],
  ["trackLink('a.buy', 'Clicked') (a selector, not elements)", (fp) => fp.trackLink('a.buy' as any, 'Clicked')],
  ["trackForm(42, 'Submitted')", (fp) => fp.trackForm(42 as any, 'Submitted')],
];

describe('wrong argument types', () => {
  it.each(WRONG)('%s warns and does not throw (loaded)', (_label, run) => {
    const { fp } = setup();
    expect(() => run(fp)).not.toThrow();
    expect(warnings().length).toBeGreaterThan(0);
  });

  it.each(WRONG)('%s does not throw before load()', async (_label, run) => {
    const { fp } = setup({ noLoad: true });
    expect(() => run(fp)).not.toThrow();
    expect(() => fp.load(KEY, HOST)).not.toThrow();
    await settle();
  });

  it('calls with bad arguments record nothing wrong, and tracking goes on', async () => {
    const { fp, net } = setup();
    for (const [, run] of WRONG) run(fp);
    fp.track('Still Working');
    await fp.flush();
    const sent = names(net.events());
    expect(sent[sent.length - 1]).toBe('Still Working');
    // No event without a usable name, and no event under a number or object name.
    for (const name of sent) expect(typeof name === 'string' && name.trim().length > 0).toBe(true);
    expect(sent).not.toContain('42');
    expect(sent).not.toContain('[object Object]');
    // Bad IDs did not become the profile.
    expect(fp.getProfileId()).toMatch(/^(PR[A-Za-z0-9]{30}|user-1)$/);
  });

  it('trackLink(element, name as a number) warns when clicked, and does not throw', () => {
    document.body.innerHTML = '<a id="x">x</a>';
    const { fp } = setup();
    expect(() => fp.trackLink(document.getElementById('x'), 42 as any)).not.toThrow();
    expect(() => document.getElementById('x')!.dispatchEvent(new MouseEvent('click', { bubbles: true }))).not.toThrow();
    expect(warnings().length).toBeGreaterThan(0);
  });

  it('a name or properties function that throws does not break the click', () => {
    document.body.innerHTML = '<a id="x">x</a>';
    const { fp } = setup();
    fp.trackClick(document.getElementById('x'), () => {
      throw new Error('site bug');
    });
    const event = new MouseEvent('click', { bubbles: true, cancelable: true });
    expect(() => document.getElementById('x')!.dispatchEvent(event)).not.toThrow();
    expect(event.defaultPrevented).toBe(false);
    expect(warnings().length).toBeGreaterThan(0);
  });
});

describe('load()', () => {
  it.each([
    ['no arguments', []],
    ['a missing write key', [undefined, HOST]],
    ['an empty write key', ['', HOST]],
    ['a number as write key', [42, HOST]],
    ['an object as write key', [{ key: KEY }, HOST]],
    ['a missing host', [KEY]],
    ['a number as host', [KEY, 42]],
    ['null as host', [KEY, null]],
  ])('with %s warns, does not throw, and sends nothing', async (_label, args) => {
    const { fp, net } = setup({ noLoad: true });
    expect(() => (fp.load as any)(...args)).not.toThrow();
    expect(warnings().length).toBeGreaterThan(0);
    fp.track('A');
    await fp.flush();
    expect(net.requests).toHaveLength(0);
  });

  it('options of the wrong type warn and fall back to the defaults', async () => {
    const { fp, net } = setup({ noLoad: true });
    expect(() => fp.load(KEY, HOST, 'fast' as any)).not.toThrow();
    expect(() => setup({ options: { storage: 'floppy', pageviews: 'always', consent: 'maybe', flushInterval: 'soon' } })).not.toThrow();
    expect(warnings().filter((w) => w.includes('bad option'))).toHaveLength(4);
    fp.track('A');
    await fp.flush();
    expect(names(net.events())).toEqual(['A']);
  });

  it('called twice warns and keeps the first write key and host', async () => {
    const { fp, net } = setup();
    expect(() => fp.load('other_key_0000000', 'http://other.example:1234')).not.toThrow();
    expect(warnings().some((w) => w.includes('twice'))).toBe(true);
    fp.track('A');
    await fp.flush();
    expect(net.requests.map((r) => r.url)).toEqual([ENDPOINT]);
    expect(net.events()[0].write_key).toBe(KEY);
  });
});

describe('calls after reset()', () => {
  it('every method keeps working after reset(), with the new IDs', async () => {
    document.body.innerHTML = '<a id="x">x</a>';
    const { fp, net } = setup();
    const before = fp.getProfileId();
    fp.reset();
    expect(() => {
      fp.track('T');
      fp.page('P');
      fp.identify({ email: 'a@example.com' });
      fp.group('acme');
      fp.alias('user-9');
      fp.reset();
      fp.setAnonymousId('anon-1');
      fp.trackLink(document.getElementById('x'), 'Clicked');
      fp.debug(false);
    }).not.toThrow();
    document.getElementById('x')!.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    await fp.flush();
    expect(names(net.events())).toEqual(['T', 'Page Viewed', 'Profile Identified', 'Group Identified', 'Profile Aliased', 'Clicked']);
    const [t, , , , , clicked] = net.events();
    expect(t.profile_id).toMatch(PROFILE_ID);
    expect(t.profile_id).not.toBe(before);
    expect(clicked.profile_id).toBe('anon-1');
  });

  it('reset() before load() neither throws nor breaks load()', async () => {
    const { fp, net } = setup({ noLoad: true });
    expect(() => fp.reset()).not.toThrow();
    fp.load(KEY, HOST);
    fp.track('A');
    await fp.flush();
    expect(names(net.events())).toEqual(['A']);
  });
});

describe('every method', () => {
  it('exists on the API, with the names Firstparty’s snippet lists', () => {
    const { fp } = setup({ noLoad: true });
    for (const method of 'trackSubmit trackClick trackLink trackForm pageview identify reset group track ready alias debug page once off on addSourceMiddleware addIntegrationMiddleware setAnonymousId addDestinationMiddleware load flush getProfileId getSessionId consent optOut optIn'.split(' ')) {
      expect(typeof (fp as any)[method], method).toBe('function');
    }
  });

  it('after destroy(), nothing throws', async () => {
    const { fp } = setup();
    fp.destroy();
    for (const name of Object.keys(fp) as (keyof Firstparty)[]) {
      expect(() => (fp[name] as any)('x', {}, {}, () => {}), name).not.toThrow();
    }
    await settle();
  });
});
