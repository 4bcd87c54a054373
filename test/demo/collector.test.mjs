// @vitest-environment node
// The demo collector's contract: a faithful stand-in for Firstparty's
// collection Domain (demo/README.md documents every behaviour tested here).
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import http from 'node:http';
import zlib from 'node:zlib';
import { createCollector, REJECT_REASONS } from '../../demo/collector.mjs';
import { KEY, collectorsPerTest, distWith, ev, post, raw, tempDir, until } from './helpers.mjs';

const PROFILE_RE = /^PR[0-9A-Za-z]{30}$/;
const SESSION_RE = /^SE[0-9A-Za-z]{20}$/;

const { start, keep } = collectorsPerTest();

describe('POST /events/track', () => {
  it('stores one event, answers 200 with counts, and leaves the event as sent', async () => {
    const { collector, url } = await start();
    const event = ev({ name: 'Form Completed', properties: { email: 'x@example.com' } });
    const r = await post(url, '/events/track', event);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: 'success', accepted: 1, duplicates: 0, rejected: 0 });
    const stored = collector.events();
    expect(stored).toHaveLength(1);
    expect(stored[0].event).toEqual(event);
    expect(stored[0].assigned).toEqual({});
    expect(Number.isNaN(Date.parse(stored[0].received_at))).toBe(false);
  });

  it('accepts the older `event` spelling and normalises it to `name`', async () => {
    const { collector, url } = await start();
    const { name: _name, ...rest } = ev();
    const r = await post(url, '/events/track', { ...rest, event: 'Legacy Spelling' });
    expect(r.json.accepted).toBe(1);
    const [stored] = collector.events();
    expect(stored.event.name).toBe('Legacy Spelling');
    expect('event' in stored.event).toBe(false);
  });

  it('creates and returns a profile_id and session_id when the event has none', async () => {
    const { collector, url } = await start();
    const { profile_id: _p, session_id: _s, ...bare } = ev();
    const r = await post(url, '/events/track', bare);
    expect(r.json.profile_id).toMatch(PROFILE_RE);
    expect(r.json.session_id).toMatch(SESSION_RE);
    const [stored] = collector.events();
    expect(stored.assigned).toEqual({ profile_id: r.json.profile_id, session_id: r.json.session_id });
    expect(stored.event.profile_id).toBeUndefined(); // the event itself stays as sent
  });

  it('sets the fsid session cookie when the request had none, and joins by it when present', async () => {
    const { collector, url } = await start();
    const { session_id: _s, ...noSession } = ev();
    const first = await post(url, '/events/track', noSession);
    const cookie = first.headers.get('set-cookie');
    expect(cookie).toMatch(new RegExp(`^fsid=${first.json.session_id}; `));
    expect(cookie).toContain('Path=/');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).not.toMatch(/Expires|Max-Age/); // a browser-session cookie

    const { session_id: _t, ...again } = ev();
    const second = await post(url, '/events/track', again, { Cookie: `fsid=${first.json.session_id}` });
    expect(second.headers.get('set-cookie')).toBeNull();
    expect(second.json.session_id).toBe(first.json.session_id);
    expect(collector.events()[1].assigned.session_id).toBe(first.json.session_id);
  });
});

