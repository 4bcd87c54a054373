/**
 * Issue 7, bad input: every documented value rule of `clean()` (src/lib/toJson.ts),
 * shown end to end — `track('Value', { v })`, then what the collector received —
 * and the batch-size rule for events too large to send.
 */
import { describe, expect, it } from 'vitest';
import { clean, MAX_DEPTH, MAX_KEYS, MAX_STRING } from '../../src/lib/toJson';
import { BODY_LIMIT, byteLength, limitOf, tracker, useHardeningEnvironment, warnings } from './helpers';
import { deep, hugeString, manyKeys, ownThrowingGetter, revokedProxy, throwingProxy, WithThrowingGetter } from './hostile';

useHardeningEnvironment();

/** Tracks `properties`, flushes, and returns what the collector received for them. */
async function roundTrip(properties: unknown): Promise<any> {
  const { fp, net } = tracker();
  fp.track('Value', properties as any);
  await fp.flush();
  expect(net.problems()).toEqual([]);
  const sent = net.delivered().filter((e) => e.name === 'Value');
  expect(sent).toHaveLength(1);
  return sent[0].properties;
}

const repaired = (what: string) => warnings().filter((w) => w.includes('properties repaired') && w.includes(what));

describe('value rules of clean(), end to end', () => {
  it('BigInt → its decimal string (not a lossy repair: no warning)', async () => {
    expect(await roundTrip({ v: 2n ** 70n, list: [-5n] })).toEqual({ v: '1180591620717411303424', list: ['-5'] });
    expect(warnings()).toEqual([]);
  });

  it('circular reference → "[Circular]", one warning', async () => {
    const v: any = { name: 'loop' };
    v.self = v;
    expect(await roundTrip({ v })).toEqual({ v: { name: 'loop', self: '[Circular]' } });
    expect(repaired('circular reference')).toHaveLength(1);
  });

  it('functions are dropped (null inside arrays)', async () => {
    expect(await roundTrip({ f() {}, g: () => 1, keep: 1, list: [() => 1, 2] })).toEqual({ keep: 1, list: [null, 2] });
  });

  it('symbols are dropped, as values and as keys (null inside arrays)', async () => {
    expect(await roundTrip({ s: Symbol('x'), [Symbol('key')]: 1, keep: 1, list: [Symbol.iterator] })).toEqual({ keep: 1, list: [null] });
  });

  it('undefined is dropped (null inside arrays)', async () => {
    expect(await roundTrip({ u: undefined, keep: 1, list: [undefined, 1] })).toEqual({ keep: 1, list: [null, 1] });
  });

  it('NaN and ±Infinity → null', async () => {
    expect(await roundTrip({ n: NaN, i: Infinity, j: -Infinity, list: [NaN] })).toEqual({ n: null, i: null, j: null, list: [null] });
  });

  it('DOM nodes → their type as a string, never walked', async () => {
    document.body.innerHTML = '<div id="a"><span>secret text</span></div>';
    const props = await roundTrip({ el: document.getElementById('a'), text: document.createTextNode('t'), doc: document });
    expect(props).toEqual({ el: '[object HTMLDivElement]', text: '[object Text]', doc: '[object HTMLDocument]' });
  });

  it('Window → its type as a string, never walked', async () => {
    const props = await roundTrip({ w: window });
    expect(typeof props.w).toBe('string');
    expect(props.w).toMatch(/^\[object \w+\]$/);
  });

  it('Map → object, Set → array', async () => {
    expect(await roundTrip({ m: new Map<string, unknown>([['a', 1], ['b', new Set([2])]]), s: new Set(['x', 'y']) })).toEqual({
      m: { a: 1, b: [2] },
      s: ['x', 'y'],
    });
  });

  it('class instance whose getter throws: own fields kept, the throwing getter left out', async () => {
    // A getter on the prototype is not an own property: never called.
    expect(await roundTrip({ v: new WithThrowingGetter() })).toEqual({ v: { visible: 'kept' } });
    // An own enumerable getter that throws: that property left out, one warning.
    expect(await roundTrip({ v: ownThrowingGetter(), other: 2 })).toEqual({ v: { fine: 1 }, other: 2 });
    expect(repaired('a throwing getter')).toHaveLength(1);
  });

  it('Date → ISO string', async () => {
    expect(await roundTrip({ when: new Date(Date.UTC(2024, 1, 2, 3, 4, 5, 6)) })).toEqual({ when: '2024-02-02T03:04:05.006Z' });
  });

  it('invalid Date → null', async () => {
    expect(await roundTrip({ when: new Date(NaN) })).toEqual({ when: null });
  });

  it('Error → {name, message} (no stack)', async () => {
    expect(await roundTrip({ error: new TypeError('boom') })).toEqual({ error: { name: 'TypeError', message: 'boom' } });
  });

  it('typed arrays → arrays (BigInt64Array → strings; NaN → null)', async () => {
    expect(
      await roundTrip({ u8: new Uint8Array([1, 2, 255]), f64: new Float64Array([1.5, NaN]), big: new BigInt64Array([1n, -2n]) }),
    ).toEqual({ u8: [1, 2, 255], f64: [1.5, null], big: ['1', '-2'] });
  });

  it(`nesting deeper than MAX_DEPTH (${MAX_DEPTH}) → "[Too deep]", one warning`, async () => {
    const props = await roundTrip({ v: deep(50) });
    let level = props;
    let depth = 0;
    while (level && typeof level === 'object') {
      level = level.v ?? level.next;
      depth++;
    }
    expect(level).toBe('[Too deep]');
    expect(depth).toBe(MAX_DEPTH);
    expect(repaired('deep nesting')).toHaveLength(1);
  });

  it(`strings longer than MAX_STRING (${MAX_STRING}) are cut and marked "…[truncated]", one warning`, async () => {
    const props = await roundTrip({ text: 'a'.repeat(MAX_STRING + 1), exact: 'b'.repeat(MAX_STRING) });
    expect(props.text).toBe('a'.repeat(MAX_STRING) + '…[truncated]');
    expect(props.exact).toBe('b'.repeat(MAX_STRING));
    expect(repaired('long string')).toHaveLength(1);
  });

  it(`thousands of keys: objects keep MAX_KEYS (${MAX_KEYS}), arrays end with "[N more]", one warning`, async () => {
    const props = await roundTrip({ obj: manyKeys(5000), list: Array.from({ length: 5000 }, (_, i) => i) });
    expect(Object.keys(props.obj)).toHaveLength(MAX_KEYS);
    expect(props.obj.key0).toBe(0);
    expect(props.list).toHaveLength(MAX_KEYS + 1);
    expect(props.list[MAX_KEYS]).toBe(`[${5000 - MAX_KEYS} more]`);
    expect(repaired('too many entries')).toHaveLength(1);
  });
});

