// @vitest-environment node
// Issues 5 and 12: the built script (dist/) in real browsers — Chromium,
// Firefox and WebKit, one engine after the other, through the engine layer
// (engines.mjs, scenario.mjs) — against the demo collector. Every scenario
// asserts exact counts of distinct events received and of duplicates; the
// table printed at the end sums them up, scenario × engine. The engine bugs of
// issue 12 have their tests in engine-bugs.mjs, run here with each engine.
import { describe, expect, it } from 'vitest';
import { byPrefix, expectEveryCallById, isPage, posts, scriptLoaded, setVisibility, settle, stored, tally, trackMany, waitFor, KEY } from './helpers.mjs';
import { count, expectEveryCallResent, expectExactly, forEachEngine, leaveWithUnsent, open, scenario } from './scenario.mjs';
import { engineBugs } from './engine-bugs.mjs';

/**
 * The deployment most sites have — the collector on another origin (a CNAME
 * such as fp.example.com) — answering CORS the most common way for a public
 * endpoint, `Access-Control-Allow-Origin: *`, which refuses any credentialed
 * request (issue 13). Scenarios 2, 3, 4, 5a, 5b and 6b run against it; the
 * others stay same-origin (the proxy-path deployment).
 */
const WILDCARD = { crossOrigin: true, cors: 'wildcard' };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Firefox hides a session's other tabs when one opens: a request in flight at
 * that hide is handed to the beacon too (README, Delivery semantics: re-send
 * case 3), so copies may come — each under its call's one event_id.
 */
const hidesOtherTabs = (run) => run.engine.name === 'firefox';

/**
 * The calls' `i`, ordered by `created_at` (ties, calls in the same ms, by `i`):
 * equal to 0…n-1 when the clock order matches the call order. Requests in
 * flight together may land in any order, so arrival order is not checked.
 */
const inCallOrder = (events) =>
  events
    .slice()
    .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.properties.i - b.properties.i)
    .map((event) => event.properties.i);

forEachEngine((run) => {
  describe('durability', () => durability(run));
  describe('engine bugs', () => engineBugs(run));
});

/** The durability scenarios, for one engine, in groups. @param {import('./scenario.mjs').Run} run */
function durability(run) {
  pageLife(run);
  leaving(run);
  collectorFailures(run);
  tabsAndStorage(run);
  identity(run);
}

