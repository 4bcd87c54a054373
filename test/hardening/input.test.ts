/**
 * Issue 7, bad input: event names, option objects of the wrong types, `load()`
 * with a bad write key or host, and IDs no event could carry.
 */
import { describe, expect, it } from 'vitest';
import { createFirstparty } from '../../src/firstparty';
import { memoryStore } from '../../src/lib/queue';
import { DEFAULTS } from '../../src/lib/options';
import { ENDPOINT, fakeCollector, HOST, KEY, tracker, useHardeningEnvironment, warnings } from './helpers';
import { throwingProxy } from './hostile';

useHardeningEnvironment();

describe('event names', () => {
  it('an empty or blank name: dropped with a warning', async () => {
    const { fp, net } = tracker();
    for (const name of ['', '   ', '\t\n']) expect(() => fp.track(name)).not.toThrow();
    fp.track('Valid');
    await fp.flush();
    expect(net.names()).toEqual(['Valid']);
    expect(warnings().filter((w) => w.includes('without a name'))).toHaveLength(3);
  });

  it('a non-string name (number, null, object, array, Symbol, function, Proxy): dropped with a warning, never stringified', async () => {
    const { fp, net } = tracker();
    const bad = [42, null, undefined, { name: 'x' }, ['Array'], Symbol('s'), () => 'fn', throwingProxy(), 10n, true];
    for (const name of bad) expect(() => fp.track(name as any)).not.toThrow();
    fp.track('Valid');
    await fp.flush();
    expect(net.names()).toEqual(['Valid']);
    expect(warnings().filter((w) => w.includes('without a name'))).toHaveLength(bad.length);
  });

  it('a very long name is capped at 200 characters', async () => {
    const { fp, net } = tracker();
    fp.track('N'.repeat(100_000));
    fp.track('é'.repeat(300));
    await fp.flush();
    expect(net.names()).toEqual(['N'.repeat(200), 'é'.repeat(200)]);
  });

  it('control characters (C0, DEL, C1) are removed from names; a name of only control characters is dropped', async () => {
    const { fp, net } = tracker();
    fp.track('\0Sign\x1b[31m Up\n\r\tDone\x7f\u0085\u009b!');
    fp.track('\x01\x02\x7f\u0090');
    await fp.flush();
    expect(net.names()).toEqual(['Sign[31m UpDone!']);
    expect(warnings().filter((w) => w.includes('without a name'))).toHaveLength(1);
  });

  it('cleaning happens before the cap: 300 control characters then a name still give the name', async () => {
    const { fp, net } = tracker();
    fp.track('\x00'.repeat(300) + 'Real Name');
    await fp.flush();
    expect(net.names()).toEqual(['Real Name']);
  });
});

