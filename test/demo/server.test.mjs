// @vitest-environment node
// `npm start`'s server: started on a free port, it serves the demo page with
// the snippet inlined, the built script, the collector, a second origin, the
// page's demo API, and on both origins the /fp proxy path to the collector.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../demo/collector.mjs';
import http from 'node:http';
import { SNIPPET_PLACEHOLDER, startDemoServer } from '../../demo/server.mjs';
import { cleanupDirs, deepEventJson, ev, openStream, post, tempDir } from './helpers.mjs';

const DIST_SCRIPT = path.join(REPO_ROOT, 'dist', 'firstparty.min.js');
const DIST_SNIPPET = path.join(REPO_ROOT, 'dist', 'snippet.min.js');

let demo;
let base; // http://127.0.0.1:PORT (no trailing slash)
beforeAll(async () => {
  demo = await startDemoServer({ port: 0, dataDir: tempDir() });
  base = demo.url.replace(/\/$/, '');
});
afterAll(async () => {
  await demo?.close();
  cleanupDirs();
});

/** Status of a GET for the raw request target `path` (fetch() would normalize it). */
const rawStatus = (port, path) =>
  new Promise((resolve, reject) => http.get({ host: '127.0.0.1', port, path }, (res) => (res.resume(), resolve(res.statusCode))).on('error', reject));

