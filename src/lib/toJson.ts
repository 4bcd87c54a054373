import { warn } from './log';

/** Strings longer than this are cut and marked `…[truncated]`. */
export const MAX_STRING = 4096;
/** Objects and arrays keep at most this many entries (an array then ends with `"[N more]"`). */
export const MAX_KEYS = 500;
/** Values nested deeper than this become `"[Too deep]"`. */
export const MAX_DEPTH = 10;
/**
 * Objects and arrays visited per call of `cleanProperties`, beyond which values
 * become `"[Too large]"`: shared references are expanded in each place they
 * appear, which grows exponentially with depth.
 */
export const MAX_NODES = 5000;
let nodes = 0;

/**
 * Turns any value into plain JSON-safe data, by these rules:
 * - `BigInt` → its decimal string; `Date` → ISO string (`null` if invalid);
 *   `Error` → `{name, message}`; `Map` → object; `Set` and typed arrays → array;
 *   a DOM node or `Window` → its type, e.g. `"[object HTMLDivElement]"`;
 *   other `toJSON` methods are honoured, but not one on an array or a Date
 *   (Prototype.js 1.6 puts ones returning JSON text there): arrays and dates
 *   come out as on a page without it.
 * - functions, symbols and `undefined` are dropped (`null` inside arrays), and
 *   `NaN`/`±Infinity` become `null`, as `JSON.stringify` does.
 * - lossy repairs, each reported once per value through `onRepair`: a
 *   circular reference → `"[Circular]"`; a getter or `toJSON` that throws →
 *   that property left out; strings over `MAX_STRING`, more than `MAX_KEYS`
 *   entries, nesting beyond `MAX_DEPTH` → cut and marked.
 */
export function clean(value: unknown, onRepair: (what: string) => void, depth = 0, ancestors: unknown[] = []): unknown {
  if (!ancestors[0]) nodes = 0;
  try {
    return cleanValue(value, onRepair, depth, ancestors);
  } catch {
    // Unreadable (a Proxy that throws on every trap): left out.
    onRepair('an unreadable value');
  }
}

function cleanValue(value: unknown, onRepair: (what: string) => void, depth: number, ancestors: unknown[]): unknown {
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'string' && value.length > MAX_STRING) {
    onRepair('long string');
    return value.slice(0, MAX_STRING) + '…[truncated]';
  }
  if (!value || typeof value !== 'object') return value;
  if (ancestors.includes(value)) return onRepair('circular reference'), '[Circular]';
  if (depth >= MAX_DEPTH) return onRepair('deep nesting'), '[Too deep]';
  if (++nodes > MAX_NODES) return onRepair('too many objects'), '[Too large]';
  const any = value as any;
  if (any.nodeType || any.window === any) return Object.prototype.toString.call(value);
  const again = (converted: unknown) => clean(converted, onRepair, depth, ancestors);
  const next = (item: unknown) => clean(item, onRepair, depth + 1, [...ancestors, value]);
  const array = Array.isArray(value);
  try {
    // Its ISO string, as the native Date.prototype.toJSON gives it (Prototype.js 1.6 replaces that).
    if (value instanceof Date) return isNaN(value as any) ? null : value.toISOString();
    if (value instanceof Error) return again({ name: value.name, message: value.message });
    if (value instanceof Map) return again(Object.fromEntries(value));
    // At most MAX_KEYS + 1 entries are copied (the +1 shows that there were more).
    if (ArrayBuffer.isView(value)) return again(Array.prototype.slice.call(value, 0, MAX_KEYS + 1));
    if (value instanceof Set) return again(Array.from(value));
    if (!array && typeof any.toJSON === 'function') return again(any.toJSON());
  } catch {
    // A toJSON that throws, or a Proxy that refuses to be read.
    return onRepair('a throwing toJSON'), undefined;
  }
  // Arrays: indices up to MAX_KEYS only (a sparse array may claim 2^32 entries). Not
  // Array.from({length}, fn): Prototype.js 1.6 replaces Array.from with its $A, which ignores
  // `fn`, and every array came out empty.
  const keys: (string | number)[] = array ? [...Array(Math.min(value.length, MAX_KEYS + 1)).keys()] : Object.keys(value);
  const total = array ? value.length : keys.length;
  // An array's items are assigned; an object's entries are collected and defined at the end.
  // A page that put a `toJSON` on Array.prototype (Prototype.js 1.6 returns the array's JSON
  // *text* there, so the native JSON.stringify would send `"[1, 2]"`, a string: ES2023
  // SerializeJSONProperty step 2 calls any callable `toJSON`) gets arrays whose own `toJSON`
  // is undefined (non-enumerable); only then, as every other array keeps V8's fast JSON path.
  const out: any[] = array && ([] as any).toJSON ? Object.defineProperty([], 'toJSON', {}) : [];
  for (const key of keys.slice(0, MAX_KEYS)) {
    try {
      const item = any[key];
      // The common case, a short string, a number or a boolean, needs no call.
      const cleaned = typeof item === 'number' || typeof item === 'boolean' || (typeof item === 'string' && item.length <= MAX_STRING) ? item : next(item);
      array ? (out[key as number] = cleaned) : out.push([key, cleaned]);
    } catch {
      onRepair('a throwing getter');
    }
  }
  if (total > MAX_KEYS) {
    onRepair('too many entries');
    if (array) out.push('[' + (total - MAX_KEYS) + ' more]');
  }
  // Defined (Object.fromEntries creates data properties), not assigned: under a frozen
  // Object.prototype, assigning `constructor`, `toString`, `valueOf`, … fails, as the inherited
  // property is read-only (ES2023 OrdinarySetWithOwnDescriptor step 2.a, "the override mistake").
  return array ? out : Object.fromEntries(out);
}

/** Cleans event properties (see `clean`), warning once when something had to be repaired. */
export function cleanProperties(value: unknown): Record<string, unknown> {
  const repairs: string[] = [];
  let cleaned: unknown;
  try {
    cleaned = clean(value, (what) => repairs.push(what));
  } catch {
    // Something unreadable at the top (a revoked Proxy): nothing can be kept.
    repairs.push('unreadable');
  }
  // Properties are an object: a Date, array or string at the top is not.
  if (!cleaned || typeof cleaned !== 'object' || Array.isArray(cleaned)) {
    if (value != null) repairs.push('not an object');
    cleaned = {};
  }
  if (repairs[0]) warn('properties repaired:', [...new Set(repairs)].join(', '));
  return cleaned as Record<string, unknown>;
}

/**
 * `JSON.stringify(clean(value))` that cannot throw; `undefined` (with a
 * warning) only if even the cleaned value fails — e.g. when `JSON.stringify`
 * itself was replaced by something broken.
 */
export function toJson(value: unknown): string | undefined {
  const repairs: string[] = [];
  try {
    const json = JSON.stringify(clean(value, (what) => repairs.push(what)));
    if (repairs[0]) warn('value repaired:', [...new Set(repairs)].join(', '));
    return json;
  } catch (error) {
    warn('unserializable value dropped', error);
  }
}
