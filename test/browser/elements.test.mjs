// @vitest-environment node
// trackLink/trackForm in real headless Chromium (issue 15, "No retained
// elements"): links an app renders, binds and removes must be collectable, and
// a bound link still records its click and navigates at once. What happy-dom
// cannot show: a real garbage collector (counted over CDP), a real click
// navigating the page. Runs the built script (`npm run build`).
import { describe, expect, it } from 'vitest';
import { deliveries, scriptLoaded, settle, startSite, waitFor } from './helpers.mjs';
import { chromiumSuite, newContext, open } from './suite.mjs';

const suite = chromiumSuite({
  title: 'Browser element binding (trackLink/trackForm)',
  header: ['case', 'result', 'note'],
});
const { rows } = suite;

/** As in the issue: 20,000 links rendered, bound and removed by a single-page app. */
const LINKS = 20_000;
/** toElements() takes at most 1,000 elements a call, so the app binds each batch of 1,000. */
const BATCH = 1_000;
/**
 * Anchors the page itself may still hold after the batches are gone: #keep,
 * plus a few the engine may keep a little longer. 0 are seen; 20,000 were
 * retained before issue 15.
 */
const PAGE_HELD = 5;
/**
 * Click to `pagehide` of the page the link leaves. Here the next page comes
 * from 127.0.0.1 in a few ms; analytics.js holds a tracked link's navigation
 * 300 ms, so anything near that would be a delay we added.
 */
const MAX_NAVIGATION_MS = 150;

/** The page of both cases: one link that stays, a shadow host, the page's own click handlers. */
const BODY = `<a id="keep" href="/away"><span id="inner">Keep</span></a><div id="host"></div>
<script>
  // The page's own handler stops the click's propagation: our capture on document still sees it.
  document.getElementById('keep').addEventListener('click', (e) => e.stopPropagation());
  // First in: capture on window, before anything on document.
  addEventListener('click', () => localStorage.setItem('clickAt', Date.now()), true);
  addEventListener('pagehide', () => localStorage.setItem('hideAt', Date.now()));
</script>`;

/** Runs one case with a fresh site and browser profile, cleans both up, and adds its row. */
async function elementCase(label, fn) {
  const site = await startSite();
  site.setDefault({ body: BODY });
  const { context, errors } = await newContext(suite.browser());
  const row = { case: label, result: 'FAILED', note: '' };
  rows.push(row);
  try {
    row.note = await fn({ site, context, collector: site.collector });
    expect(errors).toEqual([]);
    row.result = 'ok';
  } catch (error) {
    row.note = String(error?.message ?? error).split('\n')[0].slice(0, 160);
    throw error;
  } finally {
    await context.close().catch(() => {});
    await site.close();
  }
}

/**
 * Live objects whose prototype chain has `HTMLAnchorElement.prototype`, after
 * a full garbage collection, and the renderer's DOM node count.
 */
async function retained(cdp) {
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.collectGarbage');
  const { result: prototype } = await cdp.send('Runtime.evaluate', { expression: 'HTMLAnchorElement.prototype' });
  const { objects } = await cdp.send('Runtime.queryObjects', { prototypeObjectId: prototype.objectId, objectGroup: 'leak' });
  const { result } = await cdp.send('Runtime.callFunctionOn', { objectId: objects.objectId, functionDeclaration: 'function () { return this.length; }', returnByValue: true });
  await cdp.send('Runtime.releaseObjectGroup', { objectGroup: 'leak' });
  const { nodes } = await cdp.send('Memory.getDOMCounters');
  return { anchors: result.value, nodes };
}

