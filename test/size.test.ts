// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/**
 * Size budgets, checked on the built files (`npm test` builds first). Every
 * byte of the IIFE is downloaded by every visitor of every site using us, and
 * the snippet is inlined into every page.
 *
 * The IIFE budget is the 4,500 B brotli plus the cost of the full
 * Firstparty.js API measured feature by feature (see README "Size"): it is set
 * at what the code weighs today plus a little, so any growth is a decision.
 */
const BUDGETS = {
  // 10,888 B today. The ceiling was 7,600 B (7,530 B before issues 11 and 14);
  // raised on purpose, with the reasons in README "Size":
  //  +1,782 B issue 11: no receipt no delete (handover marks, grace, spill),
  //           a handover at every hide signal, heartbeat liveness without Web
  //           Locks, 3 requests in flight, caps only while failing, ≤ 8 ms
  //           write slices, the collector's rejections, and the split into
  //           recorder/outbox/courier/handover (about 250 B of it: wiring and
  //           method names terser cannot mangle);
  //    +684 B issue 14: consent/opt-out/GPC checked where events leave, in
  //           every tab; IDs erased; held calls capped and released in slices;
  //     +16 B WebKit leaving a page still loading (beforeunload);
  //    +115 B no long task at 10,000 events/s: rounds of a few requests' worth,
  //           a body parsed to check it only where JSON.stringify is not native;
  //     +19 B a hidden page's events never cut a backoff short;
  // (10,137 B at issues 11/14's end, ceiling 10,200 B; then issues 13 and 15:)
  //    +112 B issue 13: credentials option (same-origin by default: a collector
  //           answering ACAO * is no longer refused), page-hide handover by
  //           keepalive fetch, serverCookie;
  //     +53 B every keepalive request in flight counted, the handover's own too;
  //    +154 B issue 15: callbacks in any position, run exactly once, 300 ms timeout;
  //    +254 B issue 15: SPA page views read after the route rendered, a route
  //           changed before the script arrived, prerendered pages wait;
  //    +140 B issue 15: trackLink/trackForm by delegation, no element held;
  //     +44 B issue 13: a handover's 2xx read by a page that lives on confirms
  //           it (no re-send after the grace); a fetch that throws at once
  //           leaves the handover to sendBeacon;
  //      −6 B _replay assigned once, not through a forwarding wrapper.
  // (10,888 B; ceiling 11,500 B for the receipts, analytics.js fidelity and
  // hostile-page work: what each adds is listed in README "Size".)
  //     +60 B issue 22: arrays and dates as on a clean page under Prototype.js
  //           1.6, objects built by definition (frozen Object.prototype), the
  //           stub's methods defined (frozen intrinsics); 10,948 B.
  //    +406 B delivery on receipts (no handover deleted on a guess, redirects,
  //           4xx/413 split, fresh first attempts, caps after 30 s, localStorage
  //           within 1 MiB, opt-out Domain, marks in memory);
  //     −82 B internal property names mangled; 11,272 B;
  //     +38 B the courier's and outbox's helpers at module level (no
  //           function over 200 lines), the marks in marks.ts; 11,310 B.
  //    +118 B express send at the end of the recording task (keepalive,
  //           ≤ 16 KiB, before the write), a rejected keepalive request in
  //           flight 1 s more, a sweep on another tab's handover, listen.ts,
  //           more names mangled; 11,428 B.
  //     +28 B the handover's order (a write not started, then under way,
  //           then stored), chunks written at once; 11,456 B.
  //     +26 B timer.ts, the worker pool, the sent detail and the serializer
  //           at module level (no function over 200 lines); 11,482 B.
  //      +9 B records() stops at its byte budget; 11,491 B.
  //      +6 B no express send during a round or after a failure; 11,497 B.
  //     −14 B one carrying() check instead of five copies; 11,483 B.
  //     +12 B a fresh round's failure leaves the retry its time; 11,495 B.
  //     −12 B a 2xx the receipt at its status (+41 B), paid for by backingOff()
  //           and one debug line fewer; 11,483 B.
  //     +10 B the spill at page hide takes first what no handover carries; 11,493 B.
  //     −64 B internal names in terser's DOM list mangled too (builtins),
  //           12 more internal names; 11,429 B.
  //     +25 B the time zone from Temporal at call time where there is one; 11,454 B.
  //     −34 B write slices that slice (+7 B), a round's requests a task apart
  //           (+2 B), 10 more names mangled (−30 B), sent_at once a batch (−13 B); 11,420 B.
  //     +73 B compression: 'gzip' (+~100 B), 8 more names mangled and
  //           unsafe_proto paying for part of it; 11,493 B.
  //      −6 B the express send's next 128 KiB in plain requests behind its 2xx, paid
  //           for by batchBody's default sent_at and one underWay() helper; 11,487 B.
  //      −2 B 64 KiB bodies, the largest event's 50 B envelope margin; 11,485 B.
  //     +29 B marks localStorage refuses kept in sessionStorage too; 11,514 B.
  //     −23 B the source map named by a SourceMap header, not a comment; 11,491 B.
  //     −36 B delivery's parts from one dependency object, listen() in the
  //           heartbeat and consent, the cookie Domain a function, 7 more
  //           names mangled; 11,455 B.
  //     +35 B the store read a page of 16 chunks a task, the sweep in one
  //           pass; 11,490 B.
  //      +5 B 20-character event and session IDs, empty referrer and search
  //           left out (up to 46 B fewer an event); 11,495 B.
  iifeBrotli: 11500,
  // The 1,000 B plus the fast-bounce fallback's privacy checks (GPC,
  // opt-out, consent, waiting calls): 100 B that must not be traded for bytes.
  // 1,098 B today, with the bounce events' event_id (31 B), decoded
  // profile_id (23 B), a keepalive fetch instead of sendBeacon (23 B) with its
  // failure caught (11 B) and the trailing-slash rule (19 B), paid for by
  // bytes found in the fallback (README "Install").
  // Unchanged by issue 22 (1,098 B): a Trusted Types policy (~125 B) and a
  // replacer undoing Prototype.js's toJSON in the fallback's body (86 B) do
  // not fit; README "Install" sends those sites to the lite snippet.
  snippetMinified: 1100,
  // 739 B: 609 B, plus 130 B for loading through the `firstparty` Trusted
  // Types policy, falling back to a default policy, and one warning instead of
  // a TypeError (issue 22).
  snippetLiteMinified: 1000,
};

