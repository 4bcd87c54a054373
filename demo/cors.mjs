// How the demo collector answers CORS on its track endpoints, in the three
// styles a real collector may use (issue 13: a collector answering
// `Access-Control-Allow-Origin: *` received nothing from a credentialed
// library, and the demo could not show it because it only had one style).
// Pure functions of the style and the request; collector.mjs applies them to
// preflights and to every answer of a track endpoint.

/**
 * The CORS styles:
 * - `credentials`: echo the Origin, `Access-Control-Allow-Credentials: true`
 *   (the default: what the demo always did; cookies may travel cross-origin);
 * - `echo`: echo the Origin, no Allow-Credentials (credentialed requests fail);
 * - `wildcard`: `Access-Control-Allow-Origin: *` (the usual answer of a public
 *   collection endpoint; credentialed requests fail).
 */
export const CORS_STYLES = Object.freeze(['credentials', 'echo', 'wildcard']);

/**
 * The style asked for, or a TypeError naming the choices.
 * @param {unknown} style  undefined means 'credentials'.
 * @returns {'credentials'|'echo'|'wildcard'}
 */
export function corsStyle(style = 'credentials') {
  if (!CORS_STYLES.includes(/** @type {string} */ (style))) {
    throw new TypeError(`collector option cors must be one of ${CORS_STYLES.join(', ')}, not ${String(style)}`);
  }
  return /** @type {any} */ (style);
}

/**
 * CORS headers for any answer of a track endpoint (200, 405, 413, 503).
 * Without an Origin header (curl, a same-origin GET) every style answers `*`,
 * as the demo always did. `Retry-After` is exposed so a cross-origin script
 * can honour a 503's. `Vary: Origin` whenever the answer depends on it.
 * @param {'credentials'|'echo'|'wildcard'} style
 * @param {import('node:http').IncomingMessage} req
 * @returns {Record<string, string>}
 */
export function corsHeaders(style, req) {
  const origin = req.headers.origin;
  if (!origin) return { 'Access-Control-Allow-Origin': '*' };
  const expose = { 'Access-Control-Expose-Headers': 'Retry-After' };
  if (style === 'wildcard') return { 'Access-Control-Allow-Origin': '*', ...expose };
  const echoed = { 'Access-Control-Allow-Origin': String(origin), ...expose, Vary: 'Origin' };
  return style === 'credentials' ? { ...echoed, 'Access-Control-Allow-Credentials': 'true' } : echoed;
}

/**
 * Headers of a preflight's 204: the style's CORS headers, POST and the
 * Content-Type header allowed (a JSON body is what makes the browser ask),
 * and Content-Encoding (gzipped bodies),
 * cached 600 s, and Chrome's Private Network Access answer when it asks.
 * @param {'credentials'|'echo'|'wildcard'} style
 * @param {import('node:http').IncomingMessage} req
 * @returns {Record<string, string>}
 */
export function preflightHeaders(style, req) {
  const headers = {
    ...corsHeaders(style, req),
    'Access-Control-Allow-Methods': 'POST, OPTIONS',
    // Content-Encoding: the library's `compression: 'gzip'` option.
    'Access-Control-Allow-Headers': 'Content-Type, Content-Encoding',
    'Access-Control-Max-Age': '600',
    // A cache must not serve one origin's preflight answer to another.
    Vary: 'Origin',
  };
  // Chrome's Private Network Access asks this of loopback targets.
  if (req.headers['access-control-request-private-network'] === 'true') {
    headers['Access-Control-Allow-Private-Network'] = 'true';
  }
  return headers;
}
