import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type * as ContextModule from '../../src/lib/context';
import { setUrl, START_URL } from '../helpers/page';

// The module caches (the context while the page is unchanged, the referrer, the
// time zone): each test gets a fresh copy.
let captureContext: typeof ContextModule.captureContext;
let pageSnapshot: typeof ContextModule.pageSnapshot;
let campaignFrom: typeof ContextModule.campaignFrom;
let timezone: typeof ContextModule.timezone;
let rememberZone: typeof ContextModule.rememberZone;

beforeEach(async () => {
  localStorage.clear();
  vi.resetModules();
  ({ captureContext, pageSnapshot, campaignFrom, timezone, rememberZone } = await import('../../src/lib/context'));
});

afterEach(() => {
  vi.restoreAllMocks();
  document.title = '';
  localStorage.clear();
  setUrl(START_URL);
});

describe('captureContext', () => {
  it('describes the page: url, path, title, referrer, search', () => {
    setUrl('https://www.example.com/pricing/plans?plan=pro#top');
    document.title = 'Plans';
    vi.spyOn(document, 'referrer', 'get').mockReturnValue('https://www.google.com/');
    expect(captureContext('1.2.3').page).toEqual({
      url: 'https://www.example.com/pricing/plans?plan=pro#top',
      path: '/pricing/plans',
      title: 'Plans',
      referrer: 'https://www.google.com/',
      search: '?plan=pro',
    });
  });

  it('fills locale, timezone, useragent, screen and library', () => {
    setUrl('https://www.example.com/a');
    vi.spyOn(navigator, 'language', 'get').mockReturnValue('fr-FR');
    vi.spyOn(screen, 'width', 'get').mockReturnValue(390);
    vi.spyOn(screen, 'height', 'get').mockReturnValue(844);
    const context = captureContext('9.9.9');
    expect(context.locale).toBe('fr-FR');
    // The time zone may be filled in only as the event leaves (see the end-to-end test in firstparty.test.ts).
    expect(typeof context.timezone).toBe('string');
    expect(context.useragent).toBe(navigator.userAgent);
    expect(context.screen).toEqual({ width: 390, height: 844 });
    expect(context.library).toEqual({ name: 'firstparty-js', version: '9.9.9' });
  });

  it('maps utm_* to campaign, utm_campaign to name', () => {
    setUrl('https://www.example.com/?utm_source=newsletter&utm_medium=email&utm_campaign=spring&utm_term=shoes&utm_content=hero');
    expect(captureContext('1').campaign).toEqual({ source: 'newsletter', medium: 'email', name: 'spring', term: 'shoes', content: 'hero' });
  });

  it('puts click IDs in campaign under their own names', () => {
    setUrl('https://www.example.com/?gclid=G1&fbclid=F1&msclkid=M1&utm_source=ads&other=x');
    expect(captureContext('1').campaign).toEqual({ gclid: 'G1', fbclid: 'F1', msclkid: 'M1', source: 'ads' });
  });

  it('has no campaign without utm_* or click IDs', () => {
    setUrl('https://www.example.com/?q=1&utm_source=');
    expect(captureContext('1').campaign).toBeUndefined();
  });

  it('captures the page at call time: each capture keeps its own URL and title', () => {
    setUrl('https://www.example.com/first?utm_source=a');
    document.title = 'First';
    const first = captureContext('1');
    history.pushState({}, '', '/second');
    document.title = 'Second';
    const second = captureContext('1');
    expect(first.page).toMatchObject({ path: '/first', title: 'First', url: 'https://www.example.com/first?utm_source=a' });
    expect(first.campaign).toEqual({ source: 'a' });
    expect(second.page).toMatchObject({ path: '/second', title: 'Second', url: 'https://www.example.com/second' });
    expect(second.campaign).toBeUndefined();
  });

  it('leaves an empty referrer and an empty query out of the JSON (26 B an event), and sends them when there are some', () => {
    setUrl('https://www.example.com/plain');
    const bare = captureContext('1', { url: location.href, title: 'Plain', referrer: '' });
    expect(JSON.parse(JSON.stringify(bare)).page).toEqual({ url: 'https://www.example.com/plain', path: '/plain', title: 'Plain' });
    const full = captureContext('1', { url: 'https://www.example.com/plain?q=1', title: 'Plain', referrer: 'https://news.example.org/' });
    expect(JSON.parse(JSON.stringify(full)).page).toEqual({ url: 'https://www.example.com/plain?q=1', path: '/plain', title: 'Plain', referrer: 'https://news.example.org/', search: '?q=1' });
  });

  it('sees a screen change even on the same page', () => {
    setUrl('https://www.example.com/rotate');
    const width = vi.spyOn(screen, 'width', 'get').mockReturnValue(800);
    expect(captureContext('1').screen.width).toBe(800);
    width.mockReturnValue(600);
    expect(captureContext('1').screen.width).toBe(600);
  });

  it('uses a page snapshot taken earlier (a queued call) instead of the current page', () => {
    setUrl('https://www.example.com/now');
    const context = captureContext('1', { url: 'https://www.example.com/then?gclid=Z', title: 'Then', referrer: 'https://ref.example/' });
    expect(context.page).toEqual({ url: 'https://www.example.com/then?gclid=Z', path: '/then', title: 'Then', referrer: 'https://ref.example/', search: '?gclid=Z' });
    expect(context.campaign).toEqual({ gclid: 'Z' });
  });
});

