// A same-origin proxy path (`/fp/*`) forwarding to the collector, as a site
// sets one up with nginx or Caddy (README "Deploy on your own origin"): the
// page loads the script from `/fp/js/firstparty.min.js` and posts to
// `/fp/events/track/bulk` on its own origin, so the collector's Set-Cookie
// lands on the site's own origin (issue 13). Used by demo/server.mjs and the
// browser suite's page servers.
//
// A real HTTP hop (node:http to the collector's URL), not a function call:
// the collector sees what it would see behind nginx — a request from the
// proxy, the Host set to the collector, X-Forwarded-For/-Proto/-Host added —
// and the browser sees the collector's answer passed back as is, every
// Set-Cookie included. It costs one loopback connection per request (kept
// alive), which is nothing next to the browser's own.

import http from 'node:http';
import https from 'node:https';
import { requestUrl } from './requestUrl.mjs';

/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1):
 * a proxy neither forwards them nor passes them back.
 */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
/** How many forwarded requests `log` keeps (the newest). */
const LOG_LIMIT = 1000;

/**
 * @typedef {object} ProxyEntry  One forwarded request.
 * @property {string} method
 * @property {string} path  As the browser asked for it (`/fp/events/track/bulk`).
 * @property {string} upstreamPath  As the collector got it (`/events/track/bulk`).
 * @property {number|null} status  The collector's status, 502 when it could not be reached, null when the client left first.
 * @property {string[]} setCookie  The Set-Cookie lines passed back.
 */

/**
 * A proxy from `prefix` + one of `routes` on this server to the same route on
 * `upstream`. Any other path under `prefix` is answered 404 here: like the
 * README's nginx and Caddy examples, only the script and the two endpoints
 * are forwarded, never the demo API.
 * @param {{prefix: string, upstream: string | (() => string), routes: string[]}} options
 *   `upstream` is the collector's base URL (`http://127.0.0.1:8787`), or a
 *   function giving it (a server that forwards to itself learns its port late).
 * @returns {{handle: (req: http.IncomingMessage, res: http.ServerResponse) => boolean, log: ProxyEntry[], close: () => void}}
 */
export function createProxy({ prefix, upstream, routes }) {
  const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };
  /** @type {ProxyEntry[]} */
  const log = [];
  const base = () => new URL(typeof upstream === 'function' ? upstream() : upstream);

  function handle(req, res) {
    const url = requestUrl(req, 'http://proxy.invalid');
    if (!url.pathname.startsWith(prefix + '/')) return false;
    const route = url.pathname.slice(prefix.length);
    if (!routes.includes(route)) {
      req.resume();
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`Not forwarded: ${prefix} passes on only ${routes.join(', ')}\n`);
      return true;
    }
    const target = base();
    /** @type {ProxyEntry} */
    const entry = { method: req.method || '', path: url.pathname, upstreamPath: route, status: null, setCookie: [] };
    log.push(entry);
    if (log.length > LOG_LIMIT) log.shift();
    const client = target.protocol === 'https:' ? https : http;
    const forward = client.request(new URL(route + url.search, target), {
      method: req.method,
      headers: forwardedHeaders(req, target),
      agent: agents[target.protocol],
    });
    forward.on('response', (answer) => {
      entry.status = answer.statusCode ?? 502;
      entry.setCookie = answer.headers['set-cookie'] ?? [];
      res.writeHead(entry.status, withoutHopByHop(answer.headers));
      answer.on('error', () => res.destroy());
      answer.pipe(res);
    });
    // The collector cut the connection (its `drop` fault, a clear()) or is
    // not there: 502, as nginx answers; mid-answer, the client sees the cut.
    forward.on('error', () => {
      if (entry.status === null) entry.status = 502;
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Bad gateway: the collector did not answer\n');
      else res.destroy();
    });
    // The browser left (a page closed mid-request): the collector's request goes too.
    res.on('close', () => { if (!res.writableFinished) forward.destroy(); });
    req.pipe(forward);
    return true;
  }

  return {
    handle,
    log,
    close() {
      for (const agent of Object.values(agents)) agent.destroy();
    },
  };
}

/**
 * The request's headers as a reverse proxy passes them on: hop-by-hop ones
 * dropped (and any the Connection header names), `Host` set to the
 * collector's (a virtual host answers its own name), the client's address
 * appended to `X-Forwarded-For`, and `X-Forwarded-Proto`/`-Host` saying what
 * the browser asked for. Cookie, Content-Type, Origin and the rest pass as sent.
 * @param {http.IncomingMessage} req
 * @param {URL} target
 */
export function forwardedHeaders(req, target) {
  const headers = withoutHopByHop(req.headers);
  delete headers.host;
  const prior = req.headers['x-forwarded-for'];
  headers.host = target.host;
  headers['x-forwarded-for'] = [prior, req.socket.remoteAddress].filter(Boolean).join(', ');
  headers['x-forwarded-proto'] = /** @type {any} */ (req.socket).encrypted ? 'https' : 'http';
  if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;
  return headers;
}

/**
 * A copy of `headers` without the hop-by-hop ones.
 * @param {http.IncomingHttpHeaders} headers
 * @returns {Record<string, string|string[]>}
 */
function withoutHopByHop(headers) {
  const named = String(headers.connection || '').toLowerCase().split(',').map((h) => h.trim()).filter(Boolean);
  /** @type {Record<string, string|string[]>} */
  const out = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.includes(name) && !named.includes(name)) out[name] = value;
  }
  return out;
}
