// @vitest-environment node
// The collector's three CORS styles (demo/cors.mjs, issue 13): what each
// answers to a preflight and to the POSTs of a cross-origin page, 200 and 503
// alike, and what stays the same in all three.
import { describe, expect, it } from 'vitest';
import { CORS_STYLES, createCollector } from '../../demo/collector.mjs';
import { collectorsPerTest, ev, post, raw, tempDir } from './helpers.mjs';

const ORIGIN = 'http://localhost:8788';
const { start } = collectorsPerTest();

/** A browser's preflight for a JSON POST from ORIGIN (Chrome asks about the private network on loopback). */
const preflight = (url, route = '/events/track/bulk', extra = {}) => raw(url, {
  method: 'OPTIONS', route,
  headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type', ...extra },
});

/** The CORS headers of an answer (node's lower-case names), Vary included. */
function corsOf(headers) {
  const get = (name) => (typeof headers.get === 'function' ? headers.get(name) : headers[name]) ?? null;
  return {
    origin: get('access-control-allow-origin'),
    credentials: get('access-control-allow-credentials'),
    expose: get('access-control-expose-headers'),
    vary: get('vary'),
  };
}

/** What each style must answer to a request from ORIGIN. */
const EXPECTED = {
  credentials: { origin: ORIGIN, credentials: 'true', expose: 'Retry-After', vary: 'Origin' },
  echo: { origin: ORIGIN, credentials: null, expose: 'Retry-After', vary: 'Origin' },
  wildcard: { origin: '*', credentials: null, expose: 'Retry-After', vary: null },
};

describe('CORS styles', () => {
  it('are credentials (the default), echo and wildcard', () => {
    expect(CORS_STYLES).toEqual(['credentials', 'echo', 'wildcard']);
  });

  for (const style of CORS_STYLES) {
    describe(`'${style}'`, () => {
      it('answers the preflight of both endpoints with its headers, POST and Content-Type allowed', async () => {
        const { collector, url } = await start({ cors: style });
        for (const route of ['/events/track', '/events/track/bulk']) {
          const r = await preflight(url, route);
          expect(r.status, route).toBe(204);
          // A preflight always varies by Origin (a cache must not reuse one origin's answer).
          expect(corsOf(r.headers), route).toEqual({ ...EXPECTED[style], vary: 'Origin' });
          expect(r.headers['access-control-allow-methods']).toBe('POST, OPTIONS');
          expect(r.headers['access-control-allow-headers']).toMatch(/content-type/i);
          expect(r.headers['access-control-max-age']).toBe('600');
          expect(r.headers['access-control-allow-private-network']).toBeUndefined();
        }
        expect(collector.events()).toHaveLength(0);
      });

      it("says yes to Chrome's private-network question", async () => {
        const { url } = await start({ cors: style });
        const r = await preflight(url, '/events/track/bulk', { 'Access-Control-Request-Private-Network': 'true' });
        expect(r.headers['access-control-allow-private-network']).toBe('true');
      });

      it('puts the same headers on a 200 and on a 503 with Retry-After', async () => {
        const { collector, url } = await start({ cors: style });
        const ok = await post(url, '/events/track/bulk', { events: [ev()] }, { Origin: ORIGIN });
        expect(ok.status).toBe(200);
        expect(corsOf(ok.headers)).toEqual(EXPECTED[style]);
        expect(collector.events()).toHaveLength(1);

        collector.fault({ mode: '503', retryAfter: 7 });
        const busy = await post(url, '/events/track', ev(), { Origin: ORIGIN });
        expect(busy.status).toBe(503);
        expect(corsOf(busy.headers)).toEqual(EXPECTED[style]);
        expect(busy.headers.get('retry-after')).toBe('7');
      });

      it('answers * without credentials to a request that has no Origin', async () => {
        const { url } = await start({ cors: style });
        const r = await post(url, '/events/track', ev());
        expect(r.headers.get('access-control-allow-origin')).toBe('*');
        expect(r.headers.get('access-control-allow-credentials')).toBeNull();
      });
    });
  }

  it('refuses an unknown style', () => {
    for (const bad of ['*', 'none', 1, null]) {
      expect(() => createCollector({ dataDir: tempDir(), cors: bad })).toThrow(/cors must be one of credentials, echo, wildcard/);
    }
  });
});
