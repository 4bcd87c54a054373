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

  it('consent(false) discards the held events; nothing is stored or sent', async () => {
    const { fp, net, queue } = setup({ options: { consent: 'pending' } });
    recordEverything(fp);
    fp.consent(false);
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
