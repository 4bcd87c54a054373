import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createIdentity, eraseIds, PROFILE_COOKIE, SESSION_COOKIE } from '../../src/lib/identity';
import { installCookieJar, refuseLocalStorage, removeCookieJar } from '../helpers/cookieJar';
import { setUrl, START_URL } from '../helpers/page';

const MIN = 60000;
const TIMEOUT = 30 * MIN;
const PR = /^PR[A-Za-z0-9]{30}$/;
const SE = /^SE[A-Za-z0-9]{20}$/;
const T0 = Date.UTC(2025, 2, 1, 9, 0, 0);

let jar: ReturnType<typeof installCookieJar>;

beforeEach(() => {
  localStorage.clear();
  jar = installCookieJar();
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  removeCookieJar();
  localStorage.clear();
  setUrl(START_URL);
});

describe('createIdentity: IDs', () => {
  it('makes a profile ID PR + 30 base-62 characters and a session ID SE + 20', () => {
    const identity = createIdentity(TIMEOUT, () => '');
    expect(identity.profileId()).toMatch(PR);
    expect(identity.sessionId()).toMatch(SE);
  });

  it('keeps the same IDs within the page', () => {
    const identity = createIdentity(TIMEOUT, () => '');
    const profile = identity.profileId();
    const session = identity.sessionId();
    for (let i = 0; i < 10; i++) {
      expect(identity.profileId()).toBe(profile);
      expect(identity.sessionId()).toBe(session);
    }
  });

  it('differs between visitors (fresh storage)', () => {
    const a = createIdentity(TIMEOUT, () => '').profileId();
    jar.clear();
    localStorage.clear();
    const b = createIdentity(TIMEOUT, () => '').profileId();
    expect(a).not.toBe(b);
  });
});

describe('eraseIds', () => {
  it('deletes both IDs from the cookies (on the Domain and host-only) and from localStorage', () => {
    createIdentity(TIMEOUT, () => 'example.com').sessionId();
    document.cookie = 'fpid=host-only; Path=/';
    const domain = vi.fn(() => 'example.com');
    eraseIds(domain);
    expect(jar.get(PROFILE_COOKIE)).toBeUndefined();
    expect(jar.get(SESSION_COOKIE)).toBeUndefined();
    expect(localStorage.length).toBe(0);
    expect(jar.writesOf(PROFILE_COOKIE).slice(-2)).toEqual([expect.stringMatching(/Max-Age=0; Domain=example\.com/), expect.stringMatching(/^fpid=; Path=\/; SameSite=Lax; Max-Age=0$/)]);
    // The next identity is a new visitor.
    expect(createIdentity(TIMEOUT, () => 'example.com').profileId()).toMatch(PR);
  });

  it('writes nothing, and probes no cookie Domain, when there is nothing to delete', () => {
    const domain = vi.fn(() => 'example.com');
    eraseIds(domain);
    expect(jar.writes).toEqual([]);
    expect(domain).not.toHaveBeenCalled();
  });
});

