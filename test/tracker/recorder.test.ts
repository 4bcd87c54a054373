/**
 * The recorder (src/tracker/recorder.ts) with a stub identity: the event each
 * recording call makes, name cleaning, and the source middlewares.
 */
import { describe, expect, it, vi } from 'vitest';
import type { Identity } from '../../src/lib/identity';
import { eventJson } from '../../src/lib/context';
import { callbackOf } from '../../src/tracker/callbacks';
import { createRecorder, EVENT_NAMES } from '../../src/tracker/recorder';
import type { CallSite, FirstpartyEvent, SourceMiddleware } from '../../src/types';
import { VERSION } from '../../src/version';
import { KEY as WRITE_KEY, spies, T0, useApiEnvironment, warnings } from '../api/helpers';
import { setUrl } from '../helpers/page';

const PROFILE = 'PRstub00000000000000000000000001';
const SESSION = 'SEstub00000000000000000000000001';
/** A call replayed from the snippet: its own time and page. */
const SITE: CallSite = {
  time: T0 - 5000,
  page: { url: 'https://shop.example.com/cart?utm_source=news#top', title: 'Cart', referrer: 'https://ref.example.org/' },
};

// Fake clock at T0, console.warn recorded, the page back at START_URL after each test.
useApiEnvironment();

/** A stub identity: a fixed session, a profile ID that setProfileId() replaces. */
function stubIdentity() {
  let profile = PROFILE;
  return {
    profileId: () => profile,
    sessionId: vi.fn((_now?: number) => SESSION),
    setProfileId: vi.fn((id: string) => void (profile = id)),
    reset: () => {},
  } satisfies Identity;
}

/** A recorder whose kept events (and their callbacks) and reports are recorded. */
function setup(middlewares: SourceMiddleware[] = []) {
  const identity = stubIdentity();
  const kept: { event: FirstpartyEvent; callback: unknown }[] = [];
  const report = vi.fn();
  const state = { era: 0 };
  const recorder = createRecorder({
    identity: () => identity,
    writeKey: () => WRITE_KEY,
    middlewares,
    era: () => state.era,
    keep: (event, callback) => void kept.push({ event, callback }),
    report,
  });
  const events = () => kept.map(({ event }) => event);
  // As the tracker calls it: the call site carries the call's done (its callback, run once).
  const call = (method: string, ...args: unknown[]) => recorder.call(method, args, { ...SITE, done: callbackOf(args, 300) });
  return { recorder, identity, kept, events, report, state, call };
}

/** The done kept with an event runs the call's callback (once). */
function expectRunsCallback(done: unknown, callback: ReturnType<typeof vi.fn>) {
  expect(callback).not.toHaveBeenCalled();
  (done as () => void)();
  (done as () => void)();
  expect(callback).toHaveBeenCalledTimes(1);
}

