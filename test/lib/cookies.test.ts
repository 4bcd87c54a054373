import { afterEach, describe, expect, it, vi } from 'vitest';
import { readCookie, topDomain, writeCookie } from '../../src/lib/cookies';
import { installCookieJar, removeCookieJar } from '../helpers/cookieJar';
import { clearCookies, setUrl, START_URL } from '../helpers/page';

afterEach(() => {
  vi.restoreAllMocks();
  removeCookieJar();
  clearCookies();
  setUrl(START_URL);
});

describe('readCookie', () => {
  it('finds a cookie by its exact name and decodes it', () => {
    document.cookie = 'fpid_old=nope; Path=/';
    document.cookie = 'xfpid=nope; Path=/';
    document.cookie = 'fpid=' + encodeURIComponent('PR a;b') + '; Path=/';
    expect(readCookie('fpid')).toBe('PR a;b');
    expect(readCookie('missing')).toBeUndefined();
  });

  it('is undefined when document.cookie throws', () => {
    installCookieJar({ throws: true });
    expect(() => readCookie('fpid')).not.toThrow();
    expect(readCookie('fpid')).toBeUndefined();
  });
});

describe('writeCookie', () => {
  it('writes Path=/, SameSite=Lax and Max-Age, without Secure on http', () => {
    const jar = installCookieJar();
    writeCookie('fpid', 'PR1', 31536000);
    expect(jar.writes).toEqual(['fpid=PR1; Path=/; SameSite=Lax; Max-Age=31536000']);
  });

  it('adds Domain when given, Secure on https, and encodes the value', () => {
    setUrl('https://www.example.com/');
    const jar = installCookieJar();
    writeCookie('fsid', 'a b', 1800, 'example.com');
    expect(jar.writes).toEqual(['fsid=a%20b; Path=/; SameSite=Lax; Max-Age=1800; Domain=example.com; Secure']);
  });

  it('makes a browser-session cookie without Max-Age, and deletes with 0', () => {
    const jar = installCookieJar();
    writeCookie('s', 'v', undefined);
    writeCookie('s', '', 0);
    expect(jar.writes).toEqual(['s=v; Path=/; SameSite=Lax', 's=; Path=/; SameSite=Lax; Max-Age=0']);
  });

  it('really sets and deletes a cookie in the page', () => {
    writeCookie('probe_me', 'yes', 60);
    expect(readCookie('probe_me')).toBe('yes');
    writeCookie('probe_me', '', 0);
    // happy-dom keeps a Max-Age=0 cookie with an empty value until the next ms; browsers drop it.
    expect(readCookie('probe_me') || undefined).toBeUndefined();
  });

  it('does not throw when cookies throw', () => {
    installCookieJar({ throws: true });
    expect(() => writeCookie('fpid', 'x', 1)).not.toThrow();
  });
});

describe('topDomain', () => {
  it.each(['localhost', '127.0.0.1', '192.168.0.10', '[::1]', '::1', 'intranet'])('is "" for %s, without probing', (host) => {
    const jar = installCookieJar();
    expect(topDomain(host)).toBe('');
    expect(jar.writes).toEqual([]);
  });

  it('is "" on the default test page (localhost)', () => {
    expect(topDomain()).toBe('');
  });

  it('finds the registrable domain through a browser that refuses public suffixes (happy-dom)', () => {
    setUrl('https://www.shop.example.co.uk/page');
    expect(topDomain()).toBe('example.co.uk');
    expect(readCookie('fp_probe') || undefined).toBeUndefined(); // the probe is cleaned up (see above)
    setUrl('https://a.b.example.com/');
    expect(topDomain()).toBe('example.com');
  });

  it('probes from the shortest candidate up and stops at the first that sticks (stubbed cookie jar)', () => {
    const jar = installCookieJar({ accept: (cookie) => !/Domain=(co\.uk|uk)\b/.test(cookie) || /Domain=example\.co\.uk/.test(cookie) });
    expect(topDomain('www.shop.example.co.uk')).toBe('example.co.uk');
    const probes = jar.writesOf('fp_probe');
    expect(probes.map((w) => /Domain=([^;]+)/.exec(w)![1])).toEqual(['co.uk', 'example.co.uk', 'example.co.uk']);
    expect(probes[2]).toContain('Max-Age=0'); // removed again
    expect(jar.get('fp_probe')).toBeUndefined();
  });

  it('accepts a domain the jar takes on the first try', () => {
    const jar = installCookieJar({ accept: (cookie) => /Domain=example\.com/.test(cookie) });
    expect(topDomain('fp.example.com')).toBe('example.com');
    expect(jar.writesOf('fp_probe')).toHaveLength(2);
  });

  it('uses the host itself for a two-label host', () => {
    const jar = installCookieJar();
    expect(topDomain('example.com')).toBe('example.com');
    expect(jar.writes).toEqual([]);
  });
});
