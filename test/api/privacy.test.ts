import { describe, expect, it, vi } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import { createFirstparty } from '../../src/firstparty';
import { memoryStore } from '../../src/lib/queue';
import { fakeBeacon, fakeFetch } from '../helpers/fakeNetwork';
import { setUrl } from '../helpers/page';
import {
  cookieNames,
  HOST,
  hidePage,
  KEY,
  names,
  PROFILE_ID,
  queuedNames,
  remember,
  setGlobalPrivacyControl,
  settle,
  setup,
  spies,
  T0,
  useApiEnvironment,
  warnings,
} from './helpers';

useApiEnvironment();

/** Every way of recording, once each. */
function recordEverything(fp: ReturnType<typeof setup>['fp']) {
  fp.track('A', { x: 1 });
  fp.page();
  fp.identify('user-1', { email: 'ada@example.com' });
  fp.group('acme');
  fp.alias('user-2');
}

describe('respectPrivacySignals (Global Privacy Control)', () => {
  it('with navigator.globalPrivacyControl = true: nothing stored (no fpid cookie, nothing queued) and nothing sent', async () => {
    setGlobalPrivacyControl(true);
    const { fp, net, beacons, queue } = setup();
    recordEverything(fp);
    await settle();
    await fp.flush();
    hidePage();
    await vi.advanceTimersByTimeAsync(60000);
    expect(await queue.all()).toEqual([]);
    expect(net.requests).toHaveLength(0);
    expect(beacons.calls).toHaveLength(0);
    expect(cookieNames()).not.toContain('fpid');
    expect(cookieNames()).not.toContain('fsid');
    expect(localStorage.length).toBe(0);
  });

  it('is on by default, and honoured even if consent(true) is given', async () => {
    setGlobalPrivacyControl(true);
    const { fp, net, queue } = setup({ options: { consent: 'pending' } });
    fp.track('A');
    fp.consent(true);
    fp.track('B');
    await fp.flush();
    expect(net.requests).toHaveLength(0);
    expect(await queue.all()).toEqual([]);
    expect(cookieNames()).not.toContain('fpid');
  });

  it('with respectPrivacySignals: false, tracks despite the signal', async () => {
    setGlobalPrivacyControl(true);
    const { fp, net } = setup({ options: { respectPrivacySignals: false } });
    expect(warnings()).toEqual([]); // a valid option
    fp.track('A');
    await fp.flush();
    expect(names(net.events())).toEqual(['A']);
    expect(cookieNames()).toContain('fpid');
  });

  it('globalPrivacyControl = false tracks', async () => {
    setGlobalPrivacyControl(false);
    const { fp, net } = setup();
    fp.track('A');
    await fp.flush();
    expect(names(net.events())).toEqual(['A']);
  });
});

describe("consent: 'pending'", () => {
  it('holds events in memory: nothing queued, no fpid cookie, nothing sent', async () => {
    const { fp, net, beacons, queue } = setup({ options: { consent: 'pending' } });
    recordEverything(fp);
    await settle();
    await fp.flush();
    hidePage();
    expect(await queue.all()).toEqual([]);
    expect(net.requests).toHaveLength(0);
    expect(beacons.calls).toHaveLength(0);
    expect(cookieNames()).not.toContain('fpid');
    expect(cookieNames()).not.toContain('fsid');
    expect(localStorage.getItem('fpid')).toBeNull();
  });

  it('consent(true) delivers the held events, in order, then tracks normally, storing the IDs', async () => {
    const { fp, net } = setup({ options: { consent: 'pending' } });
    fp.track('Held 1');
    fp.page();
    fp.consent(true);
    fp.track('After Consent');
    await fp.flush();
    expect(names(net.events())).toEqual(['Held 1', 'Page Viewed', 'After Consent']);
    expect(cookieNames()).toContain('fpid');
    expect(new Set(net.events().map((e) => e.profile_id)).size).toBe(1);
  });

  it('consent(true) delivers the held events with their original timestamps', async () => {
    const { fp, net } = setup({ options: { consent: 'pending' } });
    fp.track('Held');
    vi.setSystemTime(T0 + 90_000);
    fp.consent(true);
    await fp.flush();
    expect(net.events()[0].created_at).toBe(new Date(T0).toISOString());
  });

  it('consent(true) delivers the held events with the page they were made on', async () => {
    setUrl('https://www.example.com/landing');
    document.title = 'Landing';
    const { fp, net } = setup({ options: { consent: 'pending' } });
    fp.page();
    history.pushState({}, '', '/pricing'); // the visitor moves on before answering the banner
    document.title = 'Pricing';
    fp.consent(true);
    await fp.flush();
    const [event] = net.events();
    expect(event.context.page).toMatchObject({ path: '/landing', title: 'Landing' });
    expect(event.properties).toMatchObject({ path: '/landing', title: 'Landing' });
  });

  it.each([[false], ['denied'], ['no'], [0], ['false'], [undefined]])('consent(%j) refuses: the held events are discarded; nothing is stored or sent', async (value) => {
    const { fp, net, queue } = setup({ options: { consent: 'pending' } });
    recordEverything(fp);
    fp.consent(value as never);
    fp.track('After Refusal');
    await settle();
    await fp.flush();
    expect(net.requests).toHaveLength(0);
    expect(await queue.all()).toEqual([]);
    expect(cookieNames()).not.toContain('fpid');
  });

  it("consent: false tracks nothing until consent(true)", async () => {
    const { fp, net } = setup({ options: { consent: false } });
    fp.track('Before');
    await fp.flush();
    expect(net.requests).toHaveLength(0);
    fp.consent(true);
    fp.track('After');
    await fp.flush();
    expect(names(net.events())).toEqual(['After']);
  });
});

