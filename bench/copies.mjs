#!/usr/bin/env node
// `node bench/copies.mjs` (after `npm run build`): copies per 1,000
// navigations in the healthy cases.
//
// A page that goes away before it has read the answer to the request carrying
// its events keeps them, and a later page sends them again after the 10 s
// grace with the same event_id (README, Delivery semantics, re-send case 1):
// no event is lost, but the collector sees some twice. This measures how often
// that happens when nothing fails — collector healthy, the visitor just
// browsing — in real headless Chromium, every request on 127.0.0.1, against
// the demo collector (which drops the copies by event_id and lists them):
//   1. leave and return: one tab, a chain of N pages; on each, once its page
//      view is answered, 3 track() calls and `location.href = next` in the
//      same task; then, past the grace, one more page and flush();
//   2. close and come back later: 0.2 N tabs one after the other; on each, once
//      its page view is answered, 3 track() calls, and the tab closed right
//      after (the next CDP round trip); then, past the grace, one more tab and flush();
//   3. tab switch: one page, 0.5 N times 3 track() calls, hidden, visible again
//      (as test/browser/helpers.mjs setVisibility does), each round once its 3
//      are answered; then, past the grace, flush().
// Prints the table (case, navigations / closes / switches, events tracked
// (page views included), received, lost, copies, copies per 1,000), where the
// copies came from (which event of the page, first arrival → copy, how the
// browser saw the request that carried the first arrival), and the rows as
// JSON on stdout's last line (and into COPIES_OUT if set). Exits 1 when an
// event is lost, when a call came under two event_ids, or on a page error.
//
// Environment: COPIES_N (navigations of case 1, default 1000; cases 2 and 3
// scale with it: 0.2 N tab closes, 0.5 N tab switches; about 6–7 min on 2
// cores), COPIES_CASES (e.g. `1,3`), COPIES_OUT (a path for the JSON rows),
// COPIES_DWELL_MS (time on each page once its page view is answered, default
// 50), COPIES_PER_PAGE (track() calls a page, default 3), CHROME_PATH.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser, snapshotDist } from './lib/browser.mjs';
import { deliveries, isPage, scriptLoaded, setVisibility, settle, splitCalls, startSite, tally } from '../test/browser/helpers.mjs';
import { newContext, printTable } from '../test/browser/suite.mjs';

const N = Math.max(1, Math.round(Number(process.env.COPIES_N) || 1000));
const CASES = process.env.COPIES_CASES ? process.env.COPIES_CASES.split(',').map((s) => s.trim()) : ['1', '2', '3'];
const OUT = process.env.COPIES_OUT;
// Time on each page once the collector has answered its page view, so that the page has read the
// answer too (a visitor reads a page longer than that; without it the page view itself is in doubt).
const DWELL_MS = process.env.COPIES_DWELL_MS === undefined ? 50 : Number(process.env.COPIES_DWELL_MS) || 0;
const PER_PAGE = Number(process.env.COPIES_PER_PAGE) || 3; // track() calls per page (per round in case 3)
const GRACE_WAIT_MS = 11_000; // past the 10 s grace of a handover
const EVENT = 'Copies Bench';
const STEP_TIMEOUT = 20_000;
const BULK = '/events/track/bulk';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (...a) => console.error(...a);
const started = Date.now();

/**
 * What the collector has answered, kept as it happens (subscribe): the page
 * views' URLs and the tracked events' `k`, each once its request is answered
 * (the collector emits a request's events, then the request after its answer
 * went out). `until(test)` resolves once `test()` is true.
 */
function answered(collector) {
  const pages = new Set();
  const keys = new Set();
  let pending = [];
  const waiters = new Set();
  collector.subscribe(({ type, record }) => {
    if (type === 'event' || type === 'duplicate') pending.push(record.event);
    if (type !== 'request') return;
    for (const event of pending) {
      if (isPage(event)) pages.add(new URL(event.context?.page?.url ?? 'about:blank').pathname);
      else if (event.properties?.k !== undefined) keys.add(event.properties.k);
    }
    pending = [];
    for (const w of waiters) if (w.test()) (waiters.delete(w), w.resolve());
  });
  return {
    pages,
    keys,
    until(test, what) {
      if (test()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const w = { test, resolve };
        waiters.add(w);
        setTimeout(() => waiters.delete(w) && reject(new Error(`timed out after ${STEP_TIMEOUT} ms waiting for ${what}`)), STEP_TIMEOUT);
      });
    },
  };
}