/** Scenarios 1–3: the snippet, a burst, offline. @param {import('./scenario.mjs').Run} run */
function pageLife(run) {
  it('1. snippet: calls before and after load are delivered in order, with their page context', { timeout: 60_000 }, async () => {
    await scenario(run, '1 snippet (before/after load)', 4, { title: 'Scenario One' }, async ({ site, session, browser, errors, collector }) => {
      collector.setScriptDelay(1500); // the calls below happen before the script arrives
      const page = await session.newPage();
      const first = site.url('/one?utm_source=newsletter&utm_medium=email');
      // A search engine's referrer where the engine can send the header; else
      // the page is reached by a link from another page of the site (engine.mjs).
      const referrer = browser.setsReferer ? 'https://search.example/' : site.url('/away?from=search');
      await page.goto(first, { waitUntil: 'domcontentloaded', referer: referrer });

      const before = await page.evaluate(() => {
        const stub = window.firstparty;
        const state = { isStub: Array.isArray(stub), version: stub.SNIPPET_VERSION };
        stub.track('Before One', { k: 'one-1' });
        document.title = 'Second Title';
        history.pushState({}, '', '/one/next');
        stub.track('Before Two', { k: 'one-2' });
        return state;
      });
      expect(before).toEqual({ isStub: true, version: '1.0.0' });

      await scriptLoaded(page);
      // Requested once (resource timing: every engine has it, not every driver reports requests).
      const scriptRequests = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((name) => name.includes('/js/firstparty.min.js')));
      await page.evaluate(() => window.firstparty.track('After Load', { k: 'one-3' }));
      await waitFor(() => collector.events().length >= 4, { message: () => `4 events, have ${collector.events().length}` });
      await settle(collector);

      const events = stored(collector);
      expect(events.map((e) => e.name)).toEqual(['Page Viewed', 'Before One', 'Before Two', 'After Load']);
      const times = events.map((e) => Date.parse(e.created_at));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      const [pv, one, two, after] = events;
      // The page view and first call: the page as it was when they were made.
      for (const e of [pv, one]) {
        expect(e.context.page).toMatchObject({ url: first, path: '/one', title: 'Scenario One', referrer, search: '?utm_source=newsletter&utm_medium=email' });
        expect(e.context.campaign).toMatchObject({ source: 'newsletter', medium: 'email' });
      }
      expect(pv.properties).toMatchObject({ url: first, path: '/one', title: 'Scenario One' });
      // After the SPA navigation: the new URL and title, before and after load alike.
      for (const e of [two, after]) expect(e.context.page).toMatchObject({ url: site.url('/one/next'), path: '/one/next', title: 'Second Title' });
      expect(one.properties).toEqual({ k: 'one-1' });
      for (const e of events) {
        expect(e.write_key).toBe(KEY);
        expect(e.event_id).toMatch(/^EV/);
        expect(e.profile_id).toMatch(/^PR[0-9A-Za-z]{30}$/);
        expect(e.profile_id).toBe(pv.profile_id);
        expect(e.session_id).toBe(pv.session_id);
        expect(e.context.library.name).toBe('firstparty-js');
      }
      expect(scriptRequests).toEqual([`${site.collectorOrigin}/js/firstparty.min.js`]);
      expect(collector.rejected()).toEqual([]);
      expect(errors).toEqual([]);
      expectExactly(collector, 4);
    });
  });

  it('2. online burst: 1,000 track() calls all delivered, no duplicates', { timeout: 90_000 }, async () => {
    await scenario(run, '2 online burst ×1000, ACAO *', 1001, WILDCARD, async ({ site, session, errors, collector }) => {
      const page = await open(session, site.url('/burst'));
      await waitFor(() => count(collector, isPage) === 1, { message: 'the page view' });
      const pvRequests = posts(collector).length;
      const started = Date.now();
      const loopMs = await page.evaluate(() => {
        const t0 = performance.now();
        for (let i = 0; i < 1000; i++) window.firstparty.track('Burst', { k: 'burst-' + i, i });
        return performance.now() - t0;
      });
      await waitFor(() => count(collector, byPrefix('burst-')) === 1000, {
        timeout: 30_000,
        message: () => `1,000 burst events, have ${count(collector, byPrefix('burst-'))}`,
      });
      const deliveredMs = Date.now() - started;
      await settle(collector);
      const burstPosts = posts(collector).slice(pvRequests);
      console.log(
        `scenario 2: 1,000 track() took ${loopMs.toFixed(0)} ms in the page; delivered in ${deliveredMs} ms by ${burstPosts.length} requests ` +
          `(${burstPosts.map((r) => r.events).join(', ')} events; largest body ${Math.max(...burstPosts.map((r) => r.bytes))} B)`,
      );
      // A visible page sends plain requests up to maxBatchBytes (64 KiB), up to 3 at once.
      expect(burstPosts.every((r) => r.status === 200 && r.bytes <= 65536)).toBe(true);
      // In call order.
      // Requests in flight together may land in any order: order is checked by created_at.
      expect(inCallOrder(stored(collector, byPrefix('burst-')))).toEqual([...Array(1000).keys()]);
      expect(collector.rejected()).toEqual([]);
      expect(errors).toEqual([]);
      expectExactly(collector, 1001);
      return `${burstPosts.length} requests for the burst`;
    });
  });

  it('3. offline, tab closed: 100 events arrive on the next visit, with no new call (copies only under their event_id)', { timeout: 90_000 }, async () => {
    await scenario(run, '3 offline, tab closed, reopen, ACAO *', 102, WILDCARD, async ({ site, session, errors, collector }) => {
      const page = await open(session, site.url('/offline'));
      await waitFor(() => count(collector, isPage) === 1, { message: 'the page view' });
      await session.setOffline(true, collector);
      expect(await page.evaluate(() => navigator.onLine)).toBe(false);
      await trackMany(page, { name: 'Offline', prefix: 'off-', count: 100 });
      await page.close();
      // Nothing could leave while offline.
      expect(count(collector, byPrefix('off-'))).toBe(0);

      await session.setOffline(false, collector);
      const next = await open(session, site.url('/offline-again'));
      await waitFor(() => count(collector, byPrefix('off-')) === 100 && count(collector, isPage) === 2, {
        timeout: 20_000,
        message: () => `100 offline events + 2 page views, have ${count(collector, byPrefix('off-'))} + ${count(collector, isPage)}`,
      });
      await next.evaluate(() => window.firstparty.flush());
      await settle(collector);
      expect(inCallOrder(stored(collector, byPrefix('off-')))).toEqual([...Array(100).keys()]);
      expect(collector.rejected()).toEqual([]);
      expect(errors).toEqual([]);
      return expectEveryCallResent(collector, 102);
    });
  });
}

