// Finds and launches Firefox (Debian's firefox-esr) for the browser suite,
// driven by puppeteer-core over WebDriver BiDi (built into Firefox, no
// geckodriver), and puts it behind the engine layer's common interface
// (engine.mjs). puppeteer-core downloads nothing (it has no install script;
// .puppeteerrc.cjs keeps a full `puppeteer` from doing so too).
import fs from 'node:fs';
import puppeteer from 'puppeteer-core';
import { EnginePage, EngineSession } from './engine.mjs';

/** System Firefoxes tried, in order, when FIREFOX_PATH is not set. */
export const SYSTEM_FIREFOXES = ['/usr/bin/firefox-esr'];

/** The Firefox executable: `FIREFOX_PATH` if set, else a system one; undefined when none. */
export function findFirefox() {
  const fromEnv = process.env.FIREFOX_PATH;
  if (fromEnv) return fs.existsSync(fromEnv) ? fromEnv : undefined;
  return SYSTEM_FIREFOXES.find((candidate) => fs.existsSync(candidate));
}

/**
 * Preferences for a quiet, deterministic Firefox: no update checks, telemetry
 * or other traffic beyond 127.0.0.1, no first-run pages.
 */
const QUIET_PREFS = {
  'app.update.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
};

/** A headless Firefox (a puppeteer Browser); `prefs` are added to the quiet ones. */
function launchFirefox(prefs = {}) {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: findFirefox(),
    headless: true,
    extraPrefsFirefox: { ...QUIET_PREFS, ...prefs },
  });
}

/** A puppeteer page behind the common interface. */
class FirefoxPage extends EnginePage {
  /** @param {FirefoxSession} session @param {import('puppeteer-core').Page} page */
  constructor(session, page) {
    super(session);
    this.raw = page;
  }

  /** (puppeteer's `referer` option is ignored over BiDi: engine.mjs's goto navigates from the referring page.) */
  async navigate(url, waitUntil) {
    await this.raw.goto(url, { waitUntil });
  }

  async reload() {
    await this.raw.reload();
  }

  evaluate(fn, arg) {
    return this.raw.evaluate(fn, arg);
  }

  async waitForFunction(fn, arg, { timeout = 20_000 } = {}) {
    return (await this.raw.waitForFunction(fn, { timeout, polling: 50 }, arg)).jsonValue();
  }

  async url() {
    return this.raw.url();
  }

  async close() {
    this.session.pages.delete(this);
    // runBeforeUnload: close as a user does, with the page's unload steps
    // (pagehide, visibilitychange) run.
    await this.raw.close({ runBeforeUnload: true });
  }
}

/** A browser context (a Firefox user context: its own cookies and storage). */
class FirefoxSession extends EngineSession {
  /** @param {import('puppeteer-core').BrowserContext} context @param {() => Promise<void>} [dispose] */
  constructor(context, dispose = () => context.close()) {
    super();
    this.context = context;
    this.dispose = dispose;
    this.offline = false;
  }

  async newPage() {
    const raw = await this.context.newPage();
    raw.on('pageerror', (error) => this.report({ type: 'pageerror', text: error.message, url: raw.url() }));
    raw.on('console', (message) => ['warn', 'warning', 'error'].includes(message.type()) && this.report({ type: message.type() === 'error' ? 'error' : 'warn', text: message.text(), url: raw.url() }));
    if (this.offline) await raw.setOfflineMode(true);
    const page = new FirefoxPage(this, raw);
    this.pages.add(page);
    return page;
  }

  /**
   * Network emulation is per page in puppeteer: every page, and each opened
   * while offline. It does not cover a keepalive request that outlives its
   * page (it runs in the parent process): the collector drops every request
   * too, as a network that is really down would (see chromium.mjs).
   */
  async setOffline(offline, collector) {
    this.offline = offline;
    await Promise.all([...this.pages].map((page) => page.raw.setOfflineMode(offline)));
    collector?.fault(offline ? { mode: 'drop', count: Infinity } : { mode: 'off' });
  }

  async close() {
    await this.dispose();
  }
}

/** Firefox behind the common interface (engine.mjs). @type {import('./engine.mjs').Engine} */
export const firefoxEngine = {
  name: 'firefox',
  label: 'Firefox',
  find() {
    const found = findFirefox();
    if (found) return { found };
    return { missing: process.env.FIREFOX_PATH ? `FIREFOX_PATH=${process.env.FIREFOX_PATH} does not exist` : `no ${SYSTEM_FIREFOXES.join(' or ')}` };
  },
  async launch() {
    const browser = await launchFirefox();
    return {
      version: (await browser.version()).replace(/^firefox\//, ''),
      consoleEvents: true,
      realOffline: true,
      setsReferer: false,
      async newSession({ cookies = true } = {}) {
        if (cookies) return new FirefoxSession(await browser.createBrowserContext());
        // Cookie policy is browser-wide in Firefox: a browser of its own, 2 = reject all.
        const refusing = await launchFirefox({ 'network.cookie.cookieBehavior': 2 });
        return new FirefoxSession(refusing.defaultBrowserContext(), () => refusing.close());
      },
      close: () => browser.close(),
    };
  },
};
