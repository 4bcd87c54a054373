// What a low-end phone pays (issue 23): the longest main-thread task a
// tracker causes with the CPU slowed 6× (Chromium's
// Emulation.setCPUThrottlingRate, as Lighthouse's "mobile" preset does with
// 4×; 6× is a low-end Android phone), per scenario, from the page's longtask
// observer (tasks of 50 ms and more; "none" below that):
//   first visit  script insertion → ready, and the 3 s after (the first
//                batch, the store's first writes): every long task then;
//   1k burst     1,000 track() calls in one loop, then delivery: the longest
//                task after the loop's own (the tracker's deferred work),
//                until the collector has all 1,000 (or 30 s);
//   10k/s        10,000 track() calls within a second (ours only: the peers'
//                own bench rows already show them stalling at 1×);
//   offline 50k  ours only, at 1× as the issue sets it: 50,000 events tracked
//                offline (maxQueueBytes raised to 64 MiB so none is capped),
//                then online: the longest task until all are delivered.

import { newPage, trackLoop, warmConnection } from './browser.mjs';
import { WRITE_KEY } from './peers.mjs';

/** The CPU slowdown of the throttled runs. */
export const THROTTLE = 6;

/** Longest of the page's long tasks (ms) that end after `from` and start before `to` (and not before `after`); 0: none ≥ 50 ms. */
const longest = (page, from, to = Infinity, after = -Infinity) =>
  page.evaluate(([from, to, after]) => window.__longtasks.filter(([t, d]) => t + d > from && t < to && t >= after).reduce((m, [, d]) => Math.max(m, d), 0), [from, to, after]);

/**
 * The tracker's page in a phone-sized first visit (newPage(): non-loopback requests go to
 * `blocked`), the connection warmed, the CPU slowed `rate`×.
 */
async function openPage(env, site, peer, server, rate, blocked) {
  const { context, page, cdp } = await newPage(env, blocked, { width: 412, height: 915 });
  await page.goto(`${site.origin}/p/${peer.id}.html`);
  await page.evaluate(warmConnection, { origin: server.origin });
  if (rate > 1) await cdp.send('Emulation.setCPUThrottlingRate', { rate });
  return { context, page };
}

/**
 * One throttled page load of `peer`: its first visit, then 1,000 track() and
 * their delivery. Resolves with the longest task of each (ms; 0: none ≥ 50 ms).
 */
export async function measureThrottledLoad(env, site, peer, server, run, blocked) {
  const { context, page } = await openPage(env, site, peer, server, THROTTLE, blocked);
  const out = {};
  try {
    const from = await page.evaluate(() => performance.now());
    await page.evaluate(peer.init, { origin: server.origin, key: WRITE_KEY });
    await page.waitForTimeout(3000);
    const settled = await page.evaluate(() => performance.now());
    out.firstVisit = await longest(page, from, settled);
    const loop = await page.evaluate(trackLoop, { n: 1000, run, name: 'Bench Event' });
    const [loopStart, loopEnd] = await page.evaluate((walls) => walls.map((wall) => wall - performance.timeOrigin), [loop.startWall, loop.endWall]);
    if (peer.delivers !== false) out.delivered = (await server.waitFor(run, 1000, 30_000, 15_000)) ? 1000 : server.stats(run).ids.size;
    else await page.waitForTimeout(2000);
    // The loop's own task: the page's 1,000 calls, and the microtasks they queued (ours: the express
    // send at the end of the recording task); what starts after it is the tracker's alone.
    out.loopTask = await longest(page, loopEnd, loopStart);
    out.burst = await longest(page, loopEnd, Infinity, loopEnd);
  } catch (error) {
    out.error = String(error.message || error);
  } finally {
    await context.close().catch(() => {});
  }
  return out;
}

/** 10,000 track() calls within one second, throttled: the longest task (ours). */
export async function measureThrottledBurst(env, site, peer, server, run, trackBurst, blocked) {
  const { context, page } = await openPage(env, site, peer, server, THROTTLE, blocked);
  try {
    await page.evaluate(peer.init, { origin: server.origin, key: WRITE_KEY });
    await page.waitForTimeout(3000);
    const burst = await page.evaluate(trackBurst, { total: 10_000, ticks: 100, run, name: 'Bench Event', deadline: 60_000 });
    const at = await server.waitFor(run, burst.tracked, 120_000, 15_000);
    return { tracked: burst.tracked, delivered: at ? burst.tracked : server.stats(run).ids.size, longest: await longest(page, burst.start) };
  } catch (error) {
    return { error: String(error.message || error) };
  } finally {
    await context.close().catch(() => {});
  }
}

/**
 * Ours, loaded with room for a big queue (`maxQueueBytes` 64 MiB), then `n`
 * events tracked offline, 1,000 a task (bench/profile.mjs `offline` too).
 */
export async function queueOffline(page, context, server, run, n) {
  await page.evaluate(({ origin, key }) => new Promise((resolve) => {
    window.firstparty.load(key, origin, { maxQueueBytes: 64 * 1024 * 1024 });
    window.firstparty.ready(resolve);
  }), { origin: server.origin, key: WRITE_KEY });
  await page.waitForTimeout(1000);
  await context.setOffline(true);
  await page.evaluate(({ n, run }) => new Promise((resolve) => {
    let i = 0;
    const step = () => {
      for (const end = Math.min(n, i + 1000); i < end; i++) window.firstparty.track('Bench Event', { bench_run: run, bench_i: i, plan: 'pro', price: 12.5 });
      i < n ? setTimeout(step) : resolve();
    };
    step();
  }), { n, run });
}

/**
 * Ours, unthrottled: 50,000 events tracked offline (1,000 a task), then
 * online; the longest task from going online until all 50,000 arrived.
 */
export async function measureOfflineDrain(env, site, peer, server, run, blocked, n = 50_000) {
  const { context, page } = await openPage(env, site, peer, server, 1, blocked);
  try {
    await queueOffline(page, context, server, run, n);
    await page.waitForTimeout(5000); // stored, and a failed attempt or two
    const online = await page.evaluate(() => performance.now());
    const onlineWall = Date.now();
    await context.setOffline(false);
    const at = await server.waitFor(run, n, 180_000, 30_000);
    const delivered = at ? n : server.stats(run).ids.size;
    return { n, delivered, longest: await longest(page, online), seconds: at ? (at - onlineWall) / 1000 : null };
  } catch (error) {
    return { error: String(error.message || error) };
  } finally {
    await context.close().catch(() => {});
  }
}
