import { warn } from './log';

/** Strings longer than this are cut and marked `…[truncated]`. */
export const MAX_STRING = 4096;
/** Objects and arrays keep at most this many entries (an array then ends with `"[N more]"`). */
export const MAX_KEYS = 500;
/** Values nested deeper than this become `"[Too deep]"`. */
export const MAX_DEPTH = 10;

/**
 * Turns any value into plain JSON-safe data, by these rules:
 * - `BigInt` → its decimal string; `Date` → ISO string (`null` if invalid);
 *   `Error` → `{name, message}`; `Map` → object; `Set` and typed arrays → array;
 *   a DOM node or `Window` → its type, e.g. `"[object HTMLDivElement]"`;
 *   other `toJSON` methods are honoured.
 * - functions, symbols and `undefined` are dropped (`null` inside arrays), and
 *   `NaN`/`±Infinity` become `null`, as `JSON.stringify` does.
 * - lossy repairs, each reported once per value through `onRepair`: a
 *   circular reference → `"[Circular]"`; a getter or `toJSON` that throws →
 *   that property left out; strings over `MAX_STRING`, more than `MAX_KEYS`
 *   entries, nesting beyond `MAX_DEPTH` → cut and marked.
 */
export function clean(value: unknown, onRepair: (what: string) => void, depth = 0, ancestors: unknown[] = []): unknown {
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'string' && value.length > MAX_STRING) {
    onRepair('long string');
    return value.slice(0, MAX_STRING) + '…[truncated]';
  }
  if (!value || typeof value !== 'object') return value;
  if (ancestors.includes(value)) return onRepair('circular reference'), '[Circular]';
  if (depth >= MAX_DEPTH) return onRepair('deep nesting'), '[Too deep]';
  const type = Object.prototype.toString.call(value);
  const any = value as any;
  if (any.nodeType || any.window === any) return type;
  const again = (converted: unknown) => clean(converted, onRepair, depth, ancestors);
  const next = (item: unknown) => clean(item, onRepair, depth + 1, [...ancestors, value]);
  try {
    if (value instanceof Error) return again({ name: value.name, message: value.message });
    if (value instanceof Map) return again(Object.fromEntries(value));
    if (value instanceof Set || ArrayBuffer.isView(value)) return again(Array.from(value as Iterable<unknown>));
    if (typeof any.toJSON === 'function') return again(any.toJSON());
  } catch {
    // A toJSON that throws, or a Proxy that refuses to be read.
    return onRepair('a throwing toJSON'), undefined;
  }
  const keys = Array.isArray(value) ? [...value.keys()] : Object.keys(value);
  const out: any = Array.isArray(value) ? [] : {};
  for (const key of keys.slice(0, MAX_KEYS)) {
    try {
      const item = any[key];
      // The common case, a short string, a number or a boolean, needs no call.
      out[key] = typeof item === 'number' || typeof item === 'boolean' || (typeof item === 'string' && item.length <= MAX_STRING) ? item : next(item);
    } catch {
      onRepair('a throwing getter');
    }
  }
  if (keys.length > MAX_KEYS) {
    onRepair('too many entries');
    if (Array.isArray(out)) out.push('[' + (keys.length - MAX_KEYS) + ' more]');
  }
  return out;
}

/** Cleans event properties (see `clean`), warning once when something had to be repaired. */
export function cleanProperties(value: unknown): Record<string, unknown> {
  const repairs: string[] = [];
  const cleaned = clean(value, (what) => repairs.push(what));
  if (repairs[0]) warn('properties repaired:', [...new Set(repairs)].join(', '));
  return cleaned as Record<string, unknown>;
}

/**
 * `JSON.stringify(clean(value))` that cannot throw; `undefined` (with a
 * warning) only if even the cleaned value fails — e.g. when `JSON.stringify`
 * itself was replaced by something broken.
 */
export function toJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(cleanProperties(value));
  } catch (error) {
    warn('unserializable event dropped', error);
  }
}