describe('optOut() / optIn()', () => {
  it('optOut() stops tracking and empties the queue (this tab’s events and any other’s)', async () => {
    const queue = memoryStore();
    const other = setup({ queue, replies: ['network-error'] });
    other.fp.track('Other Tab');
    await other.fp.flush(); // fails: stays queued
    const { fp, net } = setup({ queue, replies: ['network-error'] });
    fp.track('Mine');
    await fp.flush();
    expect(await queuedNames(queue)).toEqual(['Other Tab', 'Mine']);
    fp.optOut();
    fp.track('After Opt Out');
    await settle();
    expect(await queue.all()).toEqual([]);
    await fp.flush();
    expect(net.delivered()).toEqual([]);
  });

  it('is remembered across a reload: a new tracker in the same document tracks nothing', async () => {
    const queue = memoryStore();
    setup({ queue }).fp.optOut();
    const reloaded = setup({ queue });
    recordEverything(reloaded.fp);
    await settle();
    await reloaded.fp.flush();
    hidePage();
    expect(await queue.all()).toEqual([]);
    expect(reloaded.net.requests).toHaveLength(0);
    expect(reloaded.beacons.calls).toHaveLength(0);
  });

  it('optIn() restores tracking at once and across a reload', async () => {
    const first = setup();
    first.fp.optOut();
    first.fp.optIn();
    first.fp.track('Back In');
    await first.fp.flush();
    expect(names(first.net.events())).toEqual(['Back In']);
    const reloaded = setup();
    reloaded.fp.track('Next Page');
    await reloaded.fp.flush();
    expect(names(reloaded.net.events())).toEqual(['Next Page']);
  });

  it('optIn() on the page after an opt-out restores tracking, with a stored profile', async () => {
    setup().fp.optOut();
    const { fp, net } = setup(); // the reload: opted out at load
    fp.optIn();
    fp.track('Back In');
    await fp.flush();
    expect(names(net.events())).toEqual(['Back In']);
    // Tracking as usual again: the profile is kept for the next page.
    expect(cookieNames()).toContain('fpid');
    expect(setup().fp.getProfileId()).toBe(net.events()[0].profile_id);
  });
});