/**
 * How the browser saw each bulk request (playwright's network events): for
 * each event_id, the fate of every request that carried it — a status (the
 * browser got the answer; the page's script may still have been gone before
 * reading it), or the error the page got (`net::ERR_ABORTED`: the document
 * went away first; a keepalive request is sent all the same). Requests of a
 * page being closed are not reported: `unseen`.
 */
function watchRequests(context) {
  const fates = new Map();
  const carried = new Map(); // request → event_ids
  context.on('request', (request) => {
    if (request.method() !== 'POST' || !request.url().endsWith(BULK)) return;
    let ids = [];
    try {
      ids = (request.postDataJSON()?.events ?? []).map((e) => e.event_id);
    } catch {
      // Not JSON we can read: counted as unseen.
    }
    carried.set(request, ids);
  });
  const done = (request, fate) => {
    for (const id of carried.get(request) ?? []) {
      if (!fates.has(id)) fates.set(id, []);
      fates.get(id).push(fate);
    }
    carried.delete(request);
  };
  context.on('requestfinished', async (request) => done(request, String((await request.response().catch(() => null))?.status() ?? 'finished')));
  context.on('requestfailed', (request) => done(request, request.failure()?.errorText ?? 'failed'));
  return { fates };
}

/** Resolves once the page at `pathname` has the script running and its page view answered. */
async function ready(page, seen, pathname) {
  await scriptLoaded(page, STEP_TIMEOUT);
  await seen.until(() => seen.pages.has(pathname), `the page view of ${pathname}`);
  if (DWELL_MS) await sleep(DWELL_MS);
}

/** In-page: `n` track() calls `prefix0…`, then (with `to`) a followed link, in the same task. */
function trackThen({ name, prefix, n, to }) {
  for (let j = 0; j < n; j++) window.firstparty.track(name, { k: prefix + j, j });
  if (to) location.href = to;
}

/** Case 1: one tab, N pages in a chain, leaving each right after its 3 track() calls. */
async function leaveAndReturn({ context, site, seen, n }) {
  const page = await context.newPage();
  const at = (i) => `/c1/${i}`;
  await page.goto(site.url(at(0)));
  await ready(page, seen, at(0));
  for (let i = 0; i < n; i++) {
    await page.evaluate(trackThen, { name: EVENT, prefix: `c1-${i}-`, n: PER_PAGE, to: at(i + 1) });
    await page.waitForURL(site.url(at(i + 1)), { waitUntil: 'load', timeout: STEP_TIMEOUT });
    await ready(page, seen, at(i + 1));
    if ((i + 1) % 100 === 0) log(`  case 1: ${i + 1}/${n} navigations, ${elapsed()}`);
  }
  await sleep(GRACE_WAIT_MS);
  await page.goto(site.url('/c1/final'));
  await ready(page, seen, '/c1/final');
  await page.evaluate(() => window.firstparty.flush());
  return { units: n, keys: range(n).flatMap((i) => range(PER_PAGE).map((j) => `c1-${i}-${j}`)), pages: [...range(n + 1).map(at), '/c1/final'], last: page };
}

/** Case 2: N tabs one after the other, each closed right after its 3 track() calls. */
async function closeAndComeBack({ context, site, seen, n }) {
  const at = (i) => `/c2/${i}`;
  for (let i = 0; i < n; i++) {
    const page = await context.newPage();
    await page.goto(site.url(at(i)));
    await ready(page, seen, at(i));
    await page.evaluate(trackThen, { name: EVENT, prefix: `c2-${i}-`, n: PER_PAGE });
    await page.close();
    if ((i + 1) % 100 === 0) log(`  case 2: ${i + 1}/${n} closes, ${elapsed()}`);
  }
  await sleep(GRACE_WAIT_MS);
  const page = await context.newPage();
  await page.goto(site.url('/c2/final'));
  await ready(page, seen, '/c2/final');
  await page.evaluate(() => window.firstparty.flush());
  return { units: n, keys: range(n).flatMap((i) => range(PER_PAGE).map((j) => `c2-${i}-${j}`)), pages: [...range(n).map(at), '/c2/final'], last: page };
}

