/**
 * Shared setup for the API suites (test/api/*.test.ts): one tracker per call
 * of `setup()`, through the Dependencies seam (memory queue, fake fetch, fake
 * sendBeacon), with fake timers and a clean page between tests.
 */
import { afterEach, beforeEach, vi, type MockInstance } from 'vitest';
import type { Firstparty } from '../../src/firstparty';
import type { EventStore } from '../../src/lib/queue';
import { logState } from '../../src/lib/log';
import { installCookieJar, removeCookieJar } from '../helpers/cookieJar';
import { drain } from '../helpers/fakeNetwork';
import { setUrl, START_URL } from '../helpers/page';
import { startTracker, type TrackerOptions } from '../helpers/tracker';

export const KEY = 'wk_1234567890abcd';
export const HOST = 'http://127.0.0.1:9999';
export const ENDPOINT = HOST + '/events/track/bulk';
export const T0 = Date.UTC(2025, 3, 1, 10, 0, 0);
export const PROFILE_ID = /^PR[A-Za-z0-9]{30}$/;
export const SESSION_ID = /^SE[A-Za-z0-9]{20}$/;

export type SetupOptions = TrackerOptions;

const instances: Firstparty[] = [];

/** Console spies and the cookie jar, replaced before each test. */
export const spies = {} as {
  warn: MockInstance<typeof console.warn>;
  log: MockInstance<typeof console.log>;
  /** `document.cookie` for this test only (see test/helpers/cookieJar.ts): every write recorded. */
  jar: ReturnType<typeof installCookieJar>;
};

/**
 * Registers the per-test environment: fake timers at T0 (setImmediate stays
 * real, so fake-indexeddb works where a test uses it), silenced and recorded
 * console.warn/console.log, a fresh cookie jar (happy-dom keeps a cookie
 * deleted with Max-Age=0 while the clock is frozen, so its own jar cannot be
 * emptied reliably), and a page with no localStorage and no privacy signal,
 * at START_URL, after each test.
 */
export function useApiEnvironment(): void {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0, toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    spies.warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    spies.log = vi.spyOn(console, 'log').mockImplementation(() => {});
    spies.jar = installCookieJar();
    localStorage.clear();
  });
  afterEach(() => {
    instances.splice(0).forEach((fp) => fp.destroy());
    logState.debug = false;
    vi.useRealTimers();
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
    delete (navigator as any).globalPrivacyControl;
    document.title = '';
    document.body.innerHTML = '';
    removeCookieJar();
    localStorage.clear();
    setUrl(START_URL);
  });
}

/** One tracker with a fake collector and a fake sendBeacon, loaded unless `noLoad`. */
export const setup = (given: SetupOptions = {}) => startTracker(instances, KEY, HOST, given);

/** Remembers a tracker made some other way, so it is destroyed after the test. */
export function remember(fp: Firstparty): Firstparty {
  instances.push(fp);
  return fp;
}

/** Lets timers due now run and every promise chain settle. */
export async function settle(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
  await drain();
}

/** Every console.warn so far, as text. */
export const warnings = (): string[] => spies.warn.mock.calls.map((args) => args.map(String).join(' '));

/** Every console.log so far, as text. */
export const logs = (): string[] => spies.log.mock.calls.map((args) => args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));

/** Event names, in order. */
export const names = (events: { name: string }[]): string[] => events.map((e) => e.name);

/** Names of the events held in a queue (parsed from its records). */
export async function queuedNames(queue: EventStore): Promise<string[]> {
  return (await queue.all()).map(([, json]) => JSON.parse(json).name);
}

/** Makes the page hidden, as a tab switch or a navigation away does, then visible again. */
export { hideAndShowPage as hidePage } from '../helpers/page';

/** Sets `navigator.globalPrivacyControl` (removed after each test). */
export function setGlobalPrivacyControl(value: boolean): void {
  Object.defineProperty(navigator, 'globalPrivacyControl', { value, configurable: true });
}

/** Cookie names the page can see. */
export function cookieNames(): string[] {
  return document.cookie
    .split('; ')
    .filter(Boolean)
    .map((pair) => pair.split('=')[0]);
}
