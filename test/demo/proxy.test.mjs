// @vitest-environment node
// The same-origin proxy path (demo/proxy.mjs, issue 13) against a recording
// upstream and against the real collector: what it forwards (method, path,
// query, body, Cookie, Content-Type, X-Forwarded-*, Host), what it passes
// back (status, body, every Set-Cookie), and what it refuses.
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { COLLECTOR_ROUTES, closeServer, listenOn } from '../../demo/collector.mjs';
import { createProxy } from '../../demo/proxy.mjs';
import { collectorsPerTest, ev, post } from './helpers.mjs';

const { start } = collectorsPerTest();
const running = [];
afterEach(async () => {
  for (const { server, proxy } of running.splice(0)) {
    await closeServer(server);
    proxy.close();
  }
});

/** A server on a free port whose `/fp/*` goes to `upstream` (and anything else answers 418). */
async function proxyTo(upstream, routes = COLLECTOR_ROUTES) {
  const proxy = createProxy({ prefix: '/fp', upstream, routes });
  const server = http.createServer((req, res) => {
    if (!proxy.handle(req, res)) res.writeHead(418).end('not the proxy');
  });
  const port = await listenOn(server, 0, '127.0.0.1');
  running.push({ server, proxy });
  return { proxy, url: `http://127.0.0.1:${port}` };
}

/** An upstream that records each request (headers, body) and answers with two cookies. */
async function recordingUpstream() {
  const seen = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(201, { 'Content-Type': 'application/json', 'Set-Cookie': ['a=1; Path=/', 'b=2; Max-Age=60'], 'X-Upstream': 'yes', Connection: 'keep-alive' });
      res.end('{"ok":true}');
    });
  });
  const port = await listenOn(server, 0, '127.0.0.1');
  running.push({ server, proxy: { close() {} } });
  return { seen, url: `http://127.0.0.1:${port}`, port };
}

describe('createProxy', () => {
  it('forwards method, route, query, body, Cookie and Content-Type, with Host set to the upstream and X-Forwarded-* added', async () => {
    const upstream = await recordingUpstream();
    const { url, proxy } = await proxyTo(upstream.url);
    const r = await fetch(`${url}/fp/events/track/bulk?x=1`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: 'fpid=auth0%7Cx; fsid=SE1', Origin: 'http://page.test', 'X-Forwarded-For': '198.51.100.9' },
      body: '{"events":[]}',
    });
    expect(r.status).toBe(201);
    const [got] = upstream.seen;
    expect(got).toMatchObject({ method: 'POST', url: '/events/track/bulk?x=1', body: '{"events":[]}' });
    expect(got.headers).toMatchObject({
      host: `127.0.0.1:${upstream.port}`,
      cookie: 'fpid=auth0%7Cx; fsid=SE1',
      'content-type': 'application/json',
      origin: 'http://page.test',
      // The client's address appended to what an earlier proxy said.
      'x-forwarded-for': '198.51.100.9, 127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': url.replace('http://', ''),
    });
    expect(proxy.log).toEqual([{ method: 'POST', path: '/fp/events/track/bulk', upstreamPath: '/events/track/bulk', status: 201, setCookie: ['a=1; Path=/', 'b=2; Max-Age=60'] }]);
  });

  it('passes back status, body and headers, every Set-Cookie included', async () => {
    const upstream = await recordingUpstream();
    const { url } = await proxyTo(upstream.url);
    const r = await fetch(`${url}/fp/js/firstparty.min.js`);
    expect(r.status).toBe(201);
    expect(await r.text()).toBe('{"ok":true}');
    expect(r.headers.get('x-upstream')).toBe('yes');
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Max-Age=60']);
  });

  it('drops hop-by-hop headers, and those the Connection header names', async () => {
    const upstream = await recordingUpstream();
    const { url } = await proxyTo(upstream.url);
    await new Promise((resolve, reject) => {
      const req = http.request(`${url}/fp/events/track`, { method: 'POST', headers: { Connection: 'keep-alive, X-Private', 'X-Private': 'secret', 'Keep-Alive': 'timeout=5', 'X-Kept': '1' } }, (res) => res.resume().on('end', resolve));
      req.on('error', reject);
      req.end('{}');
    });
    const [got] = upstream.seen;
    expect(got.headers['x-private']).toBeUndefined();
    expect(got.headers['keep-alive']).toBeUndefined();
    expect(got.headers['x-kept']).toBe('1');
  });

  it('answers 404 itself for other paths under the prefix, and leaves paths outside it alone', async () => {
    const upstream = await recordingUpstream();
    const { url, proxy } = await proxyTo(upstream.url);
    const demoApi = await fetch(`${url}/fp/demo/events`);
    expect(demoApi.status).toBe(404);
    expect(await demoApi.text()).toMatch(/^Not forwarded: \/fp passes on only \/events\/track, /);
    expect((await fetch(`${url}/fp`)).status).toBe(418);
    expect((await fetch(`${url}/events/track`, { method: 'POST', body: '{}' })).status).toBe(418);
    expect(upstream.seen).toEqual([]);
    expect(proxy.log).toEqual([]);
  });

  it('answers 502 when the upstream is not there or cuts the connection', async () => {
    const gone = http.createServer();
    const port = await listenOn(gone, 0, '127.0.0.1');
    await closeServer(gone);
    const { url, proxy } = await proxyTo(`http://127.0.0.1:${port}`);
    const r = await fetch(`${url}/fp/events/track`, { method: 'POST', body: '{}' });
    expect(r.status).toBe(502);
    expect(proxy.log.at(-1).status).toBe(502);

    const { collector, url: collectorUrl } = await start();
    collector.fault({ mode: 'drop' });
    const cut = await proxyTo(collectorUrl);
    expect((await post(cut.url, '/fp/events/track', ev())).status).toBe(502);
    expect(collector.events()).toEqual([]);
  });

  it("in front of the collector: the collector's answer and Set-Cookie come back, and it sees the forwarded request", async () => {
    const { collector, url: collectorUrl } = await start({ serverCookie: 'proxied' });
    const { url } = await proxyTo(collectorUrl);
    const event = ev();
    const r = await post(url, '/fp/events/track/bulk', { events: [event] }, { Cookie: 'fpid=PRfromcookie' });
    expect(r.json).toMatchObject({ status: 'success', accepted: 1 });
    expect(r.headers.getSetCookie()).toEqual([
      'fpid=PRfromcookie; Max-Age=31536000; Path=/; SameSite=Lax',
      `fsid=${event.session_id}; Max-Age=1800; Path=/; SameSite=Lax`,
    ]);
    expect(collector.requests().at(-1)).toMatchObject({ path: '/events/track/bulk', method: 'POST', status: 200, accepted: 1 });
    expect(collector.events().at(-1).event.event_id).toBe(event.event_id);
  });
});
