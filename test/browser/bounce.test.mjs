// @vitest-environment node
// The snippet's fast-bounce events in real headless Chromium, against the demo
// collector (issues 11 and 15): each carries its own event_id, and the
// profile_id the script sends for the same visitor, decoded from the fpid
// cookie as the script reads it. What happy-dom cannot show: a real
// sendBeacon on navigation, a real cookie jar, crypto.randomUUID in a secure
// context (http://127.0.0.1 is one).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium.mjs';
import { byPrefix, scriptLoaded, settle, snippetText, startSite, stored, tally, waitFor } from './helpers.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** An ID as identify() stores it for an Auth0 user: `|` is written as %7C. */
const PROFILE = 'auth0|5f7c8ec7c33c6c004bbafe82';

/** @type {import('playwright-core').Browser} */
let browser;

beforeAll(async () => {
  snippetText(); // fails early, with a clear message, when dist/ is not built
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

/** A fresh site and browser profile; the page's uncaught errors are collected. */
async function withSite(fn) {
  const site = await startSite();
  const context = await browser.newContext();
  const errors = [];
  context.on('page', (page) => page.on('pageerror', (error) => errors.push(error.message)));
  try {
    await fn({ site, context, collector: site.collector });
    expect(errors).toEqual([]);
  } finally {
    await context.close().catch(() => {});
    await site.close();
  }
}

/** Opens a tracked page whose script never arrives, tracks 3 events, navigates away. */
async function bounce({ site, context, collector }, prefix) {
  collector.setScriptDelay(60_000);
  const page = await context.newPage();
  await page.goto(site.url('/bounce'), { waitUntil: 'domcontentloaded' });
  await page.evaluate((p) => {
    for (let i = 0; i < 3; i++) window.firstparty.track('Bounce', { k: p + i });
  }, prefix);
  await page.goto(site.url('/away'), { waitUntil: 'domcontentloaded' });
  await waitFor(() => stored(collector, byPrefix(prefix)).length === 3, { message: 'the 3 events beaconed by the snippet' });
  return page;
}

describe('the snippet’s fast-bounce events in Chromium', () => {
  it('carry one UUID event_id each, and the decoded profile_id the script then sends', { timeout: 60_000 }, async () => {
    await withSite(async (env) => {
      const { site, context, collector } = env;
      await context.addCookies([{ name: 'fpid', value: encodeURIComponent(PROFILE), url: site.url('/') }]);
      const page = await bounce(env, 'bounce-');
      const bounced = stored(collector, byPrefix('bounce-'));
      const ids = bounced.map((e) => e.event_id);
      for (const id of ids) expect(id).toMatch(UUID);
      expect(new Set(ids).size).toBe(3);
      expect(bounced.map((e) => e.profile_id)).toEqual([PROFILE, PROFILE, PROFILE]);

      // The next page, with the script arriving: the same profile, nothing of the bounce again.
      collector.setScriptDelay(0);
      await page.goto(site.url('/next'));
      await scriptLoaded(page);
      await page.evaluate(() => window.firstparty.track('After', { k: 'after-0' }));
      await page.evaluate(() => window.firstparty.flush());
      await waitFor(() => stored(collector, byPrefix('after-')).length === 1, { message: 'the event the script sent' });
      await settle(collector);
      expect(stored(collector, byPrefix('after-'))[0].profile_id).toBe(PROFILE);
      expect(await page.evaluate(() => window.firstparty.getProfileId())).toBe(PROFILE);
      expect(tally(collector, byPrefix('bounce-'))).toMatchObject({ received: 3, duplicates: 0 });
    });
  });

  it('on a first visit (no fpid cookie) send no profile_id: the collector assigns one', { timeout: 60_000 }, async () => {
    await withSite(async (env) => {
      await bounce(env, 'first-');
      const bounced = stored(env.collector, byPrefix('first-'));
      for (const event of bounced) expect(event).not.toHaveProperty('profile_id');
      const assigned = env.collector.events().filter((r) => r.event.properties?.k?.startsWith('first-')).map((r) => r.assigned.profile_id);
      expect(assigned).toEqual([assigned[0], assigned[0], assigned[0]]);
      expect(assigned[0]).toMatch(/^PR/);
    });
  });
});
