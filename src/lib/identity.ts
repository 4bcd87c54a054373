import { readCookie, writeCookie } from './cookies';
import { lsGet, lsSet } from './storage';
import { OWN_ID_LENGTH, randomId } from './randomId';

/** Cookie (and localStorage key) holding the profile ID; our choice, Firstparty documents none. */
export const PROFILE_COOKIE = 'fpid';
/** Cookie holding the session ID: the name Firstparty joins Sessions by. */
export const SESSION_COOKIE = 'fsid';
/** A profile cookie lives one year, refreshed on every visit. */
const PROFILE_MAX_AGE = 31536000;
/**
 * Storage is read at most this often (and whenever the session looks expired):
 * `document.cookie` is a synchronous IPC in Chromium (tens of µs), far too slow
 * for every one of 1,000 `track()` calls in a loop, while 5 s is still short
 * enough for a tab to notice a session another tab started or a `reset()`.
 */
const SYNC_EVERY_MS = 5000;

/**
 * Deletes the IDs from cookies (on `domain()`, and host-only) and from
 * localStorage, whatever the storage option: they may have been stored on an
 * earlier visit. A cookie is deleted only when it is there, so the cookie
 * Domain is probed (a test cookie written) only when there is one to delete.
 */
export function eraseIds(domain: () => string): void {
  for (const name of [PROFILE_COOKIE, SESSION_COOKIE]) {
    if (readCookie(name) !== undefined) [domain(), ''].forEach((on) => writeCookie(name, '', 0, on));
    lsSet(name, null);
  }
}

/** Where IDs are kept: cookies + localStorage, localStorage only, or memory only. */
export type IdentityStorage = 'cookie' | 'localStorage' | 'memory' | 'none';

/** The visitor's IDs, kept across pages and tabs. */
export interface Identity {
  /** The profile ID (`PR` + 30 base-62 characters). */
  profileId(): string;
  /**
   * The session ID for an event happening at `now`, renewing it after
   * inactivity. `reading` reads it without counting as activity
   * (getSessionId()): a page polling it must not keep a session alive forever.
   */
  sessionId(now?: number, reading?: boolean): string;
  /** Replaces the profile ID (identify / setAnonymousId). */
  setProfileId(id: string): void;
  /** New profile and session IDs. */
  reset(): void;
}

/**
 * Creates the identity keeper. IDs are written to first-party cookies
 * (profile: `fpid`, 1 year; session: `fsid`, expiring after `sessionTimeout`
 * of inactivity) and mirrored in localStorage, so that either one surviving
 * keeps the visitor; when both are refused they live in memory for the page.
 * The session cookie's Max-Age slides with activity, which is what shares one
 * session across tabs: any tab's activity keeps it alive for all of them.
 * `domain` gives the cookie Domain when a cookie is first written
 * (the tracker probes it then, not at load).
 *
 * With `serverCookie`, the collector's responses keep the cookies alive
 * (`Set-Cookie` from the site's own origin, which Safari does not cap at 7
 * days as it does every cookie written by script): a cookie is then written
 * only when it is missing or holds another value (a new session, identify(),
 * reset()), never just to extend it. A cookie the server set with the same
 * value is left as it is, its lifetime included.
 */
export function createIdentity(
  sessionTimeout: number,
  domain: () => string,
  storage: IdentityStorage = 'cookie',
  serverCookie = false,
): Identity {
  let profile = '';
  let session = '';
  // Inactivity within this tab is measured on the monotonic clock
  // (performance.now): a wall clock that jumps must neither end a session in
  // use nor keep one alive forever.
  let lastTick = -Infinity;
  let lastSync = -Infinity;
  const persistent = storage === 'cookie' || storage === 'localStorage';
  const cookies = storage === 'cookie';

  const readStored = (name: string): string | undefined =>
    (cookies && readCookie(name)) || (persistent && lsGet(name)) || undefined;

  /** The live session storage holds for an event at `now` ('' if none); reads only. */
  function storedSession(now: number, tick: number): string {
    // The localStorage mirror carries the time of last activity, since unlike
    // a cookie it has no expiry of its own.
    const [lsSession, lsTime] = ((persistent && lsGet(SESSION_COOKIE)) || '').split('.');
    const lsFresh = lsSession && Math.abs(now - +lsTime) < sessionTimeout ? lsSession : '';
    const cookie = (cookies && readCookie(SESSION_COOKIE)) || '';
    // After this tab's own inactivity, its own session in a cookie is only as
    // alive as the mirror says: a clock set back keeps cookies alive too long.
    return (cookie === session && tick - lastTick >= sessionTimeout && lsSession && !lsFresh ? '' : cookie) || lsFresh;
  }

  function sync(now: number, tick: number): void {
    lastSync = tick;
    profile = readStored(PROFILE_COOKIE) || profile || randomId('PR');
    session = storedSession(now, tick) || (session && tick - lastTick < sessionTimeout ? session : randomId('SE', OWN_ID_LENGTH));
    lastTick = tick;
    write(now);
  }

  /**
   * The session the next event would carry, read without counting as
   * activity: nothing is written and this tab's inactivity clock stays. Only
   * when there is no live session anywhere is one started (and stored), as an
   * event would, so the next event carries the same ID.
   */
  function peek(now: number, tick: number): string {
    const live = tick - lastTick < sessionTimeout;
    if (live && tick - lastSync <= SYNC_EVERY_MS) return session;
    const stored = storedSession(now, tick);
    if (live) {
      // Another tab's reset() or new session, as this tab's next event picks it up.
      lastSync = tick;
      if (stored) {
        session = stored;
        profile = readStored(PROFILE_COOKIE) || profile;
      }
      return session;
    }
    // Another tab's live session, which this tab's next event joins.
    if (stored) return stored;
    sync(now, tick);
    return session;
  }

  function write(now: number): void {
    if (cookies) {
      const put = (name: string, value: string, maxAge: number) =>
        (serverCookie && readCookie(name) === value) || writeCookie(name, value, maxAge, domain());
      put(PROFILE_COOKIE, profile, PROFILE_MAX_AGE);
      put(SESSION_COOKIE, session, Math.round(sessionTimeout / 1000));
    }
    if (persistent) {
      lsSet(PROFILE_COOKIE, profile);
      lsSet(SESSION_COOKIE, session + '.' + now);
    }
  }

  return {
    profileId() {
      if (!profile) sync(Date.now(), performance.now());
      return profile;
    },
    sessionId(now = Date.now(), reading?: boolean) {
      const tick = performance.now();
      if (reading) return peek(now, tick);
      if (tick - lastSync > SYNC_EVERY_MS || tick - lastTick >= sessionTimeout) sync(now, tick);
      else lastTick = tick;
      return session;
    },
    setProfileId(id) {
      profile = id;
      write(Date.now());
    },
    reset() {
      profile = randomId('PR');
      session = randomId('SE', OWN_ID_LENGTH);
      lastTick = performance.now();
      write(Date.now());
    },
  };
}