describe('POST /events/track/bulk', () => {
  it('stores every event in order and answers with counts', async () => {
    const { collector, url } = await start();
    const events = [ev(), ev(), ev()];
    const r = await post(url, '/events/track/bulk', { events });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ status: 'success', accepted: 3, duplicates: 0, rejected: 0 });
    expect(collector.events().map((e) => e.event.event_id)).toEqual(events.map((e) => e.event_id));
    const [req] = collector.requests();
    expect(req).toMatchObject({ path: '/events/track/bulk', method: 'POST', events: 3, status: 200, fault: null, accepted: 3 });
    expect(req.bytes).toBe(Buffer.byteLength(JSON.stringify({ events })));
  });

  it("stores the batch's sent_at with each event that has none of its own", async () => {
    const { collector, url } = await start();
    const own = { ...ev(), sent_at: '2026-01-01T00:00:00.000Z' };
    const r = await post(url, '/events/track/bulk', { events: [ev(), own], sent_at: '2026-12-07T18:00:00.000Z' });
    expect(r.json).toMatchObject({ accepted: 2, rejected: 0 });
    expect(collector.events().map((e) => e.event.sent_at)).toEqual(['2026-12-07T18:00:00.000Z', '2026-01-01T00:00:00.000Z']);
  });

  it('creates one profile_id/session_id per request, shared by the events that lacked them', async () => {
    const { collector, url } = await start();
    const bare = () => { const { profile_id: _p, session_id: _s, ...e } = ev(); return e; };
    const r = await post(url, '/events/track/bulk', { events: [bare(), ev(), bare()] });
    expect(r.json.profile_id).toMatch(PROFILE_RE);
    expect(r.json.session_id).toMatch(SESSION_RE);
    const [a, b, c] = collector.events();
    expect(a.assigned).toEqual({ profile_id: r.json.profile_id, session_id: r.json.session_id });
    expect(b.assigned).toEqual({});
    expect(c.assigned).toEqual(a.assigned);
  });

  it('omits profile_id/session_id from the answer when every event carried them', async () => {
    const { url } = await start();
    const r = await post(url, '/events/track/bulk', { events: [ev()] });
    expect(r.json).not.toHaveProperty('profile_id');
    expect(r.json).not.toHaveProperty('session_id');
  });

  it('writes accepted events as JSON lines under dataDir', async () => {
    const dir = tempDir();
    const { url } = await start({ dataDir: dir });
    await post(url, '/events/track/bulk', { events: [ev(), ev()] });
    const lines = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]).event.write_key).toBe(KEY);
  });
});

