import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { hasPrivacySignal, isOptedOut, setOptedOut } from '../../src/lib/privacy';
import { installCookieJar, refuseLocalStorage, removeCookieJar } from '../helpers/cookieJar';
import { setUrl } from '../helpers/page';

let jar: ReturnType<typeof installCookieJar>;

function defineNavigator(name: string, descriptor: PropertyDescriptor) {
  Object.defineProperty(navigator, name, { configurable: true, ...descriptor });
}

beforeEach(() => {
  jar = installCookieJar();
  localStorage.clear();
});

afterEach(() => {
  removeCookieJar();
  vi.unstubAllGlobals();
  localStorage.clear();
  delete (navigator as any).globalPrivacyControl;
  delete (navigator as any).doNotTrack;
});

describe('hasPrivacySignal()', () => {
  it('is true when navigator.globalPrivacyControl is true', () => {
    defineNavigator('globalPrivacyControl', { value: true });
    expect(hasPrivacySignal()).toBe(true);
  });

  it.each([[false], [undefined], ['1'], [1]])('is false when globalPrivacyControl is %j (only a real true counts)', (value) => {
    defineNavigator('globalPrivacyControl', { value });
    expect(hasPrivacySignal()).toBe(false);
  });

  it('is false when the browser has no globalPrivacyControl', () => {
    expect('globalPrivacyControl' in navigator && (navigator as any).globalPrivacyControl !== undefined).toBe(false);
    expect(hasPrivacySignal()).toBe(false);
  });

  it('does not honour Do Not Track (withdrawn as a standard)', () => {
    defineNavigator('doNotTrack', { value: '1' });
    expect(hasPrivacySignal()).toBe(false);
  });

  it('is false, not an exception, when reading the signal throws', () => {
    defineNavigator('globalPrivacyControl', {
      get() {
        throw new Error('blocked');
      },
    });
    expect(() => hasPrivacySignal()).not.toThrow();
    expect(hasPrivacySignal()).toBe(false);
  });
});

describe('setOptedOut() / isOptedOut()', () => {
  it("with no cookie Domain given (storage 'memory', 'none', 'localStorage'), the opt-out cookie still goes on the site's Domain: every subdomain's tabs and visits stop", () => {
    setUrl('https://shop.example.com/cart');
    setOptedOut(true, '');
    expect(jar.writesOf('fp_optout').filter((w) => w.startsWith('fp_optout=1'))).toEqual([expect.stringContaining('Domain=example.com')]);
    expect(isOptedOut()).toBe(true);
  });

  it('a visitor is not opted out by default', () => {
    expect(isOptedOut()).toBe(false);
  });

  it('opting out is remembered for a year in a cookie and in localStorage', () => {
    setOptedOut(true, '');
    expect(isOptedOut()).toBe(true);
    expect(jar.get('fp_optout')).toBe('1');
    expect(jar.writesOf('fp_optout')[0]).toMatch(/Max-Age=31536000/);
    expect(jar.writesOf('fp_optout')[0]).toMatch(/Path=\//);
    expect(localStorage.getItem('fp_optout')).toBe('1');
  });

  it('the cookie carries the given Domain, so every subdomain sees the opt-out', () => {
    setOptedOut(true, 'example.com');
    expect(jar.writesOf('fp_optout')[0]).toMatch(/Domain=example\.com/);
  });

  it('opting back in removes both', () => {
    setOptedOut(true, '');
    setOptedOut(false, '');
    expect(isOptedOut()).toBe(false);
    expect(jar.get('fp_optout')).toBeUndefined();
    expect(localStorage.getItem('fp_optout')).toBeNull();
  });

  it('either copy alone is enough (the visitor cleared cookies, or localStorage)', () => {
    setOptedOut(true, '');
    jar.clear();
    expect(isOptedOut()).toBe(true);
    setOptedOut(true, '');
    localStorage.clear();
    expect(isOptedOut()).toBe(true);
  });

  it('works with localStorage refused (cookie only), without throwing', () => {
    refuseLocalStorage({ reads: true });
    expect(() => setOptedOut(true, '')).not.toThrow();
    expect(isOptedOut()).toBe(true);
  });

  it('works with cookies refused (localStorage only), without throwing', () => {
    removeCookieJar();
    jar = installCookieJar({ throws: true });
    expect(() => setOptedOut(true, '')).not.toThrow();
    expect(isOptedOut()).toBe(true);
    expect(() => setOptedOut(false, '')).not.toThrow();
    expect(isOptedOut()).toBe(false);
  });

  it('only the value 1 counts as opted out', () => {
    localStorage.setItem('fp_optout', '0');
    document.cookie = 'fp_optout=yes; Path=/';
    expect(isOptedOut()).toBe(false);
  });
});
