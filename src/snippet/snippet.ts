/**
 * The snippet site owners paste into their pages (built to dist/snippet.min.js,
 * at most 1,000 bytes: it is inlined into every page). Compatible with
 * Firstparty's published snippet: `window.firstparty` is an array that queues
 * `[method, ...args]` calls until the script loads, every method returns it,
 * and `load(writeKey, host, options)` stores `_writeKey`, `_host`,
 * `_firstpartyOptions` and inserts the script.
 *
 * The stub is a Proxy over that array: any method name read from it that the
 * array does not have (Firstparty's 20 — `track`, `page`, `trackLink`, … — and
 * our `consent`, `optIn`, `optOut`) is a function that queues the call. Listing
 * the names cost 231 bytes; the Proxy costs 40, which is what makes room for
 * the fast-bounce fallback below within 1,000 bytes. `then` is left undefined
 * so the stub is not mistaken for a promise (`await firstparty` must not hang).
 *
 * Beyond Firstparty's snippet:
 * - each queued call notes its own moment (`t`: a Date, `p`: {url, title,
 *   referrer}), so the script replays it as it was, even after an SPA navigated;
 * - if the page hides or unloads before the script has arrived (a fast bounce,
 *   a slow CDN), the snippet sends its queued `track`/`page` calls itself with
 *   `sendBeacon` and marks them (`s`), so the script never sends them again.
 *   These events carry the page fields in `context.page` and, for `page`
 *   calls, in the properties; `profile_id` comes from the `fpid` cookie of an
 *   earlier visit (absent on a first visit: the collector creates one), and
 *   they have no `event_id`: they are sent once, then marked.
 * The loader-only build (dist/snippet-lite.min.js) has no fallback; it passes
 * on the snippet's CSP nonce and `options.integrity` (SRI) instead.
 */
type Call = any[] & { t?: Date; p?: { url: string; title: string; referrer: string }; s?: 1 };
/** Replaced at build time: true in dist/snippet.min.js, false in dist/snippet-lite.min.js. */
declare const BOUNCE_FALLBACK: boolean;

((w: any, d: Document, stub?: any) => {
  // Already there: the library (no push) handles every call itself; an earlier
  // run of this snippet keeps its queue.
  if ((stub = w.firstparty)) return stub.push && console.warn('Firstparty snippet included twice.');
  w.firstparty = stub = new Proxy([], {
    get: (queue: Call[] & Record<string | symbol, any>, method: any) =>
      // Symbols (`Symbol.toPrimitive` when the page does String(firstparty))
      // lack String.prototype.big: they read the array, so conversions work.
      method in queue || method == 'then' || !method.big
        ? queue[method]
        : (...call: Call) => ((call = [method, ...call] as Call).t = new Date(), (call.p = { url: d.URL, title: d.title, referrer: d.referrer }), queue.push(call), stub),
  });
  stub.SNIPPET_VERSION = '1.0.0';
  // dist/snippet-lite.min.js trades the fallback for what strict sites need:
  // under a Content-Security-Policy with nonces (and no 'strict-dynamic') the
  // inserted script needs this snippet's nonce, readable only while the
  // snippet's own <script> runs; `options.integrity` turns on Subresource
  // Integrity (the hash is published in dist/integrity.json).
  const nonce = !BOUNCE_FALLBACK && (d.currentScript as HTMLScriptElement | null)?.nonce;
  stub.load = (key: string, host: string, options?: { libraryPath?: string; integrity?: string; consent?: any }, script?: HTMLScriptElement) => {
    stub._writeKey = key;
    stub._host = host;
    stub._firstpartyOptions = options;
    host = /\/\//.test(host) ? host : 'https://' + host;
    // A script element inserted by code is async already.
    (script = d.createElement('script')).src = host + (options?.libraryPath || '/js/firstparty.min.js');
    if (!BOUNCE_FALLBACK) {
      if (nonce) script.nonce = nonce;
      if (options?.integrity) {
        script.integrity = options.integrity;
        script.crossOrigin = 'anonymous';
      }
    }
    d.head.append(script);
    // The loader-only build (dist/snippet-lite.min.js) drops the fallback.
    if (BOUNCE_FALLBACK)
      // Leaving includes unloading: the document turns hidden after `pagehide`
      // (HTML "unload a document"), so one listener serves both.
      addEventListener('visibilitychange', (calls?: any, nav: any = navigator) => {
        try {
          // Only when leaving, online, and while the script has not taken over
          // (a script that does not mark the calls it replays, an older release
          // or Firstparty's own, must not see them sent twice). Privacy as the
          // script decides it, but more cautious: nothing under Global Privacy
          // Control (even with respectPrivacySignals: false), after an earlier
          // visit's opt-out (the fp_optout cookie), or with a consent option
          // other than true. And only when every call waiting is a track or
          // page call: an optOut(), consent() or addSourceMiddleware() (which
          // may strip PII) waiting for the script means the script must decide,
          // and so does an identify(), alias() or reset() (the IDs would be wrong).
          (calls =
            w.firstparty == stub &&
            nav.onLine &&
            d.hidden &&
            !nav.globalPrivacyControl &&
            (options?.consent ?? 1) > 0 &&
            !/\bfp_optout=1/.test(d.cookie) &&
            stub.filter((call: Call) => !call.s))[0] &&
            calls.every((call: Call) => /^(track|page(view)?)$/.test(call[0])) &&
            nav.sendBeacon(
              host + '/events/track/bulk',
              new Blob(
                [
                  JSON.stringify({
                    events: calls.map((call: Call, page?: boolean) => (
                      // 'page' and 'pageview' < 'q' < 'track'
                      (page = call[0] < 'q'),
                      {
                        name: page ? 'Page Viewed' : call[1],
                        write_key: key,
                        profile_id: d.cookie.match(/(^|; )fpid=([^;]+)/)?.[2],
                        // The call's properties object (track(name, properties),
                        // page(category?, name?, properties?)), over the page fields for a page call.
                        properties: { ...(page && call.p), ...call.find((arg) => typeof arg == 'object') },
                        context: { page: call.p },
                        // A Date's JSON is its ISO 8601 string.
                        created_at: call.t,
                      }
                    )),
                  }),
                ],
                { type: 'application/json' },
              ),
            ) &&
            calls.map((call: Call) => (call.s = 1));
        } catch {
          // Never throw into the page; the script sends these calls if it loads.
        }
      });
  };
})(window, document);