describe('rejected items', () => {
  it('records each bad event with its reason and index, and stores the valid ones of the same batch', async () => {
    const { collector, url } = await start();
    const good = [ev(), ev(), ev()];
    const batch = [
      good[0],
      'not an object',
      ev({ write_key: undefined }),
      ev({ write_key: 'some-other-key' }),
      ev({ name: undefined }),
      good[1],
      ev({ name: 42 }),
      ev({ properties: ['a', 'list'] }),
      ev({ context: 'mobile' }),
      ev({ properties: { blob: 'x'.repeat(40 * 1024) } }),
      good[2],
    ];
    const r = await post(url, '/events/track/bulk', { events: batch });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ status: 'success', accepted: 3, rejected: 8 });
    expect(collector.events().map((e) => e.event.event_id)).toEqual(good.map((e) => e.event_id));
    expect(collector.rejected().map((x) => [x.index, x.reason])).toEqual([
      [1, 'event_not_object'],
      [2, 'missing_write_key'],
      [3, 'unknown_write_key'],
      [4, 'missing_name'],
      [6, 'name_not_string'],
      [7, 'properties_not_object'],
      [8, 'context_not_object'],
      [9, 'event_too_large'],
    ]);
    const tooLarge = collector.rejected().at(-1);
    expect(tooLarge.item.bytes).toBeGreaterThan(32 * 1024); // a summary, not the 40 KiB blob
    expect(JSON.stringify(tooLarge).length).toBeLessThan(2000);
    expect(collector.rejected()[2].item.write_key).toBe('some-other-key');
  });

  it('records request-level problems, each answered 200', async () => {
    const { collector, url } = await start();
    const cases = [
      [await post(url, '/events/track', '{"name": "Broken", '), 'malformed_json'],
      [await post(url, '/events/track', JSON.stringify(ev()), { 'Content-Type': 'text/plain' }), 'wrong_content_type'],
      [await raw(url, { body: JSON.stringify(ev()) }), 'wrong_content_type'], // no Content-Type at all
      [await post(url, '/events/track', [ev()]), 'body_not_object'],
      [await post(url, '/events/track/bulk', 'null'), 'body_not_object'],
      [await post(url, '/events/track/bulk', { events: { 0: ev() } }), 'events_not_array'],
      [await post(url, '/events/track/bulk', {}), 'events_not_array'],
    ];
    for (const [r] of cases) expect(r.status).toBe(200);
    expect(collector.rejected().map((x) => x.reason)).toEqual(cases.map(([, reason]) => reason));
    expect(collector.events()).toHaveLength(0);
    expect(collector.rejected()[0].item.body_preview).toBe('{"name": "Broken", ');
  });

  it('accepts application/json with a charset parameter', async () => {
    const { collector, url } = await start();
    const r = await post(url, '/events/track', ev(), { 'Content-Type': 'application/json; charset=utf-8' });
    expect(r.json.accepted).toBe(1);
    expect(collector.rejected()).toHaveLength(0);
  });

  it('uses the configured write keys', async () => {
    const { collector, url } = await start({ writeKeys: ['site-a', 'site-b'] });
    await post(url, '/events/track/bulk', { events: [ev({ write_key: 'site-b' }), ev({ write_key: KEY })] });
    expect(collector.events().map((e) => e.event.write_key)).toEqual(['site-b']);
    expect(collector.rejected().map((x) => x.reason)).toEqual(['unknown_write_key']);
  });

  it('covers every documented reason', async () => {
    // Guards the list above against a reason added without a test.
    expect([...REJECT_REASONS].sort()).toEqual([
      'body_not_object', 'context_not_object', 'event_not_object', 'event_too_deep', 'event_too_large', 'events_not_array',
      'malformed_json', 'missing_name', 'missing_write_key', 'name_not_string', 'properties_not_object',
      'too_many_events', 'unknown_write_key', 'wrong_content_type',
    ]);
  });

  it('keeps serving after hostile input', async () => {
    const { collector, url } = await start();
    await post(url, '/events/track', '\u0000\uffff{{{');
    await post(url, '/events/track/bulk', { events: [null, [], { write_key: {}, name: {} }, ev({ event_id: { x: 1 } })] });
    await raw(url, { method: 'PUT', body: 'x' });
    const r = await post(url, '/events/track', ev());
    expect(r.json.accepted).toBe(1);
    // The event with an object event_id is stored (it just cannot be deduplicated).
    expect(collector.events()).toHaveLength(2);
  });
});

