// Finds and runs WebKit (WebKitGTK's MiniBrowser, Debian's webkit2gtk-driver)
// for the browser suite, driven over classic WebDriver (webdriver.mjs) by
// WebKitWebDriver, under an Xvfb display this module starts (MiniBrowser has
// no headless mode), and puts it behind the engine layer's common interface
// (engine.mjs).
//
// What classic WebDriver lacks, and how the interface makes up for it:
// - no console or error events: pages report through the in-page hook
//   (engine.mjs CONSOLE_HOOK, served by startSite with `consoleHook`);
// - no network emulation: setOffline() turns the collector's fault switch to
//   dropping every request and gives pages `navigator.onLine = false` and the
//   `offline` event (see setOffline);
// - no Referer header: goto() with `referer` loads that page (one served
//   here) and navigates from it (engine.mjs);
// - one session per driver, and a session is one fresh profile: each session
//   gets a driver (and so a MiniBrowser) of its own.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { EnginePage, EngineSession, emulateOnline } from './engine.mjs';
import { startDriver, stopOnExit, WebDriverSession } from './webdriver.mjs';

/** Where Debian (and Fedora) put MiniBrowser, per architecture and API version. */
const MINIBROWSER_DIRS = ['/usr/lib', '/usr/libexec', '/usr/lib64'];

function findMiniBrowser() {
  if (process.env.MINIBROWSER_PATH) return fs.existsSync(process.env.MINIBROWSER_PATH) ? process.env.MINIBROWSER_PATH : undefined;
  for (const root of MINIBROWSER_DIRS) {
    // /usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser, /usr/libexec/webkit2gtk-4.0/MiniBrowser, …
    const dirs = [root, ...(fs.existsSync(root) ? fs.readdirSync(root).filter((d) => d.includes('-linux-')).map((d) => path.join(root, d)) : [])];
    for (const dir of dirs) {
      if (!fs.existsSync(dir)) continue;
      for (const api of fs.readdirSync(dir).filter((d) => /^webkit(2)?gtk-[\d.]+$/.test(d)).sort().reverse()) {
        const candidate = path.join(dir, api, 'MiniBrowser');
        if (fs.existsSync(candidate)) return candidate;
      }
    }
  }
  return undefined;
}

const fromEnvOr = (name, fallback) => {
  const value = process.env[name] || fallback;
  return fs.existsSync(value) ? value : undefined;
};

/**
 * The three executables WebKit needs: `WEBKIT_DRIVER_PATH`, `MINIBROWSER_PATH`
 * and `XVFB_PATH` when set, else Debian's paths. Missing ones are named.
 */
export function findWebKit() {
  const found = {
    driver: fromEnvOr('WEBKIT_DRIVER_PATH', '/usr/bin/WebKitWebDriver'),
    browser: findMiniBrowser(),
    xvfb: fromEnvOr('XVFB_PATH', '/usr/bin/Xvfb'),
  };
  const missing = Object.entries({ driver: 'WebKitWebDriver', browser: 'MiniBrowser', xvfb: 'Xvfb' })
    .filter(([key]) => !found[key])
    .map(([, name]) => name);
  return { ...found, missing };
}

/**
 * Starts Xvfb on a display it picks itself (`-displayfd`: the first free one,
 * so parallel runs never collide) and resolves with `:N` once it accepts
 * clients. `-nolisten tcp`: the display is reachable only by local socket.
 */
export function startXvfb(executable) {
  return new Promise((resolve, reject) => {
    const child = spawn(executable, ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    let written = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-2000)));
    child.stdio[3].on('data', (chunk) => {
      written += chunk;
      if (written.includes('\n')) resolve({ display: ':' + written.trim(), stop: stopOnExit(() => child.kill('SIGKILL')) });
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`Xvfb exited (${code}) before it was ready: ${stderr.trim()}`)));
  });
}

/** A MiniBrowser window behind the common interface. */
class WebKitPage extends EnginePage {
  /** @param {WebKitSession} session @param {string} handle */
  constructor(session, handle) {
    super(session);
    this.handle = handle;
  }

