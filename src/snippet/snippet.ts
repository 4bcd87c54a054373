/**
 * The snippet site owners paste into their pages (built to dist/snippet.min.js,
 * at most 1,000 bytes: it is inlined into every page). Compatible with
 * Firstparty's published snippet: it makes `window.firstparty` an array that
 * queues `[method, ...args]` calls until the script loads, and
 * `load(writeKey, host, options)` inserts the script.
 *
 * Two things beyond Firstparty's snippet:
 * - each queued call notes its own moment (`t`: time, `p`: {url, title,
 *   referrer}), so the script replays it as it was, even after an SPA navigated;
 * - if the page hides or unloads before the script has arrived (a fast bounce,
 *   a slow CDN), the snippet sends its queued `track`/`page` calls itself with
 *   `sendBeacon` and marks them (`s`), so the script never sends them again.
 *   These events carry the page fields in `context.page` and, for `page`
 *   calls, in the properties; `profile_id` comes from the `fpid` cookie of an
 *   earlier visit (absent on a first visit: the collector creates one), and
 *   they have no `event_id`: they are sent once, then marked.
 *
 * Besides Firstparty's methods it stubs `consent`, `optIn` and `optOut`, so a
 * consent manager may call them before the script has arrived.
 */
type Call = any[] & { t?: number; p?: { url: string; title: string; referrer: string }; s?: 1 };
type Stub = Call[] & Record<string, any>;
/** Replaced at build time: true in dist/snippet.min.js, false in dist/snippet-lite.min.js. */
declare const BOUNCE_FALLBACK: boolean;

((w: any, d: Document) => {
  const stub: Stub = (w.firstparty = w.firstparty || []);
  // The library itself is already here: it handles every call directly.
  if (!stub.push) return;
  if (stub.invoked) return console.warn('Firstparty snippet included twice.');
  stub.invoked = 1;
  stub.SNIPPET_VERSION = '1.0.0';
  'trackSubmit trackClick trackLink trackForm pageview identify reset group track ready alias debug page once off on addSourceMiddleware addIntegrationMiddleware setAnonymousId addDestinationMiddleware consent optIn optOut'
    .split(' ')
    .map((method) => {
      stub[method] = (...call: Call) => {
        call.unshift(method);
        call.t = Date.now();
        call.p = { url: location.href, title: d.title, referrer: d.referrer };
        stub.push(call);
        return stub;
      };
    });
  // Under a Content-Security-Policy with nonces, the script we insert carries this
  // snippet's nonce (readable only while the snippet's own <script> runs).
  const nonce = (d.currentScript as HTMLScriptElement | null)?.nonce;
  stub.load = (key: string, host: string, options?: { libraryPath?: string; integrity?: string }) => {
    const origin = /\/\//.test(host) ? host : 'https://' + host;
    const script = d.createElement('script');
    const onHide = () => {
      try {
        // Only while the script has not taken over, only when leaving, only online.
        // Leaving includes unloading: the document turns hidden after `pagehide`
        // (HTML "unload a document"), so one listener serves both.
        if (w.firstparty == stub && navigator.onLine && d.hidden) {
          const calls = stub.filter((call) => !call.s && /^(track|page)$/.test(call[0]));
          if (
            calls[0] &&
            navigator.sendBeacon(
              origin + '/events/track/bulk',
              new Blob(
                [
                  JSON.stringify({
                    events: calls.map((call) => {
                      const track = call[0] == 'track';
                      // page(category?, name?, properties?): leading strings, then the properties object.
                      const [first, second] = call.slice(1, 3).filter((arg) => typeof arg == 'string');
                      return {
                        name: track ? call[1] : 'Page Viewed',
                        write_key: key,
                        profile_id: (d.cookie.match('(^|; )fpid=(\\w+)') || [])[2],
                        properties: track
                          ? call[2]
                          : { ...call.p, category: second && first, name: second || first, ...call.find((arg) => typeof arg == 'object') },
                        context: { page: call.p },
                        created_at: new Date(call.t!).toISOString(),
                      };
                    }),
                  }),
                ],
                { type: 'application/json' },
              ),
            )
          )
            calls.map((call) => (call.s = 1));
        }
      } catch {
        // Never throw into the page; the script sends these calls if it loads.
      }
    };
    stub._writeKey = key;
    stub._host = host;
    stub._firstpartyOptions = options;
    // A script element inserted by code is async already.
    script.src = origin + (options?.libraryPath || '/js/firstparty.min.js');
    if (nonce) script.nonce = nonce;
    // Subresource Integrity: the hash published with each build (dist/integrity.json).
    if (options?.integrity) {
      script.integrity = options.integrity;
      script.crossOrigin = 'anonymous';
    }
    d.head.append(script);
    // The loader-only build (dist/snippet-lite.min.js) drops the fallback.
    if (BOUNCE_FALLBACK) addEventListener('visibilitychange', onHide);
  };
})(window, document);