describe('broken uploads', () => {
  it('stores nothing from an upload cut off midway, and keeps serving', async () => {
    const { collector, url, port } = await start();
    const body = JSON.stringify({ events: [ev()] });
    await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(`POST /events/track/bulk HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
        socket.write(body.slice(0, 20), () => socket.destroy());
      });
      socket.on('close', resolve);
    });
    await until(collector, () => collector.requests().length === 1, 'the cut-off request');
    expect(collector.requests()[0]).toMatchObject({ status: null, fault: null });
    expect(collector.events()).toHaveLength(0);
    expect((await post(url, '/events/track', ev())).json.accepted).toBe(1);
  });

  it('cuts off a body far over the cap instead of reading it forever', async () => {
    const { collector, url } = await start({ maxBodyBytes: 1000 });
    const sent = new Promise((resolve) => {
      const req = http.request(`${url}/events/track`, { method: 'POST', headers: { 'Content-Type': 'application/json' } });
      req.on('response', (res) => { res.resume(); resolve('answered'); });
      req.on('error', () => resolve('cut off'));
      const chunk = 'x'.repeat(1000);
      let n = 0;
      const pump = () => { while (n < 1000 && req.write(chunk)) n++; if (n < 1000 && !req.destroyed) req.once('drain', pump); else req.end(); };
      pump();
    });
    expect(await sent).toBe('cut off');
    expect(collector.events()).toHaveLength(0);
    expect((await post(url, '/events/track', ev())).status).toBe(200);
  });
});

describe('dedupe by event_id', () => {
  it('stores a re-sent event once and counts the re-sends as duplicates', async () => {
    const { collector, url } = await start();
    const a = ev();
    const b = ev();
    await post(url, '/events/track/bulk', { events: [a, b] });
    const r = await post(url, '/events/track/bulk', { events: [a, ev(), b] });
    expect(r.json).toMatchObject({ accepted: 1, duplicates: 2, rejected: 0 });
    const single = await post(url, '/events/track', a);
    expect(single.json).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(collector.events()).toHaveLength(3);
    expect(collector.duplicates()).toBe(3);
    expect(collector.duplicateList().map((d) => d.event_id)).toEqual([a.event_id, b.event_id, a.event_id]);
  });

  it('drops a repeat inside the same batch', async () => {
    const { collector, url } = await start();
    const a = ev();
    const r = await post(url, '/events/track/bulk', { events: [a, a] });
    expect(r.json).toMatchObject({ accepted: 1, duplicates: 1 });
    expect(collector.events()).toHaveLength(1);
  });
});

describe('body cap', () => {
  it('answers 413 with a clear message and stores nothing for a body over 1 MiB', async () => {
    const { collector, url } = await start();
    const events = [];
    while (JSON.stringify({ events }).length <= 1024 * 1024) events.push(ev({ properties: { pad: 'y'.repeat(8000) } }));
    const r = await post(url, '/events/track/bulk', { events });
    expect(r.status).toBe(413);
    expect(r.json.message).toMatch(/larger than 1048576 bytes; nothing was stored/);
    expect(collector.events()).toHaveLength(0);
    expect(collector.rejected()).toHaveLength(0);
    expect(collector.requests()[0]).toMatchObject({ status: 413 });
    // The same events in smaller requests are all accepted (nothing was half-stored).
    const half = Math.ceil(events.length / 2);
    await post(url, '/events/track/bulk', { events: events.slice(0, half) });
    await post(url, '/events/track/bulk', { events: events.slice(half) });
    expect(collector.events()).toHaveLength(events.length);
    expect(collector.duplicates()).toBe(0);
  });

  it('honours a smaller maxBodyBytes option', async () => {
    const { collector, url } = await start({ maxBodyBytes: 500 });
    const r = await post(url, '/events/track', ev({ properties: { pad: 'z'.repeat(600) } }));
    expect(r.status).toBe(413);
    expect(collector.events()).toHaveLength(0);
  });
});

describe('Content-Encoding: gzip (the library\'s compression option)', () => {
  const gzipped = (body) => zlib.gzipSync(JSON.stringify(body));
  const headers = (body) => ({ 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'Content-Length': body.length });

  it('decodes a gzipped bulk body and stores its events as sent; the request counts the bytes on the wire', async () => {
    const { collector, url } = await start();
    const events = [ev(), ev({ properties: { text: 'é€😀'.repeat(50) } })];
    const body = gzipped({ events, sent_at: '2026-12-07T18:00:00.000Z' });
    const r = await raw(url, { route: '/events/track/bulk', headers: headers(body), body });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toMatchObject({ accepted: 2, rejected: 0 });
    expect(collector.events().map((e) => e.event.properties)).toEqual(events.map((e) => e.properties));
    expect(collector.requests()[0].bytes).toBe(body.length);
  });

  it('answers 413 for a small body that inflates past maxBodyBytes, and stores nothing', async () => {
    const { collector, url } = await start({ maxBodyBytes: 5000 });
    const body = gzipped({ events: [ev({ properties: { pad: 'z'.repeat(50_000) } })] });
    expect(body.length).toBeLessThan(5000);
    const r = await raw(url, { route: '/events/track/bulk', headers: headers(body), body });
    expect(r.status).toBe(413);
    expect(collector.events()).toHaveLength(0);
  });

  it('refuses a body that says gzip but is not, as malformed JSON', async () => {
    const { collector, url } = await start();
    const body = Buffer.from(JSON.stringify({ events: [ev()] }));
    const r = await raw(url, { route: '/events/track/bulk', headers: headers(body), body });
    expect(JSON.parse(r.text).rejections[0].reason).toBe('malformed_json');
    expect(collector.events()).toHaveLength(0);
  });

  it('allows the Content-Encoding header in its preflight answer', async () => {
    const { url } = await start();
    const r = await raw(url, {
      method: 'OPTIONS',
      route: '/events/track/bulk',
      headers: { Origin: 'http://localhost:8788', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,content-encoding' },
    });
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-headers']).toMatch(/Content-Encoding/);
  });
});

describe('CORS', () => {
  const ORIGIN = 'http://localhost:8788';

  it('answers the preflight for a foreign origin', async () => {
    const { collector, url } = await start();
    for (const route of ['/events/track', '/events/track/bulk']) {
      const r = await raw(url, {
        method: 'OPTIONS', route,
        headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
      });
      expect(r.status).toBe(204);
      expect(r.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(r.headers['access-control-allow-credentials']).toBe('true');
      expect(r.headers['access-control-allow-methods']).toBe('POST, OPTIONS');
      expect(r.headers['access-control-allow-headers']).toMatch(/content-type/i);
      expect(Number(r.headers['access-control-max-age'])).toBeGreaterThan(0);
      expect(r.headers.vary).toMatch(/Origin/);
    }
    expect(collector.requests().map((q) => [q.method, q.status])).toEqual([['OPTIONS', 204], ['OPTIONS', 204]]);
    expect(collector.events()).toHaveLength(0);
  });

  it('puts credentialed CORS headers on the POST answer', async () => {
    const { collector, url } = await start();
    const r = await post(url, '/events/track/bulk', { events: [ev()] }, { Origin: ORIGIN });
    expect(r.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(r.headers.get('access-control-allow-credentials')).toBe('true');
    expect(r.headers.get('vary')).toMatch(/Origin/);
    expect(collector.requests()[0].origin).toBe(ORIGIN);
  });

  it('allows any origin without credentials when no Origin header is sent', async () => {
    const { url } = await start();
    const r = await post(url, '/events/track', ev());
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('access-control-allow-credentials')).toBeNull();
  });
});

describe('durable storage', () => {
  it('keeps events, rejected items and the dedupe set across a restart', async () => {
    const dir = tempDir();
    const first = createCollector({ dataDir: dir });
    const s1 = await first.listen(0);
    const a = ev();
    const b = ev();
    await post(s1.url, '/events/track/bulk', { events: [a, b, ev({ write_key: 'nope' })] });
    await s1.close();

    const second = createCollector({ dataDir: dir });
    const s2 = await second.listen(0);
    keep(s2);
    expect(second.events().map((e) => e.event.event_id)).toEqual([a.event_id, b.event_id]);
    expect(second.rejected().map((x) => x.reason)).toEqual(['unknown_write_key']);
    const r = await post(s2.url, '/events/track/bulk', { events: [b, ev()] });
    expect(r.json).toMatchObject({ accepted: 1, duplicates: 1 });
    expect(second.events()).toHaveLength(3);
  });

  it('survives a torn last line in the data file', async () => {
    const dir = tempDir();
    const a = ev();
    fs.writeFileSync(path.join(dir, 'events.jsonl'),
      JSON.stringify({ received_at: new Date().toISOString(), event: a, assigned: {} }) + '\n{"received_at": "20');
    const c = createCollector({ dataDir: dir });
    expect(c.events().map((e) => e.event.event_id)).toEqual([a.event_id]);
  });

  it('clear() forgets memory and files, but a late re-send of an event stored before is a duplicate, not new', async () => {
    const dir = tempDir();
    const { collector, url } = await start({ dataDir: dir });
    const a = ev();
    await post(url, '/events/track/bulk', { events: [a, a, 'bad'] });
    collector.clear();
    expect([collector.events(), collector.rejected(), collector.requests(), collector.duplicateList()]).toEqual([[], [], [], []]);
    expect(collector.duplicates()).toBe(0);
    expect(collector.totals()).toEqual({ events: 0, duplicates: 0, rejected: 0, requests: 0 });
    expect(fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8')).toBe('');
    expect(fs.readFileSync(path.join(dir, 'rejected.jsonl'), 'utf8')).toBe('');
    const again = await post(url, '/events/track', a);
    expect(again.json).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(collector.events()).toEqual([]);
    expect(collector.duplicateList().map((d) => d.event_id)).toEqual([a.event_id]);
    expect((await post(url, '/events/track', ev())).json.accepted).toBe(1);
  });
});

describe('fault switch', () => {
  it('answers 503 with Retry-After for the next N requests, storing nothing, then recovers', async () => {
    const { collector, url } = await start();
    expect(collector.fault({ mode: '503', count: 2, retryAfter: 7 })).toEqual({ mode: '503', remaining: 2, retryAfter: 7 });
    const a = ev();
    for (let i = 0; i < 2; i++) {
      const r = await post(url, '/events/track/bulk', { events: [a] }, { Origin: 'http://localhost:8788' });
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('7');
      // A cross-origin script must be able to read the status and Retry-After.
      expect(r.headers.get('access-control-allow-origin')).toBe('http://localhost:8788');
      expect(r.headers.get('access-control-expose-headers')).toMatch(/Retry-After/);
    }
    expect(collector.events()).toHaveLength(0);
    expect(collector.faultState().mode).toBe('off');
    const ok = await post(url, '/events/track/bulk', { events: [a] });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ accepted: 1, duplicates: 0 }); // the 503s stored nothing
    expect(collector.requests().map((q) => [q.status, q.fault, q.events])).toEqual([[503, '503', 1], [503, '503', 1], [200, null, 1]]);
  });

  it('answers 503 without Retry-After when none is given', async () => {
    const { collector, url } = await start();
    collector.fault({ mode: '503', count: 1 });
    const r = await post(url, '/events/track', ev());
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBeNull();
  });

  it('never faults a preflight', async () => {
    const { collector, url } = await start();
    collector.fault({ mode: 'drop', count: 1 });
    const pre = await raw(url, { method: 'OPTIONS', headers: { Origin: 'http://localhost:8788' } });
    expect(pre.status).toBe(204);
    expect(collector.faultState()).toMatchObject({ mode: 'drop', remaining: 1 });
  });

  it('drops the connection', async () => {
    const { collector, url } = await start();
    collector.fault({ mode: 'drop', count: 1 });
    await expect(post(url, '/events/track', ev())).rejects.toThrow();
    expect(collector.requests()[0]).toMatchObject({ fault: 'drop', status: null });
    expect(collector.events()).toHaveLength(0);
    const r = await post(url, '/events/track', ev());
    expect(r.status).toBe(200);
  });

  it('hangs until close(), then the client sees the connection end', async () => {
    const { collector, url } = await start();
    collector.fault({ mode: 'hang', count: 1 });
    const pending = post(url, '/events/track/bulk', { events: [ev()] });
    let settled = false;
    pending.then(() => { settled = true; }, () => { settled = true; });
    await until(collector, () => collector.requests().length === 1, 'the hung request');
    expect(settled).toBe(false);
    expect(collector.requests()[0]).toMatchObject({ fault: 'hang', status: null });
    collector.close();
    await expect(pending).rejects.toThrow();
    expect(collector.events()).toHaveLength(0);
  });

  it('clear() also ends a hang and turns the switch off', async () => {
    const { collector, url } = await start();
    collector.fault({ mode: 'hang', count: 5 });
    const pending = post(url, '/events/track', ev());
    await until(collector, () => collector.requests().length === 1, 'the hung request');
    collector.clear();
    await expect(pending).rejects.toThrow();
    expect(collector.faultState().mode).toBe('off');
    expect((await post(url, '/events/track', ev())).status).toBe(200);
  });

  it('rejects an unknown mode', async () => {
    const collector = createCollector({ dataDir: tempDir() });
    expect(() => collector.fault({ mode: 'explode' })).toThrow(/fault mode/);
  });
});

describe('script route', () => {
  it('serves the built script and its map with the right types and CORS', async () => {
    const distDir = distWith({ 'firstparty.min.js': '/* lib */ window.x = 1;', 'firstparty.min.js.map': '{"version":3}' });
    const { url } = await start({ distDir });
    const js = await fetch(url + '/js/firstparty.min.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('access-control-allow-origin')).toBe('*');
    expect(await js.text()).toBe('/* lib */ window.x = 1;');
    // The build links no map from the script (bytes every visitor downloads): the header does.
    expect(js.headers.get('sourcemap')).toBe('/js/firstparty.min.js.map');
    const map = await fetch(url + '/js/firstparty.min.js.map');
    expect(map.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await map.text()).toBe('{"version":3}');
  });

  it('answers 404 with a clear message when the file has not been built', async () => {
    const { url } = await start({ distDir: distWith({}) });
    const r = await fetch(url + '/js/snippet.min.js');
    expect(r.status).toBe(404);
    expect(await r.text()).toMatch(/npm run build/);
  });

  it('can delay the script; ?delay=0 overrides it and close() ends a delayed answer', async () => {
    const distDir = distWith({ 'firstparty.min.js': 'ok' });
    const { collector, url, server } = await start({ distDir });
    collector.setScriptDelay(10 * 60 * 1000);
    const quick = await fetch(url + '/js/firstparty.min.js?delay=0');
    expect(await quick.text()).toBe('ok');
    const arrived = new Promise((resolve) => server.once('request', () => setImmediate(resolve)));
    const slow = fetch(url + '/js/firstparty.min.js');
    await arrived;
    collector.close();
    await expect(slow).rejects.toThrow();
  });
});

describe('the answer lists what was rejected', () => {
  it('gives index, event_id, reason and message per rejected event; whole-body refusals have no index', async () => {
    const { url } = await start();
    const wrongKey = ev({ write_key: 'YOUR_WRITE_KEY' });
    const good = ev();
    const r = await post(url, '/events/track/bulk', { events: [good, wrongKey, 'text', ev({ name: '' })] });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      status: 'success', accepted: 1, duplicates: 0, rejected: 3,
      rejections: [
        { index: 1, event_id: wrongKey.event_id, reason: 'unknown_write_key', message: 'write_key is not one this collector accepts' },
        { index: 2, reason: 'event_not_object', message: 'Event must be a JSON object' },
        { index: 3, event_id: expect.any(String), reason: 'missing_name', message: expect.any(String) },
      ],
    });
    const single = await post(url, '/events/track', ev({ write_key: 'nope' }));
    expect(single.json.rejections).toEqual([{ event_id: expect.any(String), reason: 'unknown_write_key', message: expect.any(String) }]);
    const whole = await post(url, '/events/track/bulk', '{"events": [');
    expect(whole.json).toMatchObject({ accepted: 0, rejected: 1, rejections: [{ reason: 'malformed_json', message: 'Body is not valid JSON' }] });
    expect(whole.json.rejections[0]).not.toHaveProperty('index');
  });

  it('lists at most maxAnswerRejections; `rejected` counts them all', async () => {
    const { url } = await start({ maxAnswerRejections: 2 });
    const r = await post(url, '/events/track/bulk', { events: [1, 2, 3, 4, 5] });
    expect(r.json.rejected).toBe(5);
    expect(r.json.rejections.map((x) => x.index)).toEqual([0, 1]);
  });

  it('cuts a long event_id in the list to 200 characters', async () => {
    const { url } = await start();
    const r = await post(url, '/events/track', ev({ write_key: 'nope', event_id: 'E'.repeat(5000) }));
    expect(r.json.rejections[0].event_id).toBe('E'.repeat(200) + '…');
  });
});

describe('Clear means clear', () => {
  it('ends a hung request and an upload in progress; neither stores or logs anything after the clear', async () => {
    const { collector, url, port } = await start();
    const delivered = ev({ name: 'Delivered Before Clear' });
    await post(url, '/events/track', delivered);

    collector.fault({ mode: 'hang', count: 1 });
    const hung = post(url, '/events/track/bulk', { events: [ev({ name: 'In The Hung Request' })] });
    hung.catch(() => {});
    await until(collector, () => collector.requests().some((r) => r.fault === 'hang'), 'the hung request');

    // An upload still in progress: headers and half a body sent.
    const late = ev({ name: 'Still Uploading' });
    const body = JSON.stringify({ events: [late] });
    const socket = net.connect(port, '127.0.0.1');
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.on('error', () => {});
    await new Promise((resolve) => socket.on('connect', resolve));
    socket.write(`POST /events/track/bulk HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));

    collector.clear();
    await expect(hung).rejects.toThrow();
    // The clear ended the upload too.
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('clear() left the upload open')), 5000))]);
    expect(collector.events()).toEqual([]);
    expect(collector.requests()).toEqual([]);

    // The event stored before the clear, sent again: a duplicate, not new.
    const again = await post(url, '/events/track/bulk', { events: [delivered, late] });
    expect(again.json).toMatchObject({ accepted: 1, duplicates: 1 });
    expect(collector.events().map((r) => r.event.name)).toEqual(['Still Uploading']);
    expect(collector.requests()).toHaveLength(1);
  });
});

