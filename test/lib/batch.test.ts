import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchBody, KEEPALIVE_LIMIT, recordBytes, splitBatches, utf8Length } from '../../src/lib/batch';
import { TIMEZONE_PENDING } from '../../src/lib/context';
import type { QueueRecord } from '../../src/lib/queue';
import { byteLength } from '../helpers/fakeNetwork';

const SENT_AT = new Date(Date.UTC(2025, 5, 1, 8, 30)).toISOString();
const record = (i: number, payload = ''): QueueRecord => ['k' + String(i).padStart(6, '0'), JSON.stringify({ name: 'E' + i, p: payload })];

describe('utf8Length', () => {
  it('counts ASCII as 1 byte each', () => {
    expect(utf8Length('')).toBe(0);
    expect(utf8Length('hello')).toBe(5);
    expect(utf8Length('\u007f')).toBe(1);
  });

  it('counts U+0080…U+07FF as 2 bytes', () => {
    expect(utf8Length('\u0080')).toBe(2);
    expect(utf8Length('é')).toBe(2);
    expect(utf8Length('\u07ff')).toBe(2);
    expect(utf8Length('café')).toBe(byteLength('café'));
  });

  it('counts U+0800…U+FFFF as 3 bytes', () => {
    expect(utf8Length('\u0800')).toBe(3);
    expect(utf8Length('€')).toBe(3);
    expect(utf8Length('日本語')).toBe(9);
    expect(utf8Length('\uffff')).toBe(3);
  });

  it('over-counts a surrogate pair (6 for 4 bytes), never under-counts', () => {
    expect(byteLength('😀')).toBe(4);
    expect(utf8Length('😀')).toBe(6);
    expect(utf8Length('a😀b')).toBe(8);
  });

  it('is never below the real UTF-8 length', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
        expect(utf8Length(text)).toBeGreaterThanOrEqual(byteLength(text));
      }),
    );
    // Without surrogates it is exact.
    fc.assert(fc.property(fc.string({ unit: 'binary-ascii', maxLength: 200 }), (text) => utf8Length(text) === byteLength(text)));
  });
});

describe('splitBatches', () => {
  it('keeps everything in one batch when it fits', () => {
    const records = [record(1), record(2), record(3)];
    expect(splitBatches(records, KEEPALIVE_LIMIT)).toEqual([records]);
    expect(splitBatches([], KEEPALIVE_LIMIT)).toEqual([]);
  });

  it('keeps order, and every body stays under maxBytes (measured with TextEncoder)', () => {
    // Multi-byte payloads: 2-, 3- and 4-byte characters.
    const records = Array.from({ length: 300 }, (_, i) => record(i, ['x', 'é', '€', '😀'][i % 4].repeat(50 + ((i * 37) % 400))));
    for (const max of [2000, 10000, KEEPALIVE_LIMIT]) {
      const batches = splitBatches(records, max);
      expect(batches.length).toBeGreaterThan(1);
      expect(batches.flat()).toEqual(records);
      for (const batch of batches) {
        expect(batch.length).toBeGreaterThan(0);
        expect(byteLength(batchBody(batch, SENT_AT))).toBeLessThanOrEqual(max);
      }
    }
  });

  it('holds for any records (property test)', () => {
    const arbRecords = fc.array(fc.string({ unit: 'grapheme', maxLength: 300 }), { maxLength: 60 }).map((payloads) =>
      payloads.map((p, i) => record(i, p)),
    );
    fc.assert(
      fc.property(arbRecords, fc.integer({ min: 400, max: 6000 }), (records, max) => {
        const batches = splitBatches(records, max);
        expect(batches.flat()).toEqual(records);
        for (const batch of batches) {
          const bytes = byteLength(batchBody(batch, SENT_AT));
          // Over the limit only when one record alone is too large.
          if (bytes > max) expect(batch).toHaveLength(1);
        }
      }),
    );
  });

  it('puts a single oversize record in a batch of its own, in place', () => {
    const small1 = record(1);
    const huge = record(2, 'x'.repeat(5000));
    const small2 = record(3);
    expect(splitBatches([small1, huge, small2], 1000)).toEqual([[small1], [huge], [small2]]);
    expect(splitBatches([huge], 1000)).toEqual([[huge]]);
  });

  it('fills batches greedily rather than one record each', () => {
    const records = Array.from({ length: 100 }, (_, i) => record(100 + i, 'x'.repeat(100))); // equal sizes
    const size = recordBytes(records[0]);
    const batches = splitBatches(records, 50 + size * 10);
    expect(batches.map((b) => b.length)).toEqual(Array(10).fill(10));
  });

  it('caps a batch at 500 events (or maxEvents)', () => {
    const records = Array.from({ length: 1201 }, (_, i) => record(i));
    expect(splitBatches(records, 1e9).map((b) => b.length)).toEqual([500, 500, 201]);
    expect(splitBatches(records.slice(0, 7), 1e9, 3).map((b) => b.length)).toEqual([3, 3, 1]);
  });
});

describe('batchBody', () => {
  it('is valid JSON {"events":[…],"sent_at":…}: the stored JSON as it is, sent_at once for the batch', () => {
    const records: QueueRecord[] = [
      ['a', JSON.stringify({ name: 'One', properties: { q: '"quoted" \\ and }' } })],
      ['b', JSON.stringify({ name: 'Two', properties: {}, context: { page: { title: 'é€😀' } } })],
    ];
    const text = batchBody(records, SENT_AT);
    expect(text).toBe('{"events":[' + records[0][1] + ',' + records[1][1] + '],"sent_at":"' + SENT_AT + '"}');
    expect(JSON.parse(text)).toEqual({
      events: [
        { name: 'One', properties: { q: '"quoted" \\ and }' } },
        { name: 'Two', properties: {}, context: { page: { title: 'é€😀' } } },
      ],
      sent_at: SENT_AT,
    });
  });

  it('fills in the time zone of events captured before it was known', () => {
    const records: QueueRecord[] = [
      ['a', JSON.stringify({ name: 'One', context: { timezone: TIMEZONE_PENDING } })],
      ['b', JSON.stringify({ name: 'Two', context: { timezone: TIMEZONE_PENDING } })],
    ];
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    expect(JSON.parse(batchBody(records, SENT_AT)).events.map((e: any) => e.context.timezone)).toEqual([zone, zone]);
  });

  it('recordBytes leaves room for the envelope and sent_at: a body of n records is within 50 B + their sizes', () => {
    const records = [record(1, 'abc'), record(2, 'é€😀'), record(3)];
    const body = byteLength(batchBody(records, SENT_AT));
    expect(body).toBeLessThanOrEqual(50 + records.reduce((sum, r) => sum + recordBytes(r), 0));
    expect(byteLength(batchBody([], SENT_AT))).toBeLessThanOrEqual(50);
  });
});
