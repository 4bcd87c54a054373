/**
 * The snippet site owners paste into their pages (built to dist/snippet.min.js,
 * at most 1,100 bytes: it is inlined into every page). Compatible with
 * Firstparty's published snippet: `window.firstparty` is an array that queues
 * `[method, ...args]` calls until the script loads, every method returns it,
 * and `load(writeKey, host, options)` stores `_writeKey`, `_host`,
 * `_firstpartyOptions` and inserts the script.
 *
 * The stub is a Proxy over that array: any method name read from it that the
 * array does not have (Firstparty's 20 — `track`, `page`, `trackLink`, … — and
 * our `consent`, `optIn`, `optOut`) is a function that queues the call. Listing
 * the names cost 231 bytes; the Proxy costs 40, which is what makes room for
 * the fast-bounce fallback below. `then` is left undefined so the stub is not
 * mistaken for a promise (`await firstparty` must not hang).
 *
 * Beyond Firstparty's snippet:
 * - each queued call notes its own moment (`t`: a Date, `p`: {url, title,
 *   referrer}), so the script replays it as it was, even after an SPA navigated;
 * - the host may also be a path on the page's own origin (`/fp`: a reverse
 *   proxy), used as a relative URL, so the browser resolves it; trailing
 *   slashes are dropped, as the script drops them;
 * - if the page hides or unloads before the script has arrived (a fast bounce,
 *   a slow CDN), the snippet sends its queued `track`/`page` calls itself with
 *   a keepalive `fetch` and takes them out of the queue, so no script (ours, an
 *   older release, Firstparty's own) ever sends them again. These events carry
 *   the page fields in `context.page` and, for `page` calls, in the
 *   properties; an `event_id` from `crypto.randomUUID()` (see the listener);
 *   and the `profile_id` the script would send: the `fpid` cookie of an
 *   earlier visit, decoded as the script reads it (absent on a first visit:
 *   the collector creates one).
 * The loader-only build (dist/snippet-lite.min.js) has no fallback; it passes
 * on the snippet's CSP nonce and `options.integrity` (SRI) instead.
 *
 * Written for terser (bytes saved in dist/snippet.min.js): the name
 * `firstparty` is held once (`fp`) and spelled into the script path and
 * `_firstpartyOptions` by template (18), the top level is one conditional
 * (6), a call is queued before its notes are written (2), and the script
 * element is inserted before its src is set (the src then starts the load; 2).
 */
type Call = any[] & { t?: Date; p?: { url: string; title: string; referrer: string } };
/** Replaced at build time: true in dist/snippet.min.js, false in dist/snippet-lite.min.js. */
declare const BOUNCE_FALLBACK: boolean;
/** Trusted Types (Chromium 83+; absent elsewhere, where reading it throws a ReferenceError, caught). */
declare const trustedTypes: { createPolicy(name: string, rules: { createScriptURL(url: string): string }): { createScriptURL(url: string): any } };