describe('timezone', () => {
  const TZ = 'firstparty-js:tz';
  const offset = () => String(new Date().getTimezoneOffset());

  it('is the IANA zone, computed once a page', () => {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const format = vi.spyOn(Intl, 'DateTimeFormat');
    expect(timezone()).toBe(zone);
    expect(timezone()).toBe(zone);
    expect(format).toHaveBeenCalledTimes(1);
  });

  it('where Temporal is, is read from it at call time, without Intl.DateTimeFormat', () => {
    const format = vi.spyOn(Intl, 'DateTimeFormat');
    vi.stubGlobal('Temporal', { Now: { timeZoneId: () => 'Asia/Kathmandu' } });
    try {
      expect(timezone(false)).toBe('Asia/Kathmandu');
      expect(captureContext('1.0.0').timezone).toBe('Asia/Kathmandu');
      expect(format).not.toHaveBeenCalled();
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('a Temporal that throws leaves the event without a time zone, and nothing throws', () => {
    vi.stubGlobal('Temporal', { Now: { timeZoneId: () => { throw new RangeError('polyfill'); } } });
    try {
      expect(timezone(false)).toBe('');
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('without Temporal, is pending until computed (at send)', () => {
    expect(timezone(false)).toBe('\0tz');
    expect(timezone()).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
  });

  it('by default neither reads nor writes localStorage (storage none, no consent)', () => {
    localStorage.setItem(TZ, offset() + ' Antarctica/Troll');
    const read = vi.spyOn(Storage.prototype, 'getItem');
    expect(timezone()).not.toBe('Antarctica/Troll');
    expect(read).not.toHaveBeenCalled();
    localStorage.clear();
    timezone();
    expect(localStorage.length).toBe(0);
  });

  it('with rememberZone(true), remembers it with the offset, and a later page reads it', async () => {
    rememberZone(true);
    const zone = timezone();
    expect(localStorage.getItem(TZ)).toBe(offset() + ' ' + zone);
    vi.resetModules();
    const next = await import('../../src/lib/context');
    next.rememberZone(true);
    localStorage.setItem(TZ, offset() + ' Antarctica/Troll');
    expect(next.timezone(false)).toBe('Antarctica/Troll');
  });

  it('rememberZone(false) removes what was remembered', () => {
    rememberZone(true);
    timezone();
    rememberZone(false);
    expect(localStorage.getItem(TZ)).toBeNull();
  });
});

describe('pageSnapshot', () => {
  it('is the current url, title and referrer', () => {
    setUrl('https://www.example.com/snap?x=1');
    document.title = 'Snap';
    vi.spyOn(document, 'referrer', 'get').mockReturnValue('https://search.example/');
    expect(pageSnapshot()).toEqual({ url: 'https://www.example.com/snap?x=1', title: 'Snap', referrer: 'https://search.example/' });
    history.pushState({}, '', '/next');
    document.title = 'Next';
    expect(pageSnapshot()).toMatchObject({ url: 'https://www.example.com/next', title: 'Next' });
  });
});

describe('campaignFrom', () => {
  it('parses a query string', () => {
    expect(campaignFrom('?utm_campaign=launch&msclkid=abc')).toEqual({ name: 'launch', msclkid: 'abc' });
    expect(campaignFrom('')).toBeUndefined();
    expect(campaignFrom('?utm_source=a%20b')).toEqual({ source: 'a b' });
  });
});
