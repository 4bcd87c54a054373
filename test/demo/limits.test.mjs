// @vitest-environment node
// No input can break the demo collector (demo/limits.mjs and how the
// collector applies it): events nested deeper than maxEventDepth, bodies of a
// million entries and script delays of days are refused or capped with a
// reason, never answered 500, and never break what it serves afterwards.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { createCollector } from '../../demo/collector.mjs';
import { LIMITS, deeperThan, jsonCopy, keepable, toWire } from '../../demo/limits.mjs';
import { collectorsPerTest, distWith, deepEventJson, ev, post, tempDir } from './helpers.mjs';

const { start } = collectorsPerTest();

/** Every list the collector gives out, serialised as the demo server does. */
function serialiseAll(collector) {
  return [collector.events(), collector.rejected(), collector.duplicateList(), collector.requests()].map((list) => JSON.stringify(list));
}

describe('measuring without recursion', () => {
  it('deeperThan() counts levels from the value itself and survives 500,000 levels', () => {
    expect(deeperThan(1, 0)).toBe(false);
    expect(deeperThan({}, 1)).toBe(false);
    expect(deeperThan({ a: [] }, 1)).toBe(true);
    expect(deeperThan({ a: [{}] }, 3)).toBe(false);
    expect(deeperThan({ a: [{ b: {} }] }, 3)).toBe(true);
    const n = 500_000;
    const deep = JSON.parse('['.repeat(n) + ']'.repeat(n));
    expect(deeperThan(deep, 32)).toBe(true);
    expect(deeperThan(deep, n)).toBe(false);
  });

  it('keepable() keeps small shallow items, summarises deep or big ones', () => {
    expect(keepable({ write_key: 'x' }, 32)).toEqual({ write_key: 'x' });
    const n = 10_000;
    expect(keepable(JSON.parse('['.repeat(n) + ']'.repeat(n)), 32)).toEqual({ too_deep: true, max_depth: 32, type: 'array' });
    const big = keepable({ blob: 'x'.repeat(10_000) }, 32);
    expect(big.bytes).toBe(10_011);
    expect(big.preview.length).toBeLessThanOrEqual(2049);
    expect(keepable('y'.repeat(5000), 32)).toHaveLength(2049);
  });

  it('toWire() and jsonCopy() fall back to a stand-in with the seq instead of throwing', () => {
    let deep = {};
    for (let i = 0; i < 100_000; i++) deep = { deep };
    expect(JSON.parse(toWire({ seq: 7, deep }))).toMatchObject({ seq: 7, unserializable: true });
    expect(jsonCopy({ seq: 8, event: { name: 'ok' } })).toEqual({ seq: 8, event: { name: 'ok' } });
  });
});

describe('depth limit', () => {
  it('rejects an event nested 3,000 levels deep (event_too_deep) with a 200, and every list still serialises', async () => {
    const { collector, url } = await start();
    const text = deepEventJson(3000, { name: 'Deep One' });
    const r = await post(url, '/events/track', text);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ accepted: 0, rejected: 1, rejections: [{ reason: 'event_too_deep' }] });
    const [rejected] = collector.rejected();
    expect(rejected.reason).toBe('event_too_deep');
    expect(rejected.item).toMatchObject({ name: 'Deep One', max: LIMITS.maxEventDepth });
    expect(() => serialiseAll(collector)).not.toThrow();
    // And it keeps storing ordinary events.
    expect((await post(url, '/events/track', ev())).json.accepted).toBe(1);
  });

  it('accepts an event exactly maxEventDepth deep and rejects one level more', async () => {
    const { collector, url } = await start({ maxEventDepth: 5 });
    const ok = await post(url, '/events/track/bulk', `{"events":[${deepEventJson(4)},${deepEventJson(5)}]}`);
    expect(ok.json).toMatchObject({ accepted: 1, rejected: 1, rejections: [{ index: 1, reason: 'event_too_deep' }] });
    expect(collector.events()).toHaveLength(1);
  });

  it('never answers 500 to 5,000 or 500,000 levels, in an event, as the events value or as the body', async () => {
    const { collector, url } = await start();
    const n = 500_000;
    const cases = [
      [deepEventJson(5000), '/events/track', 'event_too_deep'],
      [`{"events":[${deepEventJson(5000)}]}`, '/events/track/bulk', 'event_too_deep'],
      [`{"events":[${'['.repeat(n)}${']'.repeat(n)}]}`, '/events/track/bulk', 'event_not_object'],
      ['['.repeat(n) + ']'.repeat(n), '/events/track/bulk', 'body_not_object'],
      [`{"events":${'{"a":'.repeat(n / 10)}1${'}'.repeat(n / 10)}}`, '/events/track/bulk', 'events_not_array'],
    ];
    for (const [body, route, reason] of cases) {
      const r = await post(url, route, body);
      expect(r.status, reason).toBe(200);
      expect(r.json.rejections[0].reason).toBe(reason);
    }
    expect(collector.rejected().map((x) => x.reason)).toEqual(cases.map(([, , reason]) => reason));
    // The items kept are summaries, not the nested values.
    expect(collector.rejected()[2].item).toEqual({ too_deep: true, max_depth: LIMITS.maxEventDepth, type: 'array' });
    expect(() => serialiseAll(collector)).not.toThrow();
  });

  it('skips an over-deep event stored by an earlier version, and rewrites the file without it', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'events.jsonl');
    const good = ev({ name: 'Kept' });
    const deepLine = `{"received_at":"2025-01-01T00:00:00.000Z","assigned":{},"event":${deepEventJson(3000)}}`;
    fs.writeFileSync(file, JSON.stringify({ received_at: '2025-01-01T00:00:00.000Z', event: good, assigned: {} }) + '\n' + deepLine + '\n');
    const collector = createCollector({ dataDir: dir });
    expect(collector.events().map((r) => r.event.name)).toEqual(['Kept']);
    expect(() => serialiseAll(collector)).not.toThrow();
    expect(fs.readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
  });
});

