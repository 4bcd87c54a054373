// The scenario runner of the browser suites: for each engine (engines.mjs)
// a describe block with the engine launched once, scenarios that each get a
// fresh site and a fresh browser session, and the table of what the collector
// received, scenario × engine, printed when the file is done. Not a test file
// (no .test.).
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { ENGINES_REQUIRED, findEngines, INSTALL_COMMAND } from './engines.mjs';
import { byPrefix, expectEveryCallById, isPage, posts, settle, snippetText, startSite, tally, waitFor } from './helpers.mjs';

/**
 * One engine's run: the engine and its launched browser.
 * @typedef {{engine: import('./engine.mjs').Engine, browser: () => import('./engine.mjs').EngineBrowser}} Run
 */

/**
 * Defines `define(run)` once per engine, in a describe block of its own
 * (`firstparty.js in Firefox`), one engine after the other: the engine is
 * launched before its scenarios and closed after them. A missing engine is
 * announced (engines.mjs) and its block skipped — or failed, under
 * FIRSTPARTY_REQUIRE_ENGINES=1. `engines` limits the run to some engines
 * (`['chromium']` for a Chromium-only file). The table is printed after all.
 * @param {(run: Run) => void} define
 * @param {{engines?: string[]}} [options]
 */
export function forEachEngine(define, { engines } = {}) {
  beforeAll(() => {
    snippetText(); // fails early, with a clear message, when dist/ is not built
  });
  afterAll(printTable);
  for (const { engine, found, missing, deselected } of findEngines()) {
    if (engines && !engines.includes(engine.name)) continue;
    const skip = deselected || (!found && !ENGINES_REQUIRED);
    runs.set(engine.name, { label: engine.label, skipped: skip && (deselected ? 'not selected' : 'not installed'), version: '?', seconds: 0 });
    describe.skipIf(skip)(`firstparty.js in ${engine.label}`, () => {
      /** @type {import('./engine.mjs').EngineBrowser} */
      let browser;
      let started = 0;
      beforeAll(async () => {
        if (!found) throw new Error(`${engine.label} is required here but not installed (${missing}): ${INSTALL_COMMAND}`);
        started = Date.now();
        browser = await engine.launch();
      }, 60_000);
      afterAll(async () => {
        Object.assign(runs.get(engine.name), { version: browser?.version ?? '?', seconds: ((Date.now() - started) / 1000).toFixed(1) });
        await browser?.close();
      });
      define({ engine, browser: () => browser });
    });
  }
}

/** One line per scenario and engine, failed ones included. */
const rows = [];
/** Per engine: version and seconds taken. */
const runs = new Map();


/**
 * Runs one scenario (of `run`'s engine) with a fresh site (collector + page servers) and a fresh
 * browser session (cookies, storage, IndexedDB), cleans both up whatever
 * happens, and adds its line to the table (counted from the collector, failed
 * scenarios included). `siteOptions.session` is passed to newSession(); the
 * rest to startSite(); `knownBug` marks a scenario expected to fail today (a
 * test of a bug not fixed yet), so the table says so. `fn` may return a note
 * for the table.
 */
export async function scenario(run, label, sent, { session: sessionOptions, knownBug = false, ...siteOptions }, fn) {
  const browser = run.browser();
  const session = await browser.newSession(sessionOptions);
  const site = await startSite({ ...siteOptions, consoleHook: browser.consoleEvents ? undefined : (message) => session.report(message) });
  const row = { engine: run.engine.name, scenario: label, sent, received: '-', duplicates: '-', requests: '-', result: knownBug ? 'FAILED (known bug)' : 'FAILED', note: '' };
  rows.push(row);
  try {
    row.note = (await fn({ site, session, browser, errors: session.errors, collector: site.collector })) || '';
    row.result = knownBug ? 'ok (known bug FIXED?)' : 'ok';
  } catch (error) {
    row.note = String(error?.message ?? error).split('\n')[0].slice(0, 90);
    throw error;
  } finally {
    const { received, duplicates } = tally(site.collector);
    Object.assign(row, { received, duplicates, requests: posts(site.collector).length });
    await session.close().catch(() => {});
    await site.close();
  }
}