describe('values no rule may freeze the page on', () => {
  it('a huge sparse array (length 2^32 − 1) is capped without walking every index', async () => {
    // A Proxy over a real sparse array, counting reads of `length` (an
    // iterator over the indices reads it once per step). Walking all 4 billion
    // indices would freeze the page for minutes.
    let lengthReads = 0;
    const list = new Proxy([] as unknown[], {
      get(target, key, receiver) {
        if (key === 'length') {
          if (++lengthReads > 10_000) throw new Error('walked the whole sparse array');
          return 2 ** 32 - 1;
        }
        return Reflect.get(target, key, receiver);
      },
    });
    const props = await roundTrip({ list, keep: 1 });
    expect(props.keep).toBe(1);
    expect(Array.isArray(props.list)).toBe(true);
    expect(props.list.length).toBeLessThanOrEqual(MAX_KEYS + 1);
    expect(lengthReads).toBeLessThan(10_000);
  });

  it('a 16 MB typed array (an image) is capped at MAX_KEYS without copying all of it', async () => {
    let iterated = 0;
    const image = new Uint8Array(16 * 1024 * 1024);
    // Counts whoever walks the whole buffer through its iterator (Array.from does).
    Object.defineProperty(image, Symbol.iterator, {
      value: function* () {
        for (let i = 0; i < image.length; i++) {
          if (++iterated > 10_000) throw new Error('copied the whole typed array');
          yield image[i];
        }
      },
    });
    const props = await roundTrip({ image, keep: 1 });
    expect(props.keep).toBe(1);
    expect(Array.isArray(props.image)).toBe(true);
    expect(props.image.length).toBeLessThanOrEqual(MAX_KEYS + 1);
    expect(props.image[0]).toBe(0);
  });

  it('shared references (a DAG: 8 keys × 9 levels, all pointing at one child) are cleaned in bounded work', async () => {
    // Not circular, so "[Circular]" does not apply; expanded naively it is
    // 8^9 = 134 million nodes (a frozen page). The getters count reads and
    // stop handing out children after 100,000, so this test ends either way.
    let reads = 0;
    let node: any = { leaf: true };
    for (let level = 0; level < MAX_DEPTH - 1; level++) {
      const child = node;
      const parent: any = {};
      for (let k = 0; k < 8; k++)
        Object.defineProperty(parent, 'k' + k, { enumerable: true, get: () => (++reads > 100_000 ? 0 : child) });
      node = parent;
    }
    const { fp, net } = tracker();
    fp.track('DAG', { node });
    fp.track('After DAG');
    await fp.flush();
    expect(reads).toBeLessThanOrEqual(100_000);
    expect(net.problems()).toEqual([]);
    expect(net.names()).toContain('After DAG');
  });

  it('properties that cannot be read at all (Proxy throwing on every trap, revoked Proxy) → recorded with {}, a warning, no exception', async () => {
    const { fp, net } = tracker();
    expect(() => fp.track('Proxy Props', throwingProxy())).not.toThrow();
    expect(() => fp.track('Revoked Props', revokedProxy())).not.toThrow();
    fp.track('Nested Proxy', { p: throwingProxy(), r: revokedProxy(), keep: 1 });
    fp.track('After');
    await fp.flush();
    expect(net.problems()).toEqual([]);
    const byName = Object.fromEntries(net.delivered().map((e) => [e.name, e.properties]));
    expect(byName['Nested Proxy']).toEqual({ keep: 1 });
    expect(byName['After']).toEqual({});
    expect(warnings().length).toBeGreaterThan(0);
    // Like track('A', 42) — properties that are not an object — the event is kept with {}.
    expect(byName['Proxy Props']).toEqual({});
    expect(byName['Revoked Props']).toEqual({});
  });

  it('clean() itself never throws, whatever it is given', () => {
    for (const value of [throwingProxy(), throwingProxy([]), throwingProxy(() => {}), revokedProxy()]) {
      expect(() => clean(value, () => {})).not.toThrow();
    }
  });
});

