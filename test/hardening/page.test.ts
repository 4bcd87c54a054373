/**
 * Issue 7, hostile pages: `JSON.stringify` and prototypes monkey-patched by old
 * libraries, `fetch` wrapped, replaced by one that throws or returns garbage,
 * or removed, `XMLHttpRequest` replaced, `console` broken. Tracking keeps
 * working (valid JSON bodies) or fails quietly; nothing throws into the page.
 */
import { describe, expect, it, vi } from 'vitest';
import { createFirstparty } from '../../src/firstparty';
import { memoryStore } from '../../src/lib/queue';
import { REQUEST_TIMEOUT_MS } from '../../src/lib/transport';
import { fakeCollector, hidePage, HOST, KEY, tracker, useHardeningEnvironment, warnings, type Reply } from './helpers';

useHardeningEnvironment();

/** Runs `fn` with a prototype (or object) property replaced, restoring it afterwards. */
async function patched<T>(target: any, key: PropertyKey, value: unknown, fn: () => Promise<T>, enumerable = false): Promise<T> {
  const before = Object.getOwnPropertyDescriptor(target, key);
  Object.defineProperty(target, key, { value, configurable: true, writable: true, enumerable });
  try {
    return await fn();
  } finally {
    if (before) Object.defineProperty(target, key, before);
    else delete target[key];
  }
}

describe('JSON and prototypes monkey-patched by old libraries', () => {
  it('Prototype.js-style Array.prototype.toJSON (arrays serialize as strings): bodies stay valid JSON, events delivered', async () => {
    const protoToJSON = function (this: unknown[]) {
      return '[' + this.map((v) => JSON.stringify(v)).join(', ') + ']';
    };
    await patched(Array.prototype, 'toJSON', protoToJSON, async () => {
      expect(JSON.stringify({ a: [1] })).toBe('{"a":"[1]"}'); // the page really is broken this way
      const { fp, net } = tracker();
      expect(() => fp.track('With Prototype.js', { list: [1, 2], nested: { deeper: ['x'] } })).not.toThrow();
      fp.page();
      await fp.flush();
      expect(net.problems()).toEqual([]);
      expect(net.names()).toEqual(['With Prototype.js', 'Page Viewed']);
      // The arrays arrive as arrays or, at worst, as their text: never as broken JSON.
      const [event] = net.delivered();
      expect([[1, 2], '[1, 2]']).toContainEqual(event.properties.list);
    });
  });

  it('Prototype.js-style Date.prototype.toJSON returning a quoted string: still valid JSON', async () => {
    await patched(Date.prototype, 'toJSON', function (this: Date) {
      return '"' + this.toISOString() + '"';
    }, async () => {
      const { fp, net } = tracker();
      fp.track('Dated', { when: new Date(0) });
      await fp.flush();
      expect(net.problems()).toEqual([]);
      expect(net.names()).toEqual(['Dated']);
    });
  });

  it('enumerable methods added to Array.prototype (old MooTools style) do not leak into events', async () => {
    await patched(
      Array.prototype,
      'each',
      function () {},
      async () => {
        const { fp, net } = tracker();
        fp.track('Arrays', { list: [1, 2] });
        await fp.flush();
        expect(net.problems()).toEqual([]);
        expect(net.delivered()[0].properties).toEqual({ list: [1, 2] });
      },
      true,
    );
  });

  it('JSON.stringify replaced by one that throws: no exception, a warning; tracking resumes once it is restored', async () => {
    const { fp, net } = tracker();
    const real = JSON.stringify;
    const stringify = vi.spyOn(JSON, 'stringify').mockImplementation(() => {
      throw new Error('stringify broken by the page');
    });
    expect(() => fp.track('While Broken', { a: 1 })).not.toThrow();
    expect(() => fp.page()).not.toThrow();
    expect(() => fp.identify('user-1', { email: 'a@b.c' })).not.toThrow();
    await expect(fp.flush()).resolves.toBeUndefined();
    expect(warnings().length).toBeGreaterThan(0);
    stringify.mockRestore();
    expect(JSON.stringify).toBe(real);
    fp.track('After Restore');
    await fp.flush();
    expect(net.problems()).toEqual([]);
    expect(net.names()).toContain('After Restore');
  });

  it('JSON.stringify replaced by one returning garbage (undefined, non-JSON text): no exception, no invalid body sent', async () => {
    for (const garbage of [undefined, 'not json', '{"events": [}', 42]) {
      const { fp, net } = tracker();
      const stringify = vi.spyOn(JSON, 'stringify').mockImplementation(() => garbage as any);
      expect(() => fp.track('Garbage Stringify')).not.toThrow();
      await expect(fp.flush()).resolves.toBeUndefined();
      stringify.mockRestore();
      fp.track('Afterwards');
      await fp.flush();
      await fp.flush();
      expect(net.problems()).toEqual([]);
      expect(net.names()).toContain('Afterwards');
      fp.destroy();
    }
  });

  it('JSON.parse replaced by one that throws: no exception, delivery goes on', async () => {
    const { fp, net } = tracker();
    vi.spyOn(JSON, 'parse').mockImplementation(() => {
      throw new Error('parse broken');
    });
    expect(() => fp.track('Parse Broken')).not.toThrow();
    await fp.flush();
    vi.mocked(JSON.parse).mockRestore();
    expect(net.names()).toEqual(['Parse Broken']);
  });

  it('console.warn replaced by one that throws: warnings never turn into exceptions', async () => {
    const { fp, net } = tracker();
    spiesThrow();
    expect(() => fp.track('')).not.toThrow();
    expect(() => fp.track('Bad Props', 42 as any)).not.toThrow();
    expect(() => fp.load(KEY, HOST)).not.toThrow(); // "called twice" warning
    fp.track('Fine');
    await fp.flush();
    expect(net.names()).toEqual(['Bad Props', 'Fine']);
  });
});

