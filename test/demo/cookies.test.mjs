// @vitest-environment node
// The collector's `serverCookie` option (demo/cookies.mjs, issue 13): `fpid`
// and `fsid` refreshed with Set-Cookie on every 200 track answer — their
// values, lifetimes and attributes, which answers carry them, and the
// 'proxied' mode the demo server uses.
import { describe, expect, it } from 'vitest';
import { createCollector } from '../../demo/collector.mjs';
import { MAX_COOKIE_VALUE, identityCookies, isHttps, readCookie } from '../../demo/cookies.mjs';
import { collectorsPerTest, ev, post, tempDir } from './helpers.mjs';

const { start } = collectorsPerTest();
const PROFILE = 'PR123456789012345678901234567890';
const SESSION = 'SE123456789012345678901234567890';

/** The Set-Cookie lines of an answer. */
const cookiesOf = (r) => r.headers.getSetCookie();

/** A fake request with these headers, over TLS or not. */
const fakeReq = (headers = {}, encrypted = false) => /** @type {any} */ ({ headers, socket: { encrypted } });

describe('serverCookie: true', () => {
  it("sets fpid (one year) and fsid (the session timeout) from the last accepted event: Path=/, SameSite=Lax, not HttpOnly, not Secure on http", async () => {
    const { url } = await start({ serverCookie: true });
    const r = await post(url, '/events/track/bulk', { events: [ev({ profile_id: 'PRfirst', session_id: 'SEfirst' }), ev()] });
    expect(r.status).toBe(200);
    expect(cookiesOf(r)).toEqual([
      `fpid=${PROFILE}; Max-Age=31536000; Path=/; SameSite=Lax`,
      `fsid=${SESSION}; Max-Age=1800; Path=/; SameSite=Lax`,
    ]);
  });

  it("keeps the request's own cookies, even when the events carry other IDs: it refreshes, never replaces", async () => {
    const { url } = await start({ serverCookie: true });
    const r = await post(url, '/events/track', ev(), { Cookie: 'other=1; fpid=auth0%7C5f7c8ec7; fsid=SEcookie' });
    expect(cookiesOf(r)).toEqual([
      'fpid=auth0%7C5f7c8ec7; Max-Age=31536000; Path=/; SameSite=Lax',
      'fsid=SEcookie; Max-Age=1800; Path=/; SameSite=Lax',
    ]);
  });

  it('URL-encodes values as the library does, and uses the IDs the collector assigned', async () => {
    const { url } = await start({ serverCookie: true });
    const withBar = await post(url, '/events/track', ev({ profile_id: 'auth0|5f7c 8e;c7' }));
    expect(cookiesOf(withBar)[0]).toMatch(/^fpid=auth0%7C5f7c%208e%3Bc7; /);

    const { profile_id: _p, session_id: _s, ...bare } = ev();
    const assigned = await post(url, '/events/track', bare);
    expect(cookiesOf(assigned)).toEqual([
      `fpid=${assigned.json.profile_id}; Max-Age=31536000; Path=/; SameSite=Lax`,
      `fsid=${assigned.json.session_id}; Max-Age=1800; Path=/; SameSite=Lax`,
    ]);
  });

  it('adds Secure behind TLS (X-Forwarded-Proto: https), and the configured session timeout and Domain', async () => {
    const { url } = await start({ serverCookie: true, sessionTimeoutSeconds: 600, cookieDomain: 'example.com' });
    const r = await post(url, '/events/track', ev(), { 'X-Forwarded-Proto': 'https' });
    expect(cookiesOf(r)).toEqual([
      `fpid=${PROFILE}; Max-Age=31536000; Path=/; SameSite=Lax; Domain=example.com; Secure`,
      `fsid=${SESSION}; Max-Age=600; Path=/; SameSite=Lax; Domain=example.com; Secure`,
    ]);
    for (const line of cookiesOf(r)) expect(line).not.toMatch(/HttpOnly/i);
  });

  it('sets nothing on a 503, a 413, or a 200 with no accepted event and no cookie', async () => {
    const { collector, url } = await start({ serverCookie: true, maxBodyBytes: 500 });
    collector.fault({ mode: '503' });
    expect(cookiesOf(await post(url, '/events/track', ev()))).toEqual([]);
    const big = await post(url, '/events/track', ev({ properties: { pad: 'x'.repeat(600) } }));
    expect(big.status).toBe(413);
    expect(cookiesOf(big)).toEqual([]);
    const rejected = await post(url, '/events/track', ev({ write_key: 'nope' }));
    expect(rejected.json.rejected).toBe(1);
    expect(cookiesOf(rejected)).toEqual([]);
    // A re-send (nothing new accepted) still refreshes the cookie the request carries.
    const event = ev();
    await post(url, '/events/track', event);
    const again = await post(url, '/events/track', event, { Cookie: `fpid=${PROFILE}` });
    expect(again.json.duplicates).toBe(1);
    expect(cookiesOf(again)).toEqual([`fpid=${PROFILE}; Max-Age=31536000; Path=/; SameSite=Lax`]);
  });

  it('leaves out an ID too long for a cookie, or a cookie that does not decode', async () => {
    const { url } = await start({ serverCookie: true });
    const long = await post(url, '/events/track', ev({ profile_id: 'P'.repeat(MAX_COOKIE_VALUE + 1) }));
    expect(cookiesOf(long).map((line) => line.split('=')[0])).toEqual(['fsid']);
    const broken = await post(url, '/events/track', ev(), { Cookie: 'fpid=%E0%A4%A' });
    expect(cookiesOf(broken)[0]).toMatch(new RegExp(`^fpid=${PROFILE}; `));
  });
});

