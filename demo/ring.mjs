// The collector's bounded memory: ring buffers of records (the newest `max`
// kept, optionally also bounded in bytes), each optionally mirrored in an
// append-only JSON-lines file that is rewritten with just the kept records
// once it holds twice as many lines (so the disk stays within ~2× the cap),
// and a capped set of seen IDs. Without these, 200,000 events took the demo
// server from 49 to 442 MB.

import fs from 'node:fs';
import crypto from 'node:crypto';

/**
 * @template R
 * @typedef {object} Ring
 * @property {(accept: (parsed: unknown) => R | null) => number} load  Read the file back (torn or refused lines skipped); returns the lines skipped.
 * @property {(records: R[]) => void} push  Append (file first: if the disk refuses, this throws and memory is unchanged).
 * @property {() => R[]} list  The kept records, oldest first (the live array: do not change it).
 * @property {() => void} clear  Forget every record, in memory and on disk.
 */

/**
 * @template R
 * @param {object} spec
 * @param {number} spec.max  Records kept.
 * @param {number} [spec.maxBytes=Infinity]  Bytes kept (each record counted as its JSON line).
 * @param {string|null} [spec.file=null]  The JSON-lines mirror, or memory only.
 * @param {(record: R) => string} [spec.toLine=JSON.stringify]  A record as stored (without the newline).
 * @returns {Ring<R>}
 */
export function createRing({ max, maxBytes = Infinity, file = null, toLine = JSON.stringify }) {
  /** @type {R[]} */ let records = [];
  /** @type {number[]} */ let sizes = []; // bytes of each kept record's line
  let bytes = 0;
  let fileLines = 0;
  let fileBytes = 0;

  function evict() {
    let drop = 0;
    while (records.length - drop > max || (bytes > maxBytes && records.length - drop > 1)) bytes -= sizes[drop++];
    if (drop) { records.splice(0, drop); sizes.splice(0, drop); }
  }

  /** Rewrite the file with the kept records only (via a temp file, so a crash leaves one or the other whole). */
  function compact() {
    if (!file) return;
    const text = records.map((r) => toLine(r) + '\n').join('');
    fs.writeFileSync(file + '.tmp', text);
    fs.renameSync(file + '.tmp', file);
    fileLines = records.length;
    fileBytes = Buffer.byteLength(text);
  }

  return {
    load(accept) {
      if (!file) return 0;
      let skipped = 0;
      for (const parsed of readJsonLines(file)) {
        if (parsed === SKIPPED) { skipped++; continue; }
        const record = accept(parsed);
        if (record === null) { skipped++; continue; }
        const size = Buffer.byteLength(toLine(record)) + 1;
        records.push(record); sizes.push(size); bytes += size;
        fileLines++; fileBytes += size;
      }
      evict();
      if (skipped || fileLines > records.length) compact();
      return skipped;
    },
    push(list) {
      if (!list.length) return;
      const lines = list.map((r) => toLine(r) + '\n');
      if (file) {
        const text = lines.join('');
        fs.appendFileSync(file, text);
        fileLines += lines.length;
        fileBytes += Buffer.byteLength(text);
      }
      list.forEach((r, i) => {
        const size = Buffer.byteLength(lines[i]);
        records.push(r); sizes.push(size); bytes += size;
      });
      evict();
      if (file && (fileLines > 2 * max || fileBytes > 2 * maxBytes)) compact();
    },
    list: () => records,
    clear() {
      records = []; sizes = []; bytes = 0;
      if (file) { fs.writeFileSync(file, ''); fileLines = 0; fileBytes = 0; }
    },
  };
}

const SKIPPED = Symbol('skipped line');

/** Every line of a JSON-lines file, parsed; a line that is not JSON (a crash mid-write tears the last one) becomes SKIPPED. */
function readJsonLines(file) {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'ENOENT') console.warn(`collector: cannot read ${file}: ${/** @type {Error} */ (err).message}`);
    return [];
  }
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try { out.push(JSON.parse(line)); } catch { out.push(SKIPPED); }
  }
  return out;
}

/** IDs longer than this are remembered by their SHA-256 (a 32 KiB event_id must not cost 32 KiB per entry). */
const ID_CHARS = 64;

/**
 * A set of IDs that forgets the oldest once it holds `max` (insertion order).
 * @param {number} max
 */
export function createSeenIds(max) {
  const ids = new Set();
  const key = (/** @type {string} */ id) => (id.length > ID_CHARS ? 'sha256:' + crypto.createHash('sha256').update(id).digest('base64') : id);
  return {
    /** @param {string} id */
    has: (id) => ids.has(key(id)),
    /** @param {string} id */
    add(id) {
      const k = key(id);
      if (ids.has(k)) return;
      ids.add(k);
      if (ids.size > max) ids.delete(ids.values().next().value);
    },
    get size() { return ids.size; },
  };
}