/** Makes console.warn and console.log throw. */
function spiesThrow() {
  vi.mocked(console.warn).mockImplementation(() => {
    throw new Error('console broken');
  });
  vi.mocked(console.log).mockImplementation(() => {
    throw new Error('console broken');
  });
}

describe('fetch wrapped, replaced or broken', () => {
  /** Events reach the collector once `fetch` heals: every failure was retried. */
  async function retriedUntilHealed(broken: Reply) {
    const { fp, net } = tracker({ replies: [broken, broken, broken] });
    expect(() => fp.track('Retried')).not.toThrow();
    // The library retries by itself (no flush() awaited here: a hung request must be left to time out).
    for (let i = 0; i < 6; i++) await vi.advanceTimersByTimeAsync(70_000);
    expect(net.requests.map((r) => r.reply)).toEqual([broken, broken, broken, 200]);
    expect(net.names()).toEqual(['Retried']);
    expect(net.problems()).toEqual([]);
  }

  it('fetch throwing synchronously → retried with backoff, delivered once it works, no exception', () => retriedUntilHealed('throw'));
  it('fetch rejecting (network error) → retried', () => retriedUntilHealed('network-error'));
  it('fetch resolving to garbage (42) → retried', () => retriedUntilHealed('garbage'));
  it('fetch resolving to a 503 whose body cannot be read → retried', () => retriedUntilHealed('bad-body'));
  it('fetch resolving to a 200 whose body cannot be read (a wrapper read it first) → a receipt: the status is the answer, nothing sent again', async () => {
    const { fp, net } = tracker({ replies: ['bad-body-200'] });
    fp.track('Read By A Wrapper');
    for (let i = 0; i < 3; i++) await vi.advanceTimersByTimeAsync(70_000);
    expect(net.requests.map((r) => r.reply)).toEqual(['bad-body-200']);
    expect(net.names()).toEqual(['Read By A Wrapper']);
  });
  it('fetch hanging (honouring abort) → abandoned after the request timeout, retried', () => retriedUntilHealed('hang'));

  it('fetch that never settles and ignores the abort signal (a broken polyfill) → given up after the request timeout, retried', async () => {
    const { fp, net } = tracker({ replies: ['hang-forever'] });
    fp.track('Behind A Broken Polyfill');
    await vi.advanceTimersByTimeAsync(1000);
    expect(net.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT_MS + 70_000);
    expect(net.requests.length).toBeGreaterThanOrEqual(2);
    expect(net.names()).toEqual(['Behind A Broken Polyfill']);
  });

  it('a slow request: events tracked while it is in flight are sent after it, without waiting for another call', async () => {
    let answer!: (status: number) => void;
    const slow = new Promise<number>((resolve) => (answer = resolve));
    const { fp, net } = tracker({ replies: [slow] });
    fp.track('First');
    await vi.advanceTimersByTimeAsync(1000); // the first batch leaves and hangs on a slow collector
    expect(net.requests).toHaveLength(1);
    fp.track('During The Request');
    await vi.advanceTimersByTimeAsync(5000); // its flush timer fires while the request is still in flight
    answer(200);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(net.names()).toEqual(['First', 'During The Request']);
  });

  it('the global fetch replaced after load (no fetch given): the replacement is used at call time; a throwing one is retried', async () => {
    const calls: string[] = [];
    const net = fakeCollector();
    vi.stubGlobal('fetch', (url: string, init: RequestInit) => {
      calls.push('broken');
      throw new TypeError('replaced by a broken one');
    });
    const fp = createFirstparty({ queue: memoryStore(), sendBeacon: () => true });
    fp.load(KEY, HOST);
    fp.track('Global Fetch');
    await vi.advanceTimersByTimeAsync(1000);
    await fp.flush();
    expect(calls.length).toBeGreaterThanOrEqual(1);
    // Another script wraps fetch (counting) around a working one.
    vi.stubGlobal('fetch', (url: string, init: RequestInit) => {
      calls.push('wrapped');
      return net.fetch(url, init);
    });
    await vi.advanceTimersByTimeAsync(70_000);
    await fp.flush();
    expect(calls).toContain('wrapped');
    expect(net.names()).toEqual(['Global Fetch']);
    fp.destroy();
  });

  it('fetch removed entirely (undefined): no exception; the page-hide beacon still delivers', async () => {
    vi.stubGlobal('fetch', undefined);
    const beacons: string[] = [];
    const fp = createFirstparty({ queue: memoryStore(), sendBeacon: (url, body) => (beacons.push(body), true) });
    fp.load(KEY, HOST);
    expect(() => fp.track('No Fetch')).not.toThrow();
    await vi.advanceTimersByTimeAsync(3000);
    await fp.flush();
    const show = hidePage();
    show();
    expect(beacons.flatMap((b) => JSON.parse(b).events.map((e: any) => e.name))).toEqual(['No Fetch']);
    fp.destroy();
  });

  it('XMLHttpRequest replaced by a throwing constructor: not used, nothing breaks', async () => {
    vi.stubGlobal(
      'XMLHttpRequest',
      class {
        constructor() {
          throw new Error('XHR replaced');
        }
      },
    );
    const { fp, net } = tracker();
    fp.track('No XHR Needed');
    await fp.flush();
    expect(net.names()).toEqual(['No XHR Needed']);
  });
});
