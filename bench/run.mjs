#!/usr/bin/env node
// `npm run bench` (root: `npm run build && npm --prefix bench ci && node bench/run.mjs`).
//
// Measures, in real headless Chromium against collectors on 127.0.0.1, what a
// visitor pays for firstparty-js (dist/ as it is now) and for the peer
// trackers installed in bench/node_modules, in the same run:
//   size (raw, gzip -9, brotli q11) of every script file each tracker loads;
//   init: script insertion → ready (floor: an empty script);
//   1,000 track() calls in one synchronous loop, the time until the next task
//   runs, and Chromium's main-thread task time until all 1,000 are delivered;
//   delivery: loop end → 1,000th distinct event at the collector, requests, bytes;
//   the longest task while 10,000 events are tracked within one second.
// Prints the tables and writes BENCHMARKS.md at the repository root.
//
// Environment: BENCH_RUNS (page loads per tracker, default 5), BENCH_PEERS
// (comma-separated ids to run, e.g. `floor,ours`), BENCH_OUT (report path; `-`
// to skip writing), CHROME_PATH, BENCH_VERBOSE=1 (page errors), BENCH_ROUTE=1
// (also abort non-loopback requests with a playwright route; see lib/browser.mjs).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { loadPeers, REPO_ROOT, WRITE_KEY } from './lib/peers.mjs';
import { launchBrowser, startServers, startDemoCollector, snapshotDist, LONGTASK_OBSERVER, trackLoop, warmConnection } from './lib/browser.mjs';

const RUNS = Math.max(1, Number(process.env.BENCH_RUNS) || 5);
const ONLY = process.env.BENCH_PEERS ? process.env.BENCH_PEERS.split(',').map((s) => s.trim()) : null;
const OUT = process.env.BENCH_OUT || path.join(REPO_ROOT, 'BENCHMARKS.md');
const VERBOSE = process.env.BENCH_VERBOSE === '1';
const N = 1000;
const LONG_N = 10_000;
const LONG_TICKS = 100; // 100 calls every 10 ms: 10,000 in one second
const INIT_TIMEOUT = 15_000;
const LOOP_TIMEOUT = 60_000;
const DELIVERY_TIMEOUT = 30_000;
const STALL_TIMEOUT = 15_000; // no new event for this long: the tracker has stopped delivering
const LONG_TRACK_DEADLINE = 10_000;
const LONG_DELIVERY_TIMEOUT = 10_000;
const LONG_STALL_TIMEOUT = 4_000;
const PEER_BUDGET = 75_000; // no further page loads for a tracker whose next one would take its loads past this
const SETTLE_MS = 500; // after ready, before the loop: lets post-init work (storage, config) finish
const EVENT_NAME = 'Bench Event';
const USE_ROUTE = process.env.BENCH_ROUTE === '1';

const started = Date.now();
const wall = () => performance.timeOrigin + performance.now();
const log = (...a) => console.error(...a);

// ---- helpers ------------------------------------------------------------------

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
const minOf = (xs) => { const v = xs.filter(Number.isFinite); return v.length ? Math.min(...v) : null; };
const maxOf = (xs) => { const v = xs.filter(Number.isFinite); return v.length ? Math.max(...v) : null; };

function fmtMs(x) {
  if (x == null) return '—';
  if (x >= 1000) return (x / 1000).toFixed(2) + ' s';
  if (x >= 100) return x.toFixed(0) + ' ms';
  if (x >= 10) return x.toFixed(1) + ' ms';
  return x.toFixed(2) + ' ms';
}
const fmtInt = (x) => (x == null ? '—' : Math.round(x).toLocaleString('en-US'));
const fmtBytes = (x) => (x == null ? '—' : Math.round(x).toLocaleString('en-US') + ' B');
function fmtKB(x) {
  if (x == null) return '—';
  return x >= 1024 ? (x / 1024).toFixed(1) + ' KB' : x + ' B';
}

/** "median (min–max)" for a list of per-load values. */
function spread(xs, fmt = fmtMs) {
  const m = median(xs);
  if (m == null) return '—';
  const lo = minOf(xs);
  const hi = maxOf(xs);
  return xs.filter(Number.isFinite).length > 1 ? `${fmt(m)} (${fmt(lo)}–${fmt(hi)})` : fmt(m);
}