describe('options of the wrong type or range warn and fall back to their default', () => {
  const BAD: [string, unknown][] = [
    ['flushInterval', '1000'],
    ['flushInterval', -5],
    ['flushInterval', NaN],
    ['flushInterval', 2 ** 40],
    ['maxQueue', 0],
    ['maxQueue', NaN],
    ['maxQueue', '10'],
    ['maxAge', NaN],
    ['maxAge', -1],
    ['maxAge', Infinity],
    ['sessionTimeout', {}],
    ['sessionTimeout', NaN],
    ['maxBatchBytes', NaN],
    ['maxBatchBytes', null],
    ['debug', 'yes'],
    ['pageviews', 'always'],
    ['respectPrivacySignals', 0],
  ];

  const shown = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : v && typeof v === 'object' ? JSON.stringify(v) : String(v));
  it.each(BAD.map(([option, value]) => [option, shown(value), value] as const))('%s: %s → warning, default used, events delivered', async (option, _shown, value) => {
    const { fp, net } = tracker({ options: { [option]: value } });
    expect(warnings().some((w) => w.includes('bad option ' + option))).toBe(true);
    fp.track('With Bad Option');
    await fp.flush();
    await fp.flush();
    expect(net.names()).toEqual(['With Bad Option']);
    expect(net.problems()).toEqual([]);
  });

  it('all of them at once: one warning each, and defaults behave as defaults', async () => {
    const options = Object.fromEntries(BAD.map(([k, v]) => [k, v]));
    const { fp, net } = tracker({ options });
    for (const key of new Set(BAD.map(([k]) => k))) expect(warnings().filter((w) => w.includes('bad option ' + key))).toHaveLength(1);
    for (let i = 0; i < 3; i++) fp.track('Event ' + i);
    await fp.flush();
    expect(net.names()).toEqual(['Event 0', 'Event 1', 'Event 2']);
    expect(Object.keys(DEFAULTS).length).toBeGreaterThan(5);
  });

  // The privacy options are the exception: a typo must not mean tracking with cookies.
  it("storage: 'indexedDB' → warning, 'none' used: events delivered, nothing written", async () => {
    const cookies = document.cookie;
    const { fp, net } = tracker({ options: { storage: 'indexedDB' } });
    expect(warnings().filter((w) => w.includes('bad option storage, using none'))).toHaveLength(1);
    fp.track('With Bad Storage');
    await fp.flush();
    expect(net.names()).toEqual(['With Bad Storage']);
    expect(document.cookie).toBe(cookies);
    expect(localStorage.length).toBe(0);
  });

  it("consent: 'maybe' → warning, false used: nothing recorded until consent(true)", async () => {
    const { fp, net } = tracker({ options: { consent: 'maybe' } });
    expect(warnings().filter((w) => w.includes('bad option consent, using false'))).toHaveLength(1);
    fp.track('Without Consent');
    await fp.flush();
    expect(net.names()).toEqual([]);
    fp.consent(true);
    fp.track('With Consent');
    await fp.flush();
    expect(net.names()).toEqual(['With Consent']);
  });

  it('an options argument that is not an object (string, number, array, null, a throwing Proxy) never throws', async () => {
    for (const options of ['fast', 42, [1, 2], null, throwingProxy()]) {
      const net = fakeCollector();
      const fp = createFirstparty({ queue: memoryStore(), fetch: net.fetch, sendBeacon: () => true });
      expect(() => fp.load(KEY, HOST, options as any)).not.toThrow();
      // A throwing options object may make this load() fail (with a warning); a second, clean load works.
      expect(() => fp.load(KEY, HOST)).not.toThrow();
      fp.track('After Odd Options');
      await fp.flush();
      expect(net.names()).toEqual(['After Odd Options']);
      fp.destroy();
    }
  });

  it('an enumerable property added to Object.prototype by an old library does not break load()', async () => {
    (Object.prototype as any).each = function () {};
    try {
      const { fp, net } = tracker({ options: { flushInterval: 500 } });
      fp.track('Despite Object.prototype');
      await fp.flush();
      expect(net.names()).toEqual(['Despite Object.prototype']);
    } finally {
      delete (Object.prototype as any).each;
    }
  });
});

