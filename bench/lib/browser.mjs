// Chromium for the bench: found as in the browser suite, launched so that
// nothing but loopback is reachable, plus the per-tracker servers and pages.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startServer } from './server.mjs';
import { REPO_ROOT } from './peers.mjs';

export const CHROME_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** CHROME_PATH, else /usr/bin/chromium, else @sparticuz/chromium from the root node_modules. */
export async function findChromium() {
  if (process.env.CHROME_PATH) return process.env.CHROME_PATH;
  if (fs.existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  const chromium = (await import('@sparticuz/chromium')).default;
  return chromium.executablePath();
}

/**
 * Launches headless Chromium whose proxy is a local sink: Chromium never
 * proxies loopback, so 127.0.0.1 is reached directly and every other request
 * goes to the sink, which refuses it (403) and notes it. Host names other than
 * localhost do not even resolve. Returns the browser, its version, a desktop
 * user agent (some trackers drop "HeadlessChrome"), and the sink's hits.
 */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  const hits = [];
  const sink = http.createServer((req, res) => {
    hits.push(req.url);
    res.writeHead(403, { 'Content-Type': 'text/plain' }).end('blocked by the bench');
  });
  sink.on('connect', (req, socket) => {
    hits.push('CONNECT ' + req.url);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const guardArgs = [`--proxy-server=http://127.0.0.1:${sink.address().port}`, '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'];
  const executablePath = await findChromium();
  const browser = await chromium.launch({ executablePath, headless: true, args: [...CHROME_ARGS, ...guardArgs] });
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const userAgent = (await page.evaluate(() => navigator.userAgent)).replace('HeadlessChrome', 'Chrome');
  await ctx.close();
  return {
    browser,
    version: `Chromium ${browser.version()}`,
    userAgent,
    args: [...CHROME_ARGS, ...guardArgs],
    sinkHits: hits,
    async close() {
      await browser.close();
      sink.closeAllConnections();
      await new Promise((resolve) => sink.close(resolve));
    },
  };
}

/** One server per tracker (its own origin), and the site serving a page per tracker. */
export async function startServers(peers) {
  const servers = {};
  for (const peer of peers) {
    const server = await startServer({ name: peer.id });
    server.configure(await peer.server({ origin: server.origin }));
    servers[peer.id] = server;
  }
  const pages = {};
  for (const peer of peers) {
    pages[`/p/${peer.id}.html`] = `<!doctype html><html><head><meta charset="utf-8"><title>bench: ${peer.id}</title>${peer.headHtml || ''}</head><body><h1>${peer.label}</h1></body></html>`;
  }
  const site = await startServer({ name: 'site', pages });
  return {
    servers,
    site,
    async close() {
      await site.close();
      for (const s of Object.values(servers)) await s.close();
    },
  };
}

/** A collector for ours: demo/collector.mjs, storing into a temporary directory, serving the scripts from `distDir`. */
export async function startDemoCollector(dataDir, writeKey, distDir = path.join(REPO_ROOT, 'dist')) {
  const { createCollector } = await import(path.join(REPO_ROOT, 'demo/collector.mjs'));
  return createCollector({ dataDir, writeKeys: [writeKey], distDir });
}

/**
 * Copies the built scripts into `dir`, so that a rebuild during the run does
 * not change what is measured halfway through.
 */
export function snapshotDist(dir) {
  fs.mkdirSync(dir, { recursive: true });
  for (const file of ['firstparty.min.js', 'firstparty.min.js.map', 'snippet.min.js', 'snippet.min.js.map']) {
    const from = path.join(REPO_ROOT, 'dist', file);
    if (fs.existsSync(from)) fs.copyFileSync(from, path.join(dir, file));
  }
  return dir;
}

/** Installed before any page script: collects long tasks from the start. */
export const LONGTASK_OBSERVER = `(() => {
  window.__longtasks = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longtasks.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) {}
})();`;

/** BENCH_ROUTE=1: also abort non-loopback requests with a playwright route (see newPage()). */
export const USE_ROUTE = process.env.BENCH_ROUTE === '1';

/**
 * A fresh context (a first visit: empty storage) and page with the longtask
 * observer and CDP's Performance domain on; every non-loopback request it
 * tries is pushed to `blocked`.
 */
export async function newPage(env, blocked, viewport = { width: 1280, height: 800 }) {
  const context = await env.browser.newContext({ userAgent: env.userAgent, viewport });
  // Nothing may leave loopback. The browser itself sends everything but
  // loopback to the sink proxy (launchBrowser()); BENCH_ROUTE=1 also aborts such
  // requests in playwright (it intercepts every request, loopback too, which
  // slows trackers that send one request per event).
  if (USE_ROUTE) await context.route(
    (url) => !/^(127\.0\.0\.1|localhost|\[::1\])$/.test(url.hostname) && /^(https?|wss?):$/.test(url.protocol),
    (route) => route.abort('blockedbyclient'),
  );
  await context.addInitScript(LONGTASK_OBSERVER);
  const page = await context.newPage();
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (/^(https?|wss?):$/.test(url.protocol) && !/^(127\.0\.0\.1|localhost|\[::1\])$/.test(url.hostname)) blocked.push(request.url());
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  return { context, page, cdp };
}

/** In-page: opens the connection to the tracker's origin, as DNS/TCP setup is not the tracker's cost. */
export function warmConnection({ origin }) {
  return fetch(origin + '/bench-warm', { mode: 'no-cors', credentials: 'include', cache: 'no-store' })
    .then(() => new Promise((resolve) => setTimeout(resolve, 50)))
    .catch(() => {});
}

/** In-page: 1,000 track() calls in one synchronous loop, then the time until the next task runs. */
export function trackLoop({ n, run, name }) {
  return new Promise((resolve) => {
    const track = window.__benchTrack;
    const channel = new MessageChannel();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      track(name, { bench_run: run, bench_i: i, plan: 'pro', price: 12.5, currency: 'EUR', source: 'bench' });
    }
    const t1 = performance.now();
    channel.port1.onmessage = () => {
      const t2 = performance.now();
      resolve({ sync: t1 - t0, next: t2 - t0, startWall: performance.timeOrigin + t0, endWall: performance.timeOrigin + t1 });
    };
    channel.port2.postMessage(0);
  });
}

/** `total` track() calls in `ticks` ticks, one tick every 10 ms (10,000 in 100: 100 every 10 ms, one second; stops at the deadline if the tracker cannot keep up). */
export function trackBurst({ total, ticks, run, name, deadline }) {
  return new Promise((resolve) => {
    const track = window.__benchTrack;
    const perTick = Math.ceil(total / ticks);
    let i = 0;
    performance.mark('bench-burst-start');
    const t0 = performance.now();
    const id = setInterval(() => {
      const end = Math.min(total, i + perTick);
      for (; i < end; i++) {
        track(name, { bench_run: run, bench_i: i, plan: 'pro', price: 12.5, currency: 'EUR', source: 'bench' });
      }
      const t = performance.now();
      if (i >= total || t - t0 > deadline) {
        clearInterval(id);
        resolve({ tracked: i, ms: t - t0, start: t0, startWall: performance.timeOrigin + t0, endWall: performance.timeOrigin + t });
      }
    }, 10);
  });
}
