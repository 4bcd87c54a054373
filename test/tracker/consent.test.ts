/**
 * src/tracker/consent.ts: whether recording and sending are allowed, and what
 * each "no" and "yes" sets off (the tracker's allow()/forget(), spied here).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULTS, type ResolvedOptions } from '../../src/lib/options';
import { isOptedOut, OPT_OUT, setOptedOut } from '../../src/lib/privacy';
import { createConsent, isYes } from '../../src/tracker/consent';
import { installCookieJar, removeCookieJar } from '../helpers/cookieJar';

let jar: ReturnType<typeof installCookieJar>;
const stops: (() => void)[] = [];

beforeEach(() => {
  jar = installCookieJar();
  localStorage.clear();
  vi.spyOn(console, 'warn').mockImplementation(() => {});
});

afterEach(() => {
  stops.splice(0).forEach((stop) => stop());
  removeCookieJar();
  localStorage.clear();
  vi.restoreAllMocks();
  delete (navigator as any).globalPrivacyControl;
});

/** A consent state with spied callbacks; loaded with `options` unless `load` is false. */
function setup(options: Partial<ResolvedOptions> = {}, load = true) {
  const allow = vi.fn();
  const forget = vi.fn();
  const consent = createConsent({ allow, forget, domain: () => '' });
  const loadNow = () => stops.push(consent.load({ ...DEFAULTS, ...options }));
  if (load) loadNow();
  return { consent, allow, forget, load: loadNow };
}

/** What another tab's opt-out (or opt-in) looks like here: the flag changes, then the storage event. */
function otherTab(out: boolean) {
  setOptedOut(out, '');
  dispatchEvent(new StorageEvent('storage', { key: OPT_OUT, newValue: out ? '1' : null }));
}

describe('isYes', () => {
  it('only true and "granted" are a yes', () => {
    expect([true, 'granted'].map(isYes)).toEqual([true, true]);
    expect([false, 'denied', 'true', 1, 'yes', 'Granted', null, undefined, {}].map(isYes)).toEqual(Array(9).fill(false));
  });
});

describe('at load', () => {
  it('consent true: recording, allow() once, nothing forgotten', () => {
    const { consent, allow, forget } = setup();
    expect(consent.recording()).toBe(true);
    expect(allow).toHaveBeenCalledTimes(1);
    expect(forget).not.toHaveBeenCalled();
  });

  it.each([['pending'], [false], ['denied']])('consent %j: not recording, nothing allowed, nothing forgotten (not an answer)', (option) => {
    const { consent, allow, forget } = setup({ consent: option as never });
    expect(consent.recording()).toBe(false);
    expect(allow).not.toHaveBeenCalled();
    expect(forget).not.toHaveBeenCalled();
    // 'pending' holds calls; false discards them.
    expect(consent.blocks()).toBe(option !== 'pending');
  });

  it('Global Privacy Control: blocked, and what we hold forgotten', () => {
    Object.defineProperty(navigator, 'globalPrivacyControl', { value: true, configurable: true });
    const { consent, allow, forget } = setup();
    expect(consent.blocks()).toBe(true);
    expect(consent.reason()).toBe('Global Privacy Control');
    expect(allow).not.toHaveBeenCalled();
    expect(forget).toHaveBeenCalledTimes(1);
  });

  it('an earlier opt-out: blocked, and what we hold forgotten (IDs left by an older release too)', () => {
    setOptedOut(true, '');
    const { consent, allow, forget } = setup();
    expect(consent.reason()).toBe('opted out');
    expect(allow).not.toHaveBeenCalled();
    expect(forget).toHaveBeenCalledTimes(1);
  });
});

describe('consent() before load()', () => {
  it('a yes outlives a consent: "pending" option', () => {
    const { consent, allow, load } = setup({ consent: 'pending' }, false);
    consent.consent(true);
    expect(allow).not.toHaveBeenCalled();
    load();
    expect(consent.recording()).toBe(true);
    expect(allow).toHaveBeenCalledTimes(1);
  });

  it('a refusal outlives a consent: true option, and is acted on at load', () => {
    const { consent, allow, forget, load } = setup({}, false);
    consent.consent(false);
    expect(forget).toHaveBeenCalledTimes(1);
    load();
    expect(consent.recording()).toBe(false);
    expect(allow).not.toHaveBeenCalled();
    expect(forget).toHaveBeenCalledTimes(2);
  });
});