function sizes(file: string) {
  if (!existsSync(file)) throw new Error(file + ' is missing: run `npm run build` first');
  const raw = readFileSync(file);
  return {
    raw: raw.length,
    gzip: gzipSync(raw, { level: 9 }).length,
    brotli: brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

describe('size budgets', () => {
  it(`dist/firstparty.min.js is at most ${BUDGETS.iifeBrotli} B brotli`, () => {
    const size = sizes('dist/firstparty.min.js');
    console.log('dist/firstparty.min.js', size);
    expect(size.brotli).toBeLessThanOrEqual(BUDGETS.iifeBrotli);
  });

  it(`the snippet (with the fast-bounce fallback) is at most ${BUDGETS.snippetMinified} B minified`, () => {
    const size = sizes('dist/snippet.min.js');
    console.log('dist/snippet.min.js', size);
    expect(size.raw).toBeLessThanOrEqual(BUDGETS.snippetMinified);
  });

  it(`the loader-only snippet is at most ${BUDGETS.snippetLiteMinified} B minified`, () => {
    const size = sizes('dist/snippet-lite.min.js');
    console.log('dist/snippet-lite.min.js', size);
    expect(size.raw).toBeLessThanOrEqual(BUDGETS.snippetLiteMinified);
  });

  it('the library version sent in context.library matches package.json', async () => {
    const { VERSION } = await import('../src/version');
    expect(VERSION).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
  });
});