describe('track', () => {
  it('makes one event with the call site’s time and page, the IDs, and a fresh event_id', () => {
    const { call, events, identity } = setup();
    call('track', 'Plan Selected', { plan: 'pro', seats: 3 });
    call('track', 'Plan Selected');
    const [event, second] = events();
    expect(Object.keys(event).sort()).toEqual(['context', 'created_at', 'event_id', 'name', 'profile_id', 'properties', 'session_id', 'write_key']);
    expect(event).toMatchObject({
      name: 'Plan Selected',
      write_key: WRITE_KEY,
      profile_id: PROFILE,
      session_id: SESSION,
      properties: { plan: 'pro', seats: 3 },
      created_at: new Date(SITE.time!).toISOString(),
    });
    expect(event.event_id).toMatch(/^EV[A-Za-z0-9]{20}$/);
    expect(second.event_id).not.toBe(event.event_id);
    expect(second.properties).toEqual({});
    // The session is asked for at the call's own time (it renews after inactivity).
    expect(identity.sessionId).toHaveBeenCalledWith(SITE.time);
    expect(event.context).toMatchObject({
      page: { url: SITE.page!.url, path: '/cart', search: '?utm_source=news', title: 'Cart', referrer: 'https://ref.example.org/' },
      campaign: { source: 'news' },
      library: { name: 'firstparty-js', version: VERSION },
    });
  });

  it('without a call site: now, and the page as it is now', () => {
    setUrl('https://www.example.com/pricing');
    const { recorder, events } = setup();
    recorder.call('track', ['Now'], {});
    const [event] = events();
    expect(event.created_at).toBe(new Date(T0).toISOString());
    expect(event.context.page).toMatchObject({ url: 'https://www.example.com/pricing', path: '/pricing' });
  });

  it('copies the properties: a later change by the page does not reach the event', () => {
    const { call, events } = setup();
    const properties = { cart: { items: 1 } };
    call('track', 'Added', properties);
    properties.cart.items = 2;
    expect(events()[0].properties).toEqual({ cart: { items: 1 } });
  });

  it('passes the callback to keep(), in the 2nd, 3rd or 4th position (never as properties)', () => {
    const { call, kept, events } = setup();
    const callbacks = [vi.fn(), vi.fn(), vi.fn()];
    call('track', 'A', callbacks[0]);
    call('track', 'B', { b: 1 }, callbacks[1]);
    call('track', 'C', { c: 1 }, {}, callbacks[2]);
    expect(events().map((event) => event.properties)).toEqual([{}, { b: 1 }, { c: 1 }]);
    kept.forEach(({ callback }, i) => expectRunsCallback(callback, callbacks[i]));
    expect(warnings()).toEqual([]);
  });
});

describe('event names', () => {
  it.each([
    ['control characters (C0, DEL, C1) removed', '\u0000Sig\u001fned\u007f Up\u009f', 'Signed Up'],
    ['whitespace trimmed', '  \t Signed Up \n ', 'Signed Up'],
    ['capped at 200 characters', 'N'.repeat(300), 'N'.repeat(200)],
    ['capped after cleaning', '\u0001'.repeat(50) + 'é'.repeat(250), 'é'.repeat(200)],
    ['capped after trimming', '   ' + 'N'.repeat(300), 'N'.repeat(200)],
  ])('%s', (_, name, expected) => {
    const { call, events } = setup();
    call('track', name);
    expect(events().map((e) => e.name)).toEqual([expected]);
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['only control characters', '\u0000\u0007\u009f'],
    ['not a string', 42],
    ['missing', undefined],
    ['an object', { name: 'A' }],
  ])('%s: warned about and dropped', (_, name) => {
    const { call, kept } = setup();
    call('track', name);
    expect(kept).toEqual([]);
    expect(warnings()).toEqual([expect.stringContaining('event without a name dropped')]);
  });
});

describe('page', () => {
  it('records Page Viewed with the call site’s url, path, search, title and referrer', () => {
    const { call, events } = setup();
    call('page');
    const [event] = events();
    expect(event.name).toBe(EVENT_NAMES.page);
    expect(event.name).toBe('Page Viewed');
    expect(event.properties).toEqual({
      url: SITE.page!.url,
      path: '/cart',
      search: '?utm_source=news',
      title: 'Cart',
      referrer: 'https://ref.example.org/',
    });
    expect(event.created_at).toBe(new Date(SITE.time!).toISOString());
  });

  it('page(name) and page(category, name, properties, options, callback)', () => {
    const { call, kept } = setup();
    const callback = vi.fn();
    call('page', 'Pricing');
    call('page', 'Docs', 'Install', { version: 2 }, {}, callback);
    const [first, second] = kept;
    expect(first.event.properties).toMatchObject({ name: 'Pricing' });
    expect(first.event.properties).not.toHaveProperty('category');
    expect(second.event.properties).toMatchObject({ category: 'Docs', name: 'Install', version: 2, path: '/cart' });
    expectRunsCallback(second.callback, callback);
  });

  it('page(properties) lets the page’s own fields override ours', () => {
    const { call, events } = setup();
    call('page', { title: 'Custom', section: 'shop' });
    expect(events()[0].properties).toMatchObject({ title: 'Custom', section: 'shop', path: '/cart' });
  });

  it('warns about arguments it cannot use, and records anyway', () => {
    const { call, events } = setup();
    call('page', 'Docs', 'Install', 42);
    expect(events()).toHaveLength(1);
    expect(warnings()).toEqual([expect.stringContaining('page(): arguments ignored')]);
  });

  it('without a call site: the page as it is now', () => {
    setUrl('https://www.example.com/docs?q=1');
    document.title = 'Docs';
    const { recorder, events } = setup();
    recorder.call('pageview', [], {});
    expect(events()[0].properties).toMatchObject({ url: 'https://www.example.com/docs?q=1', path: '/docs', search: '?q=1', title: 'Docs' });
  });
});