/** Scenarios 4–5: leaving the page, fast bounces. @param {import('./scenario.mjs').Run} run */
function leaving(run) {
  // Cross-origin, the collector answers CORS in each sane way (issue 13): the most
  // common for a public endpoint, `Access-Control-Allow-Origin: *`, refuses every
  // credentialed request, and so does an echoed origin without
  // `Access-Control-Allow-Credentials`: the visible-time requests and the page-hide
  // handover must go without cookies (the default `credentials: 'same-origin'`).
  const STYLES = {
    wildcard: 'answering Access-Control-Allow-Origin: *',
    echo: 'echoing the origin without Allow-Credentials',
    credentials: 'echoing the origin with Allow-Credentials: true',
  };
  for (const cors of [undefined, 'wildcard', 'echo', 'credentials']) {
    const crossOrigin = !!cors;
    const label = crossOrigin ? `cross-origin collector ${STYLES[cors]} (CORS preflight)` : 'same-origin collector';
    it(`4. unload: 20 events then immediate navigation away all arrive (a handover re-sent after the grace: copies only under their event_id) — ${label}`, { timeout: 60_000 }, async () => {
      await scenario(run, `4 unload, ${crossOrigin ? 'cross-origin, CORS ' + cors : 'same-origin'}`, 22, { crossOrigin, cors }, async ({ site, session, errors, collector }) => {
        const page = await leaveWithUnsent(session, site);
        // Back on the site: whatever the last page left queued goes out now, so a
        // re-send of the unload events would show here.
        await page.goto(site.url('/back'));
        await waitFor(() => count(collector, isPage) === 2, { message: 'the second page view' });
        await page.evaluate(() => window.firstparty.flush());
        await settle(collector);
        if (crossOrigin) {
          const preflights = collector.requests().filter((r) => r.method === 'OPTIONS');
          expect(preflights.length).toBeGreaterThan(0);
          expect(posts(collector).every((r) => r.origin === site.pageOrigin)).toBe(true);
        }
        expect(collector.rejected()).toEqual([]);
        expect(errors).toEqual([]);
        return expectEveryCallResent(collector, 22);
      });
    });
  }

  it('5a. fast bounce: navigated away before the script loads — the snippet’s keepalive fetch delivers the queued calls', { timeout: 60_000 }, async () => {
    await scenario(run, '5a fast bounce, navigated away, ACAO *', 7, WILDCARD, async ({ site, session, errors, collector }) => {
      collector.setScriptDelay(60_000); // the script never arrives while the page lives
      const page = await open(session, site.url('/bounce'), 'domcontentloaded');
      await page.evaluate(() => {
        for (let i = 0; i < 5; i++) window.firstparty.track('Bounce', { k: 'bounce-' + i, i });
      });
      expect(await page.evaluate(() => Array.isArray(window.firstparty))).toBe(true);
      // WebKit fires neither pagehide nor visibilitychange when it leaves a page
      // that is still loading, as this one is (the script is held): engine bug 3
      // (engine-bugs.mjs). Adapted: there the page hides first (a tab switch),
      // then leaves.
      if (run.engine.name === 'webkit') await setVisibility(page, 'hidden');
      await page.goto(site.url('/away'), { waitUntil: 'domcontentloaded' });
      await waitFor(() => count(collector) === 6, { message: () => `page view + 5 events from the snippet, have ${count(collector)}` });
      const beaconed = stored(collector);
      expect(beaconed.map((e) => e.name)).toEqual(['Page Viewed', 'Bounce', 'Bounce', 'Bounce', 'Bounce', 'Bounce']);
      expect(beaconed[1].context.page.url).toBe(site.url('/bounce'));

      // The next visit, with the script arriving normally, sends nothing of the bounce again.
      collector.setScriptDelay(0);
      await page.goto(site.url('/bounce-again'));
      await scriptLoaded(page);
      await waitFor(() => count(collector, isPage) === 2, { message: 'the second page view' });
      await page.evaluate(() => window.firstparty.flush());
      await settle(collector);
      expect(collector.rejected()).toEqual([]);
      expect(errors).toEqual([]);
      expectExactly(collector, 7);
    });
  });

  it('5b. fast bounce: hidden before the script loads, visible again, script arrives — every event arrives, copies only under their event_id', { timeout: 60_000 }, async () => {
    await scenario(run, '5b fast bounce, hidden then visible, ACAO *', 10, WILDCARD, async ({ site, session, errors, collector }) => {
      collector.setScriptDelay(4000);
      const page = await open(session, site.url('/hide'), 'domcontentloaded');
      await page.evaluate(() => {
        for (let i = 0; i < 5; i++) window.firstparty.track('Hidden Early', { k: 'early-' + i, i });
      });
      await setVisibility(page, 'hidden');
      await waitFor(() => count(collector) === 6, { message: () => `page view + 5 events from the snippet, have ${count(collector)}` });
      expect(await page.evaluate(() => Array.isArray(window.firstparty))).toBe(true); // still the snippet
      await setVisibility(page, 'visible');

      await scriptLoaded(page);
      await page.evaluate(() => {
        for (let i = 0; i < 3; i++) window.firstparty.track('After Script', { k: 'late-' + i, i });
      });
      await page.evaluate(() => window.firstparty.flush());
      await waitFor(() => count(collector, byPrefix('late-')) === 3, { message: 'the 3 events tracked after load' });
      // Hidden once more, now with the script in charge: the snippet must stay quiet.
      await page.evaluate(() => window.firstparty.track('Hidden Again', { k: 'again-0' }));
      await setVisibility(page, 'hidden');
      await waitFor(() => count(collector, byPrefix('again-')) === 1, { message: 'the event handed over on the second hide' });
      await setVisibility(page, 'visible');
      await page.evaluate(() => window.firstparty.flush());
      await settle(collector);
      expect(collector.rejected()).toEqual([]);
      expect(errors).toEqual([]);
      return expectEveryCallResent(collector, 10);
    });
  });
}