describe('createIdentity: persistence across a reload', () => {
  it('reads both IDs back from cookies and the localStorage mirror', () => {
    const first = createIdentity(TIMEOUT, () => '');
    const profile = first.profileId();
    const session = first.sessionId();
    expect(jar.get(PROFILE_COOKIE)).toBe(profile);
    expect(jar.get(SESSION_COOKIE)).toBe(session);
    expect(localStorage.getItem(PROFILE_COOKIE)).toBe(profile);
    expect(localStorage.getItem(SESSION_COOKIE)).toMatch(new RegExp('^' + session + '\\.\\d+$'));

    const reloaded = createIdentity(TIMEOUT, () => '');
    expect(reloaded.profileId()).toBe(profile);
    expect(reloaded.sessionId()).toBe(session);
  });

  it('survives cleared cookies through localStorage', () => {
    const first = createIdentity(TIMEOUT, () => '');
    const profile = first.profileId();
    const session = first.sessionId();
    jar.clear();
    const reloaded = createIdentity(TIMEOUT, () => '');
    expect(reloaded.profileId()).toBe(profile);
    expect(reloaded.sessionId()).toBe(session);
    expect(jar.get(PROFILE_COOKIE)).toBe(profile); // and the cookie is written again
  });

  it('survives cleared localStorage through cookies', () => {
    const first = createIdentity(TIMEOUT, () => '');
    const profile = first.profileId();
    const session = first.sessionId();
    localStorage.clear();
    const reloaded = createIdentity(TIMEOUT, () => '');
    expect(reloaded.profileId()).toBe(profile);
    expect(reloaded.sessionId()).toBe(session);
  });

  it('uses the localStorage mirror when cookies are refused (writes ignored)', () => {
    removeCookieJar();
    jar = installCookieJar({ accept: () => false });
    const first = createIdentity(TIMEOUT, () => '');
    const profile = first.profileId();
    const session = first.sessionId();
    expect(jar.writesOf(PROFILE_COOKIE).length).toBeGreaterThan(0); // tried
    expect(jar.get(PROFILE_COOKIE)).toBeUndefined(); // refused
    const reloaded = createIdentity(TIMEOUT, () => '');
    expect(reloaded.profileId()).toBe(profile);
    expect(reloaded.sessionId()).toBe(session);
  });

  it('uses the localStorage mirror when document.cookie throws', () => {
    removeCookieJar();
    installCookieJar({ throws: true });
    const first = createIdentity(TIMEOUT, () => '');
    let profile = '';
    expect(() => (profile = first.profileId())).not.toThrow();
    expect(profile).toMatch(PR);
    expect(createIdentity(TIMEOUT, () => '').profileId()).toBe(profile);
  });

  it.each([
    ['document.cookie throws, localStorage throws on every call', { throws: true }, { reads: true }],
    ['cookie writes ignored, localStorage.setItem throws', { accept: () => false }, { reads: false }],
  ])('keeps stable IDs in memory when cookies and localStorage both refuse (%s)', (_, cookieOptions, lsOptions) => {
    removeCookieJar();
    installCookieJar(cookieOptions);
    refuseLocalStorage(lsOptions);
    const identity = createIdentity(TIMEOUT, () => '');
    const profile = identity.profileId();
    const session = identity.sessionId();
    expect(profile).toMatch(PR);
    expect(session).toMatch(SE);
    const later = Date.now() + 10 * MIN; // past the 5 s storage re-read, within the session
    expect(identity.sessionId(later)).toBe(session);
    expect(identity.profileId()).toBe(profile);
    // Nothing was kept: a reload is a new visitor.
    expect(createIdentity(TIMEOUT, () => '').profileId()).not.toBe(profile);
  });
});

describe('createIdentity: cookie attributes', () => {
  it('writes fpid for a year and fsid for sessionTimeout, Path=/ and SameSite=Lax, no Secure on http', () => {
    createIdentity(TIMEOUT, () => '').sessionId();
    const [fpid] = jar.writesOf(PROFILE_COOKIE);
    const [fsid] = jar.writesOf(SESSION_COOKIE);
    expect(fpid).toMatch(/^fpid=PR[A-Za-z0-9]{30}; Path=\/; SameSite=Lax; Max-Age=31536000$/);
    expect(fsid).toMatch(/^fsid=SE[A-Za-z0-9]{20}; Path=\/; SameSite=Lax; Max-Age=1800$/);
  });

  it('gives fsid the configured timeout in seconds', () => {
    createIdentity(10 * MIN, () => '').sessionId();
    expect(jar.writesOf(SESSION_COOKIE)[0]).toContain('; Max-Age=600');
    expect(jar.writesOf(SESSION_COOKIE)[0]).not.toContain('Domain=');
  });

  it('adds Domain= when given, and Secure on https', () => {
    removeCookieJar();
    setUrl('https://www.example.com/');
    jar = installCookieJar();
    createIdentity(TIMEOUT, () => 'example.com').sessionId();
    for (const write of [...jar.writesOf(PROFILE_COOKIE), ...jar.writesOf(SESSION_COOKIE)]) {
      expect(write).toMatch(/; Domain=example\.com; Secure$/);
    }
    expect(jar.writesOf(PROFILE_COOKIE)).not.toHaveLength(0);
  });
});