describe('storage option', () => {
  it("storage: 'none' writes no cookie, no localStorage and no IndexedDB, and still sends", async () => {
    setUrl('https://www.example.com/');
    vi.stubGlobal('indexedDB', new IDBFactory());
    const net = fakeFetch();
    const beacons = fakeBeacon();
    const fp = remember(createFirstparty({ fetch: net.fetch, sendBeacon: beacons.send }));
    fp.load(KEY, HOST, { storage: 'none' });
    fp.track('A');
    fp.identify('user-1');
    fp.page();
    await fp.flush();
    expect(names(net.events())).toEqual(['A', 'Profile Identified', 'Page Viewed']);
    expect(spies.jar.writes).toEqual([]);
    expect(localStorage.length).toBe(0);
    expect(await indexedDB.databases()).toEqual([]);
  });

  it("storage: 'memory' writes no cookie and no localStorage; the IDs last for the page only", async () => {
    const { fp, net } = setup({ options: { storage: 'memory' } });
    fp.track('A');
    await fp.flush();
    expect(net.events()[0].profile_id).toBe(fp.getProfileId());
    expect(spies.jar.writes).toEqual([]);
    expect(localStorage.length).toBe(0);
    expect(setup({ options: { storage: 'memory' } }).fp.getProfileId()).not.toBe(fp.getProfileId());
  });

  it("storage: 'localStorage' keeps the IDs without cookies", () => {
    const { fp } = setup({ options: { storage: 'localStorage' } });
    const id = fp.getProfileId();
    expect(spies.jar.writes).toEqual([]);
    expect(localStorage.getItem('fpid')).toBe(id);
    expect(setup({ options: { storage: 'localStorage' } }).fp.getProfileId()).toBe(id);
  });

  it("storage: 'cookie' (the default) keeps the profile in the fpid cookie", () => {
    const { fp } = setup();
    const id = fp.getProfileId();
    expect(id).toBeTruthy();
    expect(spies.jar.get('fpid')).toBe(id);
  });
});

/** What another tab's optOut() looks like from here: the flag set, then the storage event. */
function optOutInAnotherTab(fire = true) {
  document.cookie = 'fp_optout=1; Path=/';
  localStorage.setItem('fp_optout', '1');
  if (fire) dispatchEvent(new StorageEvent('storage', { key: 'fp_optout', newValue: '1' }));
}

describe('issue 14: opt-out is origin-wide and immediate', () => {
  it("another tab's opt-out, heard through the storage event: this tab records nothing more, sends nothing, hands nothing over at hide", async () => {
    const { fp, net, beacons, queue } = setup();
    fp.track('Viewed Cart');
    await fp.flush();
    fp.track('Queued'); // not yet stored (nor sent) when the other tab opts out
    optOutInAnotherTab();
    fp.track('Added To Cart');
    await fp.flush();
    hidePage();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(names(net.events())).toEqual(['Viewed Cart']);
    expect(beacons.calls).toHaveLength(0);
    expect(await queue.all()).toEqual([]);
    expect(fp.getProfileId()).toBeUndefined();
  });

  it("another tab's opt-out not heard (no storage event: another subdomain, localStorage refused) is found before the next send", async () => {
    const { fp, net, beacons, queue } = setup();
    await fp.flush();
    fp.track('Added To Cart');
    optOutInAnotherTab(false);
    await fp.flush();
    hidePage();
    expect(net.requests).toHaveLength(0);
    expect(beacons.calls).toHaveLength(0);
    expect(await queue.all()).toEqual([]);
    fp.track('After');
    await fp.flush();
    expect(net.requests).toHaveLength(0);
  });

  it("the opting-out tab's page-hide sends nothing of what it emptied from the shared queue", async () => {
    const queue = memoryStore();
    const other = setup({ queue, replies: ['network-error'] });
    other.fp.track('Other Tab');
    await other.fp.flush();
    const { fp, beacons } = setup({ queue });
    fp.optOut();
    hidePage();
    await settle();
    expect(beacons.calls).toHaveLength(0);
    expect(other.beacons.calls).toHaveLength(0); // the other tab found the flag
  });

  it('optOut() deletes the IDs from cookies and localStorage; optIn() starts a new profile', async () => {
    const { fp, net } = setup();
    fp.track('Before');
    await fp.flush();
    const before = net.events()[0].profile_id;
    fp.optOut();
    expect(spies.jar.get('fpid')).toBeUndefined();
    expect(spies.jar.get('fsid')).toBeUndefined();
    expect(localStorage.getItem('fpid')).toBeNull();
    expect(localStorage.getItem('fsid')).toBeNull();
    expect(fp.getProfileId()).toBeUndefined();
    fp.optIn();
    fp.track('After');
    await fp.flush();
    const after = net.events()[1];
    expect(after.profile_id).not.toBe(before);
    expect(after.profile_id).toBe(fp.getProfileId());
    expect(spies.jar.get('fpid')).toBe(after.profile_id);
  });

  it('optIn(profileId) continues as the profile the site passes', async () => {
    const { fp, net } = setup();
    fp.optOut();
    fp.optIn('user-42');
    fp.track('After');
    await fp.flush();
    expect(net.events()[0].profile_id).toBe('user-42');
    expect(fp.getProfileId()).toBe('user-42');
  });

  it('a page loaded after an opt-out deletes IDs an older release left', async () => {
    document.cookie = 'fpid=PRold; Path=/';
    localStorage.setItem('fpid', 'PRold');
    localStorage.setItem('fp_optout', '1');
    setup();
    expect(spies.jar.get('fpid')).toBeUndefined();
    expect(localStorage.getItem('fpid')).toBeNull();
  });
});