describe('log entries of faulted requests', () => {
  it('a hung request is logged with the events and bytes it carried', async () => {
    const { collector, url } = await start();
    collector.fault({ mode: 'hang', count: 1 });
    const events = [ev({ name: 'Hung A' }), ev({ name: 'Hung B' })];
    const pending = post(url, '/events/track/bulk', { events });
    pending.catch(() => {});
    await until(collector, () => collector.requests().length === 1, 'the hung request');
    const [logged] = collector.requests();
    expect(logged).toMatchObject({ fault: 'hang', status: null, events: 2, bytes: Buffer.byteLength(JSON.stringify({ events })) });
    expect(logged.carried).toEqual(events.map((e) => ({ name: e.name, event_id: e.event_id })));
    expect(collector.events()).toEqual([]);
  });

  it('a dropped request and a 503 are logged with what they carried', async () => {
    const { collector, url } = await start();
    collector.fault({ mode: 'drop', count: 1 });
    const dropped = ev({ name: 'Dropped' });
    await expect(post(url, '/events/track', dropped)).rejects.toThrow();
    collector.fault({ mode: '503', count: 1 });
    await post(url, '/events/track/bulk', { events: [ev({ name: 'Refused' }), 'not an event'] });
    const [d, u] = collector.requests();
    expect(d).toMatchObject({ fault: 'drop', status: null, events: 1, carried: [{ name: 'Dropped', event_id: dropped.event_id }] });
    expect(d.bytes).toBe(Buffer.byteLength(JSON.stringify(dropped)));
    expect(u).toMatchObject({ fault: '503', status: 503, events: 2, carried: [{ name: 'Refused' }, {}] });
  });

  it('lists at most 20 of the events carried', async () => {
    const { collector, url } = await start();
    collector.fault({ mode: '503', count: 1 });
    await post(url, '/events/track/bulk', { events: Array.from({ length: 30 }, () => ev()) });
    expect(collector.requests()[0]).toMatchObject({ events: 30 });
    expect(collector.requests()[0].carried).toHaveLength(20);
  });
});

describe('fault switch input', () => {
  it('refuses a count or retryAfter that is not a usable number, and leaves the switch as it was', () => {
    const collector = createCollector({ dataDir: tempDir() });
    collector.fault({ mode: 'hang', count: 2 });
    for (const spec of [{ mode: '503', count: 0 }, { mode: '503', count: 'lots' }, { mode: 'drop', count: -1 }, { mode: '503', retryAfter: 'soon' }]) {
      expect(() => collector.fault(spec), JSON.stringify(spec)).toThrow(TypeError);
    }
    expect(collector.faultState()).toEqual({ mode: 'hang', remaining: 2 });
    expect(collector.fault({ mode: '503', count: Infinity, retryAfter: '' })).toEqual({ mode: '503', remaining: Infinity });
  });
});
