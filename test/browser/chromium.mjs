// Finds and launches the Chromium the browser suite drives (playwright-core
// ships no browser), and puts it behind the engine layer's common interface
// (engine.mjs). Never downloads anything: `npx playwright install` is not
// needed, and no traffic leaves 127.0.0.1.
import fs from 'node:fs';
import { chromium } from 'playwright-core';
import { EnginePage, EngineSession } from './engine.mjs';

/** System browsers tried, in order, when CHROME_PATH is not set. */
export const SYSTEM_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** Flags for a quiet, deterministic headless Chromium on a CI machine. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * The Chromium executable: `CHROME_PATH` if set, else a system Chromium/Chrome,
 * else the one packaged in `@sparticuz/chromium` (a devDependency; it unpacks
 * itself to /tmp on first use).
 * @returns {Promise<string>}
 */
export async function findChromium() {
  const fromEnv = process.env.CHROME_PATH;
  if (fromEnv) {
    if (!fs.existsSync(fromEnv)) throw new Error(`CHROME_PATH=${fromEnv} does not exist`);
    return fromEnv;
  }
  for (const candidate of SYSTEM_CHROMIUMS) {
    if (fs.existsSync(candidate)) return candidate;
  }
  const packaged = (await import('@sparticuz/chromium')).default;
  return packaged.executablePath();
}

/**
 * A headless Chromium (a playwright-core Browser).
 * @param {import('playwright-core').LaunchOptions} [options]
 */
export async function launchChromium(options = {}) {
  const executablePath = await findChromium();
  return chromium.launch({
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    ...options,
  });
}

/** A playwright page behind the common interface. */
class ChromiumPage extends EnginePage {
  /** @param {ChromiumSession} session @param {import('playwright-core').Page} page */
  constructor(session, page) {
    super(session);
    this.raw = page;
  }

  async goto(url, { waitUntil = 'load', referer } = {}) {
    await this.raw.goto(url, { waitUntil, referer });
  }

  async reload() {
    await this.raw.reload();
  }

  evaluate(fn, arg) {
    return this.raw.evaluate(fn, arg);
  }

  waitForFunction(fn, arg, { timeout = 20_000 } = {}) {
    return this.raw.waitForFunction(fn, arg, { timeout });
  }

  async url() {
    return this.raw.url();
  }

  async close() {
    this.session.pages.delete(this);
    await this.raw.close();
  }
}

/** A browser context: its own cookies and storage. */
class ChromiumSession extends EngineSession {
  /** @param {import('playwright-core').BrowserContext} context @param {boolean} cookies */
  constructor(context, cookies) {
    super();
    this.context = context;
    this.cookies = cookies;
  }

  async newPage() {
    const raw = await this.context.newPage();
    raw.on('pageerror', (error) => this.report({ type: 'pageerror', text: error.message, url: raw.url() }));
    raw.on('console', (message) => ['warning', 'error'].includes(message.type()) && this.report({ type: message.type() === 'warning' ? 'warn' : 'error', text: message.text(), url: raw.url() }));
    // Cookies off as the browser setting does it (document.cookie reads '' and ignores writes).
    if (!this.cookies) await (await this.context.newCDPSession(raw)).send('Emulation.setDocumentCookieDisabled', { disabled: true });
    const page = new ChromiumPage(this, raw);
    this.pages.add(page);
    return page;
  }

  /**
   * Emulated offline covers the pages' requests, not a keepalive request that
   * outlives its page (it runs in the browser process, outside the page's
   * emulated network: seen in scenario 3 once the handover became a keepalive
   * fetch). So the collector drops every request too, as a network that is
   * really down would: nothing reaches it, whichever process sends.
   */
  async setOffline(offline, collector) {
    await this.context.setOffline(offline);
    collector?.fault(offline ? { mode: 'drop', count: Infinity } : { mode: 'off' });
  }

  async close() {
    await this.context.close();
  }
}

/** Chromium behind the common interface (engine.mjs). @type {import('./engine.mjs').Engine} */
export const chromiumEngine = {
  name: 'chromium',
  label: 'Chromium',
  // Always found: @sparticuz/chromium is a devDependency.
  find: () => ({ found: process.env.CHROME_PATH || SYSTEM_CHROMIUMS.find((p) => fs.existsSync(p)) || '@sparticuz/chromium' }),
  async launch() {
    const browser = await launchChromium();
    return {
      version: browser.version(),
      consoleEvents: true,
      realOffline: true,
      setsReferer: true,
      newSession: async ({ cookies = true } = {}) => new ChromiumSession(await browser.newContext(), cookies),
      close: () => browser.close(),
    };
  },
};
