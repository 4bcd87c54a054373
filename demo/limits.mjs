// What the demo collector lets in and how much it keeps: the default limits,
// and the two measurements that must never recurse (an event nested 500,000
// levels deep fits in a 1 MiB body, and JSON.stringify / structuredClone
// overflow the stack at ~5,000 levels in Node 20), plus bounded previews of
// anything rejected.

/**
 * Default limits of `createCollector` (each can be overridden by an option of
 * the same name). demo/README.md explains each one.
 */
export const LIMITS = Object.freeze({
  /** Larger request bodies get 413 and nothing is stored. */
  maxBodyBytes: 1024 * 1024,
  /** An event whose JSON is larger is rejected (`event_too_large`). */
  maxEventBytes: 32 * 1024,
  /**
   * Nesting levels of objects/arrays, the event object itself being level 1.
   * Our library cuts properties at 10 levels (src/lib/toJson.ts), so its
   * deepest event is 12; 32 leaves room for other clients.
   */
  maxEventDepth: 32,
  /** A bulk body with more events is rejected whole (`too_many_events`): our library sends ≤ 64 KiB per batch, a few hundred events. */
  maxEventsPerRequest: 1000,
  /** Accepted events kept (memory and events.jsonl); the oldest go first. */
  maxEvents: 10_000,
  /** …and at most this many bytes of them (as JSON lines). */
  maxStoredBytes: 16 * 1024 * 1024,
  /** Rejected items kept (memory and rejected.jsonl). */
  maxRejected: 1000,
  /** Dropped re-sends kept in duplicateList() (the count goes on). */
  maxDuplicates: 1000,
  /** Request records kept in requests(). */
  maxRequests: 5000,
  /** event_ids remembered for dedupe (~100 bytes each: ~10 MB); an older one re-sent is stored again. */
  maxSeenIds: 100_000,
  /** `/js/*?delay=ms` and setScriptDelay() are capped at this (2 min: a slow CDN, not a hung one). */
  maxScriptDelayMs: 120_000,
  /** Rejections listed in a track answer (`rejected` still counts them all). */
  maxAnswerRejections: 100,
});

/** Characters of JSON kept when a rejected item is too big to keep whole. */
export const PREVIEW_CHARS = 2048;

/**
 * True when `value` nests objects/arrays more than `max` levels deep (a
 * plain object or array is level 1, a scalar 0). Iterative, and stops at
 * the first node past `max`, so any parsed JSON can be measured.
 * @param {unknown} value
 * @param {number} max
 * @returns {boolean}
 */
export function deeperThan(value, max) {
  /** @type {[unknown, number][]} */
  const stack = [[value, 1]];
  while (stack.length) {
    const [node, depth] = /** @type {[unknown, number]} */ (stack.pop());
    if (typeof node !== 'object' || node === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * `text` cut to `max` characters, marked with `…` when cut.
 * @param {string} text
 * @param {number} [max=PREVIEW_CHARS]
 */
export function clip(text, max = PREVIEW_CHARS) {
  return text.length > max ? text.slice(0, max) + '…' : text;
}

/**
 * A rejected item as it may be kept and shown: the item itself when it is
 * shallow and small, else a summary `{too_deep, max_depth}` or
 * `{bytes, preview}` (its JSON cut to PREVIEW_CHARS). Never throws, and the
 * result is always safe for JSON.stringify and structuredClone.
 * @param {unknown} item
 * @param {number} maxDepth
 * @returns {unknown}
 */
export function keepable(item, maxDepth) {
  if (typeof item === 'string') return clip(item);
  if (typeof item !== 'object' || item === null) return item;
  if (deeperThan(item, maxDepth)) {
    return { too_deep: true, max_depth: maxDepth, type: Array.isArray(item) ? 'array' : 'object' };
  }
  const text = JSON.stringify(item);
  if (text.length <= PREVIEW_CHARS) return item;
  return { bytes: Buffer.byteLength(text), preview: clip(text) };
}

/**
 * JSON text of a record for the wire (snapshots, the live stream). Records are
 * kept within the limits above, so this should never fall back; if one
 * somehow cannot be serialised, a stand-in with its `seq` says so instead of
 * breaking the whole snapshot or stream.
 * @param {unknown} record
 * @returns {string}
 */
export function toWire(record) {
  try {
    return JSON.stringify(record) ?? 'null';
  } catch (err) {
    const seq = /** @type {{seq?: unknown}} */ (record)?.seq;
    return JSON.stringify({ seq, unserializable: true, error: String(/** @type {Error} */ (err)?.message ?? err) });
  }
}

/**
 * A deep copy that is plain JSON by construction (via toWire), for the
 * collector's list accessors: callers may change it, and it always serialises.
 * @param {unknown} record
 */
export function jsonCopy(record) {
  return JSON.parse(toWire(record));
}
