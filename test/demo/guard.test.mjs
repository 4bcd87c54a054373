// @vitest-environment node
// The demo API answers only the demo's own pages (demo/guard.mjs as
// demo/server.mjs applies it): a foreign or `null` Origin, a body a page can
// send without a preflight, and a Host that is not the server's own are all
// refused, while the collector routes stay open to any origin.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServer } from '../../demo/server.mjs';
import { createGuard, loopbackHosts } from '../../demo/guard.mjs';
import { cleanupDirs, ev, post, raw, tempDir } from './helpers.mjs';

let demo;
let base; // http://127.0.0.1:PORT
let second; // http://localhost:PORT2
beforeAll(async () => {
  demo = await startDemoServer({ port: 0, dataDir: tempDir() });
  base = demo.url.replace(/\/$/, '');
  second = demo.secondUrl.replace(/\/$/, '');
});
afterAll(async () => {
  await demo?.close();
  cleanupDirs();
});

const FOREIGN = ['http://localhost:1', 'http://127.0.0.1:9', 'null', 'https://evil.example', 'file://'];

describe('allow-lists', () => {
  it('are derived from the ports the servers listen on', () => {
    const { hosts, origins } = demo.allowed;
    expect(hosts).toEqual(expect.arrayContaining([`127.0.0.1:${demo.port}`, `localhost:${demo.port}`, `localhost:${demo.secondPort}`]));
    expect(origins).toEqual(expect.arrayContaining([base, `http://localhost:${demo.port}`, second]));
    expect(origins).not.toContain('null');
  });

  it('createGuard compares lower-case and tells a missing Origin from a refused one', () => {
    const guard = createGuard({ hosts: loopbackHosts('127.0.0.1', 80), origins: ['http://127.0.0.1:80'] });
    const req = (headers) => ({ headers });
    expect(guard.hostAllowed(req({ host: 'LOCALHOST:80' }))).toBe(true);
    expect(guard.hostAllowed(req({ host: 'localhost' }))).toBe(false);
    expect(guard.hostAllowed(req({}))).toBe(false);
    expect(guard.origin(req({}))).toBe('none');
    expect(guard.origin(req({ origin: 'HTTP://127.0.0.1:80' }))).toBe('allowed');
    expect(guard.origin(req({ origin: 'null' }))).toBe('refused');
  });
});

describe('the demo API refuses', () => {
  it('a foreign Origin and `Origin: null`, on every route, without CORS headers, changing nothing', async () => {
    demo.collector.fault({ mode: 'off' });
    await post(base, '/events/track', ev());
    const before = demo.collector.events().length;
    for (const origin of FOREIGN) {
      for (const [method, route, body] of [
        ['GET', '/demo/events'],
        ['GET', '/demo/stream'],
        ['POST', '/demo/fault', '{"mode":"hang","count":1000000000}'],
        ['POST', '/demo/clear', '{}'],
        ['OPTIONS', '/demo/clear'],
      ]) {
        const headers = { Origin: origin, 'Content-Type': 'application/json' };
        if (method === 'OPTIONS') Object.assign(headers, { 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' });
        const r = await raw(base, { method, route, headers, body });
        expect(r.status, `${origin} ${method} ${route}`).toBe(403);
        expect(r.headers['access-control-allow-origin'], `${origin} ${method} ${route}`).toBeUndefined();
        expect(r.text).not.toContain('event_id');
      }
    }
    expect(demo.collector.faultState().mode).toBe('off');
    expect(demo.collector.events()).toHaveLength(before);
  });

  it('a mutating request that is not application/json (no preflight needed for those), from any origin', async () => {
    await post(base, '/events/track', ev());
    const stored = demo.collector.events().length;
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined]) {
      for (const origin of [second, undefined]) {
        const headers = {};
        if (type) headers['Content-Type'] = type;
        if (origin) headers.Origin = origin;
        const clear = await raw(base, { route: '/demo/clear', headers, body: '{}' });
        expect(clear.status, `${type} ${origin}`).toBe(415);
        const fault = await raw(base, { route: '/demo/fault', headers, body: '{"mode":"hang","count":5}' });
        expect(fault.status, `${type} ${origin}`).toBe(415);
        expect(JSON.parse(fault.text).message).toMatch(/application\/json/);
      }
    }
    expect(demo.collector.events()).toHaveLength(stored);
    expect(demo.collector.faultState().mode).toBe('off');
  });

  it('any request whose Host is not the server\'s own (DNS rebinding), collector and page included', async () => {
    for (const host of ['evil.example', `evil.example:${demo.port}`, `127.0.0.1:${demo.port + 1}`, `localhost`, `[::1]:${demo.port}`]) {
      for (const [method, route] of [['GET', '/demo/events'], ['GET', '/'], ['POST', '/events/track'], ['GET', '/js/firstparty.min.js']]) {
        const r = await raw(base, { method, route, headers: { Host: host, 'Content-Type': 'application/json' }, body: method === 'POST' ? JSON.stringify(ev()) : '' });
        expect(r.status, `${host} ${method} ${route}`).toBe(403);
        expect(r.text).toMatch(/^Refused/);
      }
    }
    const onSecond = await raw(second, { method: 'GET', route: '/', headers: { Host: `evil.example:${demo.secondPort}` } });
    expect(onSecond.status).toBe(403);
  });

  it('a fault body that is not JSON, or has no mode, with 400, leaving the switch as it was', async () => {
    demo.collector.fault({ mode: '503', count: 2 });
    for (const body of ['{"mode": "hang",', '[]', '"503"', '{}', '{"mode": 503}', '{"mode":"503","count":0}', '{"mode":"503","retryAfter":"soon"}']) {
      const r = await post(base, '/demo/fault', body);
      expect(r.status, body).toBe(400);
      expect(r.json.status, body).toBe('error');
    }
    expect(demo.collector.faultState()).toEqual({ mode: '503', remaining: 2 });
    expect((await post(base, '/demo/fault', { mode: 'off' })).json.fault.mode).toBe('off');
  });
});