/** Case 3: one page, N rounds of 3 track() calls, hidden, shown again. */
async function tabSwitch({ context, site, seen, n }) {
  const page = await context.newPage();
  await page.goto(site.url('/c3'));
  await ready(page, seen, '/c3');
  for (let i = 0; i < n; i++) {
    const prefix = `c3-${i}-`;
    await page.evaluate(trackThen, { name: EVENT, prefix, n: PER_PAGE });
    await setVisibility(page, 'hidden');
    await setVisibility(page, 'visible');
    await seen.until(() => range(PER_PAGE).every((j) => seen.keys.has(prefix + j)), `${prefix}* answered`);
    if ((i + 1) % 250 === 0) log(`  case 3: ${i + 1}/${n} switches, ${elapsed()}`);
  }
  await sleep(GRACE_WAIT_MS);
  await page.evaluate(() => window.firstparty.flush());
  return { units: n, keys: range(n).flatMap((i) => range(PER_PAGE).map((j) => `c3-${i}-${j}`)), pages: ['/c3'], last: page };
}

const CASE_DEFS = [
  { id: '1', label: '1. leave and return (link, same task)', unit: 'navigations', n: N, run: leaveAndReturn },
  { id: '2', label: '2. close tab, come back later', unit: 'tab closes', n: Math.max(1, Math.round(N * 0.2)), run: closeAndComeBack },
  { id: '3', label: '3. tab switch (hidden, visible)', unit: 'tab switches', n: Math.max(1, Math.round(N * 0.5)), run: tabSwitch },
];

const range = (n) => Array.from({ length: n }, (_, i) => i);
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
const pathOf = (event) => new URL(event.context?.page?.url ?? 'about:blank').pathname;
const quantiles = (xs) => {
  if (!xs.length) return '-';
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => (s[Math.min(s.length - 1, Math.floor(p * s.length))] / 1000).toFixed(1);
  return `${q(0)} / ${q(0.5)} / ${(s[s.length - 1] / 1000).toFixed(1)} s`;
};
const countBy = (xs) => Object.entries(xs.reduce((acc, x) => ((acc[x] = (acc[x] || 0) + 1), acc), {})).map(([k, v]) => `${k}: ${v}`).join(', ') || '-';

/** Runs one case on a fresh site and profile; returns its row and what explains its copies. */
async function runCase(browser, distDir, def) {
  const t0 = Date.now();
  const big = 1_000_000;
  const site = await startSite({ collector: { distDir, maxEvents: big, maxStoredBytes: 1024 ** 3, maxDuplicates: big, maxRequests: big, maxSeenIds: big } });
  const { context, errors } = await newContext(browser);
  const requests = watchRequests(context);
  const seen = answered(site.collector);
  try {
    log(`case ${def.label}: ${def.n} ${def.unit}`);
    const plan = await def.run({ context, site, seen, n: def.n });
    await settle(site.collector, { quietMs: 2000, timeout: 60_000 });
    const all = deliveries(site.collector);
    const receivedKeys = new Set(all.filter((e) => !isPage(e)).map((e) => e.properties?.k));
    const receivedPages = new Set(all.filter(isPage).map(pathOf));
    let lost = [...plan.keys.filter((k) => !receivedKeys.has(k)), ...plan.pages.filter((p) => !receivedPages.has(p)).map((p) => `page view ${p}`)];
    let late = [];
    if (lost.length) {
      // Still stored somewhere? One more grace and flush before calling them lost.
      log(`!!!!! case ${def.id}: ${lost.length} events missing after the flush; waiting one more grace period and flushing again`);
      await sleep(GRACE_WAIT_MS);
      await plan.last.evaluate(() => window.firstparty.flush()).catch(() => {});
      await settle(site.collector, { quietMs: 2000, timeout: 60_000 });
      const again = deliveries(site.collector);
      const keysNow = new Set(again.filter((e) => !isPage(e)).map((e) => e.properties?.k));
      const pagesNow = new Set(again.filter(isPage).map(pathOf));
      late = lost.filter((k) => (k.startsWith('page view ') ? pagesNow.has(k.slice(10)) : keysNow.has(k)));
      lost = lost.filter((k) => !late.includes(k));
    }
    const { received, duplicates } = tally(site.collector);
    const split = splitCalls(site.collector);

    // Where the copies come from: which event of its page, first arrival → copy, and what the
    // browser saw of the request that carried the first arrival.
    const first = new Map(site.collector.events().map((r) => [r.event.event_id, r]));
    const copies = site.collector.duplicateList();
    // The page (or round) each copied event was tracked on.
    const copiedPages = new Set(copies.map((d) => (isPage(d.event) ? pathOf(d.event).split('/').pop() : d.event.properties?.k?.split('-')[1])));
    const which = copies.map((d) => (isPage(d.event) ? 'page view' : `track #${d.event.properties?.j}`));
    const gaps = copies.map((d) => Date.parse(d.received_at) - Date.parse(first.get(d.event_id)?.received_at ?? d.received_at));
    const fates = copies.map((d) => (requests.fates.get(d.event_id) ?? ['unseen']).join(' then '));
    const row = {
      case: def.label,
      navigations: def.n,
      unit: def.unit,
      'events tracked': plan.keys.length + plan.pages.length,
      'events received': received,
      lost: lost.length,
      copies: duplicates,
      'copies per 1,000': ((duplicates / def.n) * 1000).toFixed(1),
      seconds: ((Date.now() - t0) / 1000).toFixed(0),
    };
    const explain = {
      which: countBy(which),
      pagesWithCopies: copiedPages.size,
      gap: quantiles(gaps),
      fates: countBy(fates),
      requests: site.collector.requests().filter((r) => r.method === 'POST').length,
      split,
      lost: lost.slice(0, 20),
      late: late.slice(0, 20),
      lateCount: late.length,
      errors,
    };
    log(`  done in ${row.seconds} s: ${received} received, ${duplicates} copies, ${lost.length} lost`);
    return { row, explain };
  } finally {
    await context.close().catch(() => {});
    await site.close();
  }
}