describe('issue 14: consent is a yes only when it is a yes', () => {
  it("consent('granted') grants, like consent(true)", async () => {
    const { fp, net } = setup({ options: { consent: 'pending' } });
    fp.track('Held');
    fp.consent('granted');
    await fp.flush();
    expect(names(net.events())).toEqual(['Held']);
  });

  it.each([['denied'], ['false'], [0], ['Pending']])("an invalid consent option %j is taken as false (stricter), with a warning", async (consent) => {
    const { fp, net } = setup({ options: { consent } });
    fp.track('A');
    await fp.flush();
    expect(net.requests).toHaveLength(0);
    if (consent !== 'denied') expect(warnings()).toEqual([expect.stringContaining('bad option consent, using false')]);
  });

  it("an invalid storage option ('None') is taken as 'none', with a warning: no cookie, nothing in localStorage", async () => {
    const { fp, net } = setup({ options: { storage: 'None' } });
    fp.track('A');
    await fp.flush();
    expect(names(net.events())).toEqual(['A']);
    expect(warnings()).toEqual([expect.stringContaining('bad option storage, using none')]);
    expect(spies.jar.writes).toEqual([]);
    expect(localStorage.length).toBe(0);
  });

  it("consent(true) before load(…, { consent: 'pending' }) is remembered", async () => {
    const { fp, net } = setup({ noLoad: true });
    fp.consent(true);
    fp.track('Before Load');
    fp.load(KEY, HOST, { consent: 'pending' });
    fp.track('After Load');
    await fp.flush();
    expect(names(net.events())).toEqual(['Before Load', 'After Load']);
  });

  it('consent(false) before load() is remembered, and deletes what an earlier visit stored', async () => {
    const earlier = setup();
    earlier.fp.track('Earlier');
    await settle();
    const { fp, net, queue } = setup({ noLoad: true, queue: earlier.queue });
    earlier.fp.destroy();
    fp.consent(false);
    fp.load(KEY, HOST);
    fp.track('A');
    await fp.flush();
    await settle();
    expect(net.requests).toHaveLength(0);
    expect(await queue.all()).toEqual([]);
    expect(spies.jar.get('fpid')).toBeUndefined();
  });

  it('consent withdrawn after a yes: the queued events and the stored IDs are deleted, nothing more is sent', async () => {
    const { fp, net, queue, beacons } = setup({ replies: ['network-error'] });
    fp.track('Before');
    await fp.flush(); // fails: queued
    expect(await queuedNames(queue)).toEqual(['Before']);
    fp.consent(false);
    await settle();
    expect(await queue.all()).toEqual([]);
    expect(spies.jar.get('fpid')).toBeUndefined();
    expect(localStorage.getItem('fpid')).toBeNull();
    await vi.advanceTimersByTimeAsync(120_000);
    hidePage();
    expect(net.requests).toHaveLength(1);
    expect(beacons.calls).toHaveLength(0);
  });

  it("getProfileId() is undefined until consent, then the ID every event carries, the held ones included", async () => {
    const { fp, net } = setup({ options: { consent: 'pending' } });
    fp.track('Held');
    expect(fp.getProfileId()).toBeUndefined();
    expect(fp.getSessionId()).toBeUndefined();
    fp.consent(true);
    const id = fp.getProfileId();
    expect(id).toMatch(PROFILE_ID);
    fp.track('After');
    await fp.flush();
    expect(net.events().map((e) => e.profile_id)).toEqual([id, id]);
  });

  it('setAnonymousId() and reset() before consent wait with the calls, in order', async () => {
    const { fp, net } = setup({ options: { consent: 'pending' } });
    fp.setAnonymousId('anon-1');
    fp.track('As Anon');
    fp.reset();
    fp.track('After Reset');
    fp.consent(true);
    await fp.flush();
    const [anon, after] = net.events();
    expect(anon.profile_id).toBe('anon-1');
    expect(after.profile_id).not.toBe('anon-1');
    expect(after.profile_id).toBe(fp.getProfileId());
  });
});

