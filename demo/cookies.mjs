// The cookies the demo collector reads and sets: the `fsid` session cookie it
// sets when it created a session (Firstparty's behaviour), and — with the
// `serverCookie` option (issue 13) — `fpid` and `fsid` refreshed by
// `Set-Cookie` on every 2xx track answer, so that the visitor's IDs live in
// cookies set by an HTTP response of the site's own server: the only kind
// Safari does not cap at 7 days (README "Deploy on your own origin").
// Pure functions of the request and the IDs; collector.mjs decides when.

/** The profile cookie (the library's name for it: src/lib/identity.ts). */
export const PROFILE_COOKIE = 'fpid';
/** The session cookie: the name Firstparty joins Sessions by. */
export const SESSION_COOKIE = 'fsid';
/** The profile cookie's lifetime: one year, as the library writes it. */
export const PROFILE_MAX_AGE = 31_536_000;
/** The session cookie's lifetime by default: the library's 30-minute session timeout. */
export const SESSION_MAX_AGE = 1800;
/**
 * An ID longer than this (URL-encoded) is not put in a cookie: browsers drop
 * a cookie over 4,096 bytes, and no ID the library makes comes near (`PR` +
 * 30 characters; an `auth0|…` user ID is about 30).
 */
export const MAX_COOKIE_VALUE = 512;

/**
 * The raw value of cookie `name` in a Cookie header ('' when absent).
 * @param {string|undefined} header
 * @param {string} name
 */
export function readCookie(header, name) {
  for (const part of String(header || '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return '';
}

/**
 * Was the request made over https, by the client or (behind a proxy) to the
 * proxy? Only the first proxy's `X-Forwarded-Proto` counts: it is the one the
 * browser talked to.
 * @param {import('node:http').IncomingMessage} req
 */
export function isHttps(req) {
  const forwarded = String(req.headers['x-forwarded-proto'] || '').split(',')[0].trim().toLowerCase();
  return Boolean(/** @type {any} */ (req.socket).encrypted) || forwarded === 'https';
}

/**
 * `fsid` as the collector sets it when it created the session: a
 * browser-session cookie (no expiry). SameSite=None needs Secure, which plain
 * http cannot have, so on http it is Lax (it then reaches the collector only
 * from same-site pages); behind TLS, None; Secure. Not HttpOnly: the page's
 * script keeps the session ID in `fsid` too, and an HttpOnly cookie would
 * hide it from the script.
 * @param {import('node:http').IncomingMessage} req
 * @param {string} id
 */
export function sessionCookie(req, id) {
  return `${SESSION_COOKIE}=${id}; Path=/; ${isHttps(req) ? 'SameSite=None; Secure' : 'SameSite=Lax'}`;
}

/**
 * The `Set-Cookie` lines of the `serverCookie` option: `fpid` = the request's
 * own `fpid` cookie if it has one, else `ids.profileId` (the last accepted
 * event's); `fsid` likewise with the session. A cookie already there is
 * re-set with the same value: the server only lengthens what the library or
 * an earlier answer wrote, never replaces it. `Max-Age` one year for `fpid`,
 * `sessionMaxAge` for `fsid`; `Path=/; SameSite=Lax` (the page and this
 * endpoint share an origin through the proxy), `Secure` on https, `Domain`
 * when given (use the library's cookie Domain, or two `fpid` cookies exist).
 * Not HttpOnly: the library reads both. Values are URL-encoded, as the
 * library writes and reads them (`auth0|5f7c…` is `auth0%7C5f7c…`). A value
 * that is missing, not decodable or too long is left out.
 * @param {import('node:http').IncomingMessage} req
 * @param {{profileId?: string, sessionId?: string}} ids
 * @param {{sessionMaxAge?: number, domain?: string}} [options]
 * @returns {string[]}
 */
export function identityCookies(req, ids, { sessionMaxAge = SESSION_MAX_AGE, domain } = {}) {
  const attributes = `; Path=/; SameSite=Lax${domain ? `; Domain=${domain}` : ''}${isHttps(req) ? '; Secure' : ''}`;
  const lines = [];
  for (const [name, fallback, maxAge] of [
    [PROFILE_COOKIE, ids.profileId, PROFILE_MAX_AGE],
    [SESSION_COOKIE, ids.sessionId, sessionMaxAge],
  ]) {
    const value = encodeURIComponent(decoded(readCookie(req.headers.cookie, name)) || (typeof fallback === 'string' ? fallback : ''));
    if (value && value.length <= MAX_COOKIE_VALUE) lines.push(`${name}=${value}; Max-Age=${maxAge}${attributes}`);
  }
  return lines;
}

/** A cookie value URL-decoded, as the library reads it ('' when it does not decode). */
function decoded(raw) {
  try {
    return decodeURIComponent(raw);
  } catch {
    return '';
  }
}