async function main() {
  const distDir = snapshotDist(fs.mkdtempSync(path.join(os.tmpdir(), 'fp-copies-dist-')));
  const browser = await launchBrowser();
  const results = [];
  try {
    for (const def of CASE_DEFS.filter((d) => CASES.includes(d.id))) results.push({ def, ...(await runCase(browser.browser, distDir, def)) });
  } finally {
    await browser.close();
    fs.rmSync(distDir, { recursive: true, force: true });
  }

  const header = ['case', 'navigations', 'events tracked', 'events received', 'lost', 'copies', 'copies per 1,000'];
  printTable({
    title: `Copies per 1,000 navigations, healthy collector (${browser.version}, ${PER_PAGE} track() calls a page/round, page views counted as events), ${elapsed()}`,
    legend: ['navigations: page loads left by a link (1), tabs closed (2), tab switches (3); copies: deliveries of an event_id beyond its first'],
    header,
    rows: results.map((r) => ({ ...r.row, navigations: `${r.row.navigations} ${r.def.unit}` })),
  });
  let bad = false;
  for (const { def, row, explain } of results) {
    console.log(`case ${def.id}: ${explain.pagesWithCopies} of ${def.n} pages/rounds had a copied event; copies by event: ${explain.which}; first arrival → copy (min / median / max): ${explain.gap}; ${explain.requests} POSTs`);
    console.log(`case ${def.id}: what the browser saw of the requests that carried each copied event (in order): ${explain.fates}`);
    if (row.lost) {
      bad = true;
      console.log(`\n!!!!! CASE ${def.id} LOST ${row.lost} EVENTS (healthy collector: must be 0): ${explain.lost.join(', ')}${row.lost > 20 ? ', …' : ''} !!!!!\n`);
    }
    if (explain.lateCount) console.log(`!!!!! case ${def.id}: ${explain.lateCount} events arrived only after a second grace period and flush: ${explain.late.join(', ')}`);
    if (explain.split.length) {
      bad = true;
      console.log(`!!!!! case ${def.id}: ${explain.split.length} calls arrived under two event_ids (or none): ${explain.split.slice(0, 10).join(', ')}`);
    }
    if (explain.errors.length) {
      bad = true;
      console.log(`!!!!! case ${def.id}: page errors: ${explain.errors.slice(0, 5).join(' | ')}`);
    }
  }
  if (browser.sinkHits.length) console.log(`!!!!! requests that tried to leave loopback (refused): ${browser.sinkHits.slice(0, 10).join(', ')}`);

  const json = results.map(({ def, row, explain }) => ({
    case: def.id,
    label: def.label,
    unit: def.unit,
    navigations: def.n,
    tracked: row['events tracked'],
    received: row['events received'],
    lost: row.lost,
    copies: row.copies,
    copiesPer1000: Number(row['copies per 1,000']),
    seconds: Number(row.seconds),
    pagesWithCopies: explain.pagesWithCopies,
    copiesBy: explain.which,
    lostEvents: explain.lost,
  }));
  if (OUT) fs.writeFileSync(OUT, JSON.stringify(json, null, 2) + '\n');
  console.log(JSON.stringify(json));
  process.exitCode = bad ? 1 : 0;
}

await main();