describe('issue 14: checked where events leave', () => {
  it('a page under Global Privacy Control sends nothing an earlier visit left queued, and deletes it', async () => {
    const earlier = setup({ replies: ['network-error'] });
    earlier.fp.track('Earlier Visit');
    await earlier.fp.flush();
    earlier.fp.destroy();
    vi.advanceTimersByTime(60_000); // a later visit
    setGlobalPrivacyControl(true);
    const { fp, net, beacons, queue } = setup({ queue: earlier.queue });
    await settle();
    await fp.flush();
    hidePage();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(net.requests).toHaveLength(0);
    expect(beacons.calls).toHaveLength(0);
    expect(await queue.all()).toEqual([]);
  });

  it("a page waiting for consent sends nothing an earlier visit left, and keeps it until consent is given", async () => {
    const earlier = setup({ replies: ['network-error'] });
    earlier.fp.track('Earlier Visit');
    await earlier.fp.flush();
    earlier.fp.destroy();
    const { fp, net, beacons, queue } = setup({ queue: earlier.queue, options: { consent: 'pending' } });
    await settle();
    await fp.flush();
    hidePage();
    expect(net.requests).toHaveLength(0);
    expect(beacons.calls).toHaveLength(0);
    expect(await queuedNames(queue)).toEqual(['Earlier Visit']);
    fp.consent(true);
    await fp.flush(); // (a closed tab's events: sent once the sweep finds the tab gone)
    expect(net.delivered()).toEqual(['Earlier Visit']);
  });
});

describe('issue 14: middlewares decide the final event', () => {
  it("a middleware's edits to context are sent even after an event of the same page state was serialized", async () => {
    setUrl('https://www.example.com/welcome?email=ada%40example.com');
    const { fp, net } = setup();
    fp.page();
    await settle(); // serialized: the context's JSON is cached
    fp.addSourceMiddleware(({ payload, next }) => {
      payload.context.page.url = payload.context.page.url.split('?')[0];
      payload.context.page.search = '';
      next(payload);
    });
    fp.track('Next');
    await fp.flush();
    const [page, next] = net.events();
    expect(page.context.page.url).toContain('email'); // before the middleware: as recorded
    expect(JSON.stringify(next)).not.toContain('ada');
  });

  it('a next() that arrives after optOut() is dropped: nothing stored or sent', async () => {
    const { fp, net, queue } = setup();
    let release = () => {};
    fp.addSourceMiddleware(({ payload, next }) => void (release = () => next(payload)));
    fp.track('Late');
    fp.optOut();
    release();
    fp.optIn();
    await settle();
    await fp.flush();
    expect(net.requests).toHaveLength(0);
    expect(await queue.all()).toEqual([]);
  });

  it('a next() that arrives after consent is withdrawn is dropped', async () => {
    const { fp, net } = setup();
    let release = () => {};
    fp.addSourceMiddleware(({ payload, next }) => void (release = () => next(payload)));
    fp.track('Late');
    fp.consent(false);
    release();
    await fp.flush();
    expect(net.requests).toHaveLength(0);
  });
});

describe('issue 14: held calls are capped', () => {
  it('at 1,000: the oldest go with one warning; the rest are released, in order', async () => {
    const { fp, net } = setup({ options: { consent: 'pending' } });
    for (let i = 0; i < 1500; i++) fp.track('Held', { i });
    expect(warnings()).toEqual([expect.stringContaining('oldest dropped')]);
    fp.consent(true);
    await vi.advanceTimersByTimeAsync(1000);
    await fp.flush();
    const sent = net.events().map((e) => e.properties.i);
    expect(sent).toEqual(Array.from({ length: 1000 }, (_, i) => i + 500));
  });
});

describe("issue 14: storage: 'none' writes nothing", () => {
  it('no cookie, localStorage, sessionStorage or IndexedDB, the time zone cache included (a fresh module: it is cached per page)', async () => {
    vi.resetModules();
    const { createFirstparty: fresh } = await import('../../src/firstparty');
    vi.stubGlobal('indexedDB', new IDBFactory());
    const net = fakeFetch();
    const fp = remember(fresh({ fetch: net.fetch, sendBeacon: fakeBeacon().send }));
    fp.load(KEY, HOST, { storage: 'none' });
    fp.page();
    fp.track('A');
    await fp.flush();
    hidePage();
    expect(net.events()[0].context.timezone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
    expect(spies.jar.writes).toEqual([]);
    expect(localStorage.length).toBe(0);
    expect(sessionStorage.length).toBe(0);
    expect(await indexedDB.databases()).toEqual([]);
  });
});
