import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanProperties, toJson } from '../../src/lib/toJson';

describe('toJson', () => {
  let warn: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  });
  afterEach(() => vi.restoreAllMocks());

  const parse = (value: unknown) => JSON.parse(toJson(value)!);

  it('is JSON.stringify for plain values, without warning', () => {
    const value = { a: 1, b: 'two', c: [true, null], d: { e: 1.5 } };
    expect(toJson(value)).toBe(JSON.stringify(value));
    expect(warn).not.toHaveBeenCalled();
  });

  it('replaces a circular reference with "[Circular]" and warns', () => {
    const props: any = { name: 'x', list: [1] };
    props.self = props;
    props.list.push(props.list);
    expect(parse(props)).toEqual({ name: 'x', list: [1, '[Circular]'], self: '[Circular]' });
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('keeps a shared (non-circular) reference in both places', () => {
    const shared = { v: 1 };
    const props: any = { a: shared, b: shared };
    props.loop = props;
    expect(parse(props)).toEqual({ a: { v: 1 }, b: { v: 1 }, loop: '[Circular]' });
  });

  it('turns BigInt into its decimal string, on both paths', () => {
    expect(parse({ n: 12345678901234567890n })).toEqual({ n: '12345678901234567890' });
    expect(warn).not.toHaveBeenCalled(); // not a lossy repair
    const circular: any = { n: -5n, deep: { m: [1n] } };
    circular.me = circular;
    expect(parse(circular)).toEqual({ n: '-5', deep: { m: ['1'] }, me: '[Circular]' });
    expect(toJson(7n)).toBe('"7"');
  });

  it('drops a property whose getter throws, keeping the rest', () => {
    const props = {
      ok: 1,
      get bad(): number {
        throw new Error('nope');
      },
      nested: {
        get worse(): number {
          throw new Error('nope');
        },
        fine: true,
      },
    };
    expect(parse(props)).toEqual({ ok: 1, nested: { fine: true } });
  });

  it('drops a property whose toJSON throws', () => {
    expect(parse({ ok: 1, bad: { toJSON: () => { throw new Error('x'); } } })).toEqual({ ok: 1 });
  });

  it('drops functions, symbols and undefined; NaN and Infinity become null', () => {
    const props = { f: () => 1, s: Symbol('s'), u: undefined, n: NaN, i: -Infinity, keep: 'yes', arr: [() => 1, undefined] };
    expect(parse(props)).toEqual({ n: null, i: null, keep: 'yes', arr: [null, null] });
    const circular: any = { f() {}, s: Symbol('s'), u: undefined, keep: 1 };
    circular.c = circular;
    expect(parse(circular)).toEqual({ keep: 1, c: '[Circular]' });
  });

  it('uses toJSON (Date) on the repair path too', () => {
    const when = new Date(Date.UTC(2024, 1, 2));
    const circular: any = { when };
    circular.c = circular;
    expect(parse(circular)).toEqual({ when: when.toISOString(), c: '[Circular]' });
  });

  it('never throws; returns undefined (with a warning) when nothing can be serialized', () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('no keys');
        },
        get() {
          throw new Error('no get');
        },
      },
    );
    let result: string | undefined = 'unset';
    expect(() => (result = toJson(hostile))).not.toThrow();
    expect(result).toBeUndefined();
    expect(warn).toHaveBeenCalled();

    const stringify = vi.spyOn(JSON, 'stringify').mockImplementation(() => {
      throw new Error('broken by the page');
    });
    expect(() => (result = toJson({ a: 1 }))).not.toThrow();
    expect(result).toBeUndefined();
    stringify.mockRestore();
  });

  describe('on a page with Prototype.js 1.6 (toJSON returning JSON text on Array and Date)', () => {
    const patches: [object, string, unknown][] = [
      [Array.prototype, 'toJSON', function (this: unknown[]) { return '[' + this.map((v) => JSON.stringify(v)).join(', ') + ']'; }],
      [Date.prototype, 'toJSON', function (this: Date) { return '"' + this.toISOString().slice(0, 19) + 'Z"'; }],
    ];
    const saved = patches.map(([target, key]) => Object.getOwnPropertyDescriptor(target, key));
    beforeEach(() => patches.forEach(([target, key, value]) => ((target as any)[key] = value)));
    afterEach(() =>
      patches.forEach(([target, key], i) => (saved[i] ? Object.defineProperty(target, key, saved[i]!) : delete (target as any)[key])),
    );

    it('arrays and dates come out as on a clean page, also after the native JSON.stringify', () => {
      expect(JSON.stringify({ a: [1] })).toBe('{"a":"[1]"}'); // the page really is broken this way
      const when = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
      const props = { list: [1, 'two', [3]], nested: { deeper: ['x'] }, when, typed: new Uint8Array([7]), set: new Set([8]) };
      const clean = { list: [1, 'two', [3]], nested: { deeper: ['x'] }, when: '2026-01-02T03:04:05.678Z', typed: [7], set: [8] };
      expect(JSON.parse(JSON.stringify(cleanProperties(props)))).toEqual(clean);
      expect(parse(props)).toEqual(clean);
      expect(parse({ bad: new Date(NaN) })).toEqual({ bad: null });
      expect(warn).not.toHaveBeenCalled();
    });

    it('the arrays it makes are arrays still (methods, Array.isArray), their toJSON not enumerable', () => {
      const { list } = cleanProperties({ list: [1, 2] }) as { list: number[] };
      expect(Array.isArray(list)).toBe(true);
      expect(list.map((n) => n * 2)).toEqual([2, 4]);
      expect(Object.keys(list)).toEqual(['0', '1']);
    });

    it('Array.from replaced by Prototype’s $A (no map function): arrays keep their items', () => {
      const from = Array.from;
      Array.from = ((it: any) => {
        const out = new Array(it.length || 0);
        for (let i = 0; i < out.length; i++) out[i] = it[i];
        return out;
      }) as typeof Array.from;
      try {
        expect(parse({ list: [1, 'two'] })).toEqual({ list: [1, 'two'] });
      } finally {
        Array.from = from;
      }
    });

    it('another object’s own toJSON is still honoured', () => {
      expect(parse({ money: { toJSON: () => '1.50 EUR' } })).toEqual({ money: '1.50 EUR' });
    });
  });

  it('keeps properties named as Object.prototype’s when those are read-only (a frozen Object.prototype)', () => {
    const names = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf'];
    const saved = names.map((name) => Object.getOwnPropertyDescriptor(Object.prototype, name)!);
    names.forEach((name, i) => Object.defineProperty(Object.prototype, name, { ...saved[i], writable: false }));
    try {
      expect(() => {
        'use strict';
        ({} as any).toString = 't';
      }).toThrow(TypeError); // the override mistake is real here
      const props = Object.fromEntries(names.map((name) => [name, name[0]]));
      expect(cleanProperties({ ...props, nested: props })).toEqual({ ...props, nested: props });
    } finally {
      names.forEach((name, i) => Object.defineProperty(Object.prototype, name, saved[i]));
    }
    expect(warn).not.toHaveBeenCalled();
  });
});