describe('trackLink/trackForm in Chromium', () => {
  it(`keeps none of ${LINKS} links rendered, bound and removed`, { timeout: 30_000 }, async () => {
    await elementCase('20,000 links bound and removed', async ({ site, context }) => {
      const page = await open(context, site.url('/app'));
      await scriptLoaded(page);
      const cdp = await context.newCDPSession(page);
      const before = await retained(cdp);
      // One batch a task, as an app renders a list page by page: render, bind, remove.
      // Every other batch is bound before it is inserted (its root is then the list, not document).
      await page.evaluate(
        ({ total, batch }) =>
          new Promise((resolve) => {
            let done = 0;
            const next = () => {
              const list = document.createElement('div');
              let html = '';
              for (let i = done; i < done + batch; i++) html += `<a href="/item/${i}">Item ${i}</a>`;
              list.innerHTML = html;
              const early = (done / batch) % 2 == 1;
              if (early) window.firstparty.trackLink(list.querySelectorAll('a'), 'Clicked');
              document.body.appendChild(list);
              if (!early) window.firstparty.trackLink(list.querySelectorAll('a'), 'Clicked');
              list.remove();
              done += batch;
              if (done < total) setTimeout(next);
              else resolve(undefined);
            };
            next();
          }),
        { total: LINKS, batch: BATCH },
      );
      const after = await retained(cdp);
      const note = `retained anchors ${before.anchors} → ${after.anchors}, DOM nodes ${before.nodes} → ${after.nodes}`;
      console.log(note);
      expect(after.anchors).toBeLessThanOrEqual(PAGE_HELD);
      // Each link is two nodes (the anchor, its text): 40,000 were kept before issue 15.
      expect(after.nodes - before.nodes).toBeLessThanOrEqual(2 * PAGE_HELD);
      return note;
    });
  });

  it('a click on a bound link records once and navigates at once; shadow roots too', { timeout: 30_000 }, async () => {
    await elementCase('click and submit record, navigation at once', async ({ site, context, collector }) => {
      const page = await open(context, site.url('/app'));
      await scriptLoaded(page);
      await page.evaluate(() => {
        // A button in an open shadow root: a real click is composed, its path crosses the root.
        const root = document.getElementById('host').attachShadow({ mode: 'open' });
        root.innerHTML = '<button id="shadowed"><b>Shadowed</b></button>';
        window.firstparty.trackClick(root.getElementById('shadowed'), 'Clicked', { k: 'shadow' });
        // A form in a closed shadow root: its submit event never leaves the root (not composed).
        const closed = root.appendChild(document.createElement('div')).attachShadow({ mode: 'closed' });
        closed.innerHTML = '<form><input name="q"></form>';
        const form = closed.querySelector('form');
        form.addEventListener('submit', (e) => e.preventDefault()); // the page handles it itself: no navigation
        window.firstparty.trackForm(form, 'Submitted', { k: 'form' });
        form.requestSubmit();
        const keep = document.getElementById('keep');
        window.firstparty.trackLink(keep, 'Clicked', { k: 'keep' });
        // Last out: on the link, added after trackLink (the page stopped the click there).
        keep.addEventListener('click', (e) => localStorage.setItem('prevented', e.defaultPrevented));
      });
      await page.click('#host >> #shadowed b');
      // On the link's child, as a visitor clicks the link's text.
      await page.click('#inner');
      await page.waitForURL('**/away');
      const { clickAt, hideAt, prevented } = await page.evaluate(() => ({ ...localStorage }));
      const gap = Number(hideAt) - Number(clickAt);
      expect(prevented).toBe('false');
      expect(gap).toBeGreaterThanOrEqual(0);
      expect(gap).toBeLessThan(MAX_NAVIGATION_MS);
      const tracked = () => deliveries(collector).filter((event) => event.name !== 'Page Viewed');
      await waitFor(() => tracked().length >= 3, { message: 'the two Clicked events and the Submitted one' });
      await settle(collector, { quietMs: 500 });
      expect(tracked().map((event) => `${event.name} ${event.properties.k}`).sort()).toEqual(['Clicked keep', 'Clicked shadow', 'Submitted form']);
      return `click → pagehide ${gap} ms, defaultPrevented false, events: ${tracked().length}`;
    });
  });
});
