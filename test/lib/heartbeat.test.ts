import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BEAT_MS, beatingTabs, STALE_MS, startHeartbeat } from '../../src/lib/heartbeat';
import { refuseLocalStorage } from '../helpers/cookieJar';

const T0 = Date.UTC(2025, 3, 1, 10, 0, 0);
const KEY = 'firstparty-js:tab:tab1';
const beat = () => localStorage.getItem(KEY);
const pageTransition = (type: 'pagehide' | 'pageshow', persisted: boolean) => dispatchEvent(Object.assign(new Event(type), { persisted }));

let stop = () => {};
beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
  localStorage.clear();
});
afterEach(() => {
  stop();
  stop = () => {};
  vi.useRealTimers();
  vi.unstubAllGlobals();
  localStorage.clear();
});

describe('startHeartbeat', () => {
  it("writes the time under 'firstparty-js:tab:<id>' at once and every BEAT_MS", () => {
    stop = startHeartbeat('tab1');
    expect(beat()).toBe(String(T0));
    vi.advanceTimersByTime(BEAT_MS - 1);
    expect(beat()).toBe(String(T0));
    vi.advanceTimersByTime(1);
    expect(beat()).toBe(String(T0 + BEAT_MS));
    vi.advanceTimersByTime(BEAT_MS);
    expect(beat()).toBe(String(T0 + 2 * BEAT_MS));
  });

  it('removes the beat when the page is unloaded, and beats again when it is shown', () => {
    stop = startHeartbeat('tab1');
    pageTransition('pagehide', false);
    expect(beat()).toBeNull();
    vi.advanceTimersByTime(5000);
    pageTransition('pageshow', true);
    expect(beat()).toBe(String(T0 + 5000));
  });

  it('keeps the beat when the page goes into the back/forward cache (persisted)', () => {
    stop = startHeartbeat('tab1');
    pageTransition('pagehide', true);
    expect(beat()).toBe(String(T0));
  });

  it('the stop function removes the beat, and nothing beats after it', () => {
    startHeartbeat('tab1')();
    expect(beat()).toBeNull();
    vi.advanceTimersByTime(BEAT_MS);
    pageTransition('pageshow', true);
    expect(beat()).toBeNull();
    expect(localStorage.length).toBe(0);
  });

  it('does not throw when localStorage refuses writes', () => {
    refuseLocalStorage();
    expect(() => (stop = startHeartbeat('tab1'))).not.toThrow();
    expect(() => vi.advanceTimersByTime(BEAT_MS)).not.toThrow();
  });
});

describe('beatingTabs', () => {
  it('lists the tabs whose beat is fresh, and nothing else in localStorage', () => {
    localStorage.setItem('firstparty-js:tab:a', String(T0 - 1000));
    localStorage.setItem('firstparty-js:tab:b', String(T0 - STALE_MS + 1));
    localStorage.setItem('firstparty-js:queue', '{}');
    localStorage.setItem('other', String(T0));
    expect(beatingTabs()).toEqual(new Set(['a', 'b']));
    expect(beatingTabs(T0 + 2000)).toEqual(new Set(['a']));
  });

  it('removes stale beats as it finds them (a crashed tab never removes its own)', () => {
    localStorage.setItem('firstparty-js:tab:fresh', String(T0));
    localStorage.setItem('firstparty-js:tab:old1', String(T0 - STALE_MS));
    localStorage.setItem('firstparty-js:tab:old2', String(T0 - 10 * STALE_MS));
    localStorage.setItem('firstparty-js:tab:junk', 'not a time');
    localStorage.setItem('firstparty-js:tab:ahead', String(T0 + 2 * STALE_MS));
    localStorage.setItem('other', '1');
    expect(beatingTabs()).toEqual(new Set(['fresh']));
    const left = Array.from({ length: localStorage.length }, (_, i) => localStorage.key(i)).sort();
    expect(left).toEqual(['firstparty-js:tab:fresh', 'other']);
  });

  it("sees a tab that beats through startHeartbeat, and no longer once it stops", () => {
    const stopOther = startHeartbeat('other');
    expect(beatingTabs()?.has('other')).toBe(true);
    vi.advanceTimersByTime(10 * STALE_MS);
    expect(beatingTabs()?.has('other')).toBe(true);
    stopOther();
    expect(beatingTabs()?.has('other')).toBe(false);
  });

  it('is undefined when localStorage cannot be read (no tab can be told alive)', () => {
    localStorage.setItem('firstparty-js:tab:a', String(T0));
    refuseLocalStorage({ reads: true });
    expect(beatingTabs()).toBeUndefined();
  });
});
