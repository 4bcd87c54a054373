import { warn } from './log';

/**
 * `JSON.stringify` that cannot throw and never loses the whole event to one bad
 * value. The rules, applied by `repair` below:
 * - `BigInt` → its decimal string; functions, symbols and `undefined` are
 *   dropped (as JSON does); `NaN`/`±Infinity` → `null` (as JSON does).
 * - a circular reference → the string `"[Circular]"`.
 * - a getter or `toJSON` that throws → that property is dropped.
 * Returns `undefined` (and warns) only if even the repaired value fails,
 * e.g. when `JSON.stringify` itself was replaced by something broken.
 */
export function toJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value, bigintToString);
  } catch {
    // Circular structures and throwing getters: repair and try again.
  }
  try {
    const json = JSON.stringify(repair(value, new WeakSet()));
    warn('properties repaired for JSON');
    return json;
  } catch (error) {
    warn('unserializable event dropped', error);
    return undefined;
  }
}

function bigintToString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

function repair(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (!value || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  try {
    const json = (value as { toJSON?: () => unknown }).toJSON;
    if (typeof json === 'function') return repair(json.call(value), seen);
    if (Array.isArray(value)) return value.map((item) => repair(item, seen));
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      try {
        out[key] = repair((value as Record<string, unknown>)[key], seen);
      } catch {
        // A getter that throws: leave that one property out.
      }
    }
    return out;
  } finally {
    // Shared (non-circular) references may appear twice; only ancestors count.
    seen.delete(value);
  }
}
