// @vitest-environment node
// The collector's bounded memory (demo/ring.mjs): ring buffers that keep the
// newest records within a count and a byte cap, a file that stays within
// twice the cap, and a capped set of seen event_ids; then the same caps as
// the collector applies them.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { createCollector } from '../../demo/collector.mjs';
import { createRing, createSeenIds } from '../../demo/ring.mjs';
import { collectorsPerTest, ev, post, tempDir } from './helpers.mjs';

const { start, keep } = collectorsPerTest();

const lines = (file) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);

describe('createRing', () => {
  it('keeps the newest `max` records, oldest first', () => {
    const ring = createRing({ max: 3 });
    ring.push([1, 2]);
    ring.push([3, 4, 5]);
    expect(ring.list()).toEqual([3, 4, 5]);
  });

  it('keeps at most maxBytes of JSON lines, but always the newest record', () => {
    const ring = createRing({ max: 100, maxBytes: 25 });
    ring.push(['aaaaaaaa', 'bbbbbbbb']); // 11 bytes each with quotes and newline
    ring.push(['cccccccc']);
    expect(ring.list()).toEqual(['bbbbbbbb', 'cccccccc']);
    ring.push(['x'.repeat(100)]);
    expect(ring.list()).toEqual(['x'.repeat(100)]);
  });

  it('mirrors to a file that is compacted once it holds twice the cap, and reloads the newest', () => {
    const file = path.join(tempDir(), 'r.jsonl');
    const ring = createRing({ max: 5, file });
    for (let i = 1; i <= 10; i++) ring.push([{ i }]);
    expect(lines(file)).toHaveLength(10);
    ring.push([{ i: 11 }]);
    expect(lines(file).map((l) => JSON.parse(l).i)).toEqual([7, 8, 9, 10, 11]);
    for (let i = 12; i <= 37; i++) ring.push([{ i }]);
    expect(lines(file).length).toBeLessThanOrEqual(10);

    const again = createRing({ max: 5, file });
    expect(again.load((r) => r)).toBe(0);
    expect(again.list().map((r) => r.i)).toEqual([33, 34, 35, 36, 37]);
    expect(lines(file)).toHaveLength(5);
  });

  it('skips torn and refused lines on load and says how many', () => {
    const file = path.join(tempDir(), 'r.jsonl');
    fs.writeFileSync(file, '{"i":1}\n{"i":2}\n{"i":3}\n{"i":');
    const ring = createRing({ max: 10, file });
    expect(ring.load((r) => (r.i === 2 ? null : r))).toBe(2);
    expect(ring.list()).toEqual([{ i: 1 }, { i: 3 }]);
    expect(lines(file)).toEqual(['{"i":1}', '{"i":3}']);
  });

  it('leaves memory unchanged when the disk refuses the write', () => {
    const dir = tempDir();
    const ring = createRing({ max: 10, file: path.join(dir, 'missing', 'r.jsonl') });
    expect(() => ring.push([{ i: 1 }])).toThrow();
    expect(ring.list()).toEqual([]);
  });
});

describe('createSeenIds', () => {
  it('forgets the oldest ID past its cap, and keeps long IDs by hash', () => {
    const seen = createSeenIds(3);
    for (const id of ['a', 'b', 'c', 'd']) seen.add(id);
    expect(['a', 'b', 'c', 'd'].map((id) => seen.has(id))).toEqual([false, true, true, true]);
    const long = 'L'.repeat(40_000);
    seen.add(long);
    expect(seen.has(long)).toBe(true);
    expect(seen.has('L'.repeat(39_999) + 'M')).toBe(false);
    expect(seen.size).toBe(3);
  });
});

describe('the collector keeps a bounded amount', () => {
  it('keeps the newest maxEvents events in memory and on disk; totals count them all', async () => {
    const dir = tempDir();
    const { collector, url } = await start({ dataDir: dir, maxEvents: 5 });
    const sent = [];
    for (let i = 0; i < 12; i++) {
      const e = ev({ properties: { i } });
      sent.push(e);
      await post(url, '/events/track', e);
    }
    expect(collector.events().map((r) => r.event.properties.i)).toEqual([7, 8, 9, 10, 11]);
    expect(collector.totals().events).toBe(12);
    expect(lines(path.join(dir, 'events.jsonl')).length).toBeLessThanOrEqual(10);
    // A restart keeps the same five, and still knows their event_ids.
    const restarted = createCollector({ dataDir: dir, maxEvents: 5 });
    expect(restarted.events().map((r) => r.event.properties.i)).toEqual([7, 8, 9, 10, 11]);
    const s2 = await restarted.listen(0);
    keep(s2);
    expect((await post(s2.url, '/events/track', sent[11])).json.duplicates).toBe(1);
  });

  it('keeps at most maxStoredBytes of events', async () => {
    const { collector, url } = await start({ maxStoredBytes: 3000 });
    for (let i = 0; i < 10; i++) await post(url, '/events/track', ev({ properties: { i, pad: 'x'.repeat(500) } }));
    const kept = collector.events();
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(10);
    expect(kept.at(-1).event.properties.i).toBe(9);
    expect(kept.reduce((n, r) => n + JSON.stringify(r).length, 0)).toBeLessThanOrEqual(3000 + 100);
  });

  it('keeps the newest maxRejected rejected items, maxDuplicates re-sends and maxRequests requests', async () => {
    const dir = tempDir();
    const { collector, url } = await start({ dataDir: dir, maxRejected: 4, maxDuplicates: 2, maxRequests: 3 });
    await post(url, '/events/track/bulk', { events: Array.from({ length: 10 }, (_, i) => ev({ write_key: `bad-${i}` })) });
    expect(collector.rejected().map((r) => r.index)).toEqual([6, 7, 8, 9]);
    expect(collector.totals().rejected).toBe(10);
    expect(lines(path.join(dir, 'rejected.jsonl')).length).toBeLessThanOrEqual(8);
    const a = ev();
    await post(url, '/events/track/bulk', { events: [a, a, a, a] });
    expect(collector.duplicateList()).toHaveLength(2);
    expect(collector.duplicates()).toBe(3);
    await post(url, '/events/track', ev());
    await post(url, '/events/track', ev());
    expect(collector.requests()).toHaveLength(3);
    expect(collector.totals().requests).toBe(4);
  });

  it('remembers the newest maxSeenIds event_ids: an older one re-sent is stored again', async () => {
    const { collector, url } = await start({ maxSeenIds: 3 });
    const events = [ev(), ev(), ev(), ev()];
    await post(url, '/events/track/bulk', { events });
    const r = await post(url, '/events/track/bulk', { events: [events[0], events[3]] });
    expect(r.json).toMatchObject({ accepted: 1, duplicates: 1 });
    expect(collector.events()).toHaveLength(5);
  });

  it('lists only what follows `since`, the newest `last` of it', async () => {
    const { collector, url } = await start();
    await post(url, '/events/track/bulk', { events: [ev({ name: 'A' }), ev({ name: 'B' }), ev({ name: 'C' })] });
    const [a] = collector.events();
    expect(collector.events({ since: a.seq }).map((r) => r.event.name)).toEqual(['B', 'C']);
    expect(collector.events({ last: 1 }).map((r) => r.event.name)).toEqual(['C']);
    // Copies: changing one changes nothing kept.
    collector.events()[0].event.name = 'changed';
    expect(collector.events()[0].event.name).toBe('A');
  });
});