describe('consent() after load()', () => {
  it.each([[true], ['granted']])('%j grants: allow() once, however often given', (value) => {
    const { consent, allow } = setup({ consent: 'pending' });
    consent.consent(value as never);
    consent.consent(value as never);
    expect(consent.recording()).toBe(true);
    expect(allow).toHaveBeenCalledTimes(1);
  });

  it.each([[false], ['denied'], ['false'], [0], ['yes'], [undefined]])('%j refuses: forget(), the era changes, calls are discarded', (value) => {
    const { consent, forget } = setup();
    const era = consent.era();
    consent.consent(value as never);
    expect(consent.recording()).toBe(false);
    expect(consent.blocks()).toBe(true);
    expect(forget).toHaveBeenCalledTimes(1);
    expect(consent.era()).not.toBe(era);
  });

  it('warns about a value that is neither a yes nor a no, not about false or "denied"', () => {
    const { consent } = setup();
    consent.consent(false);
    consent.consent('denied');
    expect(console.warn).not.toHaveBeenCalled();
    consent.consent('ture');
    expect(console.warn).toHaveBeenCalledWith('[firstparty]', expect.stringContaining('not a yes'), 'ture');
  });

  it('a yes under Global Privacy Control records nothing', () => {
    Object.defineProperty(navigator, 'globalPrivacyControl', { value: true, configurable: true });
    const { consent, allow } = setup({ consent: 'pending' });
    consent.consent(true);
    expect(consent.recording()).toBe(false);
    expect(allow).not.toHaveBeenCalled();
  });
});

describe('optOut() / optIn()', () => {
  it('optOut() remembers the opt-out, forgets, changes the era; optIn() lifts it and allows again', () => {
    const { consent, allow, forget } = setup();
    const era = consent.era();
    consent.optOut();
    expect(isOptedOut()).toBe(true);
    expect(jar.get(OPT_OUT)).toBe('1');
    expect(forget).toHaveBeenCalledTimes(1);
    expect(consent.era()).not.toBe(era);
    expect(consent.recording()).toBe(false);
    consent.optIn();
    expect(isOptedOut()).toBe(false);
    expect(consent.recording()).toBe(true);
    expect(allow).toHaveBeenCalledTimes(2);
  });

  it('optIn() of a visitor who had not opted out changes nothing (sites call it on every page)', () => {
    const { consent, allow, forget } = setup();
    consent.optIn();
    expect(allow).toHaveBeenCalledTimes(1);
    expect(forget).not.toHaveBeenCalled();
    expect(jar.writes.filter((w) => w.startsWith(OPT_OUT))).toEqual([]);
  });

  it('optIn() in a tab that has not yet heard of another tab’s opt-out applies that opt-out first (its events go), then lifts it', () => {
    const { consent, allow, forget } = setup();
    setOptedOut(true, ''); // another tab, no storage event yet
    consent.optIn();
    expect(forget).toHaveBeenCalledTimes(1);
    expect(allow).toHaveBeenCalledTimes(2);
    expect(isOptedOut()).toBe(false);
  });
});

describe('other tabs', () => {
  it("another tab's opt-out is heard at once through the storage event; its opt-in too", () => {
    const { consent, allow, forget } = setup();
    otherTab(true);
    expect(consent.recording()).toBe(false);
    expect(forget).toHaveBeenCalledTimes(1);
    otherTab(true); // heard twice (cookie and storage): acted on once
    expect(forget).toHaveBeenCalledTimes(1);
    otherTab(false);
    expect(consent.recording()).toBe(true);
    expect(allow).toHaveBeenCalledTimes(2);
  });

  it('localStorage.clear() in another tab (key null) is looked into too; other keys are not', () => {
    const { consent } = setup();
    const read = vi.spyOn(document, 'cookie', 'get');
    dispatchEvent(new StorageEvent('storage', { key: 'something-else' }));
    expect(read).not.toHaveBeenCalled();
    document.cookie = OPT_OUT + '=1; Path=/';
    dispatchEvent(new StorageEvent('storage', { key: null }));
    expect(consent.recording()).toBe(false);
  });

  it('an opt-out another tab made without a storage event here (localStorage refused, another subdomain) is found by mayLeave(), and applied', () => {
    const { consent, forget } = setup();
    expect(consent.mayLeave()).toBe(true);
    document.cookie = OPT_OUT + '=1; Path=/';
    expect(consent.mayLeave()).toBe(false);
    expect(forget).toHaveBeenCalledTimes(1);
    expect(consent.reason()).toBe('opted out');
  });

  it('mayLeave() is false while consent is pending or refused, and under Global Privacy Control', () => {
    expect(setup({ consent: 'pending' }).consent.mayLeave()).toBe(false);
    expect(setup({ consent: false }).consent.mayLeave()).toBe(false);
    Object.defineProperty(navigator, 'globalPrivacyControl', { value: true, configurable: true });
    expect(setup().consent.mayLeave()).toBe(false);
  });

  it('stops listening when the tracker is destroyed', () => {
    const { consent, forget } = setup();
    stops.splice(0).forEach((stop) => stop());
    otherTab(true);
    expect(forget).not.toHaveBeenCalled();
    expect(consent.recording()).toBe(true);
  });
});
