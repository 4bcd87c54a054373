/**
 * Hand-made hostile values for the fuzz test and the hardening suites. Each
 * entry is a factory, so every use gets a fresh value (some are stateful).
 */

/** A Proxy whose every trap throws (reading, listing, describing, even typeof-free checks). */
export function throwingProxy(target: object = {}): any {
  const boom = () => {
    throw new Error('hostile proxy trap');
  };
  return new Proxy(target, {
    get: boom,
    set: boom,
    has: boom,
    deleteProperty: boom,
    ownKeys: boom,
    getOwnPropertyDescriptor: boom,
    defineProperty: boom,
    getPrototypeOf: boom,
    setPrototypeOf: boom,
    isExtensible: boom,
    preventExtensions: boom,
    apply: boom,
    construct: boom,
  });
}

/** A revoked Proxy: even `Array.isArray` throws on it. */
export function revokedProxy(): any {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

export class WithThrowingGetter {
  visible = 'kept';
  get secret(): string {
    throw new Error('getter on the prototype');
  }
}

/** An object whose own enumerable getter throws. */
export function ownThrowingGetter(): any {
  const value: any = { fine: 1 };
  Object.defineProperty(value, 'bad', {
    enumerable: true,
    get() {
      throw new Error('own getter');
    },
  });
  return value;
}

export function circular(): any {
  const a: any = { name: 'a', list: [1] };
  const b: any = { name: 'b', a };
  a.b = b;
  a.self = a;
  a.list.push(a.list, a);
  return a;
}

export function deep(levels: number, array = false): any {
  let value: any = 'bottom';
  for (let i = 0; i < levels; i++) value = array ? [value] : { next: value };
  return value;
}

export function manyKeys(count: number): Record<string, number> {
  const value: Record<string, number> = {};
  for (let i = 0; i < count; i++) value['key' + i] = i;
  return value;
}

/** A string of `length` characters that is also full of multi-byte characters. */
export const hugeString = (length: number) => 'é€😀x'.repeat(Math.ceil(length / 5)).slice(0, length);

/** Hostile values by name; each call makes a fresh one. */
export const HOSTILE: Record<string, () => unknown> = {
  circular,
  'circular array': () => {
    const a: any[] = [1];
    a.push(a);
    return a;
  },
  'circular Map': () => {
    const m = new Map<string, unknown>();
    m.set('me', m);
    return m;
  },
  'throwing getter (own)': ownThrowingGetter,
  'throwing getter (class)': () => new WithThrowingGetter(),
  'throwing toJSON': () => ({ toJSON() {
    throw new Error('toJSON');
  } }),
  'toJSON returning itself': () => {
    const v: any = { a: 1 };
    v.toJSON = () => v;
    return v;
  },
  'throwing Proxy': () => throwingProxy(),
  'throwing Proxy (array)': () => throwingProxy([]),
  'throwing Proxy (function)': () => throwingProxy(() => {}),
  'revoked Proxy': revokedProxy,
  function: () => function named() {},
  'arrow function': () => () => 1,
  'async function': () => async () => 1,
  class: () => class Foo {},
  symbol: () => Symbol('hostile'),
  'well-known symbol': () => Symbol.iterator,
  undefined: () => undefined,
  null: () => null,
  NaN: () => NaN,
  Infinity: () => Infinity,
  '-Infinity': () => -Infinity,
  '-0': () => -0,
  BigInt: () => 2n ** 130n,
  'huge string (1 MB)': () => hugeString(1_000_000),
  'long string (5,000)': () => hugeString(5000),
  'control characters': () => '\0\x01\x1b[31m\n\r\t\x7f\u0085\u009b\u2028\u2029',
  'lone surrogates': () => '\ud800x\udfff',
  'deep object (1,000 levels)': () => deep(1000),
  'deep array (1,000 levels)': () => deep(1000, true),
  '10,000 keys': () => manyKeys(10_000),
  '10,000 items': () => Array.from({ length: 10_000 }, (_, i) => i),
  'sparse array (length 20,000)': () => {
    const a: unknown[] = [];
    a[19_999] = 'end';
    return a;
  },
  'null-prototype object': () => Object.assign(Object.create(null), { a: 1, b: null }),
  '__proto__ key': () => JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}'),
  'DOM element': () => document.createElement('div'),
  'DOM text node': () => document.createTextNode('text'),
  document: () => document,
  window: () => window,
  Map: () => new Map<unknown, unknown>([['a', 1], [{ k: 1 }, 2]]),
  Set: () => new Set([1, 'two', { three: 3 }]),
  WeakMap: () => new WeakMap(),
  Date: () => new Date(T_FIXED),
  'invalid Date': () => new Date(NaN),
  Error: () => new TypeError('boom'),
  'Error with circular cause': () => {
    const e: any = new Error('outer');
    e.cause = e;
    return e;
  },
  Uint8Array: () => new Uint8Array([1, 2, 3]),
  Float64Array: () => new Float64Array([1.5, NaN, Infinity]),
  BigInt64Array: () => new BigInt64Array([1n, -2n]),
  ArrayBuffer: () => new ArrayBuffer(8),
  DataView: () => new DataView(new ArrayBuffer(8)),
  RegExp: () => /x+/g,
  Promise: () => Promise.resolve(1),
  'boxed values': () => [new String('s'), new Number(1), new Boolean(false)],
  'array with extra props': () => Object.assign([1, 2], { extra: 'x' }),
  // (length 1e9 froze trackLink() for minutes: see test/hardening/values.test.ts; this size only checks the handling)
  'object with length': () => ({ length: 100_000 }),
  arguments: function (this: unknown) {
    // eslint-disable-next-line prefer-rest-params
    return (function (..._args: unknown[]) {
      // eslint-disable-next-line prefer-rest-params
      return arguments;
    })(1, 2);
  },
};

const T_FIXED = Date.UTC(2024, 1, 2, 3, 4, 5, 6);
