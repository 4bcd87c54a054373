// @vitest-environment node
// SPA page views in real headless Chromium (issue 15): with `pageviews:
// 'history'`, each page view carries the page the visitor saw — the title
// the app renders after the URL changed — and a route changed before the
// script arrived (an app redirecting / → /app/home at boot) is recorded
// too. What happy-dom cannot show: a real script load racing a real app boot.
// Runs the built script (`npm run build`).
import { describe, expect, it } from 'vitest';
import { isPage, scriptLoaded, settle, startSite, stored, waitFor } from './helpers.mjs';
import { chromiumSuite, newContext, open } from './suite.mjs';

const suite = chromiumSuite({ title: 'Browser SPA page views', header: ['case', 'result', 'page views'] });
const { rows } = suite;

/** Runs one case with a fresh site and browser profile, cleans both up, and adds its row. */
async function spaCase(label, spec, fn) {
  const site = await startSite();
  site.setDefault({ title: 'Loading', options: { pageviews: 'history' }, ...spec });
  const { context, errors } = await newContext(suite.browser());
  const row = { case: label, result: 'FAILED', 'page views': '' };
  rows.push(row);
  try {
    await fn({ site, context, collector: site.collector });
    const views = stored(site.collector, isPage);
    row['page views'] = views.map((e) => `${e.properties.path} "${e.properties.title}"`).join(', ');
    expect(errors).toEqual([]);
    row.result = 'ok';
  } finally {
    await context.close().catch(() => {});
    await site.close();
  }
}

describe('SPA page views (Chromium)', () => {
  it('an app that redirects / → /app/home at boot, before the script arrives: both page views, the second with the title the app rendered', { timeout: 60_000 }, async () => {
    // The app boots (and routes) at once; the script takes 1.5 s to arrive.
    const body = `<script>
      history.replaceState({}, '', '/app/home');
      setTimeout(() => (document.title = 'App Home'), 30);
    </script>`;
    await spaCase('boot redirect before the script', { body }, async ({ site, context, collector }) => {
      collector.setScriptDelay(1500);
      const page = await open(context, site.url('/'), 'domcontentloaded');
      await scriptLoaded(page);
      await waitFor(() => stored(collector, isPage).length >= 2, { message: 'two page views' });
      await settle(collector);
      const views = stored(collector, isPage);
      expect(views.map((e) => e.properties.path)).toEqual(['/', '/app/home']);
      expect(views[1].properties.title).toBe('App Home');
      expect(views[1].context.page.url).toBe(site.url('/app/home'));
    });
  });

  it('a route change after load: the page view has the title rendered after pushState, one per path change', { timeout: 60_000 }, async () => {
    await spaCase('route change, title set as the route renders', {}, async ({ site, context, collector }) => {
      const page = await open(context, site.url('/'));
      await scriptLoaded(page);
      await page.evaluate(() => {
        document.title = 'Home';
        history.pushState({}, '', '/pricing');
        // The app renders the route in the next frame, and sets the title then.
        requestAnimationFrame(() => (document.title = 'Pricing'));
      });
      await waitFor(() => stored(collector, isPage).length >= 2, { message: 'the route’s page view' });
      // A query-only change is no page view.
      await page.evaluate(() => history.replaceState({}, '', '/pricing?plan=pro'));
      await settle(collector);
      const views = stored(collector, isPage);
      expect(views.map((e) => e.properties.path)).toEqual(['/', '/pricing']);
      expect(views[1].properties.title).toBe('Pricing');
    });
  });
});