/** Scenarios 6a–6d: the collector failing. @param {import('./scenario.mjs').Run} run */
function collectorFailures(run) {
  /** Track 10 events into a collector failing as `fault` says; returns the POSTs of the episode. */
  async function failureEpisode({ site, session, collector }, fault, prefix, timeout = 40_000) {
    const page = await open(session, site.url('/' + prefix));
    await waitFor(() => count(collector, isPage) === 1, { message: 'the page view' });
    await settle(collector, { quietMs: 300 });
    const before = posts(collector).length;
    collector.fault(fault);
    await page.evaluate((p) => {
      for (let i = 0; i < 10; i++) window.firstparty.track('During Outage', { k: p + i, i });
    }, prefix);
    await waitFor(() => count(collector, byPrefix(prefix)) === 10, {
      timeout,
      message: () => `10 events through the outage, have ${count(collector, byPrefix(prefix))}; requests: ${JSON.stringify(posts(collector).slice(before).map((r) => [r.status, r.fault, r.ms]))}`,
    });
    await page.evaluate(() => window.firstparty.flush());
    await settle(collector);
    return { page, episode: posts(collector).slice(before) };
  }

  const gaps = (episode) => episode.slice(1).map((r, i) => r.ms - episode[i].ms);

  // Mostly waiting (backoff, Retry-After, the 30 s request timeout): run side by
  // side, each with its own site and session, the wait is the longest one's.
  describe.concurrent('collector failures', () => {
    it('6a. collector failures: 503 ×3 without Retry-After — exponential backoff, then everything once', { timeout: 90_000 }, async () => {
      await scenario(run, '6a 503 ×3', 11, {}, async (env) => {
        const { episode } = await failureEpisode(env, { mode: '503', count: 3 }, 'f503-');
        expect(episode.map((r) => r.status)).toEqual([503, 503, 503, 200]);
        const g = gaps(episode);
        console.log(`scenario 6a: gaps between attempts ${g.join(', ')} ms`);
        // backoff(n) = 1 s × 2^n × [0.5, 1.5): at least 500, 1000, 2000 ms (less a little timer slack).
        g.forEach((gap, n) => expect(gap).toBeGreaterThanOrEqual(1000 * 2 ** n * 0.5 - 50));
        expect(env.errors).toEqual([]);
        expectExactly(env.collector, 11);
        return `gaps ${g.join('/')} ms`;
      });
    });

    it('6b. collector failures: 503 ×3 with Retry-After: 2, cross-origin, ACAO * — the header is honoured', { timeout: 90_000 }, async () => {
      await scenario(run, '6b 503 ×3 + Retry-After 2, ACAO *', 11, { crossOrigin: true, cors: 'wildcard' }, async (env) => {
        const { episode } = await failureEpisode(env, { mode: '503', count: 3, retryAfter: 2 }, 'fra-');
        expect(episode.map((r) => r.status)).toEqual([503, 503, 503, 200]);
        const g = gaps(episode);
        console.log(`scenario 6b: gaps between attempts ${g.join(', ')} ms`);
        // Never sooner than Retry-After (2 s), which the script reads cross-origin too.
        g.forEach((gap) => expect(gap).toBeGreaterThanOrEqual(2000 - 50));
        expect(env.errors).toEqual([]);
        expectExactly(env.collector, 11);
        return `gaps ${g.join('/')} ms`;
      });
    });

    it('6c. collector failures: a hung request — the events still arrive, once', { timeout: 90_000 }, async () => {
      await scenario(run, '6c hung request', 11, {}, async (env) => {
        // The collector never answers the first request (the connection stays open).
        // The page must give up on it in bounded time and retry: a fetch that never
        // settles would otherwise stall this page's queue (and, holding the flush
        // lock, every tab of the origin) for as long as the page lives.
        const { episode } = await failureEpisode(env, { mode: 'hang', count: 1 }, 'hang-');
        expect(episode[0].fault).toBe('hang');
        expect(env.errors).toEqual([]);
        expectExactly(env.collector, 11);
        return `retried after ${episode.length > 1 ? episode[1].ms - episode[0].ms : '?'} ms`;
      });
    });

    it('6d. collector failures: a dropped connection — retried, everything once', { timeout: 90_000 }, async () => {
      await scenario(run, '6d dropped connection', 11, {}, async (env) => {
        const { episode } = await failureEpisode(env, { mode: 'drop', count: 1 }, 'drop-');
        expect(episode[0].fault).toBe('drop');
        expect(episode[episode.length - 1].status).toBe(200);
        expect(env.errors).toEqual([]);
        expectExactly(env.collector, 11);
        return `${episode.length} attempts`;
      });
    });
  });
}

