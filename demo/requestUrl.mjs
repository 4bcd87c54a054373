// A request's URL, parsed the one way every demo server reads it. Node hands
// the request target over as the client sent it; `new URL('//', base)` reads a
// path of `//` (or `//x`) as a scheme-relative URL with no host and throws,
// which crashed the request's handler (a TypeError logged, no answer).

/**
 * The URL of `req`, resolved against `origin`: a path (`/x`, `//x`) stays a
 * path on `origin`, an absolute-form target (`http://host/x`, as a client
 * talking to a proxy sends) is read as it is.
 * @param {import('node:http').IncomingMessage} req
 * @param {string} origin  e.g. `http://demo.invalid` (no trailing slash)
 * @returns {URL}
 */
export function requestUrl(req, origin) {
  const target = req.url || '/';
  return new URL(target.startsWith('/') ? origin + target : target, origin);
}