describe('events larger than the batch limit', () => {
  it('an event over 64 KiB is dropped with a warning and a "dropped" event, never sent; the others go on', async () => {
    const { fp, net } = tracker();
    const dropped: any[] = [];
    fp.on('dropped', (detail) => dropped.push(detail));
    const big: Record<string, string> = {};
    for (let i = 0; i < 20; i++) big['p' + i] = 'x'.repeat(4000); // each under MAX_STRING, 80 KB together
    fp.track('Before');
    fp.track('Too Big', big);
    fp.track('After');
    await fp.flush();
    expect(net.names()).toEqual(['Before', 'After']);
    expect(net.events().map((e) => e.name)).not.toContain('Too Big');
    expect(net.problems()).toEqual([]);
    expect(warnings().some((w) => w.includes('too large') && w.includes('Too Big'))).toBe(true);
    expect(dropped.some((d) => d.reason === 'too large')).toBe(true);
  });

  it('the limit counts UTF-8 bytes: around 64 KiB, every event is either sent in a body ≤ 65,536 bytes or dropped with a warning', async () => {
    const { fp, net } = tracker();
    const sizes: number[] = [];
    // 12 properties of multi-byte text (é: 2 bytes, €: 3, 😀: 4), growing past the limit.
    for (let chars = 3000; chars <= 3900; chars += 100) {
      const props: Record<string, string> = {};
      for (let i = 0; i < 12; i++) props['p' + i] = hugeString(chars);
      sizes.push(byteLength(JSON.stringify(props)));
      fp.track('Size ' + chars, props);
    }
    await fp.flush();
    expect(net.problems()).toEqual([]);
    for (const request of net.requests) expect(byteLength(request.text)).toBeLessThanOrEqual(limitOf(request));
    const sent = net.names();
    const tooLarge = warnings().filter((w) => w.includes('too large')).length;
    expect(sent.length + tooLarge).toBe(sizes.length);
    // Comfortably small ones are sent, clearly too large ones are not.
    sizes.forEach((bytes, i) => {
      const name = 'Size ' + (3000 + i * 100);
      if (bytes < 60_000) expect(sent).toContain(name);
      if (bytes > BODY_LIMIT) expect(sent).not.toContain(name);
    });
  });

  it('with a smaller maxBatchBytes, the smaller limit applies', async () => {
    const { fp, net } = tracker({ options: { maxBatchBytes: 2000 } });
    fp.track('Small');
    fp.track('Bigger Than 2000', { text: 'x'.repeat(2500) });
    await fp.flush();
    expect(net.names()).toEqual(['Small']);
    for (const request of net.requests) expect(byteLength(request.text)).toBeLessThanOrEqual(2000);
  });
});