/** Scenarios 7–8: several tabs, storage refused. @param {import('./scenario.mjs').Run} run */
function tabsAndStorage(run) {
  it('7a. several tabs: 3 tabs offline, 100 events each, back online — 300 distinct, no duplicates', { timeout: 90_000 }, async () => {
    await scenario(run, '7a 3 tabs offline ×100', 303, {}, async ({ site, session, errors, collector }) => {
      const tabs = [];
      for (let t = 0; t < 3; t++) tabs.push(await open(session, site.url('/tab' + t)));
      await waitFor(() => count(collector, isPage) === 3, { message: '3 page views' });
      await settle(collector, { quietMs: 300 });
      await session.setOffline(true, collector);
      await Promise.all(tabs.map((tab, t) => trackMany(tab, { name: 'Tab Event', prefix: `tab${t}-`, count: 100 })));
      expect(count(collector, (e) => e.name === 'Tab Event')).toBe(0);
      await session.setOffline(false, collector);
      await waitFor(() => count(collector, (e) => e.name === 'Tab Event') === 300, {
        timeout: 20_000,
        message: () => `300 tab events, have ${count(collector, (e) => e.name === 'Tab Event')}`,
      });
      await Promise.all(tabs.map((tab) => tab.evaluate(() => window.firstparty.flush())));
      await settle(collector);
      for (let t = 0; t < 3; t++) expect(count(collector, byPrefix(`tab${t}-`))).toBe(100);
      expect(errors).toEqual([]);
      if (hidesOtherTabs(run)) return void expectEveryCallById(collector, 303);
      expectExactly(collector, 303);
    });
  });

  it('7b. several tabs: a tab closed in the middle of its flush — another tab delivers its events, once', { timeout: 90_000 }, async () => {
    await scenario(run, '7b tab closed mid-flush', 29, {}, async ({ site, session, errors, collector }) => {
      const other = await open(session, site.url('/other'));
      const closing = await open(session, site.url('/closing'));
      await waitFor(() => count(collector, isPage) === 2, { message: '2 page views' });
      await settle(collector, { quietMs: 300 });
      collector.fault({ mode: 'hang', count: 1 });
      await trackMany(closing, { name: 'Mid Flush', prefix: 'mid-', count: 20 });
      await waitFor(() => collector.requests().some((r) => r.fault === 'hang'), { message: 'the flush to hang' });
      // Tracked while the flush hangs: not in that request, so handed over as the tab closes.
      await trackMany(closing, { name: 'Mid Flush', prefix: 'mid-', count: 5, start: 20 });
      // The other tab has something to send too, and keeps trying while the closing tab holds the flush.
      await other.evaluate(() => window.firstparty.track('Other Tab', { k: 'other-0' }));
      await closing.close();
      await waitFor(() => count(collector, byPrefix('mid-')) === 25 && count(collector, byPrefix('other-')) === 1, {
        timeout: 30_000,
        message: () => `25 events of the closed tab + 1, have ${count(collector, byPrefix('mid-'))} + ${count(collector, byPrefix('other-'))}`,
      });
      // A page of the origin loaded later sends anything still queued: a re-send would show.
      const later = await open(session, site.url('/later'));
      await waitFor(() => count(collector, isPage) === 3, { message: 'the third page view' });
      await later.evaluate(() => window.firstparty.flush());
      await settle(collector);
      expect(errors).toEqual([]);
      // The 20 in the hung request come from the other tab once the closed tab's handover grace is
      // over, and so do the 5 handed over as it closed, whose answer no page read (re-send case 1);
      // in Firefox the other tab is hidden as this one opens, too (re-send case 3). None may be
      // lost, and every copy carries its call's one event_id.
      expectEveryCallById(collector, 29);
      const { duplicates } = tally(collector);
      return duplicates ? duplicates + ' copies (same event_id): re-send case 1' : '';
    });
  });

  const refusals = {
    // The browser's own setting: CDP in Chromium, a Firefox launched with
    // cookieBehavior 2, MiniBrowser's --cookies-policy=never.
    'cookies disabled': { cookiesOff: true },
    'cookies throwing': {
      init: () => {
        const refuse = () => {
          throw new DOMException('The document is sandboxed and lacks the allow-same-origin flag.', 'SecurityError');
        };
        Object.defineProperty(Document.prototype, 'cookie', { configurable: true, get: refuse, set: refuse });
      },
    },
    'indexedDB missing': {
      init: () => {
        Object.defineProperty(window, 'indexedDB', { configurable: true, value: undefined });
      },
    },
    'indexedDB.open() throwing': {
      init: () => {
        IDBFactory.prototype.open = function () {
          throw new DOMException('The user denied permission to access the database.', 'UnknownError');
        };
      },
    },
    'localStorage throwing': {
      init: () => {
        Object.defineProperty(window, 'localStorage', {
          configurable: true,
          get() {
            throw new DOMException('Access is denied for this document.', 'SecurityError');
          },
        });
      },
    },
    'all refused (memory only)': {
      init: () => {
        const refuse = () => {
          throw new DOMException('Access is denied for this document.', 'SecurityError');
        };
        Object.defineProperty(Document.prototype, 'cookie', { configurable: true, get: refuse, set: refuse });
        Object.defineProperty(window, 'localStorage', { configurable: true, get: refuse });
        Object.defineProperty(window, 'indexedDB', { configurable: true, value: undefined });
      },
    },
  };

  for (const [label, { init, cookiesOff }] of Object.entries(refusals)) {
    it(`8. storage refused (${label}): events still delivered, nothing thrown into the page`, { timeout: 60_000 }, async () => {
      await scenario(run, `8 storage: ${label}`, 11, { session: { cookies: !cookiesOff } }, async ({ site, session, errors, collector }) => {
        // The refusal runs first in <head>, before the snippet: what an init
        // script does, in every engine (classic WebDriver has no init scripts).
        if (init) site.setPage('/refused', { head: `<script>(${init})()</script>` });
        const page = await open(session, site.url('/refused'));
        await scriptLoaded(page);
        if (cookiesOff || label.startsWith('cookies') || label.startsWith('all')) {
          expect(await page.evaluate(() => { try { document.cookie = 'probe=1'; return document.cookie.includes('probe'); } catch { return false; } })).toBe(false);
        }
        await page.evaluate(() => {
          for (let i = 0; i < 10; i++) window.firstparty.track('Refused Storage', { k: 'ref-' + i, i });
        });
        await waitFor(() => count(collector, byPrefix('ref-')) === 10 && count(collector, isPage) === 1, {
          timeout: 30_000,
          message: () => `10 events + 1 page view, have ${count(collector, byPrefix('ref-'))} + ${count(collector, isPage)}`,
        });
        await page.evaluate(() => window.firstparty.flush());
        await settle(collector);
        const events = stored(collector);
        expect(new Set(events.map((e) => e.profile_id)).size).toBe(1);
        expect(events[0].profile_id).toMatch(/^PR[0-9A-Za-z]{30}$/);
        expect(collector.rejected()).toEqual([]);
        expect(errors).toEqual([]);
        expectExactly(collector, 11);
      });
    });
  }
}

