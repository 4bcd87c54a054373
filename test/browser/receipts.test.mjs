// @vitest-environment node
// Delivery decides on receipts, not guesses: the moment that matters most is
// the visitor leaving, with the collector failing, hanging or going silent
// just then. Each scenario runs the built script (dist/) in real browsers —
// R1–R3 and R7 in Chromium, Firefox and WebKit, the page-side rows in
// Chromium — against the demo collector and asserts every event arrives, once
// where the library can know; the table (scenario.mjs) is printed at the end.
// The rules under test are README "Delivery semantics" (courier.ts express(),
// outbox.ts marks, handover.ts).
import { expect, it } from 'vitest';
import { byPrefix, expectEveryCallById, isPage, setVisibility, settle, tally, trackMany, waitFor } from './helpers.mjs';
import { count, expectExactly, forEachEngine, open, scenario } from './scenario.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Tracks `n` events `prefix0…` and follows a link to `to`, in one task (the visitor leaves at once). */
const trackAndLeave = (page, prefix, n, to) =>
  page.evaluate(
    ({ prefix, n, to }) => {
      for (let i = 0; i < n; i++) window.firstparty.track('Leaving', { k: prefix + i, i });
      location.href = to;
    },
    { prefix, n, to },
  );

/** Opens `path` on the site and waits until its page view was answered and the collector is quiet. */
async function openAnswered({ site, session, collector }, path) {
  const page = await open(session, site.url(path));
  await waitFor(() => count(collector, isPage) === 1, { message: 'the page view' });
  await settle(collector, { quietMs: 300 });
  return page;
}

/**
 * The collector fails (`mode`, until switched off) right after answering the page view; the visitor
 * tracks 100 events `prefix-0…` and follows a link to `to` in the same task; 1.5 s later the collector
 * is back and the visitor returns to the site: resolves once all 100 have arrived.
 */
async function outageAsTheVisitorLeaves({ site, session, collector }, mode, prefix, to) {
  const page = await openAnswered({ site, session, collector }, '/' + prefix);
  collector.fault({ mode, count: Infinity });
  await trackAndLeave(page, prefix + '-', 100, to);
  await page.waitForURL(to);
  await sleep(1500);
  collector.fault({ mode: 'off' });
  await page.goto(site.url('/' + prefix + '-back'));
  const arrived = () => count(collector, byPrefix(prefix + '-'));
  await waitFor(() => arrived() === 100, { timeout: 40_000, message: () => `100 events, have ${arrived()}` });
  await settle(collector);
  return page;
}

