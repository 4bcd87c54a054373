import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { toJson } from '../../src/lib/toJson';

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
});
