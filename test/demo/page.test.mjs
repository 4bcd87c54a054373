// @vitest-environment node
// The demo page in real headless Chromium (what only a browser shows): the
// status bar stays in view, history.back() and a nameless track() say what
// happened, counts read "1 event", rejected items are amber with their reason,
// a faulted request's entry says what it carried, an unaccepted write key is
// announced, no /favicon.ico is requested, and /?host=proxy says it is in
// proxy mode and delivers through /fp with the collector's cookies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServer } from '../../demo/server.mjs';
import { launchChromium } from '../browser/chromium.mjs';
import { cleanupDirs, tempDir } from './helpers.mjs';

let demo;
let browser;
beforeAll(async () => {
  demo = await startDemoServer({ port: 0, secondPort: null, dataDir: tempDir() });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await demo?.close();
  cleanupDirs();
});

async function openPage(path = '/') {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const requested = [];
  const errors = [];
  page.on('request', (r) => requested.push(new URL(r.url()).pathname));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(demo.url.replace(/\/$/, '') + path);
  await page.waitForFunction(() => window.firstparty && !Array.isArray(window.firstparty) && window.firstparty._loaded === true);
  await page.waitForFunction(() => document.getElementById('stream-state').textContent.includes('connected'));
  return { context, page, requested, errors };
}

const statusText = (page) => page.locator('#status').textContent();

describe('the demo page', () => {
  it('keeps the status in view and says what each click did', { timeout: 60_000 }, async () => {
    demo.collector.clear();
    const { context, page, requested, errors } = await openPage();
    try {
      // The page view arrives: one event, not "1 events".
      await page.waitForFunction(() => document.getElementById('count-events').textContent === '1 event');

      // Scrolled to the top, the status of a control far down the page is in view.
      await page.fill('#track-props', '{"plan": ');
      await page.click('#btn-track');
      await page.evaluate(() => window.scrollTo(0, 0));
      expect(await statusText(page)).toMatch(/^Properties are not valid JSON/);
      const box = await page.locator('#status').boundingBox();
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.y + box.height).toBeLessThanOrEqual(1000);

      await page.fill('#track-props', '{}');
      await page.fill('#track-name', '   ');
      await page.click('#btn-track');
      expect(await statusText(page)).toMatch(/nothing sent: the library drops an event without a name/);

      await page.click('#btn-spa-pricing');
      await page.click('#btn-spa-back');
      await page.waitForFunction(() => document.getElementById('status').textContent === 'popstate → /');

      // A 3,000-character name: the entry's title is cut, the JSON keeps it whole.
      await page.fill('#track-name', 'N'.repeat(3000));
      await page.click('#btn-track');
      const title = await page.waitForFunction(() => [...document.querySelectorAll('#log .entry-name')].find((e) => e.textContent.startsWith('NNN'))?.textContent);
      expect((await title.jsonValue()).length).toBe(121);

      expect(requested).not.toContain('/favicon.ico');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('shows a rejected event in amber with its reason, and a faulted request with what it carried', { timeout: 60_000 }, async () => {
    demo.collector.clear();
    const { context, page, errors } = await openPage();
    try {
      await page.evaluate(() => fetch('/events/track/bulk', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ events: [{ write_key: 'YOUR_WRITE_KEY', name: 'Registration Started', event_id: 'EV-placeholder-key' }] }),
      }));
      const rejected = page.locator('#log .entry--rejected').first();
      await rejected.waitFor();
      expect(await rejected.locator('.entry-name').textContent()).toBe('unknown_write_key');
      expect(await rejected.locator('.entry-detail').textContent()).toContain('Registration Started');
      // Amber (--warn: #a15c00), not the red of failures.
      expect(await rejected.locator('.badge').evaluate((b) => getComputedStyle(b).color)).toBe('rgb(161, 92, 0)');
      expect(await page.locator('#count-rejected').textContent()).toBe('1 rejected');

      demo.collector.fault({ mode: '503', count: 1 });
      await page.evaluate(() => window.firstparty.track('Plan Selected', { plan: 'team' }));
      const faulted = page.locator('#log .entry--request').first();
      await faulted.waitFor();
      expect(await faulted.locator('.entry-detail').textContent()).toMatch(/^1 event, \d+ bytes → 503 · carried Plan Selected$/);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('says so when loaded with a write key the collector does not accept', { timeout: 60_000 }, async () => {
    const { context, page } = await openPage('/?write_key=not-a-real-key');
    try {
      const note = page.locator('#key-warning');
      await note.waitFor();
      expect(await note.textContent()).toMatch(/does not accept the write key "not-a-real-key".*"demo-write-key-01"/);
      const plain = await openPage('/');
      expect(await plain.page.locator('#key-warning').isHidden()).toBe(true);
      await plain.context.close();
    } finally {
      await context.close();
    }
  });

  it('in proxy mode (/?host=proxy) says so, and its events go through /fp, answered with the collector\'s one-year fpid', { timeout: 60_000 }, async () => {
    demo.collector.clear();
    const before = demo.proxy.log.length;
    const { context, page, errors } = await openPage('/?host=proxy');
    try {
      await page.waitForFunction(() => document.getElementById('count-events').textContent === '1 event');
      expect(await page.locator('#host-mode .only-proxy').isVisible()).toBe(true);
      expect(await page.locator('#host-mode .only-direct').isHidden()).toBe(true);
      expect(await page.locator('#host-mode').textContent()).toMatch(/Same-origin proxy:\s+load\(…, "\/fp", \{serverCookie: true\}\)/);
      const forwarded = demo.proxy.log.slice(before).map((e) => [e.method, e.path, e.status]);
      expect(forwarded).toContainEqual(['GET', '/fp/js/firstparty.min.js', 200]);
      expect(forwarded).toContainEqual(['POST', '/fp/events/track/bulk', 200]);
      const fpid = (await context.cookies(demo.url)).find((c) => c.name === 'fpid');
      expect(fpid.value).toBe(demo.collector.events()[0].event.profile_id);
      expect(fpid.expires - Date.now() / 1000).toBeGreaterThan(31_536_000 - 120);
      // The link to the other mode, and the plain page in direct mode.
      expect(await page.locator('#host-mode .only-proxy a').getAttribute('href')).toBe('?');
      const plain = await openPage('/');
      expect(await plain.page.locator('#host-mode .only-direct').isVisible()).toBe(true);
      expect(await plain.page.locator('#host-mode .only-proxy').isHidden()).toBe(true);
      await plain.context.close();
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