function ratio(ours, theirs) {
  if (ours == null || theirs == null || theirs === 0) return '—';
  const r = ours / theirs;
  return r >= 10 ? r.toFixed(0) + '×' : r >= 1 ? r.toFixed(1) + '×' : r >= 0.01 ? r.toFixed(2) + '×' : '< 0.01×';
}

function sizes(buf) {
  return {
    raw: buf.length,
    gzip: zlib.gzipSync(buf, { level: 9 }).length,
    brotli: zlib.brotliCompressSync(buf, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: buf.length },
    }).length,
  };
}

/** Which build was measured: the commit, whether src/ differs from it, and a hash of the IIFE. */
function buildInfo(distDir) {
  const git = (...args) => {
    try {
      return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const head = git('rev-parse', '--short', 'HEAD');
  const dirty = git('status', '--porcelain', '--', 'src') !== '';
  const iife = fs.readFileSync(path.join(distDir, 'firstparty.min.js'));
  const built = fs.statSync(path.join(REPO_ROOT, 'dist/firstparty.min.js')).mtime.toISOString().replace(/\.\d+Z$/, 'Z');
  return `dist/ built ${built} from ${head ? `commit ${head}${dirty ? ' with uncommitted changes in src/' : ''}` : 'an unknown commit'}; dist/firstparty.min.js sha256 ${crypto.createHash('sha256').update(iife).digest('hex').slice(0, 12)}`;
}

function machineInfo() {
  const cpus = os.cpus();
  let model = cpus[0]?.model?.trim() || 'unknown';
  try {
    // os.cpus() can report a generic model name on VMs; /proc/cpuinfo may say more.
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const m = info.match(/^model name\s*:\s*(.+)$/m);
    if (m && m[1].trim().length > model.length) model = m[1].trim();
  } catch { /* not Linux */ }
  return {
    cpu: model,
    cores: cpus.length,
    memory: (os.totalmem() / 2 ** 30).toFixed(1) + ' GiB',
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    load: os.loadavg()[0].toFixed(1),
    node: process.version,
  };
}

// ---- in-page code -------------------------------------------------------------

/** 10,000 track() calls in one second: 100 every 10 ms (stops at the deadline if the tracker cannot keep up). */
function trackBurst({ total, ticks, run, name, deadline }) {
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

// ---- measurement --------------------------------------------------------------


async function newPage(env, blocked) {
  const context = await env.browser.newContext({ userAgent: env.userAgent, viewport: { width: 1280, height: 800 } });
  // Nothing may leave loopback. The browser itself sends everything but
  // loopback to the sink proxy (lib/browser.mjs); BENCH_ROUTE=1 also aborts such
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

async function taskMetrics(cdp) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const get = (name) => metrics.find((m) => m.name === name)?.value ?? 0;
  return { task: get('TaskDuration') * 1000, script: get('ScriptDuration') * 1000 };
}

let runCounter = 0;
const newRun = (peer, kind) => `${peer.id}-${kind}-${++runCounter}-${Math.random().toString(36).slice(2, 8)}`;

/** One page load: init, then 1,000 track() in a loop, then delivery. */
async function measureLoad(env, site, peer, server, scriptsSeen) {
  const blocked = [];
  const { context, page, cdp } = await newPage(env, blocked);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e.message || e)));
  if (scriptsSeen) {
    page.on('response', async (response) => {
      const req = response.request();
      if (req.resourceType() !== 'script' || response.status() !== 200) return;
      try {
        scriptsSeen.set(req.url(), await response.body());
      } catch { /* gone with the page */ }
    });
  }
  const run = newRun(peer, 'load');
  const out = { run, ok: false };
  try {
    await page.goto(`${site.origin}/p/${peer.id}.html`);
    await page.evaluate(warmConnection, { origin: server.origin });
    out.init = await withTimeout(page.evaluate(peer.init, { origin: server.origin, key: WRITE_KEY }), INIT_TIMEOUT, `${peer.id} init`);
    await page.waitForTimeout(SETTLE_MS);
    const before = await taskMetrics(cdp);
    const logStart = server.log.length;
    const loop = await withTimeout(page.evaluate(trackLoop, { n: N, run, name: EVENT_NAME }), LOOP_TIMEOUT, `${peer.id} loop`);
    out.sync = loop.sync;
    out.next = loop.next;
    if (peer.delivers !== false) {
      const at = await server.waitFor(run, N, DELIVERY_TIMEOUT, STALL_TIMEOUT);
      const after = await taskMetrics(cdp);
      const stats = server.stats(run);
      out.delivered = stats.ids.size;
      out.requests = stats.requests;
      out.bytes = stats.bytes;
      const window = server.log.slice(logStart).filter((e) => !at || e.start <= at);
      out.other = window.filter((e) => !e.events).length;
      if (at) {
        out.delivery = at - loop.endWall;
        out.task = after.task - before.task;
        out.script = after.script - before.script;
      } else {
        out.error = `${stats.ids.size} of ${N} delivered (waited ${DELIVERY_TIMEOUT / 1000} s at most, and ${STALL_TIMEOUT / 1000} s at most after the last new event)`;
      }
    } else {
      const after = await taskMetrics(cdp);
      out.task = after.task - before.task;
      out.script = after.script - before.script;
    }
    out.ok = !out.error;
  } catch (error) {
    out.error = String(error.message || error);
    if (out.sync == null && /loop: timed out/.test(out.error)) out.loopTimedOut = true;
    if (out.loopTimedOut) out.error = `the loop and its microtasks did not end within ${LOOP_TIMEOUT / 1000} s (the main thread was blocked that long)`;
  } finally {
    out.blocked = blocked;
    out.pageErrors = errors;
    await context.close().catch(() => {});
  }
  return out;
}