describe('identify', () => {
  it('identify(id, traits, options, callback) sets the profile ID first: the event carries it', () => {
    const { call, kept, identity } = setup();
    const callback = vi.fn();
    call('identify', '  user-42 ', { email: 'a@example.com' }, {}, callback);
    expect(identity.setProfileId).toHaveBeenCalledWith('user-42');
    const [{ event, callback: passed }] = kept;
    expect(event).toMatchObject({ name: EVENT_NAMES.identify, profile_id: 'user-42', properties: { email: 'a@example.com' } });
    expect(event.name).toBe('Profile Identified');
    expectRunsCallback(passed, callback);
  });

  it('identify(traits, options, callback) keeps the profile ID', () => {
    const { call, kept, identity } = setup();
    const callback = vi.fn();
    call('identify', { plan: 'pro' }, {}, callback);
    expect(identity.setProfileId).not.toHaveBeenCalled();
    expect(kept[0].event).toMatchObject({ name: 'Profile Identified', profile_id: PROFILE, properties: { plan: 'pro' } });
    expectRunsCallback(kept[0].callback, callback);
  });
});

describe('group', () => {
  it('records Group Identified with group_id and the traits', () => {
    const { call, kept } = setup();
    const callback = vi.fn();
    call('group', 'acme', { plan: 'team' }, {}, callback);
    expect(kept[0].event).toMatchObject({ name: 'Group Identified', properties: { group_id: 'acme', plan: 'team' } });
    expectRunsCallback(kept[0].callback, callback);
  });

  it.each([[[]], [['']], [[42]], [[{ plan: 'team' }]]])('without an ID %j: warned about, nothing recorded', (args) => {
    const { recorder, kept } = setup();
    recorder.call('group', args, SITE);
    expect(kept).toEqual([]);
    expect(warnings()).toEqual([expect.stringContaining('group() needs an ID')]);
  });
});

describe('alias', () => {
  it('records Profile Aliased under the previous ID, then continues as the new one', () => {
    const { call, events, identity } = setup();
    call('alias', 'user-42');
    expect(events()[0]).toMatchObject({ name: 'Profile Aliased', profile_id: PROFILE, properties: { previous_id: PROFILE, new_id: 'user-42' } });
    expect(identity.profileId()).toBe('user-42');
  });

  it('alias(newId, previousId) uses the given previous ID', () => {
    const { call, events } = setup();
    call('alias', 'user-42', 'legacy-7');
    expect(events()[0].properties).toEqual({ previous_id: 'legacy-7', new_id: 'user-42' });
  });

  it.each([[[]], [['']], [[{}]]])('without an ID %j: warned about, nothing recorded, the profile kept', (args) => {
    const { recorder, kept, identity } = setup();
    recorder.call('alias', args, SITE);
    expect(kept).toEqual([]);
    expect(identity.setProfileId).not.toHaveBeenCalled();
    expect(warnings()).toEqual([expect.stringContaining('alias() needs an ID')]);
  });
});

describe('setProfile', () => {
  it('sets a trimmed ID of up to 199 characters', () => {
    const { recorder, identity } = setup();
    recorder.setProfile(' user-1 ');
    recorder.setProfile('x'.repeat(199));
    expect(identity.setProfileId.mock.calls).toEqual([['user-1'], ['x'.repeat(199)]]);
    expect(spies.warn).not.toHaveBeenCalled();
  });

  it.each([
    ['200 characters', 'x'.repeat(200)],
    ['10,000 characters', 'x'.repeat(10000)],
    ['blank', '   '],
    ['a number', 42],
    ['an object', { id: 'a' }],
  ])('refuses %s with a warning, keeping the profile', (_, id) => {
    const { recorder, identity } = setup();
    recorder.setProfile(id);
    expect(identity.setProfileId).not.toHaveBeenCalled();
    expect(identity.profileId()).toBe(PROFILE);
    expect(warnings()).toEqual([expect.stringContaining('bad profile ID')]);
  });

  it('ignores null and undefined silently', () => {
    const { recorder, identity } = setup();
    recorder.setProfile(undefined);
    recorder.setProfile(null);
    expect(identity.setProfileId).not.toHaveBeenCalled();
    expect(spies.warn).not.toHaveBeenCalled();
  });
});