describe('startDemoServer', () => {
  it("answers request targets that a URL parser reads as host-less ('//', '//x', '/fp//') with 404 on both origins (it was a 500 and a logged TypeError), and stays up", async () => {
    for (const port of [demo.port, demo.secondPort]) {
      for (const path of ['//', '//evil.example/x', '/fp//']) expect(await rawStatus(port, path)).toBe(404);
    }
    expect((await fetch(demo.url)).status).toBe(200);
  });

  it('listens on a free port and reports its URLs', () => {
    expect(demo.port).toBeGreaterThan(0);
    expect(demo.url).toBe(`http://127.0.0.1:${demo.port}/`);
    expect(demo.secondUrl).toMatch(/^http:\/\/localhost:\d+\/$/);
    expect(demo.secondPort).not.toBe(demo.port);
  });

  it('serves the page with the snippet inlined and load() pointing at itself', async () => {
    const r = await fetch(demo.url);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await r.text();
    expect(html).not.toContain(SNIPPET_PLACEHOLDER);
    expect(html).toContain(`firstparty.load("demo-write-key-01", "${base}", {"pageviews":"history"}); firstparty.page();`);
    if (fs.existsSync(DIST_SNIPPET)) {
      const snippet = fs.readFileSync(DIST_SNIPPET, 'utf8').trim();
      // Inlined verbatim apart from `</script` escaping.
      expect(html).toContain(snippet.replace(/<\/(script)/gi, '<\\/$1').slice(0, 200));
      expect(html).not.toContain('FALLBACK STUB');
    } else {
      expect(html).toContain('FALLBACK STUB');
    }
    expect(html).toContain(`data-collector="${base}"`);
    expect(html).toContain('src="/demo.js"');
  });

  it('serves the built script (npm run build must have run)', async () => {
    if (!fs.existsSync(DIST_SCRIPT)) {
      throw new Error('dist/firstparty.min.js is missing: run `npm run build` first (`npm test` does it before vitest).');
    }
    const r = await fetch(`${base}/js/firstparty.min.js`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(Buffer.from(await r.arrayBuffer()).equals(fs.readFileSync(DIST_SCRIPT))).toBe(true);
  });

  it('serves the page assets and SPA routes', async () => {
    for (const [route, type] of [['/demo.js', /javascript/], ['/demo.css', /text\/css/], ['/spa/pricing', /text\/html/]]) {
      const r = await fetch(base + route);
      expect(r.status, route).toBe(200);
      expect(r.headers.get('content-type'), route).toMatch(type);
    }
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it('takes page options from the query string, ignoring unsafe values', async () => {
    const pending = await (await fetch(`${base}/?consent=pending&pageviews=false&write_key=other-key`)).text();
    expect(pending).toContain(`firstparty.load("other-key", "${base}", {"pageviews":false,"consent":"pending"})`);
    const hostile = await (await fetch(`${base}/?write_key=${encodeURIComponent('"</script><script>alert(1)')}`)).text();
    expect(hostile).toContain('firstparty.load("demo-write-key-01"');
    expect(hostile).not.toContain('alert(1)');
  });

  it('serves the same page on a second origin, posting to the first', async () => {
    const r = await fetch(demo.secondUrl);
    expect(r.status).toBe(200);
    const html = await r.text();
    expect(html).toContain(`firstparty.load("demo-write-key-01", "${base}"`);
    expect(html).toContain(`data-page-origin="${demo.secondUrl.replace(/\/$/, '')}"`);
    // The second origin is only a page host: no collector there.
    expect((await fetch(`${demo.secondUrl}events/track`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it('runs the collector: an event posted from the second origin is stored and CORS-answered', async () => {
    const origin = demo.secondUrl.replace(/\/$/, '');
    const pre = await fetch(`${base}/events/track/bulk`, {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(origin);
    const event = ev();
    const r = await post(base, '/events/track/bulk', { events: [event] }, { Origin: origin });
    expect(r.json.accepted).toBe(1);
    expect(r.headers.get('access-control-allow-origin')).toBe(origin);
    expect(demo.collector.events().at(-1).event.event_id).toBe(event.event_id);
  });
});

describe('demo API', () => {
  it('GET /demo/events lists events newest first, duplicates and rejected items, after `since`', async () => {
    demo.collector.clear();
    const a = ev({ name: 'First' });
    const b = ev({ name: 'Second' });
    await post(base, '/events/track/bulk', { events: [a, b, a, ev({ name: 7 })] });
    const all = await (await fetch(`${base}/demo/events`)).json();
    expect(all.events.map((e) => e.event.name)).toEqual(['Second', 'First']);
    expect(all.duplicates.map((d) => d.event_id)).toEqual([a.event_id]);
    expect(all.rejected.map((x) => x.reason)).toEqual(['name_not_string']);
    expect(all.counts).toMatchObject({ events: 2, duplicates: 1, rejected: 1 });

    const since = all.events[0].seq;
    const c = ev({ name: 'Third' });
    await post(base, '/events/track', c);
    const later = await (await fetch(`${base}/demo/events?since=${since}`)).json();
    expect(later.events.map((e) => e.event.name)).toEqual(['Third']);
  });

  it('POST /demo/fault sets the switch, POST /demo/clear empties the collector', async () => {
    const set = await post(base, '/demo/fault', { mode: '503', count: 2, retryAfter: 3 });
    expect(set.json.fault).toEqual({ mode: '503', remaining: 2, retryAfter: 3 });
    expect((await post(base, '/events/track', ev())).status).toBe(503);
    const off = await post(base, '/demo/fault', { mode: 'off' });
    expect(off.json.fault.mode).toBe('off');
    expect((await post(base, '/events/track', ev())).status).toBe(200);
    const bad = await post(base, '/demo/fault', { mode: 'meltdown' });
    expect(bad.status).toBe(400);

    expect(demo.collector.events().length).toBeGreaterThan(0);
    const cleared = await post(base, '/demo/clear', {});
    expect(cleared.status).toBe(200);
    expect(demo.collector.events()).toEqual([]);
  });

  it('GET /demo/stream sends a snapshot, then each new event', async () => {
    demo.collector.clear();
    const origin = demo.secondUrl.replace(/\/$/, '');
    const stream = await openStream(base, { Origin: origin });
    expect(stream.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.res.headers.get('access-control-allow-origin')).toBe(origin);
    await stream.readUntil('event: snapshot');
    const event = ev({ name: 'Streamed <b>live</b>' });
    await post(base, '/events/track', event);
    await stream.readUntil(event.event_id);
    const block = stream.text().split('\n\n').find((b) => b.includes(event.event_id));
    expect(block.startsWith('event: event\ndata: ')).toBe(true);
    expect(JSON.parse(block.split('data: ')[1]).event.name).toBe('Streamed <b>live</b>');
    stream.close();
  });

  it('snapshots and the stream survive anything posted: deep, huge and hostile bodies', async () => {
    demo.collector.clear();
    const stream = await openStream(base);
    await stream.readUntil('event: snapshot');
    const n = 200_000;
    for (const [route, body] of [
      ['/events/track', deepEventJson(3000)],
      ['/events/track/bulk', `{"events":[${deepEventJson(6000)}]}`],
      ['/events/track/bulk', '['.repeat(n) + ']'.repeat(n)],
      ['/events/track/bulk', `{"events":[${Array(400_000).fill(1).join(',')}]}`],
    ]) {
      expect((await post(base, route, body)).status).toBe(200);
    }
    const last = ev({ name: 'After The Storm' });
    await post(base, '/events/track', last);
    await stream.readUntil(last.event_id);
    stream.close();
    // Every message of the stream is JSON.
    for (const block of stream.text().split('\n\n').filter((b) => b.includes('data: '))) {
      expect(() => JSON.parse(block.slice(block.indexOf('data: ') + 6))).not.toThrow();
    }
    const snap = await fetch(`${base}/demo/events`);
    expect(snap.status).toBe(200);
    const body = await snap.json();
    expect(body.rejected.map((r) => r.reason)).toEqual(['too_many_events', 'body_not_object', 'event_too_deep', 'event_too_deep']);
    expect(body.events.map((r) => r.event.name)).toEqual(['After The Storm']);
    expect(body.counts).toEqual({ events: 1, duplicates: 0, rejected: 4, requests: 5 });
    expect(body.write_keys).toEqual(['demo-write-key-01']);
    expect(body.limits.maxEvents).toBe(10_000);
    // A restart on the same data serves the same.
    const again = await startDemoServer({ port: 0, secondPort: null, dataDir: demo.collector.paths.dataDir });
    try {
      const r = await fetch(`${again.url}demo/events`);
      expect(r.status).toBe(200);
      expect((await r.json()).rejected).toHaveLength(4);
    } finally {
      await again.close();
    }
  });

  it('answers /favicon.ico with 204, and the page declares an inline icon', async () => {
    expect((await fetch(`${base}/favicon.ico`)).status).toBe(204);
    expect(await (await fetch(demo.url)).text()).toMatch(/<link rel="icon" href="data:/);
  });
});

describe('the /fp proxy path and ?host=proxy (issue 13)', () => {
  it('forwards /fp/* on both origins to the collector, over HTTP: the script, and events answered with its Set-Cookie', async () => {
    demo.collector.clear();
    for (const origin of [base, demo.secondUrl.replace(/\/$/, '')]) {
      const script = await fetch(`${origin}/fp/js/firstparty.min.js`);
      expect(script.status, origin).toBe(200);
      expect(Buffer.from(await script.arrayBuffer()).equals(fs.readFileSync(DIST_SCRIPT)), origin).toBe(true);

      const event = ev({ profile_id: 'auth0|demo' });
      const r = await post(origin, '/fp/events/track/bulk', { events: [event] });
      expect(r.json, origin).toMatchObject({ status: 'success', accepted: 1 });
      // The demo collector sets the cookies on proxied requests only ('proxied').
      expect(r.headers.getSetCookie(), origin).toEqual([
        'fpid=auth0%7Cdemo; Max-Age=31536000; Path=/; SameSite=Lax',
        `fsid=${event.session_id}; Max-Age=1800; Path=/; SameSite=Lax`,
      ]);
      expect(demo.collector.events().at(-1).event.event_id).toBe(event.event_id);
    }
    expect(demo.proxy.log.slice(-4).map((e) => [e.method, e.path, e.status])).toEqual([
      ['GET', '/fp/js/firstparty.min.js', 200], ['POST', '/fp/events/track/bulk', 200],
      ['GET', '/fp/js/firstparty.min.js', 200], ['POST', '/fp/events/track/bulk', 200],
    ]);
    // Straight to the collector: no identity cookies (the event carried its session).
    expect((await post(base, '/events/track/bulk', { events: [ev()] })).headers.getSetCookie()).toEqual([]);
  });

  it('forwards only the collector routes: the demo API is not reachable through /fp', async () => {
    expect((await fetch(`${base}/fp/demo/events`)).status).toBe(404);
    expect((await fetch(`${demo.secondUrl}fp/demo/clear`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status).toBe(404);
  });

  it('?host=proxy loads the snippet with host /fp and serverCookie, and says so on the page', async () => {
    for (const origin of [base, demo.secondUrl.replace(/\/$/, '')]) {
      const html = await (await fetch(`${origin}/?host=proxy&pageviews=false`)).text();
      expect(html).toContain('firstparty.load("demo-write-key-01", "/fp", {"pageviews":false,"serverCookie":true}); firstparty.page();');
      expect(html).toContain('data-host-mode="proxy"');
      expect(html).toContain('<code>load(…, "/fp", {serverCookie: true})</code>');
      // The demo API still lives on the collector's origin.
      expect(html).toContain(`data-collector="${base}"`);
    }
    const direct = await (await fetch(`${base}/?host=elsewhere`)).text();
    expect(direct).toContain(`firstparty.load("demo-write-key-01", "${base}", {"pageviews":"history"})`);
    expect(direct).toContain('data-host-mode="direct"');
  });

  it("starts with the collector's CORS style given (FP_CORS), and refuses an unknown one", async () => {
    const wildcard = await startDemoServer({ port: 0, secondPort: null, dataDir: tempDir(), cors: 'wildcard' });
    try {
      const r = await post(wildcard.url.replace(/\/$/, ''), '/events/track', ev(), { Origin: 'http://localhost:1' });
      expect(r.headers.get('access-control-allow-origin')).toBe('*');
      expect(r.headers.get('access-control-allow-credentials')).toBeNull();
    } finally {
      await wildcard.close();
    }
    await expect(startDemoServer({ port: 0, secondPort: null, dataDir: tempDir(), cors: 'star' })).rejects.toThrow(/cors must be one of/);
  });
});