describe("serverCookie: 'proxied'", () => {
  it('refreshes both cookies only for requests that came through a proxy (X-Forwarded-For)', async () => {
    const { url } = await start({ serverCookie: 'proxied' });
    const direct = await post(url, '/events/track', ev());
    expect(cookiesOf(direct)).toEqual([]);
    const proxied = await post(url, '/events/track', ev(), { 'X-Forwarded-For': '203.0.113.7' });
    expect(cookiesOf(proxied).map((line) => line.split(';')[0])).toEqual([`fpid=${PROFILE}`, `fsid=${SESSION}`]);
  });

  it("keeps today's fsid session cookie for direct requests", async () => {
    const { url } = await start({ serverCookie: 'proxied' });
    const { session_id: _s, ...noSession } = ev();
    const r = await post(url, '/events/track', noSession);
    expect(cookiesOf(r)).toEqual([`fsid=${r.json.session_id}; Path=/; SameSite=Lax`]);
  });
});

describe('collector cookie options', () => {
  it('refuses a bad serverCookie, sessionTimeoutSeconds or cookieDomain', () => {
    const make = (options) => () => createCollector({ dataDir: tempDir(), ...options });
    expect(make({ serverCookie: 'yes' })).toThrow(/serverCookie must be true, false or 'proxied'/);
    expect(make({ serverCookie: true, sessionTimeoutSeconds: 0 })).toThrow(/sessionTimeoutSeconds must be a positive number/);
    expect(make({ serverCookie: true, sessionTimeoutSeconds: Infinity })).toThrow(/sessionTimeoutSeconds/);
    expect(make({ cookieDomain: 'example.com; Secure' })).toThrow(/cookieDomain must be a domain name/);
  });
});

describe('cookie helpers', () => {
  it('readCookie finds a cookie by exact name, raw', () => {
    expect(readCookie('afpid=1; fpid=auth0%7Cx; fsid=SE', 'fpid')).toBe('auth0%7Cx');
    expect(readCookie(undefined, 'fpid')).toBe('');
  });

  it("isHttps believes the socket, or the first proxy's X-Forwarded-Proto", () => {
    expect(isHttps(fakeReq({}, true))).toBe(true);
    expect(isHttps(fakeReq({ 'x-forwarded-proto': 'HTTPS, http' }))).toBe(true);
    expect(isHttps(fakeReq({ 'x-forwarded-proto': 'http, https' }))).toBe(false);
    expect(isHttps(fakeReq())).toBe(false);
  });

  it('identityCookies sets only the cookies it has a value for', () => {
    expect(identityCookies(fakeReq(), {})).toEqual([]);
    expect(identityCookies(fakeReq({ cookie: 'fsid=SEx' }), { profileId: 'PRy' })).toEqual([
      'fpid=PRy; Max-Age=31536000; Path=/; SameSite=Lax',
      'fsid=SEx; Max-Age=1800; Path=/; SameSite=Lax',
    ]);
  });
});