describe('load() with a bad write key or host', () => {
  const label = (value: unknown, i: number) =>
    i + ': ' + (typeof value === 'string' ? JSON.stringify(value) : value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);
  const BAD_KEYS: unknown[] = ['', '   ', '\n\t', 42, null, undefined, {}, ['key'], throwingProxy()];
  const BAD_HOSTS: unknown[] = ['', '   ', 'http://', 'https://', 'not a host !!', 'exa mple.com', 'fp.example.com:99999', 'http://[::1', 42, null, {}, throwingProxy()];

  it.each(BAD_KEYS.map((k, i) => [label(k, i), k]))(
    'write key %s: warning, nothing sent, and a later correct load() works',
    async (_label, key) => {
      const { fp, net } = tracker({ noLoad: true });
      expect(() => fp.load(key as any, HOST)).not.toThrow();
      expect(warnings().some((w) => w.includes('bad write key'))).toBe(true);
      fp.track('Queued Meanwhile');
      await fp.flush();
      expect(net.requests).toHaveLength(0);
      fp.load(KEY, HOST);
      await fp.flush();
      expect(net.names()).toEqual(['Queued Meanwhile']);
      expect(net.delivered()[0].write_key).toBe(KEY);
    },
  );

  it.each(BAD_HOSTS.map((h, i) => [label(h, i), h]))(
    'host %s: warning, nothing sent, and a later correct load() works',
    async (_label, host) => {
      const { fp, net } = tracker({ noLoad: true });
      expect(() => fp.load(KEY, host as any)).not.toThrow();
      expect(warnings().some((w) => w.includes('bad host'))).toBe(true);
      fp.track('Queued Meanwhile');
      await fp.flush();
      expect(net.requests).toHaveLength(0);
      fp.load(KEY, HOST);
      await fp.flush();
      expect(net.names()).toEqual(['Queued Meanwhile']);
    },
  );

  it('a write key with surrounding whitespace is trimmed', async () => {
    const { fp, net } = tracker({ noLoad: true });
    fp.load('  ' + KEY + '\n', HOST);
    fp.track('Trimmed');
    await fp.flush();
    expect(net.delivered()[0].write_key).toBe(KEY);
  });

  it('a host with a path keeps it (a proxy path, issue 13); its query, fragment and credentials are dropped', async () => {
    for (const [host, endpoint] of [
      [HOST + '/some/path/?q=1#frag', HOST + '/some/path/events/track/bulk'],
      ['http://user:pass@127.0.0.1:9999/x', 'http://127.0.0.1:9999/x/events/track/bulk'],
      ['  ' + HOST + '  ', ENDPOINT],
    ]) {
      const { fp, net } = tracker({ noLoad: true });
      fp.load(KEY, host);
      fp.track('Path Kept');
      await fp.flush();
      expect(net.requests.map((r) => r.url)).toEqual([endpoint]);
    }
  });

  it('a bare domain means https', async () => {
    const { fp, net } = tracker({ noLoad: true });
    fp.load(KEY, 'fp.example.com');
    fp.track('Bare');
    await fp.flush();
    expect(net.requests.map((r) => r.url)).toEqual(['https://fp.example.com/events/track/bulk']);
  });
});

describe('IDs no event could carry', () => {
  it('identify() with a 100,000-character ID does not make every later event too large to send', async () => {
    const { fp, net } = tracker();
    expect(() => fp.identify('u'.repeat(100_000))).not.toThrow();
    fp.track('After Huge ID');
    await fp.flush();
    expect(net.names()).toContain('After Huge ID');
    expect(net.problems()).toEqual([]);
  });

  it('setAnonymousId() with a 100,000-character ID does not make every later event too large to send', async () => {
    const { fp, net } = tracker();
    expect(() => fp.setAnonymousId('a'.repeat(100_000))).not.toThrow();
    fp.track('After Huge Anonymous ID');
    await fp.flush();
    expect(net.names()).toContain('After Huge Anonymous ID');
  });
});

describe('call sequences', () => {
  it('events tracked right after optOut(); optIn() in the same task are delivered', async () => {
    const { fp, net } = tracker();
    fp.track('Before');
    fp.optOut();
    fp.optIn();
    fp.track('After Opt-In');
    await fp.flush();
    await fp.flush();
    expect(net.names()).toEqual(['After Opt-In']);
  });

  it('every method called before load() and with wrong arguments, then load(): no exception, tracking works', async () => {
    const { fp, net } = tracker({ noLoad: true });
    const api = fp as any;
    for (const method of Object.keys(fp)) {
      // (a throwing middleware drops every event by design; it gets only non-functions here)
      if (method === 'load' || method === 'destroy' || method === 'optOut') continue;
      if (method === 'addSourceMiddleware') {
        for (const arg of [undefined, 42, throwingProxy(), {}]) expect(() => api[method](arg)).not.toThrow();
        continue;
      }
      for (const args of [[], [throwingProxy()], [42, {}, null, 'x'], [() => {
        throw new Error('callback');
      }]]) expect(() => api[method](...args)).not.toThrow();
    }
    fp.load(KEY, HOST);
    // consent() was given nothing that is a yes: a refusal, remembered through load().
    fp.track('Refused');
    fp.consent(true);
    fp.track('Works');
    await fp.flush();
    expect(net.names()).toContain('Works');
    expect(net.names()).not.toContain('Refused');
  });
});