// `sendable`: how many queued calls the fast-bounce fallback may send, or NaN
// once any other call is queued (NaN stays NaN, and is falsy).
((w: any, d: Document, stub?: any, sendable: any = 0, fp = 'firstparty', nonce?: string) =>
  // Already there: the library (no push) handles every call itself; an earlier
  // run of this snippet keeps its queue.
  (stub = w[fp])
    ? // "firstparty snippet included twice.": Firstparty's message, spelled as the
      // global is named (6 bytes less than a capital F of its own).
      stub.push && console.warn(`${fp} snippet included twice.`)
    : ((w[fp] = stub =
        new Proxy([], {
          get: (queue: Call[] & Record<string | symbol, any>, method: any) =>
            // Symbols (`Symbol.toPrimitive` when the page does String(firstparty))
            // lack String.prototype.big: they read the array, so conversions
            // work. `|` evaluates all three (none has a side effect): 2 bytes
            // less than `||`.
            ((method in queue) as any) | ((method == 'then') as any) | (!method.big as any)
              ? queue[method]
              : (...call: Call) => (
                  // Only track and page calls are sent by the fallback. Counting here
                  // costs 9 bytes less than checking every queued call at hide, and
                  // is the same test: the fallback never sends (so never takes out)
                  // any other call, which waits for the script. Any other name
                  // adds undefined, so NaN (6 bytes less than a regular expression
                  // and `|| NaN`). Object.prototype's names never get here: the
                  // array has them (`in`).
                  BOUNCE_FALLBACK && (sendable += ({ track: 1, page: 1, pageview: 1 } as any)[method]),
                  queue.push((call = [method, ...call] as Call)),
                  (call.t = new Date()),
                  (call.p = { url: d.URL, title: d.title, referrer: d.referrer }),
                  stub
                ),
        })),
      (stub.SNIPPET_VERSION = '1.0.0'),
      // dist/snippet-lite.min.js trades the fallback for what strict sites need:
      // under a Content-Security-Policy with nonces (and no 'strict-dynamic') the
      // inserted script needs this snippet's nonce, readable only while the
      // snippet's own <script> runs; `options.integrity` turns on Subresource
      // Integrity (the hash is published in dist/integrity.json).
      BOUNCE_FALLBACK || (nonce = (d.currentScript as HTMLScriptElement | null)?.nonce),
      (stub.load = (key: string, host: string, options?: { libraryPath?: string; integrity?: string; consent?: any }, script?: HTMLScriptElement) => {
        stub._writeKey = key;
        stub._host = host;
        stub[`_${fp}Options`] = options;
        // The script's rule (src/lib/endpoint.ts), but for refusing a bad host:
        // a bare host (`fp.example.com`, `localhost:8787`) means https; a URL
        // with a scheme (`…:/`), a scheme-relative host (`//fp.example.com`)
        // and a path on this origin (`/fp`) are used as given (the browser
        // resolves them against the page, as the script does); trailing
        // slashes are dropped (`…/fp/`), so the paths appended never hold `//`.
        // One replace does both: prefix https://, then strip those 8 characters
        // again where the host starts with `/` or has a scheme (19 bytes more
        // than the prefix alone; `:/` rather than `//` as the script reads a
        // scheme, 1 byte less). Not a string: `https://` + its string, as
        // before. Refusing `javascript:`, '' or a non-string with a warning
        // would cost about 95 bytes more; such a host loads nothing anyway.
        host = ('https://' + host).replace(/^.{8}(?=\/|.*:\/)|\/+$/g, '');
        // A script element inserted by code is async already. Its src is set
        // last: that starts the load, with the nonce and integrity in place.
        // A tagged template: createElement gets ['script'], which it reads as
        // 'script' (2 bytes less than parentheses and quotes).
        d.head.append((script = (d.createElement as any)`script` as HTMLScriptElement));
        if (!BOUNCE_FALLBACK) {
          if (nonce) script.nonce = nonce;
          if (options?.integrity) {
            script.integrity = options.integrity;
            script.crossOrigin = 'anonymous';
          }
        }
        const url = host + (options?.libraryPath || `/js/${fp}.min.js`);
        if (BOUNCE_FALLBACK) script.src = url;
        else
          // Under Trusted Types (CSP `require-trusted-types-for 'script'`) a
          // string assigned to a script's src throws a TypeError (Trusted
          // Types spec, "Get Trusted Type compliant string"). The loader-only
          // build, the one for strict sites, passes the URL through a policy
          // of its own named `firstparty` (a site listing policies in
          // `trusted-types` must list it), which returns the URL given to
          // load() as it is and is reachable from nowhere else. Where it cannot
          // be made (a list without it, `'none'`; no Trusted Types in the
          // browser: a ReferenceError), the plain string, which a default
          // policy may allow; where that is refused too (no default policy, or
          // one refusing this URL), one warning and nothing thrown into the
          // page: the calls stay queued. (The full snippet has no room for
          // this within its 1,100 bytes: README "Supported browsers".)
          try {
            script.src = trustedTypes.createPolicy(fp, { createScriptURL: (u: string) => u }).createScriptURL(url);
          } catch {
            try {
              script.src = url;
            } catch (error) {
              console.warn(fp, error);
            }
          }
        // The loader-only build (dist/snippet-lite.min.js) drops the fallback.
        if (BOUNCE_FALLBACK)
          // Leaving includes unloading: the document turns hidden after `pagehide`
          // (HTML "unload a document"), so one listener serves both.
          // Async, so the try below also catches a rejected fetch (a failed request
          // while the page lives on, after a tab switch): nothing reaches the
          // page as an unhandled rejection, which error monitors would report.
          addEventListener('visibilitychange', async (page?: any, nav: any = navigator, cookies?: string) => {
            try {
              // Only when leaving, online, and while the script has not taken over
              // (a script that does not mark the calls it replays, an older release
              // or Firstparty's own, must not see them sent twice). Privacy as the
              // script decides it, but more cautious: nothing under Global Privacy
              // Control (even with respectPrivacySignals: false), after an earlier
              // visit's opt-out (the fp_optout cookie; `optout=1` anywhere in the
              // cookies counts, another tool's `xyz_optout=1` too: a false alarm
              // only leaves the calls to the script, and `fp_` would cost 3
              // bytes), or with a consent option other than true. And only when
              // every call waiting is a track or page call (`sendable`): an
              // optOut(), consent() or addSourceMiddleware() (which may strip PII)
              // waiting for the script means the script must decide, and so does
              // an identify(), alias() or reset() (the IDs would be wrong).
              // The first six tests are joined by `&` (1 byte less than `&&`
              // each): all are cheap reads, nothing needs to be skipped. The
              // cookies are read once for the opt-out and the profile (3 bytes).
              ((w[fp] == stub) as any) &
                nav.onLine &
                (d.hidden as any) &
                (!nav.globalPrivacyControl as any) &
                (((options?.consent ?? 1) > 0) as any) &
                (!/optout=1/.test((cookies = d.cookie)) as any) &&
                sendable &&
                // A keepalive fetch, not sendBeacon: a beacon is always sent with
                // credentials, and a credentialed JSON request from another site
                // is refused by a collector answering `Access-Control-Allow-Origin:
                // *` (its preflight fails; nothing arrives). fetch's default
                // credentials, 'same-origin', send no cookies to another origin
                // and the site's own cookies to a proxy path on it (`/fp`). The
                // script's `credentials` option is not read here (bytes): these
                // few events go without cross-origin cookies whatever it says.
                // The Blob's type sets the Content-Type the API requires (6
                // bytes less than a headers object); keepalive: 1 is true to
                // WebIDL (1 byte less than terser's !0).
                (await (fetch as (url: string, init: RequestInit, emptied: number) => Promise<Response>)(
                  host + '/events/track/bulk',
                  {
                    method: 'POST',
                    keepalive: 1 as any,
                    body: new Blob(
                      [
                        JSON.stringify({
                          events: stub.map((call: Call) => (
                            // 'page' and 'pageview' < 'q' < 'track'
                            (page = call[0] < 'q'),
                            {
                              // A UUID (22 bytes) rather than the library's `EV` + 30
                              // base-62 characters (about 70): a collector dedupes by
                              // any unique string. randomUUID exists only in secure
                              // contexts: on a plain-http page it throws, nothing is
                              // sent, and the calls wait for the script, so every
                              // event has an event_id.
                              event_id: crypto.randomUUID(),
                              name: page ? 'Page Viewed' : call[1],
                              write_key: key,
                              // The script writes the cookie with encodeURIComponent
                              // (src/lib/cookies.ts) and sends it decoded: an ID such
                              // as `auth0|5f7c…` must not arrive as `auth0%7C5f7c…`
                              // (23 bytes). A malformed value throws: nothing is sent,
                              // and the calls stay for the script. The name starts at a
                              // word boundary (every cookie follows the start or `; `;
                              // 4 bytes less than the script's `(^|; )`; a cookie named
                              // like `x-fpid` would be misread, for these events only).
                              profile_id: cookies!.match(/\bfpid=([^;]+)/)?.map(decodeURIComponent)[1],
                              // The call's properties object (track(name, properties),
                              // page(category?, name?, properties?)), over the page fields for a page call:
                              // its first non-primitive argument (4 bytes less than a typeof test; a
                              // callback spreads to nothing).
                              properties: { ...(page && call.p), ...call.find((arg) => arg === Object(arg)) },
                              context: { page: call.p },
                              // A Date's JSON is its ISO 8601 string.
                              created_at: call.t,
                            }
                          )),
                        }),
                      ],
                      { type: 'application/json' },
                    ),
                  },
                  // Handed over: out of the queue (the script replays what is
                  // left), and the count starts again. Emptied as fetch's third
                  // argument (ignored by fetch), evaluated once the body is built,
                  // right before the call: fetch throws nothing (every failure is
                  // a rejected promise), so what it is given is handed over.
                  // Emptying costs 24 bytes less than marking the calls and
                  // filtering the marks out at every hide; `length = 0` 1 byte
                  // less than splice(0), and 3 less than emptying after the call.
                  // A rejected fetch loses the events, as a beacon lost in the
                  // network did; the catch below keeps it from the page.
                  (stub.length = sendable = 0),
                ));
            } catch {
              // Never throw into the page; the script sends these calls if it loads.
            }
          });
      }))
)(window, document);