describe('source middlewares', () => {
  it('run in the order added, each seeing the one before’s changes', () => {
    const order: string[] = [];
    const { call, events } = setup([
      ({ payload, next }) => {
        order.push('first:' + payload.name);
        next({ ...payload, name: 'Renamed', properties: { ...payload.properties, first: 1 } });
      },
      ({ payload, next }) => {
        order.push('second:' + payload.name + ':' + JSON.stringify(payload.properties));
        next({ ...payload, properties: { ...payload.properties, second: 2 } });
      },
    ]);
    call('track', 'Original', { a: 0 });
    expect(order).toEqual(['first:Original', 'second:Renamed:{"a":0,"first":1}']);
    expect(events()).toHaveLength(1);
    expect(events()[0]).toMatchObject({ name: 'Renamed', properties: { a: 0, first: 1, second: 2 } });
  });

  it('may let the event through unchanged (the same object)', () => {
    let seen: FirstpartyEvent | undefined;
    const { call, events } = setup([({ payload, next }) => next((seen = payload))]);
    call('track', 'A');
    expect(events()[0]).toBe(seen);
  });

  it.each([
    ['next(null)', null],
    ['next(a string)', 'event'],
    ['next(an array)', []],
  ])('%s drops the event with a `dropped` report; later middlewares do not run', (_, result) => {
    const later = vi.fn();
    const { call, kept, report } = setup([({ next }) => next(result as never), later]);
    call('track', 'A');
    expect(kept).toEqual([]);
    expect(later).not.toHaveBeenCalled();
    expect(report).toHaveBeenCalledWith('dropped', { reason: 'middleware' });
  });

  it('never calling next() drops the event silently', () => {
    const { call, kept, report } = setup([() => {}]);
    call('track', 'A');
    expect(kept).toEqual([]);
    expect(report).not.toHaveBeenCalled();
    expect(spies.warn).not.toHaveBeenCalled();
  });

  it('a middleware that throws drops the event with a warning (it may have been stripping PII)', () => {
    const later = vi.fn();
    const { call, kept } = setup([
      () => {
        throw new Error('boom');
      },
      later,
    ]);
    expect(() => call('track', 'A', { email: 'a@example.com' })).not.toThrow();
    expect(kept).toEqual([]);
    expect(later).not.toHaveBeenCalled();
    expect(warnings()).toEqual([expect.stringContaining('middleware threw; event dropped')]);
  });

  it('next() called twice (or after throwing) counts once', () => {
    const { call, kept } = setup([
      ({ payload, next }) => {
        next(payload);
        next(payload);
        next(null);
      },
    ]);
    call('track', 'A');
    expect(kept).toHaveLength(1);

    let saved: (() => void) | undefined;
    const throwing = setup([
      ({ payload, next }) => {
        saved = () => next(payload);
        throw new Error('boom');
      },
    ]);
    throwing.call('track', 'B');
    saved!();
    expect(throwing.kept).toEqual([]);
  });

  it('may call next() later: the event is kept then, with the callback', () => {
    let release = () => {};
    const { call, kept } = setup([({ payload, next }) => void (release = () => next(payload))]);
    const callback = vi.fn();
    call('track', 'Later', {}, {}, callback);
    expect(kept).toEqual([]);
    release();
    expect(kept).toHaveLength(1);
    expectRunsCallback(kept[0].callback, callback);
  });

  it("get a context of their own: a change reaches neither the next event nor the shared context whose JSON is cached", () => {
    const plain = setup();
    plain.call('track', 'Before');
    const shared = plain.events()[0].context;
    const { call, events } = setup([
      ({ payload, next }) => {
        payload.context.page.url = payload.context.page.url.replace(/\?.*/, '');
        next(payload);
      },
    ]);
    call('track', 'A');
    call('track', 'B');
    const [a, b] = events();
    expect(a.context).not.toBe(shared);
    expect(a.context).not.toBe(b.context);
    expect(a.context.page.url).toBe('https://shop.example.com/cart');
    expect(shared.page.url).toBe(SITE.page!.url);
    // Serialized after an event of the same page state: the middleware's change is what goes.
    expect(eventJson(plain.events()[0] as never)).toContain('?utm_source=news');
    expect(eventJson(a as never)).toContain('"url":"https://shop.example.com/cart"');
  });

  it('without middlewares, events of one page state share one context (its JSON reused)', () => {
    const { call, events } = setup();
    call('track', 'A');
    call('track', 'B');
    expect(events()[0].context).toBe(events()[1].context);
  });

  it('a next() that comes after recording stopped (the era changed: opt-out, refusal) drops the event', () => {
    let release = () => {};
    const { call, kept, report, state } = setup([({ payload, next }) => void (release = () => next(payload))]);
    call('track', 'Late');
    state.era++;
    release();
    expect(kept).toEqual([]);
    expect(report).toHaveBeenCalledWith('dropped', { reason: 'privacy' });
    // An event recorded in the new era goes through.
    call('track', 'Now');
    release();
    expect(kept.map(({ event }) => event.name)).toEqual(['Now']);
  });

  it('payload.obj is the event itself, and is not enumerable (never sent)', () => {
    let payload: (FirstpartyEvent & { obj: FirstpartyEvent }) | undefined;
    const { call, events } = setup([(context) => context.next((payload = context.payload))]);
    call('track', 'A', { plan: 'pro' });
    expect(payload!.obj).toBe(payload);
    expect(payload!.obj.name).toBe('A');
    expect(Object.keys(payload!)).not.toContain('obj');
    expect(JSON.parse(JSON.stringify(events()[0]))).not.toHaveProperty('obj');
  });

  it('payload.obj of a later middleware is the event the earlier one passed on', () => {
    let obj: FirstpartyEvent | undefined;
    const { call } = setup([({ payload, next }) => next({ ...payload, name: 'Changed' }), ({ payload, next }) => next((obj = payload.obj))]);
    call('track', 'A');
    expect(obj!.name).toBe('Changed');
  });
});

