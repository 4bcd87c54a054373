// Who may talk to the demo server: the Host names it answers (against DNS
// rebinding: a page on evil.example re-pointed at 127.0.0.1 still sends
// `Host: evil.example:8787`) and the origins allowed to use the demo API
// (/demo/*: it shows every stored event, an identify() email included, and
// can hang or clear the collector). Both lists are derived from the ports the
// servers actually listen on. The collector routes are not held to the origin
// list: any site may post events, as the HTTP API requires.

/**
 * @typedef {object} Guard
 * @property {(req: import('node:http').IncomingMessage) => boolean} hostAllowed  Is the Host header one of ours?
 * @property {(req: import('node:http').IncomingMessage) => 'none'|'allowed'|'refused'} origin  No Origin header (not a cross-origin browser request), an allowed one, or any other (`null` included).
 * @property {() => {hosts: string[], origins: string[]}} lists  The allow-lists, for display and tests.
 */

/**
 * `host:port` for 127.0.0.1 and localhost (and `host`, when it is another
 * name the server is bound to) at `port`.
 * @param {string} host
 * @param {number} port
 * @returns {string[]}
 */
export function loopbackHosts(host, port) {
  return [...new Set([host, '127.0.0.1', 'localhost'].map((name) => `${name}:${port}`.toLowerCase()))];
}

/**
 * @param {{hosts: string[], origins: string[]}} lists  `host:port` entries and `scheme://host:port` origins (compared lower-case).
 * @returns {Guard}
 */
export function createGuard({ hosts, origins }) {
  const hostSet = new Set(hosts.map((h) => h.toLowerCase()));
  const originSet = new Set(origins.map((o) => o.toLowerCase()));
  return {
    hostAllowed: (req) => hostSet.has(String(req.headers.host || '').toLowerCase()),
    origin(req) {
      const origin = req.headers.origin;
      if (origin === undefined) return 'none';
      return originSet.has(String(origin).toLowerCase()) ? 'allowed' : 'refused';
    },
    lists: () => ({ hosts: [...hostSet], origins: [...originSet] }),
  };
}
