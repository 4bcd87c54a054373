/**
 * Where the collector is: the one reading of the `host` given to
 * `load(writeKey, host)`, for the script's bulk endpoint (the snippet builds
 * its script and fast-bounce URLs from the same host; see README "Install" for
 * the forms it reads the same way).
 *
 * - `fp.example.com`, `localhost:8787`: a bare host means https (Firstparty's
 *   snippet loads `https://` + host);
 * - `https://fp.example.com`, `http://127.0.0.1:8787`: used as given;
 * - `https://www.example.com/fp`, `…/fp/`: the path is kept (a reverse proxy
 *   on the site's own origin, the deployment Safari's cookie caps call for);
 *   trailing slashes are dropped, so paths appended to it never hold `//`;
 * - `/fp`: a path on the page's own origin (`location`, not a `<base href>`);
 * - `//fp.example.com`: the page's own scheme, as in an HTML attribute.
 *
 * Anything else is refused: not a string, empty, a scheme other than http(s)
 * (`javascript:`, `data:`, `ftp:`), or not a URL at all. The query and
 * fragment of a URL are dropped: an endpoint path is appended to the result.
 */

/** The path batches are posted to, under the collector's base URL. */
export const BULK_PATH = '/events/track/bulk';

/**
 * The collector's base URL for `host` (origin plus path, no trailing slash),
 * or '' when `host` is refused (see the opening comment for the forms).
 */
export function collectorBase(host: unknown): string {
  try {
    // A scheme is a name followed by ":/"; anything else that does not start
    // with "/" is a bare host. `localhost:8787` is a host and port, and
    // `javascript:alert(1)` becomes https://javascript:alert(1), whose port
    // the URL parser refuses.
    const url = new URL((host as string).trim().replace(/^(?![\w+.-]+:\/|\/)/, 'https://'), location.href);
    if (/^https?:$/.test(url.protocol)) return url.origin + url.pathname.replace(/\/+$/, '');
  } catch {
    // Not a string (no trim), or not a URL.
  }
  return '';
}

/** The bulk endpoint for a collection host, or '' for a host that is refused. */
export function endpointFor(host: unknown): string {
  const base = collectorBase(host);
  return base && base + BULK_PATH;
}