describe('size limits', () => {
  it('rejects a 1 MiB body of 500,000 entries as one too_many_events, storing nothing else', async () => {
    const dir = tempDir();
    const { collector, url } = await start({ dataDir: dir });
    const count = 500_000;
    const body = `{"events":[${Array(count).fill(1).join(',')}]}`;
    expect(body.length).toBeLessThan(LIMITS.maxBodyBytes);
    const r = await post(url, '/events/track/bulk', body);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      status: 'success', accepted: 0, duplicates: 0, rejected: 1,
      rejections: [{ reason: 'too_many_events', message: expect.stringMatching(/maxEventsPerRequest/) }],
    });
    expect(collector.rejected()).toHaveLength(1);
    expect(collector.rejected()[0].item).toEqual({ events: count, max: LIMITS.maxEventsPerRequest });
    expect(fs.readFileSync(path.join(dir, 'rejected.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('takes a bulk body of exactly maxEventsPerRequest events', async () => {
    const { collector, url } = await start({ maxEventsPerRequest: 3 });
    expect((await post(url, '/events/track/bulk', { events: [ev(), ev(), ev()] })).json.accepted).toBe(3);
    expect((await post(url, '/events/track/bulk', { events: [ev(), ev(), ev(), ev()] })).json.rejected).toBe(1);
    expect(collector.events()).toHaveLength(3);
  });

  it('keeps a summary, not the value, of a big rejected item', async () => {
    const { collector, url } = await start();
    await post(url, '/events/track/bulk', { events: [ev({ write_key: 'wrong', properties: { pad: 'p'.repeat(20_000) } })] });
    const [rejected] = collector.rejected();
    expect(rejected.reason).toBe('unknown_write_key');
    expect(rejected.item.bytes).toBeGreaterThan(20_000);
    expect(JSON.stringify(rejected).length).toBeLessThan(3000);
  });

  it('refuses a limit option that is not a positive number', () => {
    expect(() => createCollector({ dataDir: tempDir(), maxEvents: 0 })).toThrow(/maxEvents/);
    expect(() => createCollector({ dataDir: tempDir(), maxEventDepth: '5' })).toThrow(/maxEventDepth/);
  });
});

describe('script delay cap', () => {
  it('caps ?delay=999999999 at maxScriptDelayMs', async () => {
    const { url } = await start({ distDir: distWith({ 'firstparty.min.js': 'ok' }), maxScriptDelayMs: 300 });
    const t0 = Date.now();
    const r = await fetch(url + '/js/firstparty.min.js?delay=999999999');
    expect(await r.text()).toBe('ok');
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(5000);
  });

  it('caps setScriptDelay() and the scriptDelayMs option the same way', async () => {
    const { collector, url } = await start({ distDir: distWith({ 'firstparty.min.js': 'ok' }), maxScriptDelayMs: 200, scriptDelayMs: 1e12 });
    let t0 = Date.now();
    await (await fetch(url + '/js/firstparty.min.js')).text();
    expect(Date.now() - t0).toBeLessThan(5000);
    collector.setScriptDelay(Infinity);
    t0 = Date.now();
    await (await fetch(url + '/js/firstparty.min.js')).text();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('defaults to a 2-minute cap', () => {
    expect(LIMITS.maxScriptDelayMs).toBe(120_000);
  });
});