describe('the value rules apply to every recording method, not only track()', () => {
  const hostile = () => ({ ok: 1, big: 5n, get bad(): number {
    throw new Error('getter');
  } });

  it.each([
    ['page(properties)', (fp: any) => fp.page(hostile()), 'Page Viewed'],
    ['page(category, name, properties)', (fp: any) => fp.page('Docs', 'Install', hostile()), 'Page Viewed'],
    ['identify(id, traits)', (fp: any) => fp.identify('user-1', hostile()), 'Profile Identified'],
    ['identify(traits)', (fp: any) => fp.identify(hostile()), 'Profile Identified'],
    ['group(id, traits)', (fp: any) => fp.group('group-1', hostile()), 'Group Identified'],
  ])('%s: a throwing getter drops that property, not the event; BigInt → string', async (_label, run, name) => {
    const { fp, net } = tracker();
    expect(() => run(fp)).not.toThrow();
    await fp.flush();
    expect(net.problems()).toEqual([]);
    const [event] = net.delivered();
    expect(event?.name).toBe(name);
    expect(event.properties.ok).toBe(1);
    expect(event.properties.big).toBe('5');
    expect('bad' in event.properties).toBe(false);
  });
});

describe('properties are always a JSON object', () => {
  it.each([
    ['a Date', () => new Date(0)],
    ['a Set', () => new Set([1, 2])],
    ['a typed array', () => new Uint8Array([1, 2])],
    ['a DOM element', () => document.createElement('div')],
    ['window', () => window],
    ['an Error', () => new Error('x')],
    ['an object whose toJSON returns a string', () => ({ toJSON: () => 'text' })],
    ['an object whose toJSON returns an array', () => ({ toJSON: () => [1, 2] })],
    ['an object whose toJSON throws', () => ({ toJSON: () => {
      throw new Error('toJSON');
    } })],
    ['a boxed string', () => new String('boxed')],
  ])('track(name, %s): sent with properties as an object, in valid JSON', async (_label, make) => {
    const { fp, net } = tracker();
    fp.track('Odd Properties', make() as any);
    fp.identify(make() as any);
    fp.track('Next');
    await fp.flush();
    expect(net.problems()).toEqual([]);
    expect(net.names()).toEqual(['Odd Properties', 'Profile Identified', 'Next']);
    for (const event of net.delivered()) {
      expect(event.properties !== null && typeof event.properties === 'object' && !Array.isArray(event.properties)).toBe(true);
    }
  });

  it('a middleware that sets fields to undefined, a function or a symbol: the event is stored and sent as valid JSON (or dropped with a warning)', async () => {
    const { fp, net } = tracker();
    fp.addSourceMiddleware(({ payload, next }) => {
      (payload as any).extra = undefined;
      (payload as any).fn = () => 1;
      (payload as any).sym = Symbol('s');
      (payload as any).properties = { ...payload.properties, gone: undefined };
      next(payload);
    });
    fp.track('Through Middleware', { a: 1 });
    fp.track('Second');
    await fp.flush();
    expect(net.problems()).toEqual([]);
    expect(net.names().length + warnings().filter((w) => w.includes('unserializable')).length).toBe(2);
  });
});

describe('callbacks that misbehave asynchronously', () => {
  /** Collects unhandled rejections while `fn` runs (and a little after). */
  async function unhandledDuring(fn: () => Promise<void>): Promise<string[]> {
    const seen: string[] = [];
    const onRejection = (reason: unknown) => seen.push(String(reason));
    process.on('unhandledRejection', onRejection);
    try {
      await fn();
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', onRejection);
    }
    return seen;
  }

  // (An async callback's own rejection is the page's: it surfaces as it would
  // without us. But what a callback returns must not flow into our promises.)
  it('a callback returning a hostile thenable (a Proxy throwing on every trap) leaves no unhandled rejection behind', async () => {
    const seen = await unhandledDuring(async () => {
      const { fp } = tracker();
      const hostile = () => throwingProxy();
      fp.ready(hostile);
      fp.track('Hostile Return', {}, {}, hostile);
      await fp.flush();
    });
    expect(seen).toEqual([]);
  });
});

describe('trackLink/trackForm with a hostile element list', () => {
  it('an array-like with a length of 2^32 − 1 is not walked index by index (a frozen page)', () => {
    let reads = 0;
    const list = new Proxy({ length: 2 ** 32 - 1 } as Record<string, unknown>, {
      has(target, key) {
        if (++reads > 10_000) throw new Error('walked the whole array-like');
        return Reflect.has(target, key);
      },
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key) && ++reads > 10_000) throw new Error('walked the whole array-like');
        return Reflect.get(target, key, receiver);
      },
    });
    const { fp } = tracker();
    expect(() => fp.trackLink(list as any, 'Huge List')).not.toThrow();
    expect(() => fp.trackForm(list as any, 'Huge List')).not.toThrow();
    expect(reads).toBeLessThan(10_000);
  });
});