const BUG_SITE = { time: Date.UTC(2025, 3, 1), page: { url: 'https://shop.example.com/cart', title: 'Cart', referrer: '' } };

function bareRecorder() {
  let profile = 'PRstub00000000000000000000000001';
  const identity = { profileId: () => profile, sessionId: () => 'SE1', setProfileId: (id: string) => void (profile = id), reset: () => {} };
  const events: FirstpartyEvent[] = [];
  const recorder = createRecorder({ identity: () => identity, writeKey: () => 'wk', middlewares: [], era: () => 0, keep: (event) => void events.push(event), report: () => {} });
  return { recorder, identity, events };
}

describe('alias() records the new_id the profile becomes', () => {
  it('alias("  user-42 ") continues as "user-42" but the event says new_id "  user-42 "', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { recorder, identity, events } = bareRecorder();
    recorder.call('alias', ['  user-42 '], BUG_SITE);
    expect(events[0].properties.new_id).toBe(identity.profileId());
  });

  it('alias(an ID of 200+ characters) records Profile Aliased, yet the profile ID is refused and kept', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { recorder, identity, events } = bareRecorder();
    const before = identity.profileId();
    recorder.call('alias', ['u'.repeat(300)], BUG_SITE);
    // Either no alias event, or the profile really continues as new_id.
    expect(events.length === 0 || identity.profileId() !== before).toBe(true);
  });
});

describe("page('', name) keeps the name", () => {
  it("page('', 'Install') records name 'Install'", () => {
    const { recorder, events } = bareRecorder();
    recorder.call('page', ['', 'Install'], BUG_SITE);
    expect(events[0].properties.name).toBe('Install');
  });
});
