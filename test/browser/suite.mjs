// Shared by the browser suites' test files: the browser, a browser context
// that records the pages' uncaught errors, opening a page, and the summary
// table a suite prints when it ends. Not a test file (no .test.).
// durability.test.mjs drives every engine through scenario.mjs instead.
import { afterAll, beforeAll } from 'vitest';
import { launchChromium } from './chromium.mjs';
import { snippetText } from './helpers.mjs';

/**
 * Headless Chromium for a suite, once the build is known to be there: a
 * missing dist/ fails here, with a clear message, not in every test.
 */
export function startBrowser() {
  snippetText();
  return launchChromium();
}

/**
 * A fresh browser profile (cookies, storage, IndexedDB) whose pages record
 * uncaught errors in `errors`, as `url: message`.
 * @param {import('playwright-core').Browser} browser
 * @param {import('playwright-core').BrowserContextOptions} [options]
 */
export async function newContext(browser, options = {}) {
  const context = await browser.newContext(options);
  const errors = [];
  context.on('page', (page) => page.on('pageerror', (error) => errors.push(`${page.url()}: ${error.message}`)));
  return { context, errors };
}

/** A new page of `context` at `url`; `waitUntil: 'domcontentloaded'` does not wait for a held script. */
export async function open(context, url, waitUntil = 'load') {
  const page = await context.newPage();
  await page.goto(url, { waitUntil });
  return page;
}

/**
 * Prints `title`, any `legend` lines, then `rows` (objects) as a Markdown
 * table with the columns `header` names, padded to line up.
 * @param {{title: string, legend?: string[], header: string[], rows: object[]}} table
 */
export function printTable({ title, legend = [], header, rows }) {
  const cells = [header, ...rows.map((row) => header.map((name) => String(row[name])))];
  const widths = header.map((_, i) => Math.max(...cells.map((line) => line[i].length)));
  const line = (values) => '| ' + values.map((value, i) => value.padEnd(widths[i])).join(' | ') + ' |';
  console.log([title, ...legend, line(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...cells.slice(1).map(line)].join('\n'));
}

/**
 * One Chromium for a test file, launched before its first test and closed
 * after its last, when the file's results table (`rows`, filled by its
 * cases) is printed under `title`, with the browser version and duration.
 * `browser()` is the running browser.
 * @param {{title: string, legend?: string[], header: string[]}} table
 */
export function chromiumSuite({ title, legend, header }) {
  /** @type {import('playwright-core').Browser | undefined} */
  let browser;
  const rows = [];
  const start = Date.now();
  beforeAll(async () => {
    browser = await startBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    printTable({ title: `${title} (Chromium ${browser?.version() ?? '?'}), ${((Date.now() - start) / 1000).toFixed(1)} s`, legend, header, rows });
  });
  return { browser: () => browser, rows };
}