  /** Runs `fn(send)` with this page's window current. */
  run(fn) {
    return this.session.webdriver.inWindow(this.handle, fn);
  }

  async navigate(url, waitUntil) {
    // The session's page load strategy is `none`: this returns at once, and
    // loaded() polls. (`eager` in a window opened by /window/new leaves the
    // next command waiting for the pageLoad timeout: WebKitGTK 2.50.)
    await this.run((send) => send('POST', '/url', { url }));
    await this.loaded(waitUntil, url);
  }

  async reload() {
    await this.run((send) => send('POST', '/refresh', {}));
    await this.loaded('load');
  }

  evaluate(fn, arg) {
    // Execute Script awaits a returned promise (W3C WebDriver).
    return this.run((send) => send('POST', '/execute/sync', { script: `return (${fn}).apply(null, arguments)`, args: arg === undefined ? [] : [arg] }));
  }

  url() {
    return this.run((send) => send('GET', '/url'));
  }

  async close() {
    this.session.pages.delete(this);
    await this.run((send) => send('DELETE', '/window'));
    this.session.webdriver.current = undefined;
  }
}

/** A WebKitWebDriver of its own with one session: one MiniBrowser, a fresh profile. */
class WebKitSession extends EngineSession {
  /** @param {{stop: () => void}} driver @param {WebDriverSession} webdriver */
  constructor(driver, webdriver) {
    super();
    this.driver = driver;
    this.webdriver = webdriver;
    /** The session's first window, never closed (see newPage). */
    this.keeper = webdriver.current;
  }

  /**
   * Pages are windows, not tabs: a background tab is `hidden` in MiniBrowser,
   * and switching between tabs to address them would hide and show pages
   * (firing visibilitychange) at every command. Windows on Xvfb all stay
   * visible, as pages do in headless Chromium. The session's first window is
   * kept open at about:blank: closing the last window would end the session
   * and lose the profile.
   */
  async newPage() {
    // Asked from the kept window: the current one may have been closed.
    const { handle } = await this.webdriver.inWindow(this.keeper, (send) => send('POST', '/window/new', { type: 'window' }));
    const page = new WebKitPage(this, handle);
    this.pages.add(page);
    return page;
  }

  /**
   * No network emulation in classic WebDriver: the collector drops every
   * request (a network error to the page, as offline gives) while pages see
   * `navigator.onLine` false and the `offline` event; back online, both are
   * undone and `online` fires. Pages loaded while "offline" see onLine true,
   * but their requests still fail.
   */
  async setOffline(offline, collector) {
    collector.fault(offline ? { mode: 'drop', count: Infinity } : { mode: 'off' });
    for (const page of this.pages) await page.evaluate(emulateOnline, offline);
  }

  async close() {
    await Promise.race([this.webdriver.delete().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 5000))]);
    this.driver.stop();
  }
}

/** WebKit behind the common interface (engine.mjs). @type {import('./engine.mjs').Engine} */
export const webkitEngine = {
  name: 'webkit',
  label: 'WebKit',
  find() {
    const { driver, missing } = findWebKit();
    return missing.length ? { missing: `no ${missing.join(', ')}` } : { found: driver };
  },
  async launch() {
    const { driver, browser, xvfb } = findWebKit();
    const display = await startXvfb(xvfb);
    const env = { ...process.env, DISPLAY: display.display };
    const engine = {
      version: '?',
      consoleEvents: false,
      realOffline: false,
      setsReferer: false,
      async newSession({ cookies = true } = {}) {
        const started = await startDriver(driver, env);
        try {
          const webdriver = await WebDriverSession.create(started.base, {
            pageLoadStrategy: 'none',
            timeouts: { script: 90_000, pageLoad: 60_000 },
            'webkitgtk:browserOptions': { binary: browser, args: ['--automation', ...(cookies ? [] : ['--cookies-policy=never'])] },
          });
          webdriver.current = await webdriver.send('GET', '/window');
          engine.version = webdriver.capabilities.browserVersion || engine.version;
          return new WebKitSession(started, webdriver);
        } catch (error) {
          started.stop();
          throw error;
        }
      },
      async close() {
        display.stop();
      },
    };
    return engine;
  },
};