/** Scenarios 9–10: sessions and identity, SPA page views. @param {import('./scenario.mjs').Run} run */
function identity(run) {
  it('9. sessions and identity: profile survives reload and a new tab; the session rolls after the timeout; reset() gives new IDs', { timeout: 90_000 }, async () => {
    await scenario(run, '9 sessions & identity', 10, {}, async ({ site, session, browser, errors, collector }) => {
      const ids = (page) => page.evaluate(() => ({ profile: window.firstparty.getProfileId(), session: window.firstparty.getSessionId() }));
      const page = await open(session, site.url('/id-1'));
      await scriptLoaded(page);
      const first = await ids(page);
      expect(first.profile).toMatch(/^PR[0-9A-Za-z]{30}$/);
      expect(first.session).toMatch(/^SE[0-9A-Za-z]{20}$/);
      // This scenario is about IDs, not unload: let each page finish its flush
      // before navigating. (Navigating while a keepalive fetch is in flight is
      // the documented at-least-once case: the next page may send those events
      // again, and the collector drops them by event_id. Seen once in CI load.)
      const settled = (p) => p.evaluate(() => window.firstparty.flush());

      await settled(page);
      await page.goto(site.url('/id-2'));
      await scriptLoaded(page);
      expect(await ids(page)).toEqual(first);
      const tab = await open(session, site.url('/id-3'));
      await scriptLoaded(tab);
      expect(await ids(tab)).toEqual(first);
      await waitFor(() => count(collector, isPage) === 3, { message: '3 page views' });
      for (const e of stored(collector, isPage)) expect([e.profile_id, e.session_id]).toEqual([first.profile, first.session]);

      // reset(): new profile and session, kept by the next page.
      const afterReset = await tab.evaluate(() => {
        window.firstparty.reset();
        window.firstparty.track('After Reset', { k: 'reset-0' });
        return { profile: window.firstparty.getProfileId(), session: window.firstparty.getSessionId() };
      });
      expect(afterReset.profile).toMatch(/^PR[0-9A-Za-z]{30}$/);
      expect(afterReset.profile).not.toBe(first.profile);
      expect(afterReset.session).not.toBe(first.session);
      await waitFor(() => count(collector, byPrefix('reset-')) === 1, { message: 'the event after reset()' });
      const [resetEvent] = stored(collector, byPrefix('reset-'));
      expect([resetEvent.profile_id, resetEvent.session_id]).toEqual([afterReset.profile, afterReset.session]);
      await settled(tab);
      await tab.goto(site.url('/id-4'));
      await scriptLoaded(tab);
      expect(await ids(tab)).toEqual(afterReset);
      await waitFor(() => count(collector, isPage) === 4, { message: '4 page views' });

      // A short sessionTimeout (2 s): activity within it keeps the session, a pause longer than it rolls it.
      site.setPage('/short', { options: { sessionTimeout: 2000 } });
      // A second fresh profile (its page errors reach `errors` through this session, or the site's hook).
      const short = await browser.newSession();
      short.errors = errors;
      try {
        const p = await open(short, site.url('/short'));
        await scriptLoaded(p);
        await p.evaluate(() => window.firstparty.track('Session', { k: 'sess-0' }));
        await sleep(500);
        await p.evaluate(() => window.firstparty.track('Session', { k: 'sess-1' }));
        await sleep(2600); // longer than sessionTimeout without activity
        await p.evaluate(() => window.firstparty.track('Session', { k: 'sess-2' }));
        await p.evaluate(() => window.firstparty.track('Session', { k: 'sess-3' }));
        await waitFor(() => count(collector, byPrefix('sess-')) === 4 && count(collector, isPage) === 5, { message: '4 session events + 5 page views' });
        const s = Object.fromEntries(stored(collector, byPrefix('sess-')).map((e) => [e.properties.k, e]));
        expect(s['sess-1'].session_id).toBe(s['sess-0'].session_id);
        expect(s['sess-2'].session_id).not.toBe(s['sess-1'].session_id);
        expect(s['sess-3'].session_id).toBe(s['sess-2'].session_id);
        for (const k of ['sess-1', 'sess-2', 'sess-3']) expect(s[k].profile_id).toBe(s['sess-0'].profile_id);
        await settle(collector);
      } finally {
        await short.close();
      }
      expect(errors).toEqual([]);
      expectExactly(collector, 10);
    });
  });

  it("10. SPA: pageviews: 'history' sends exactly one Page Viewed per path change", { timeout: 60_000 }, async () => {
    await scenario(run, "10 SPA pageviews: 'history'", 5, { options: { pageviews: 'history' } }, async ({ site, session, errors, collector }) => {
      const page = await open(session, site.url('/'));
      await scriptLoaded(page);
      await page.evaluate(async () => {
        history.pushState({}, '', '/spa/a'); // path change: 1
        history.pushState({}, '', '/spa/a?tab=2'); // query only
        history.replaceState({}, '', '/spa/a?tab=3'); // same path
        history.pushState({}, '', '/spa/a?tab=3#frag'); // hash only
        history.pushState({}, '', '/spa/b'); // path change: 2
        history.replaceState({}, '', '/spa/c'); // path change: 3
        await new Promise((resolve) => {
          addEventListener('popstate', resolve, { once: true });
          history.back(); // back to /spa/a?tab=3#frag: path change 4
        });
        await new Promise((resolve) => {
          addEventListener('popstate', resolve, { once: true });
          location.hash = 'other'; // fragment navigation: popstate, same path
        });
      });
      await waitFor(() => count(collector, isPage) >= 5, { message: () => `5 page views, have ${count(collector, isPage)}` });
      await page.evaluate(() => window.firstparty.flush());
      await settle(collector);
      const views = stored(collector, isPage);
      expect(views.map((e) => e.properties.path)).toEqual(['/', '/spa/a', '/spa/b', '/spa/c', '/spa/a']);
      expect(views.map((e) => e.context.page.path)).toEqual(['/', '/spa/a', '/spa/b', '/spa/c', '/spa/a']);
      expect(errors).toEqual([]);
      expectExactly(collector, 5);
    });
  });
}