describe('the demo API answers', () => {
  it('both demo origins (CORS for exactly that origin), same-origin requests, and the localhost name of the main port', async () => {
    for (const origin of [base, second, `http://localhost:${demo.port}`]) {
      const pre = await raw(base, { method: 'OPTIONS', route: '/demo/fault', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' } });
      expect(pre.status).toBe(204);
      expect(pre.headers['access-control-allow-origin']).toBe(origin);
      const r = await post(base, '/demo/fault', { mode: 'off' }, { Origin: origin });
      expect(r.status).toBe(200);
      expect(r.headers.get('access-control-allow-origin')).toBe(origin);
      expect(r.headers.get('vary')).toMatch(/Origin/);
    }
    const same = await fetch(`${base}/demo/events`);
    expect(same.status).toBe(200);
    expect(same.headers.get('access-control-allow-origin')).toBeNull();
    const viaLocalhost = await raw(base, { method: 'GET', route: '/', headers: { Host: `localhost:${demo.port}` } });
    expect(viaLocalhost.status).toBe(200);
    expect(viaLocalhost.text).toContain(`data-page-origin="http://localhost:${demo.port}"`);
  });

  it('while the collector routes stay open to any origin, as the HTTP API needs', async () => {
    for (const origin of FOREIGN) {
      const pre = await raw(base, { method: 'OPTIONS', route: '/events/track/bulk', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' } });
      expect(pre.status).toBe(204);
      expect(pre.headers['access-control-allow-origin']).toBe(origin);
      const r = await post(base, '/events/track/bulk', { events: [ev()] }, { Origin: origin });
      expect(r.json.accepted).toBe(1);
      expect(r.headers.get('access-control-allow-origin')).toBe(origin);
    }
  });

  it('with extra hosts and origins when configured', async () => {
    const other = await startDemoServer({ port: 0, secondPort: null, dataDir: tempDir(), allowedHosts: ['demo.test:8080'], allowedOrigins: ['https://demo.test'] });
    try {
      const url = other.url.replace(/\/$/, '');
      expect((await raw(url, { method: 'GET', route: '/', headers: { Host: 'demo.test:8080' } })).status).toBe(200);
      const r = await raw(url, { method: 'GET', route: '/demo/events', headers: { Origin: 'https://demo.test' } });
      expect(r.status).toBe(200);
      expect(r.headers['access-control-allow-origin']).toBe('https://demo.test');
    } finally {
      await other.close();
    }
  });
});