/** The closing assertion of every scenario: exactly `sent` distinct events received, none twice. */
export function expectExactly(collector, sent) {
  const { received, duplicates } = tally(collector);
  expect({ received, duplicates }).toEqual({ received: sent, duplicates: 0 });
}

/**
 * The closing assertion where events were handed over as a page went away: no receipt is read for a
 * handover the page does not live to see, so its events are sent again after the grace (README,
 * Delivery semantics, re-send case 1). Every one of `sent` calls arrives, copies only under the call's
 * one event_id; returns a note with their count for the table.
 */
export function expectEveryCallResent(collector, sent) {
  expectEveryCallById(collector, sent);
  const { duplicates } = tally(collector);
  return duplicates ? `${duplicates} copies (same event_id): re-send case 1` : '';
}

/** Page load that does not wait for the (possibly delayed) script: the snippet is inline. */
export const open = async (session, url, waitUntil = 'load') => {
  const page = await session.newPage();
  await page.goto(url, { waitUntil });
  return page;
};

/** Distinct calls the collector received (optionally those matching `filter`). */
export const count = (collector, filter) => tally(collector, filter).received;

/**
 * The page-hide handover: opens `/leave`, waits for its page view, then tracks
 * 20 events (`leave-0`…) and navigates to `/away` in the same task; resolves
 * with the page once the collector has the 20 events.
 */
export async function leaveWithUnsent(session, site) {
  const { collector } = site;
  const page = await open(session, site.url('/leave'));
  await waitFor(() => count(collector, isPage) === 1, { message: 'the page view' });
  await settle(collector, { quietMs: 300 });
  await page.evaluate(() => {
    for (let i = 0; i < 20; i++) window.firstparty.track('Before Leaving', { k: 'leave-' + i, i });
    location.href = '/away';
  });
  await page.waitForURL('/away');
  await waitFor(() => count(collector, byPrefix('leave-')) === 20, {
    message: () => `20 events sent as the page left, have ${count(collector, byPrefix('leave-'))}`,
  });
  return page;
}

/** The table: one line per scenario, for each engine `received/duplicates` (or why not). */
function printTable() {
  const engines = [...runs.keys()];
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  const cell = (scenario, engine) => {
    const r = rows.find((row) => row.scenario === scenario && row.engine === engine);
    if (!r) return runs.get(engine).skipped ? 'skipped' : '-';
    return `${r.received}/${r.duplicates}` + (r.result === 'ok' ? '' : ' ' + r.result);
  };
  const header = ['scenario', 'sent', ...engines.map((e) => `${runs.get(e).label} recv/dup`)];
  const table = [header, ...scenarios.map((sc) => [sc, rows.find((r) => r.scenario === sc).sent, ...engines.map((e) => cell(sc, e))])].map((cells) => cells.map(String));
  const widths = header.map((_, i) => Math.max(...table.map((cells) => cells[i].length)));
  const line = (cells) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  const notes = rows.filter((r) => r.note).map((r) => `  ${runs.get(r.engine).label}, ${r.scenario}: ${r.result === 'ok' ? '' : r.result + ': '}${r.note} (${r.requests} requests)`);
  console.log(
    [
      'Browser durability suite: ' +
        engines.map((e) => `${runs.get(e).label} ${runs.get(e).skipped ? `SKIPPED (${runs.get(e).skipped})` : `${runs.get(e).version} ${runs.get(e).seconds} s`}`).join(', '),
      line(table[0]),
      '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|',
      ...table.slice(1).map(line),
      ...(notes.length ? ['Notes:', ...notes] : []),
    ].join('\n'),
  );
}