describe('createIdentity: sessions', () => {
  it('keeps the session while activity continues, and renews it after sessionTimeout of inactivity', () => {
    vi.useFakeTimers({ now: T0, toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const identity = createIdentity(TIMEOUT, () => '');
    const profile = identity.profileId();
    const first = identity.sessionId();
    vi.advanceTimersByTime(29 * MIN);
    expect(identity.sessionId()).toBe(first);
    vi.advanceTimersByTime(29 * MIN); // 58 min after the start, 29 after the last activity
    expect(identity.sessionId()).toBe(first);
    vi.advanceTimersByTime(TIMEOUT + 1000);
    const second = identity.sessionId();
    expect(second).toMatch(SE);
    expect(second).not.toBe(first);
    expect(identity.profileId()).toBe(profile); // the profile stays
    expect(jar.get(SESSION_COOKIE)).toBe(second);
  });

  it('a peek reads the live session without extending it; after the timeout it gets the next one', () => {
    vi.useFakeTimers({ now: T0, toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const identity = createIdentity(TIMEOUT, () => '');
    const first = identity.sessionId(); // activity at T0
    for (let minute = 5; minute < 30; minute += 5) {
      vi.advanceTimersByTime(5 * MIN);
      expect(identity.sessionId(Date.now(), true)).toBe(first); // polled every 5 minutes
    }
    vi.advanceTimersByTime(5 * MIN + 1000); // 30 min after the last real activity
    const next = identity.sessionId(Date.now(), true);
    expect(next).toMatch(SE);
    expect(next).not.toBe(first);
    expect(identity.sessionId()).toBe(next); // the next event joins it
  });

  it('a peek sees another tab’s reset() as the next event will, within the 5 s storage read', () => {
    vi.useFakeTimers({ now: T0, toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const a = createIdentity(TIMEOUT, () => '');
    const first = a.sessionId();
    vi.advanceTimersByTime(1000);
    const b = createIdentity(TIMEOUT, () => '');
    expect(b.sessionId()).toBe(first);
    b.reset();
    const second = b.sessionId();
    vi.advanceTimersByTime(6000);
    expect(a.sessionId(Date.now(), true)).toBe(second);
    expect(a.profileId()).toBe(b.profileId());
    expect(a.sessionId()).toBe(second);
  });

  it('a peek after this tab’s own idleness reports another tab’s live session without extending it', () => {
    vi.useFakeTimers({ now: T0, toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const a = createIdentity(TIMEOUT, () => '');
    const first = a.sessionId();
    const b = createIdentity(TIMEOUT, () => '');
    vi.advanceTimersByTime(20 * MIN);
    expect(b.sessionId()).toBe(first); // tab B active at 20 min
    vi.advanceTimersByTime(15 * MIN); // 35 min: A idle for 35, B for 15
    const writes = jar.writesOf(SESSION_COOKIE).length;
    const mirror = localStorage.getItem(SESSION_COOKIE);
    expect(a.sessionId(Date.now(), true)).toBe(first);
    expect(jar.writesOf(SESSION_COOKIE)).toHaveLength(writes); // nothing written
    expect(localStorage.getItem(SESSION_COOKIE)).toBe(mirror);
    vi.advanceTimersByTime(20 * MIN); // 55 min: B idle for 35
    expect(b.sessionId()).not.toBe(first); // the peek did not keep it alive
  });

  it('is shared by a second tab within the timeout, not after it', () => {
    vi.useFakeTimers({ now: T0, toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const session = createIdentity(TIMEOUT, () => '').sessionId();
    vi.advanceTimersByTime(20 * MIN);
    expect(createIdentity(TIMEOUT, () => '').sessionId()).toBe(session);
    vi.advanceTimersByTime(TIMEOUT + 1000);
    expect(createIdentity(TIMEOUT, () => '').sessionId()).not.toBe(session);
  });

  it('measures inactivity on the monotonic clock: a wall-clock jump neither ends nor prolongs a session', () => {
    vi.useFakeTimers({ now: T0, toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    for (const storage of ['memory', 'localStorage'] as const) {
      localStorage.clear();
      const identity = createIdentity(TIMEOUT, () => '', storage);
      const first = identity.sessionId();
      vi.setSystemTime(Date.now() - 3 * 3600000); // the clock jumps back; no time passes
      expect(identity.sessionId()).toBe(first);
      vi.setSystemTime(Date.now() + 6 * 3600000); // and forward
      expect(identity.sessionId()).toBe(first);
      vi.advanceTimersByTime(TIMEOUT + 1000); // real inactivity
      expect(identity.sessionId()).not.toBe(first);
    }
  });

  it('does not trust a localStorage session stamped in the future (a clock that was ahead)', () => {
    const id = 'SE' + 'a'.repeat(30);
    localStorage.setItem(SESSION_COOKIE, id + '.' + (T0 + 5 * 3600000));
    expect(createIdentity(TIMEOUT, () => '', 'localStorage').sessionId(T0)).not.toBe(id);
    localStorage.setItem(SESSION_COOKIE, id + '.' + (T0 - 5 * MIN));
    expect(createIdentity(TIMEOUT, () => '', 'localStorage').sessionId(T0)).toBe(id);
  });

  it('still ends a cookie session after a backwards clock jump, once inactive for the timeout', () => {
    vi.useFakeTimers({ now: T0, toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const identity = createIdentity(TIMEOUT, () => '');
    const first = identity.sessionId();
    vi.setSystemTime(T0 - 3 * 3600000);
    identity.sessionId();
    vi.advanceTimersByTime(TIMEOUT + 1000);
    expect(identity.sessionId()).not.toBe(first);
  });
});

describe('createIdentity: reset and storage modes', () => {
  it('reset() makes new IDs, and a reload sees them', () => {
    const identity = createIdentity(TIMEOUT, () => '');
    const profile = identity.profileId();
    const session = identity.sessionId();
    identity.reset();
    const newProfile = identity.profileId();
    const newSession = identity.sessionId();
    expect(newProfile).toMatch(PR);
    expect(newSession).toMatch(SE);
    expect(newProfile).not.toBe(profile);
    expect(newSession).not.toBe(session);
    const reloaded = createIdentity(TIMEOUT, () => '');
    expect(reloaded.profileId()).toBe(newProfile);
    expect(reloaded.sessionId()).toBe(newSession);
  });

  it('setProfileId() replaces and persists the profile ID', () => {
    const identity = createIdentity(TIMEOUT, () => '');
    identity.profileId();
    identity.setProfileId('PR' + 'x'.repeat(30));
    expect(identity.profileId()).toBe('PR' + 'x'.repeat(30));
    expect(createIdentity(TIMEOUT, () => '').profileId()).toBe('PR' + 'x'.repeat(30));
  });

  it("storage: 'memory' writes nothing to cookies or localStorage", () => {
    const identity = createIdentity(TIMEOUT, () => '', 'memory');
    const profile = identity.profileId();
    identity.sessionId();
    identity.sessionId(Date.now() + 10 * MIN);
    identity.reset();
    identity.setProfileId('PRx');
    expect(jar.writes).toEqual([]);
    expect(localStorage.length).toBe(0);
    expect(profile).toMatch(PR);
  });

  it("storage: 'localStorage' keeps IDs there and writes no cookie", () => {
    const identity = createIdentity(TIMEOUT, () => '', 'localStorage');
    const profile = identity.profileId();
    expect(jar.writes).toEqual([]);
    expect(localStorage.getItem(PROFILE_COOKIE)).toBe(profile);
    expect(createIdentity(TIMEOUT, () => '', 'localStorage').profileId()).toBe(profile);
  });

  it('ignores cookies left by cookie mode when in memory mode', () => {
    const cookieProfile = createIdentity(TIMEOUT, () => '').profileId();
    expect(createIdentity(TIMEOUT, () => '', 'memory').profileId()).not.toBe(cookieProfile);
  });
});

describe('createIdentity: serverCookie (the collector keeps the cookies alive: issue 13)', () => {
  /** The collector's Set-Cookie, as a browser keeps it: one year for fpid, the timeout for fsid. */
  const serverSets = (profile: string, session: string) => {
    document.cookie = `${PROFILE_COOKIE}=${encodeURIComponent(profile)}; Path=/; Max-Age=31536000`;
    document.cookie = `${SESSION_COOKIE}=${encodeURIComponent(session)}; Path=/; Max-Age=1800`;
    jar.writes.length = 0;
  };

  it('writes no cookie the server set with the same value, however often IDs are read and events made', () => {
    serverSets('auth0|5f7c', 'SE' + 'a'.repeat(30));
    vi.useFakeTimers({ now: T0 });
    const identity = createIdentity(TIMEOUT, () => '', 'cookie', true);
    expect(identity.profileId()).toBe('auth0|5f7c');
    expect(identity.sessionId()).toBe('SE' + 'a'.repeat(30));
    vi.advanceTimersByTime(10 * MIN);
    identity.sessionId();
    expect(jar.writes).toEqual([]);
    // The mirror is still kept: it is what outlives a cookie the browser dropped.
    expect(localStorage.getItem(PROFILE_COOKIE)).toBe('auth0|5f7c');
  });

  it('without the option, the script extends both cookies at each read of storage (unchanged)', () => {
    serverSets('PRserver', 'SE' + 'a'.repeat(30));
    createIdentity(TIMEOUT, () => '').sessionId();
    expect(jar.writesOf(PROFILE_COOKIE)).toHaveLength(1);
    expect(jar.writesOf(SESSION_COOKIE)).toHaveLength(1);
  });

  it('writes a cookie that is missing (a first visit), once', () => {
    const identity = createIdentity(TIMEOUT, () => '', 'cookie', true);
    const profile = identity.profileId();
    identity.sessionId();
    expect(jar.writesOf(PROFILE_COOKIE)).toHaveLength(1);
    expect(jar.get(PROFILE_COOKIE)).toBe(profile);
    expect(createIdentity(TIMEOUT, () => '', 'cookie', true).profileId()).toBe(profile);
    expect(jar.writesOf(PROFILE_COOKIE)).toHaveLength(1);
  });

  it('writes a changed value: identify() (setProfileId), reset(), a new session after the timeout', () => {
    serverSets('PRserver', 'SE' + 'a'.repeat(30));
    vi.useFakeTimers({ now: T0 });
    const identity = createIdentity(TIMEOUT, () => '', 'cookie', true);
    identity.sessionId();
    identity.setProfileId('user-42');
    expect(jar.get(PROFILE_COOKIE)).toBe('user-42');
    expect(jar.writesOf(SESSION_COOKIE)).toHaveLength(0);
    identity.reset();
    expect(jar.get(PROFILE_COOKIE)).toBe(identity.profileId());
    expect(jar.get(SESSION_COOKIE)).toBe(identity.sessionId());
    const session = identity.sessionId();
    jar.writes.length = 0;
    vi.advanceTimersByTime(TIMEOUT + MIN);
    const next = identity.sessionId();
    expect(next).not.toBe(session);
    expect(jar.writesOf(SESSION_COOKIE)).toHaveLength(1);
    expect(jar.writesOf(PROFILE_COOKIE)).toHaveLength(0);
  });
});