/** Longest main-thread task (trace RunTask) on the busiest renderer main thread between two trace timestamps. */
function longestTraceTask(traceBuffer, fromWall, toWall) {
  let trace;
  try {
    trace = JSON.parse(traceBuffer.toString('utf8'));
  } catch {
    return null;
  }
  const events = trace.traceEvents || trace;
  const mainThreads = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  const tasks = events.filter((e) => e.ph === 'X' && (e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask') && mainThreads.has(`${e.pid}:${e.tid}`));
  if (!tasks.length) return null;
  // The page's renderer is the one with the most task time; trace timestamps are µs on a monotonic clock.
  const byThread = new Map();
  for (const t of tasks) byThread.set(`${t.pid}:${t.tid}`, (byThread.get(`${t.pid}:${t.tid}`) || 0) + (t.dur || 0));
  const busiest = [...byThread].sort((a, b) => b[1] - a[1])[0][0];
  const mine = tasks.filter((t) => `${t.pid}:${t.tid}` === busiest);
  // Map wall clock to trace time with the marks placed by the page.
  const marks = events.filter((e) => e.name === 'bench-burst-start' || e.name === 'bench-burst-end');
  let lo = -Infinity;
  let hi = Infinity;
  const start = marks.find((e) => e.name === 'bench-burst-start');
  if (start) {
    lo = start.ts;
    hi = start.ts + (toWall - fromWall) * 1000;
  }
  let longest = 0;
  for (const t of mine) if (t.ts + (t.dur || 0) >= lo && t.ts <= hi) longest = Math.max(longest, (t.dur || 0) / 1000);
  return longest;
}

/** 10,000 events tracked within one second: the longest task, by the longtask observer and by the trace. */
async function measureBurst(env, site, peer, server) {
  const blocked = [];
  const { context, page } = await newPage(env, blocked);
  const run = newRun(peer, 'burst');
  const out = { run };
  let tracing = false;
  try {
    await page.goto(`${site.origin}/p/${peer.id}.html`);
    await page.evaluate(warmConnection, { origin: server.origin });
    await withTimeout(page.evaluate(peer.init, { origin: server.origin, key: WRITE_KEY }), INIT_TIMEOUT, `${peer.id} init`);
    await page.waitForTimeout(SETTLE_MS);
    await env.browser.startTracing(page, { categories: ['toplevel', 'disabled-by-default-devtools.timeline', 'blink.user_timing'] });
    tracing = true;
    const burst = await withTimeout(
      page.evaluate(trackBurst, { total: LONG_N, ticks: LONG_TICKS, run, name: EVENT_NAME, deadline: LONG_TRACK_DEADLINE }),
      LONG_TRACK_DEADLINE + 60_000,
      `${peer.id} burst`,
    );
    out.tracked = burst.tracked;
    out.trackMs = burst.ms;
    let endWall = burst.endWall;
    if (peer.delivers !== false) {
      const at = await server.waitFor(run, burst.tracked, LONG_DELIVERY_TIMEOUT, LONG_STALL_TIMEOUT);
      const stats = server.stats(run);
      out.delivered = stats.ids.size;
      out.allDelivered = !!at;
      out.firstIn = stats.progress.length ? stats.progress[0][1] - burst.endWall : null;
      out.lastIn = stats.progress.length ? stats.progress[stats.progress.length - 1][1] - burst.endWall : null;
      endWall = at || wall();
    } else {
      await page.waitForTimeout(200);
      endWall = wall();
    }
    const longtasks = await page.evaluate((start) => window.__longtasks.filter(([t, d]) => t + d >= start), burst.start);
    out.dropped = await page.evaluate(() => window.__benchDropped);
    out.longtaskCount = longtasks.length;
    out.longtask = longtasks.reduce((m, [, d]) => Math.max(m, d), 0);
    const trace = await env.browser.stopTracing();
    tracing = false;
    out.traceLongest = longestTraceTask(trace, burst.startWall, endWall);
  } catch (error) {
    out.error = String(error.message || error);
  } finally {
    if (tracing) await env.browser.stopTracing().catch(() => {});
    out.blocked = blocked;
    await context.close().catch(() => {});
  }
  return out;
}

// ---- report -------------------------------------------------------------------

function buildReport({ machine, browserVersion, chromeArgs, peers, results, bursts, sizeRows, elapsed, runs, blocked }) {
  const lines = [];
  const p = (s = '') => lines.push(s);
  const byId = Object.fromEntries(peers.map((x) => [x.id, x]));
  const vals = (id, key) => (results[id] || []).filter((r) => r.ok || key === 'init' || key === 'sync' || key === 'next').map((r) => r[key]).filter((v) => v != null);
  const med = (id, key) => median(vals(id, key));
  const floorInit = med('floor', 'init');
  const totals = {};
  for (const row of sizeRows) if (row.counts) {
    const t = (totals[row.id] ||= { raw: 0, gzip: 0, brotli: 0 });
    t.raw += row.raw; t.gzip += row.gzip; t.brotli += row.brotli;
  }
  const others = peers.filter((x) => x.id !== 'ours' && x.id !== 'floor');
  const burstLongest = (id) => (bursts[id] && bursts[id].tracked != null ? Math.max(bursts[id].longtask || 0, bursts[id].traceLongest || 0) : null);
  /** The best (lowest) peer figure, as "value (tracker)". */
  const best = (get, fmt) => {
    const seen = others.map((x) => [x, get(x.id)]).filter(([, v]) => v != null && Number.isFinite(v)).sort((a, b) => a[1] - b[1]);
    return seen.length ? `${fmt(seen[0][1])} (${seen[0][0].label.replace(/ \(.*\)$/, '')})` : '—';
  };

  p('# Benchmarks');
  p();
  p(`Generated by \`npm run bench\` (bench/run.mjs) on ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}, in ${(elapsed / 1000).toFixed(0)} s. `
    + `Every tracker was measured in the same run, in the same headless Chromium, page loads interleaved round-robin; `
    + `${runs} page load${runs === 1 ? '' : 's'} per tracker, each in a fresh browser context (a first visit: empty storage). `
    + `Figures are **median (min–max)** over those loads. Absolute times drift with the machine: compare the ratios.`);
  p();
  p('| machine | |');
  p('|---|---|');
  p(`| CPU | ${machine.cpu} |`);
  p(`| cores | ${machine.cores} |`);
  p(`| memory | ${machine.memory} |`);
  p(`| OS | ${machine.os} |`);
  p(`| load average (1 min) at start / end | ${machine.load} / ${os.loadavg()[0].toFixed(1)} (other work on the machine inflates absolute times) |`);
  p(`| browser | ${browserVersion} (headless, playwright-core) |`);
  p(`| Node | ${machine.node} |`);
  p(`| measured | ${machine.build} |`);
  p();

  // Targets first: what the issue asks of us.
  const ours = {
    brotli: sizeRows.find((r) => r.id === 'ours' && r.file.endsWith('firstparty.min.js'))?.brotli,
    sync: med('ours', 'sync'),
    next: med('ours', 'next'),
    delivery: med('ours', 'delivery'),
    requests: med('ours', 'requests'),
    task: med('ours', 'task'),
    init: med('ours', 'init'),
    burst: burstLongest('ours'),
  };
  const initOver = ours.init != null && floorInit != null ? ours.init - floorInit : null;
  const mark = (ok) => (ok == null ? '—' : ok ? '**met**' : '**missed**');
  const targets = [
    ['IIFE brotli (dist/firstparty.min.js)', '≤ 3,000 B (budget in `npm test`: 4,500 B)', fmtBytes(ours.brotli), ours.brotli == null ? null : ours.brotli <= 3000, best((id) => totals[id]?.brotli, fmtBytes) + ', all files'],
    ['1,000 `track()`, synchronous loop', '≤ 10 ms', fmtMs(ours.sync), ours.sync == null ? null : ours.sync <= 10, best((id) => med(id, 'sync'), fmtMs)],
    ['1,000 `track()`, until the next task runs', '≤ 15 ms', fmtMs(ours.next), ours.next == null ? null : ours.next <= 15, best((id) => med(id, 'next'), fmtMs)],
    ['1,000 delivered after the loop: time', '≤ 2 s', fmtMs(ours.delivery), ours.delivery == null ? null : ours.delivery <= 2000, best((id) => med(id, 'delivery'), fmtMs)],
    ['1,000 delivered after the loop: requests', '≤ 20', fmtInt(ours.requests), ours.requests == null ? null : ours.requests <= 20, best((id) => med(id, 'requests'), fmtInt)],
    ['main-thread task time, loop start → 1,000th delivered', '≤ 60 ms', fmtMs(ours.task), ours.task == null ? null : ours.task <= 60, best((id) => med(id, 'task'), fmtMs)],
    ['init over the empty-script floor', '≤ 5 ms', fmtMs(initOver), initOver == null ? null : initOver <= 5, best((id) => (med(id, 'init') == null || floorInit == null ? null : med(id, 'init') - floorInit), fmtMs)],
    ['longest task, 10,000 events in one second', '≤ 50 ms', fmtMs(ours.burst), ours.burst == null ? null : ours.burst <= 50, best(burstLongest, fmtMs)],
  ];
  p('## Targets (issue 6)');
  p();
  p('| figure | target | ours (median) | | best peer here (median) |');
  p('|---|---|---|---|---|');
  for (const [fig, target, value, ok, peer] of targets) p(`| ${fig} | ${target} | ${value} | ${mark(ok)} | ${peer} |`);
  p();
  p(`Met: ${targets.filter((t) => t[3] === true).length} of ${targets.length}.`);
  p();

  // Size
  p('## Size: every script file each tracker loads');
  p();
  p('Bytes of each file as served (our snippet is inlined into the page, so it is listed as such); gzip at level 9, brotli at quality 11. '
    + 'Peers\' own inline snippets are not counted (the bench uses a minimal stub in their place).');
  p();
  p('| tracker | file | raw | gzip -9 | brotli 11 |');
  p('|---|---|---:|---:|---:|');
  for (const row of sizeRows) p(`| ${row.label} | ${row.file} | ${fmtInt(row.raw)} | ${fmtInt(row.gzip)} | ${fmtInt(row.brotli)} |`);
  p();
  p('| tracker | total brotli | ours/theirs (IIFE + snippet) |');
  p('|---|---:|---:|');
  for (const peer of peers) if (totals[peer.id] && peer.id !== 'floor') {
    p(`| ${peer.label} | ${fmtKB(totals[peer.id].brotli)} | ${peer.id === 'ours' ? '—' : ratio(totals.ours?.brotli, totals[peer.id].brotli)} |`);
  }
  p();

  // Costs
  p('## Init, track() and delivery');
  p();
  p(`- **init**: script insertion → the tracker says it is ready (ours: \`firstparty.ready\`; Segment: \`analytics.ready\`; PostHog: \`loaded\`; Amplitude: \`init().promise\`; Snowplow/Plausible: script load + constructor). Floor: an empty script file until its load event.`);
  p(`- **loop**: ${fmtInt(N)} \`track(name, properties)\` calls in one synchronous loop (${SETTLE_MS} ms after ready); **next task**: loop start → the next task starts (the loop plus the microtask work it queued). Floor: \`array.push\` of the same objects.`);
  p(`- **task time**: Chromium's main-thread \`TaskDuration\` (CDP \`Performance.getMetrics\`) from just before the loop until the ${fmtInt(N)}th distinct event reached the collector, loop included (floor: until the loop has returned).`);
  p(`- **loads**: page loads whose ${fmtInt(N)} events all arrived / page loads run (a tracker whose next load would take its loads past ${PEER_BUDGET / 1000} s in all is not loaded again).`);
  p(`- **delivery**: loop end → the ${fmtInt(N)}th distinct event at the collector; **requests**: requests that carried benchmark events; **bytes**: their body bytes as sent; **other**: other requests in that span (CORS preflights, config).`);
  p();
  p('| tracker | version | loads | init | init − floor | loop (1,000 track) | next task | task time | delivery | requests | bytes up | other req. |');
  p('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const peer of peers) {
    const rs = results[peer.id] || [];
    const failed = rs.filter((r) => !r.ok);
    const d = peer.delivers === false;
    const over = peer.id === 'floor' || med(peer.id, 'init') == null || floorInit == null ? '—' : fmtMs(med(peer.id, 'init') - floorInit);
    const loads = d ? `${rs.length}` : `${rs.length - failed.length}/${rs.length}`;
    const blockedLoop = !vals(peer.id, 'next').length && rs.some((r) => r.loopTimedOut);
    p(`| ${peer.label} | ${peer.version} | ${loads} | ${spread(vals(peer.id, 'init'))} | ${over} | ${blockedLoop ? 'not returned' : spread(vals(peer.id, 'sync'))} | ${blockedLoop ? `> ${LOOP_TIMEOUT / 1000} s` : spread(vals(peer.id, 'next'))} | `
      + `${spread(vals(peer.id, 'task'))} | ${d ? 'n/a' : spread(vals(peer.id, 'delivery'))} | `
      + `${d ? 'n/a' : spread(vals(peer.id, 'requests'), fmtInt)} | ${d ? 'n/a' : spread(vals(peer.id, 'bytes'), fmtInt)} | ${d ? 'n/a' : spread(vals(peer.id, 'other'), fmtInt)} |`
    );
  }
  p();
  const failures = peers.flatMap((peer) => (results[peer.id] || []).filter((r) => !r.ok).map((r) => `- ${peer.label}: ${r.error}`));
  if (failures.length) {
    p('Page loads whose 1,000 events were not all delivered (their task time, delivery, requests and bytes are left out of the medians above; their init and loop figures are kept):');
    p();
    for (const f of failures) p(f);
    p();
  }

  // Ratios
  p('## Ratios: ours / theirs (medians)');
  p();
  p('Below 1× means ours costs less.');
  p();
  p('| vs | init | loop | next task | task time | delivery | requests | bytes up | brotli total |');
  p('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const peer of peers) {
    if (peer.id === 'ours' || peer.id === 'floor') continue;
    p(`| ${peer.label} | ${ratio(med('ours', 'init'), med(peer.id, 'init'))} | ${ratio(med('ours', 'sync'), med(peer.id, 'sync'))} | ${ratio(med('ours', 'next'), med(peer.id, 'next'))} | `
      + `${ratio(med('ours', 'task'), med(peer.id, 'task'))} | ${ratio(med('ours', 'delivery'), med(peer.id, 'delivery'))} | `
      + `${ratio(med('ours', 'requests'), med(peer.id, 'requests'))} | ${ratio(med('ours', 'bytes'), med(peer.id, 'bytes'))} | ${ratio(totals.ours?.brotli, totals[peer.id]?.brotli)} |`);
  }
  p(`| floor (bare push / empty script) | — | ${ratio(med('ours', 'sync'), med('floor', 'sync'))} | ${ratio(med('ours', 'next'), med('floor', 'next'))} | — | — | — | — | — |`);
  p();

  // Long tasks
  p('## Long tasks: 10,000 events tracked within one second');
  p();
  p(`${fmtInt(LONG_N)} \`track()\` calls, ${LONG_N / LONG_TICKS} every 10 ms (a tracker that cannot keep up is stopped after ${LONG_TRACK_DEADLINE / 1000} s), then up to ${LONG_DELIVERY_TIMEOUT / 1000} s for delivery (less once events stop arriving for ${LONG_STALL_TIMEOUT / 1000} s: a tracker may drop what exceeds its queue). `
    + `**longtask**: the longest entry of the page's \`PerformanceObserver('longtask')\` (it reports only tasks over 50 ms; "none" means every task was shorter); `
    + `**trace**: the longest main-thread task in Chromium's performance trace over the same span (any length). One page load per tracker.`);
  p();
  p('| tracker | tracked | in | longtask entries | longest (longtask) | longest (trace) | delivered | first / last arrived after tracking ended |');
  p('|---|---:|---:|---:|---:|---:|---:|---:|');
  const after = (ms) => (ms < 0 ? 'while tracking' : fmtMs(ms));
  for (const peer of peers) {
    const b = bursts[peer.id];
    if (!b) continue;
    if (b.error && b.tracked == null) {
      p(`| ${peer.label} | failed: ${b.error} | | | | | | |`);
      continue;
    }
    const d = peer.delivers === false;
    p(`| ${peer.label} | ${fmtInt(b.tracked)} | ${fmtMs(b.trackMs)} | ${fmtInt(b.longtaskCount)} | ${b.longtaskCount ? fmtMs(b.longtask) : 'none'} | ${fmtMs(b.traceLongest)} | `
      + `${d ? 'n/a' : fmtInt(b.delivered) + (b.allDelivered ? '' : ` of ${fmtInt(b.tracked)}`) + (typeof b.dropped === 'number' ? ` (${fmtInt(b.dropped)} dropped, by its own \`dropped\` events)` : '')} | ${d ? 'n/a' : b.firstIn != null ? `${after(b.firstIn)} / ${after(b.lastIn)}` : `none within ${LONG_DELIVERY_TIMEOUT / 1000} s`} |`);
  }
  p();

  // Setup
  p('## How each tracker was set up');
  p();
  p('Each tracker talks to its own collector-like server on 127.0.0.1 (its own port: cross-origin to the page, as a tracker on its own domain is), which serves its script files, answers its API as the real service would, and counts the benchmark events (each carries `bench_run` and `bench_i` in its properties, found whatever the wire format). '
    + 'Ours is answered by demo/collector.mjs (which validates and stores every event). '
    + 'Nothing leaves loopback: Chromium\'s proxy is a local sink that refuses every request (Chromium never proxies loopback), and no host name but localhost resolves. '
    + (USE_ROUTE ? 'A playwright route also aborts every non-loopback request. ' : 'No playwright route is set: it would intercept every request, loopback included, and slow the trackers that send one request per event (BENCH_ROUTE=1 adds it). ')
    + (blocked.length ? `Requests refused: ${blocked.length} (${blocked.slice(0, 5).join(', ')}${blocked.length > 5 ? ', …' : ''}).` : 'No tracker tried to reach anything else.'));
  p();
  p('| tracker | package | configuration |');
  p('|---|---|---|');
  for (const peer of peers) p(`| ${peer.label} | ${peer.pkg}${peer.version !== '—' ? ' ' + peer.version : ''} | ${peer.config} |`);
  p();
  p(`Chromium flags: \`${chromeArgs.join(' ').replace(/127\.0\.0\.1:\d+/, '127.0.0.1:SINK_PORT')}\`. Every event: \`track('${EVENT_NAME}', {bench_run, bench_i, plan, price, currency, source})\` (Snowplow: a self-describing event with the same data; Plausible: the same props).`);
  p();
  p('Reproduce: `npm run bench` (builds dist/, installs bench/ from its lockfile, runs bench/run.mjs). `BENCH_RUNS=3` for a quicker pass, `BENCH_PEERS=floor,ours` for ours alone.');
  p();
  return lines.join('\n');
}

// ---- main ---------------------------------------------------------------------

async function main() {
  for (const file of ['firstparty.min.js', 'snippet.min.js']) {
    if (!fs.existsSync(path.join(REPO_ROOT, 'dist', file))) throw new Error(`dist/${file} is missing: run \`npm run build\` first`);
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-bench-'));
  const distDir = snapshotDist(path.join(dataDir, 'dist'));
  const build = buildInfo(distDir);
  const collector = await startDemoCollector(path.join(dataDir, 'data'), WRITE_KEY, distDir);

  let peers = await loadPeers({ collector, distDir });
  if (ONLY) peers = peers.filter((p) => ONLY.includes(p.id));
  if (!peers.length) throw new Error('BENCH_PEERS selects no tracker');
  const net = await startServers(peers);
  const { servers, site } = net;
  const env = await launchBrowser();
  const browserVersion = env.version;
  const machine = { ...machineInfo(), build };
  log(`bench: ${browserVersion}, ${machine.cpu}, ${machine.cores} cores; ${RUNS} loads × ${peers.length} trackers`);

  const results = Object.fromEntries(peers.map((p) => [p.id, []]));
  const scripts = Object.fromEntries(peers.map((p) => [p.id, new Map()]));
  const blockedAll = new Set();
  const spent = Object.fromEntries(peers.map((p) => [p.id, 0]));
  for (let round = 0; round < RUNS; round++) {
    // Rotate the order each round so no tracker always follows the same one.
    const order = peers.map((_, i) => peers[(i + round) % peers.length]);
    for (const peer of order) {
      const done = results[peer.id].length;
      if (done && spent[peer.id] + spent[peer.id] / done > PEER_BUDGET) {
        log(`  [${round + 1}/${RUNS}] ${peer.id.padEnd(9)} skipped: its loads took ${fmtMs(spent[peer.id])} already`);
        continue;
      }
      const t0 = Date.now();
      const r = await measureLoad(env, site, peer, servers[peer.id], round === 0 ? scripts[peer.id] : null);
      spent[peer.id] += Date.now() - t0;
      results[peer.id].push(r);
      r.blocked.forEach((u) => blockedAll.add(`${peer.id}: ${u}`));
      const line = `  [${round + 1}/${RUNS}] ${peer.id.padEnd(9)} init ${fmtMs(r.init)}  loop ${fmtMs(r.sync)}  next ${fmtMs(r.next)}  `
        + (peer.delivers === false ? '' : `delivery ${fmtMs(r.delivery)}  req ${r.requests ?? '—'}  bytes ${r.bytes ?? '—'}  task ${fmtMs(r.task)}`)
        + (r.error ? `  ERROR ${r.error}` : '');
      log(line);
      if (VERBOSE && r.pageErrors?.length) log('    page errors:', r.pageErrors.slice(0, 3).join(' | '));
    }
  }

  const bursts = {};
  for (const peer of peers) {
    const b = await measureBurst(env, site, peer, servers[peer.id]);
    bursts[peer.id] = b;
    b.blocked.forEach((u) => blockedAll.add(`${peer.id}: ${u}`));
    log(`  burst ${peer.id.padEnd(9)} tracked ${b.tracked ?? '—'} in ${fmtMs(b.trackMs)}  longest ${b.longtaskCount ? fmtMs(b.longtask) : 'none ≥ 50 ms'} (trace ${fmtMs(b.traceLongest)})`
      + (peer.delivers === false ? '' : `  delivered ${b.delivered ?? '—'} (first ${b.firstIn < 0 ? 'while tracking' : b.firstIn == null ? '—' : '+' + fmtMs(b.firstIn)}, last ${b.lastIn < 0 ? 'while tracking' : b.lastIn == null ? '—' : '+' + fmtMs(b.lastIn)})`) + (b.error ? `  ERROR ${b.error}` : ''));
  }

  // Sizes: every script file each tracker's page loaded (first round), plus our inlined snippet.
  const sizeRows = [];
  for (const peer of peers) {
    if (peer.id === 'ours') {
      for (const [file, note] of [['firstparty.min.js', ''], ['snippet.min.js', ' (inlined)']]) {
        const buf = fs.readFileSync(path.join(distDir, file));
        sizeRows.push({ id: 'ours', label: peer.label, file: `dist/${file}${note}`, counts: true, ...sizes(buf) });
      }
      continue;
    }
    for (const [url, buf] of scripts[peer.id]) {
      sizeRows.push({ id: peer.id, label: peer.label, file: new URL(url).pathname, counts: true, ...sizes(buf) });
    }
  }

  await env.close();
  for (const hit of env.sinkHits) blockedAll.add(`proxy: ${hit}`);
  await net.close();
  collector.close();
  let rebuilt = true;
  try {
    rebuilt = !fs.readFileSync(path.join(REPO_ROOT, 'dist/firstparty.min.js')).equals(fs.readFileSync(path.join(distDir, 'firstparty.min.js')));
  } catch { /* dist/ is being rebuilt right now */ }
  if (rebuilt) {
    machine.build += ' (dist/ was rebuilt during the run: the copy taken at the start was measured throughout)';
    log('bench: dist/ was rebuilt during the run; the copy taken at the start was measured throughout');
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
  const elapsed = Date.now() - started;
  const report = buildReport({ machine, browserVersion, chromeArgs: env.args, peers, results, bursts, sizeRows, elapsed, runs: RUNS, blocked: [...blockedAll] });
  console.log(report);
  if (blockedAll.size) {
    log(`bench: ${blockedAll.size} non-loopback request(s) blocked:`);
    for (const u of [...blockedAll].slice(0, 20)) log('  ' + u);
  }
  if (OUT !== '-') {
    fs.writeFileSync(OUT, report + '\n');
    log(`bench: wrote ${path.relative(process.cwd(), OUT) || OUT} in ${(elapsed / 1000).toFixed(0)} s`);
  }
}

main().catch((error) => {
  console.error('bench failed:', error);
  process.exit(1);
});
