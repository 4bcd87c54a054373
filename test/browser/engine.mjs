// The engine layer's common interface: what a browser scenario may do, the
// same in Chromium (playwright-core, CDP), Firefox (puppeteer-core, WebDriver
// BiDi) and WebKit (WebKitWebDriver, classic WebDriver). Each engine module
// (chromium.mjs, firefox.mjs, webkit.mjs) subclasses these; engines.mjs lists
// and finds them. Method names and arguments are playwright's, so helpers.mjs
// (setVisibility, scriptLoaded, trackMany) take any engine's page. Not a test
// file (no .test.).
import { waitFor } from './helpers.mjs';

/**
 * A page (a tab or window) of a session.
 * Subclasses implement navigate (or goto), reload, evaluate, url and close.
 */
export class EnginePage {
  /** @param {EngineSession} session */
  constructor(session) {
    this.session = session;
  }

  /**
   * Navigates and resolves at `load` (default) or `domcontentloaded`.
   * `referer`: the document.referrer the page should see. Engines that cannot
   * send the header (EngineBrowser.setsReferer false) load that page first and
   * navigate from it, as a followed link does: it must be a page served here.
   * @param {string} url @param {{waitUntil?: 'load'|'domcontentloaded', referer?: string}} [options]
   * @returns {Promise<void>}
   */
  async goto(url, { waitUntil = 'load', referer } = {}) {
    const target = new URL(url).href;
    if (!referer) return this.navigate(target, waitUntil);
    await this.navigate(referer, 'load');
    await this.evaluate((to) => void (location.href = to), target);
    await this.loaded(waitUntil, target);
  }

  /** Loads `url` and resolves at `waitUntil`. @param {string} url @param {'load'|'domcontentloaded'} waitUntil @returns {Promise<void>} */
  async navigate(url, waitUntil) {
    throw new Error(`navigate(${url}, ${waitUntil}) not implemented`);
  }

  /** Waits for `waitUntil` in the document at `target` (in any document when not given). */
  loaded(waitUntil, target = '') {
    return this.waitForFunction(
      ([want, to]) => (!to || location.href === to) && (want === 'load' ? document.readyState === 'complete' : document.readyState !== 'loading'),
      [waitUntil, target],
    );
  }

  /** Reloads and resolves at `load`. @returns {Promise<void>} */
  async reload() {
    throw new Error('reload() not implemented');
  }

  /**
   * Runs `fn(arg)` in the page and resolves with its (awaited) result, which
   * must be JSON-like; `arg` likewise.
   * @template T @param {(arg: any) => T | Promise<T>} fn @param {unknown} [arg] @returns {Promise<T>}
   */
  async evaluate(fn, arg) {
    throw new Error(`evaluate(${fn}, ${arg}) not implemented`);
  }

  /** The page's current URL. @returns {Promise<string>} */
  async url() {
    throw new Error('url() not implemented');
  }

  /** Closes the page as a user closing the tab would (`pagehide` fires). @returns {Promise<void>} */
  async close() {
    throw new Error('close() not implemented');
  }

  /**
   * Polls `fn(arg)` in the page until it returns something truthy (errors, as
   * while the page navigates, count as not yet).
   * @param {(arg: any) => unknown} fn @param {unknown} [arg] @param {{timeout?: number}} [options]
   */
  waitForFunction(fn, arg, { timeout = 20_000 } = {}) {
    return waitFor(() => this.evaluate(fn, arg), { timeout, message: `page function ${String(fn).slice(0, 80)}` });
  }

  /**
   * Resolves once the page's URL passes `test` (a predicate, or a string the URL must end with).
   * @param {string | ((url: string) => boolean)} test @param {{timeout?: number}} [options]
   */
  waitForURL(test, { timeout = 20_000 } = {}) {
    const passes = typeof test === 'function' ? test : (url) => url.endsWith(test);
    return waitFor(async () => passes(await this.url()), { timeout, message: `URL ${test}` });
  }
}

/**
 * A fresh browser profile (cookies, localStorage, IndexedDB, Web Locks) and
 * its pages. `errors` collects every uncaught error or unhandled rejection of
 * its pages, `console` every console warning and error, whether the driver
 * reports them (Chromium, Firefox) or an in-page hook does (WebKit: see
 * `consoleHook`). Subclasses implement newPage, setOffline and close.
 */
export class EngineSession {
  constructor() {
    /** @type {string[]} `url: message` of uncaught errors and unhandled rejections. */
    this.errors = [];
    /** @type {{type: string, text: string, url: string}[]} */
    this.console = [];
    /** @type {Set<EnginePage>} */
    this.pages = new Set();
  }

  /** Records what a page reported: `type` is `pageerror`, `warn` or `error`. */
  report({ type, text, url = '' }) {
    if (type === 'pageerror') this.errors.push(`${url}: ${text}`);
    else this.console.push({ type, text, url });
  }

  /** A new page (tab or window) of this session, at about:blank. @returns {Promise<EnginePage>} */
  async newPage() {
    throw new Error('newPage() not implemented');
  }

  /**
   * Takes the whole session off the network (`true`) or back on (`false`):
   * `navigator.onLine` changes and `offline`/`online` fire in every page.
   * Where the engine cannot (WebKit), the collector's fault switch stands in
   * for the network, which is why the collector is passed.
   * @param {boolean} offline @param {{fault: Function}} collector
   * @returns {Promise<void>}
   */
  async setOffline(offline, collector) {
    throw new Error(`setOffline(${offline}, ${collector}) not implemented`);
  }

  /** Closes every page and forgets the profile. @returns {Promise<void>} */
  async close() {
    throw new Error('close() not implemented');
  }
}

/**
 * What a launched engine offers: `newSession()` for each fresh profile.
 * `consoleEvents` is false where pages must report through the in-page hook
 * (startSite's `consoleHook`); `realOffline` false where setOffline() is
 * emulated; `setsReferer` false where goto's `referer` must be a page served
 * here (WebKit navigates from it instead of sending the header).
 * @typedef {object} EngineBrowser
 * @property {string} version
 * @property {boolean} consoleEvents
 * @property {boolean} realOffline
 * @property {boolean} setsReferer
 * @property {(options?: {cookies?: boolean}) => Promise<EngineSession>} newSession  `cookies: false`: the browser refuses every cookie.
 * @property {() => Promise<void>} close
 */

/**
 * One engine the suite can run: `find()` says where its executables are (or
 * what is missing) without starting anything; `launch()` starts it.
 * @typedef {object} Engine
 * @property {'chromium'|'firefox'|'webkit'} name
 * @property {string} label
 * @property {() => {found: string} | {missing: string}} find
 * @property {() => Promise<EngineBrowser>} launch
 */

/**
 * What going offline looks like to a page, for engines without network
 * emulation: `navigator.onLine` and the `offline`/`online` event. Run in the
 * page (its source is sent to the browser).
 * @param {boolean} offline
 */
export function emulateOnline(offline) {
  Object.defineProperty(navigator, 'onLine', { configurable: true, get: () => !offline });
  dispatchEvent(new Event(offline ? 'offline' : 'online'));
}