forEachEngine(
  (run) => {
    // The collector-side rows (R1–R3) and the healthy one (R7) in every engine; the page-side rows
    // (a fetch wrapper, localStorage full, the page's own keepalive, a tab switch) in Chromium.
    const chromiumOnly = run.engine.name === 'chromium' ? it : () => {};

    it('R1. the collector goes silent (connections die) right after a 2xx; 100 events, link followed at once; network back, visitor returns: 100/100, once', { timeout: 90_000 }, async () => {
      await scenario(run, 'R1 silent collector, leave at once', 103, {}, async ({ site, session, collector }) => {
        await outageAsTheVisitorLeaves({ site, session, collector }, 'drop', 'r1', '/r1-next');
        expect(tally(collector, byPrefix('r1-'))).toMatchObject({ received: 100, duplicates: 0 });
        expect(count(collector, isPage)).toBe(3); // the one dropped on /r1-next too, sent once back
      });
    });

    it('R2. the collector hangs with 30 events tracked (in flight, or waiting behind the request in flight); the tab is closed; another tab of the site opens: 30/30 within the grace + 10 s', { timeout: 90_000 }, async () => {
      await scenario(run, 'R2 hung collector, tab closed', 32, {}, async ({ site, session, collector }) => {
        const closing = await openAnswered({ site, session, collector }, '/r2');
        collector.fault({ mode: 'hang', count: Infinity }); // until switched off
        await trackMany(closing, { name: 'In Flight', prefix: 'r2-', count: 30 });
        // The first 16 KiB of them (23 events) go at once in a keepalive request, the rest a task later in a
        // plain one (courier.ts express()): both hang.
        await waitFor(() => collector.requests().some((r) => r.fault === 'hang' && r.events > 0), { message: 'the events in a hung request' });
        await closing.close();
        collector.fault({ mode: 'off' });
        const opened = Date.now();
        await open(session, site.url('/r2-other'));
        await waitFor(() => count(collector, byPrefix('r2-')) === 30, { timeout: 25_000, message: () => `30 events, have ${count(collector, byPrefix('r2-'))}` });
        const seconds = ((Date.now() - opened) / 1000).toFixed(1);
        await settle(collector);
        expectEveryCallById(collector, 32);
        return `30 arrived ${seconds} s after the other tab opened`;
      });
    });

    it('R3. the collector starts failing (503) seconds after its last 2xx; the page leaves right after tracking: 100/100 once it answers again', { timeout: 90_000 }, async () => {
      await scenario(run, 'R3 503 right after a 2xx, leave', 102, {}, async ({ site, session, collector }) => {
        await outageAsTheVisitorLeaves({ site, session, collector }, '503', 'r3', '/away');
        expect(tally(collector, byPrefix('r3-'))).toMatchObject({ received: 100, duplicates: 0 });
      });
    });

    chromiumOnly('R4. the page wraps fetch and awaits a timer before calling the real one; 60 events tracked right before leaving: 60/60', { timeout: 90_000 }, async () => {
      await scenario(run, 'R4 fetch wrapper awaiting a timer', 62, {}, async ({ site, session, collector }) => {
        const head = `<script>(() => { const real = window.fetch; window.fetch = async function (...args) { await new Promise((r) => setTimeout(r, 50)); return real.apply(this, args); }; })();</script>`;
        site.setDefault({ head });
        const page = await openAnswered({ site, session, collector }, '/r4');
        await trackAndLeave(page, 'r4-', 60, '/r4-next');
        await page.waitForURL('/r4-next');
        await waitFor(() => count(collector, byPrefix('r4-')) === 60, { timeout: 30_000, message: () => `60 events, have ${count(collector, byPrefix('r4-'))}` });
        await settle(collector);
        // Copies are allowed here (the wrapper may have called through in time): each under its one event_id.
        expectEveryCallById(collector, 62);
        const { duplicates } = tally(collector, byPrefix('r4-'));
        return duplicates ? `${duplicates} copies (same event_id)` : '';
      });
    });

    chromiumOnly("R5. the site's own data fills localStorage; healthy collector, the visitor leaves right after tracking: 100/100 (copies counted: re-send case 1, as with localStorage free, and case 7)", { timeout: 90_000 }, async () => {
      await scenario(run, 'R5 localStorage full, leave', 102, {}, async ({ site, session, collector }) => {
        // The site's data, written before the snippet: every later setItem of ours is refused.
        const head = `<script>try { for (let i = 0; i < 1000; i++) localStorage.setItem('site-' + i, 'x'.repeat(100000)); } catch {}</script>`;
        site.setDefault({ head });
        const page = await openAnswered({ site, session, collector }, '/r5');
        await trackAndLeave(page, 'r5-', 100, '/r5-next');
        await page.waitForURL('/r5-next');
        const missing = () => [...Array(100).keys()].filter((i) => !collector.events().some((r) => r.event.properties?.k === 'r5-' + i));
        await waitFor(() => !missing()[0], { timeout: 30_000, message: () => `100 events, missing ${missing().join(', ')}` });
        await sleep(11_000); // past the grace
        await settle(collector);
        expectEveryCallById(collector, 102);
        const { duplicates } = tally(collector, byPrefix('r5-'));
        // Copies come when the next page commits before the answers of the express send (16 KiB
        // keepalive, the rest plain behind its 2xx) are read: the plain request's events are handed
        // over too (case 3), and the next page sends them once more after the grace (case 1; the marks
        // that localStorage refuses reach it through sessionStorage). Measured 2026-12-07, 3 runs each:
        // 148, 148, 74 copies before the plain part; 0, 74, 74 with it; 2026-12-08 (64 KiB bodies,
        // marks in sessionStorage) 74, 74, 148: the plain request's 74 events, handed over, then after
        // the grace.
        return duplicates ? `${duplicates} copies (same event_id): re-send cases 1 and 7` : '';
      });
    });

    chromiumOnly('R6. an event tracked after a tab switch back is sent within flushInterval + 0.5 s (no pending 10 s wait swallows it)', { timeout: 60_000 }, async () => {
      await scenario(run, 'R6 tab switch, then track', 2, {}, async ({ site, session, collector }) => {
        const page = await open(session, site.url('/r6'));
        await waitFor(() => count(collector, isPage) === 1, { message: 'the page view' });
        await setVisibility(page, 'hidden');
        await sleep(300);
        await setVisibility(page, 'visible');
        const started = Date.now();
        await page.evaluate(() => window.firstparty.track('After Switch', { k: 'r6-0' }));
        await waitFor(() => count(collector, byPrefix('r6-')) === 1, { timeout: 15_000, message: 'the event' });
        const ms = Date.now() - started;
        expect(ms).toBeLessThanOrEqual(1500);
        await settle(collector, { quietMs: 500 });
        expectExactly(collector, 2);
        return `sent after ${ms} ms`;
      });
    });

    it('R7. healthy collector, page view answered, 20 events, link to the next page of the site: 20/20, copies counted (each under its event_id)', { timeout: 60_000 }, async () => {
      await scenario(run, 'R7 healthy, 20 events, next page', 22, {}, async ({ site, session, collector }) => {
        const page = await openAnswered({ site, session, collector }, '/r7');
        await trackAndLeave(page, 'r7-', 20, '/r7-next');
        await page.waitForURL('/r7-next');
        await waitFor(() => count(collector, isPage) === 2 && count(collector, byPrefix('r7-')) === 20, { message: () => `20 events, have ${count(collector, byPrefix('r7-'))}` });
        await sleep(11_000); // past the grace: a re-send would show
        await page.evaluate(() => window.firstparty.flush());
        await settle(collector);
        // The 20 go in one keepalive request at the end of the task that tracked them; its answer is
        // often read before the next page commits. When the next page commits first, no page reads
        // it, and they are sent again after the grace (re-send case 1).
        expectEveryCallById(collector, 22);
        const { duplicates } = tally(collector, byPrefix('r7-'));
        return duplicates ? `${duplicates} copies (same event_id): the next page came before the answer` : '';
      });
    });

    chromiumOnly("R8. the page's own 30 KB keepalive request at pagehide shares the 64 KiB quota: 40 events of 1 KB tracked right before leaving still arrive", { timeout: 90_000 }, async () => {
      await scenario(run, 'R8 page keepalive 30 KB at pagehide', 42, {}, async ({ site, session, collector }) => {
        const head = `<script>addEventListener('pagehide', () => fetch('/rum', { method: 'POST', body: 'x'.repeat(30000), keepalive: true }).catch(() => {}), true);</script>`;
        site.setDefault({ head });
        const page = await openAnswered({ site, session, collector }, '/r8');
        await page.evaluate(() => {
          for (let i = 0; i < 40; i++) window.firstparty.track('Heavy', { k: 'r8-' + i, i, pad: 'p'.repeat(1000) });
          location.href = '/r8-next';
        });
        await page.waitForURL('/r8-next');
        await waitFor(() => count(collector, byPrefix('r8-')) === 40, { timeout: 30_000, message: () => `40 events, have ${count(collector, byPrefix('r8-'))}` });
        await settle(collector);
        expectEveryCallById(collector, 42);
        const { duplicates } = tally(collector, byPrefix('r8-'));
        return duplicates ? `${duplicates} copies (same event_id)` : '';
      });
    });
  },
  { engines: ['chromium', 'firefox', 'webkit'] },
);
