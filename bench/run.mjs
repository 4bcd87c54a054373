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
//   10,000 events tracked within one second, collector healthy: how many of
//   them the collector received (and how many twice), when the last arrived,
//   and the longest main-thread task meanwhile.
// Prints the tables, the issues' targets (met or missed) on stderr too, and
// writes BENCHMARKS.md at the repository root.
//
// Environment: BENCH_RUNS (page loads per tracker, default 5), BENCH_PEERS
// (comma-separated ids to run, e.g. `floor,ours`), BENCH_OUT (report path; `-`
// to skip writing), CHROME_PATH, BENCH_VERBOSE=1 (page errors), BENCH_ROUTE=1
// (also abort non-loopback requests with a playwright route; see lib/browser.mjs),
// BENCH_THROTTLED=0 (skip the low-end phone runs: lib/throttled.mjs).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { loadPeers, REPO_ROOT, WRITE_KEY } from './lib/peers.mjs';
import { launchBrowser, newPage, startServers, startDemoCollector, snapshotDist, trackBurst, trackLoop, USE_ROUTE, warmConnection } from './lib/browser.mjs';
import { measureOfflineDrain, measureThrottledBurst, measureThrottledLoad, THROTTLE } from './lib/throttled.mjs';

const RUNS = Math.max(1, Number(process.env.BENCH_RUNS) || 5);
const ONLY = process.env.BENCH_PEERS ? process.env.BENCH_PEERS.split(',').map((s) => s.trim()) : null;
const OUT = process.env.BENCH_OUT || path.join(REPO_ROOT, 'BENCHMARKS.md');
const VERBOSE = process.env.BENCH_VERBOSE === '1';
/** Our rows: the default options, and with `compression: 'gzip'` (kept out of the peer comparisons). */
const OURS = ['ours', 'ours-gzip'];
const N = 1000;
const LONG_N = 10_000;
const LONG_TICKS = 100; // 100 calls every 10 ms: 10,000 in one second
const INIT_TIMEOUT = 15_000;
const LOOP_TIMEOUT = 60_000;
const DELIVERY_TIMEOUT = 30_000;
const STALL_TIMEOUT = 15_000; // no new event for this long: the tracker has stopped delivering
const LONG_TRACK_DEADLINE = 10_000;
// After the burst, up to 90 s for delivery: Amplitude's default batching
// (30 events a request) took 49–53 s to deliver all 10,000 here (a 10 s window
// saw 1,774 of them), so 90 s leaves room for a busier machine. A tracker
// that has dropped the rest is let go after 5 s without a new event.
const LONG_DELIVERY_TIMEOUT = 90_000;
const LONG_STALL_TIMEOUT = 5_000;
const PEER_BUDGET = 75_000; // no further page loads for a tracker whose next one would take its loads past this
const SETTLE_MS = 500; // after ready, before the loop: lets post-init work (storage, config) finish
const EVENT_NAME = 'Bench Event';

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
/** A longest-task figure from the longtask observer: 0 means no task reached 50 ms. */
function fmtLong(x) {
  if (x == null) return '—';
  return x ? fmtMs(x) : 'none ≥ 50 ms';
}

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

// ---- measurement --------------------------------------------------------------


async function taskMetrics(cdp) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const get = (name) => metrics.find((m) => m.name === name)?.value ?? 0;
  return { task: get('TaskDuration') * 1000, script: get('ScriptDuration') * 1000 };
}

/** Opens the tracker's page, warms the connection to its server, runs its init, then lets post-init work settle; resolves with init's ms. */
async function openTracker(page, site, peer, server) {
  await page.goto(`${site.origin}/p/${peer.id}.html`);
  await page.evaluate(warmConnection, { origin: server.origin });
  const init = await withTimeout(page.evaluate(peer.init, { origin: server.origin, key: WRITE_KEY }), INIT_TIMEOUT, `${peer.id} init`);
  await page.waitForTimeout(SETTLE_MS);
  return init;
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
    out.init = await openTracker(page, site, peer, server);
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
    await openTracker(page, site, peer, server);
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
      const waitStart = wall();
      const at = await server.waitFor(run, burst.tracked, LONG_DELIVERY_TIMEOUT, LONG_STALL_TIMEOUT);
      endWall = at || wall();
      const stats = server.stats(run);
      out.delivered = stats.ids.size;
      out.duplicates = stats.received - stats.ids.size;
      out.refused = stats.refused;
      out.refusedEvents = stats.refusedEvents;
      // Why the wait ended: every tracked event arrived, the window closed while
      // events were still arriving, or none new came for LONG_STALL_TIMEOUT.
      out.waitEnded = at ? 'all' : endWall - waitStart >= LONG_DELIVERY_TIMEOUT - 50 ? 'window' : 'stalled';
      out.lastIn = stats.lastNew == null ? null : stats.lastNew - burst.startWall;
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

/** The IIFE's brotli ceiling that `npm test` enforces (test/size.test.ts), or null if it cannot be read. */
function sizeCeiling() {
  try {
    const m = fs.readFileSync(path.join(REPO_ROOT, 'test/size.test.ts'), 'utf8').match(/iifeBrotli:\s*([\d_]+)/);
    return m ? Number(m[1].replace(/_/g, '')) : null;
  } catch {
    return null;
  }
}

/** "delivered of 10,000", plus how many were tracked at all when a tracker could not keep up. */
function deliveredText(b) {
  if (!b || b.delivered == null) return '—';
  return `${fmtInt(b.delivered)} of ${fmtInt(LONG_N)}` + (b.tracked < LONG_N ? ` (${fmtInt(b.tracked)} tracked)` : '');
}

/** Lookups shared by the report sections and the targets: medians per tracker, the floor, size totals, the best peer. */
function reportContext(data) {
  const { peers, results, bursts, sizeRows } = data;
  // A load whose 1,000 events did not all arrive keeps its init and loop figures, not its delivery figures.
  const vals = (id, key) => (results[id] || []).filter((r) => r.ok || key === 'init' || key === 'sync' || key === 'next').map((r) => r[key]).filter((v) => v != null);
  const med = (id, key) => median(vals(id, key));
  const floorInit = med('floor', 'init');
  const initOver = (id) => (med(id, 'init') == null || floorInit == null ? null : med(id, 'init') - floorInit);
  const totals = {};
  for (const row of sizeRows) if (row.counts) {
    const t = (totals[row.id] ||= { raw: 0, gzip: 0, brotli: 0 });
    t.raw += row.raw; t.gzip += row.gzip; t.brotli += row.brotli;
  }
  const others = peers.filter((x) => !OURS.includes(x.id) && x.id !== 'floor');
  const burst = (id) => (bursts[id] && bursts[id].tracked != null ? bursts[id] : null);
  const burstLongest = (id) => (burst(id) ? Math.max(burst(id).longtask || 0, burst(id).traceLongest || 0) : null);
  const shortLabel = (peer) => peer.label.replace(/ \(.*\)$/, '');
  /** The best peer figure (lowest, or highest with `highest`), as "value (tracker)". */
  const best = (get, fmt, highest = false) => {
    const seen = others.map((x) => [x, get(x.id)]).filter(([, v]) => v != null && Number.isFinite(v)).sort((a, b) => (highest ? b[1] - a[1] : a[1] - b[1]));
    return seen.length ? `${fmt(seen[0][1])} (${shortLabel(seen[0][0])})` : '—';
  };
  return { ...data, vals, med, floorInit, initOver, totals, others, burst, burstLongest, best };
}

/** One target: the figure, the target, ours formatted, met (null when not measured), the best peer. */
function targetRow(figure, target, value, fmt, meets, peer) {
  return { figure, target, value: value == null ? '—' : fmt(value), ok: value == null ? null : meets(value), peer };
}

/** The issues' targets against this run's figures: issue 11 (delivery at any rate, track() cost) and issue 6 (the first targets). */
function targets(c) {
  const { med, best, burst, burstLongest, initOver, totals, sizeRows } = c;
  const brotli = sizeRows.find((r) => r.id === 'ours' && r.file.endsWith('firstparty.min.js'))?.brotli;
  const ceiling = sizeCeiling();
  const amplitude = med('amplitude', 'sync');
  const b = burst('ours');
  const burstFigure = `${fmtInt(LONG_N)} events in one second, collector answering 2xx`;
  const initRow = targetRow('init over the empty-script floor', '≤ 5 ms', initOver('ours'), fmtMs, (v) => v <= 5, best(initOver, fmtMs));
  const issue11 = [
    targetRow('1,000 `track()` in a loop', amplitude == null ? 'no slower than Amplitude\'s SDK (not in this run)' : `no slower than Amplitude's SDK in this run (${fmtMs(amplitude)})`,
      med('ours', 'sync'), fmtMs, (v) => (amplitude == null ? null : v <= amplitude), best((id) => med(id, 'sync'), fmtMs)),
    initRow,
    targetRow(`${burstFigure}: delivered`, `${fmtInt(LONG_N)} of ${fmtInt(LONG_N)}`, b?.delivered, () => deliveredText(b) + (b.refused ? `; ${fmtInt(b.refused)} requests answered otherwise` : ''),
      (v) => v >= LONG_N, best((id) => burst(id)?.delivered, (v) => `${fmtInt(v)} of ${fmtInt(LONG_N)}`, true)),
    targetRow(`${burstFigure}: events sent twice`, '0', b?.duplicates, fmtInt, (v) => v === 0, best((id) => burst(id)?.duplicates, fmtInt)),
    targetRow(`${burstFigure}: longest task`, '< 50 ms (no long task)', burstLongest('ours'), fmtMs, (v) => v < 50, best(burstLongest, fmtMs)),
    targetRow('IIFE brotli (dist/firstparty.min.js)', ceiling ? `≤ ${fmtBytes(ceiling)} (the ceiling in \`npm test\`)` : 'the ceiling in `npm test`', brotli, fmtBytes,
      (v) => (ceiling ? v <= ceiling : null), best((id) => totals[id]?.brotli, (v) => `${fmtBytes(v)} in all files`)),
  ];
  const issue6 = [
    targetRow('IIFE brotli (dist/firstparty.min.js)', '≤ 3,000 B', brotli, fmtBytes, (v) => v <= 3000, best((id) => totals[id]?.brotli, (v) => `${fmtBytes(v)} in all files`)),
    targetRow('1,000 `track()`, synchronous loop', '≤ 10 ms', med('ours', 'sync'), fmtMs, (v) => v <= 10, best((id) => med(id, 'sync'), fmtMs)),
    targetRow('1,000 `track()`, until the next task runs', '≤ 15 ms', med('ours', 'next'), fmtMs, (v) => v <= 15, best((id) => med(id, 'next'), fmtMs)),
    targetRow('1,000 delivered after the loop: time', '≤ 2 s', med('ours', 'delivery'), fmtMs, (v) => v <= 2000, best((id) => med(id, 'delivery'), fmtMs)),
    targetRow('1,000 delivered after the loop: requests', '≤ 20', med('ours', 'requests'), fmtInt, (v) => v <= 20, best((id) => med(id, 'requests'), fmtInt)),
    targetRow('main-thread task time, loop start → 1,000th delivered', '≤ 60 ms', med('ours', 'task'), fmtMs, (v) => v <= 60, best((id) => med(id, 'task'), fmtMs)),
    initRow,
    targetRow('longest task, 10,000 events in one second', '≤ 50 ms', burstLongest('ours'), fmtMs, (v) => v <= 50, best(burstLongest, fmtMs)),
  ];
  const slow = c.throttled || {};
  const under50 = (v) => v < 50;
  const issue23 = slow.loads?.ours ? [
    targetRow(`first visit, CPU ${THROTTLE}× slower: longest task`, '< 50 ms', slow.loads.ours.firstVisit, fmtLong, under50, best((id) => slow.loads[id]?.firstVisit, fmtLong)),
    targetRow(`after 1,000 \`track()\`, CPU ${THROTTLE}× slower: the tracker's longest task`, '< 50 ms', slow.loads.ours.burst, fmtLong, under50, best((id) => slow.loads[id]?.burst, fmtLong)),
    targetRow(`${fmtInt(LONG_N)} events in one second, CPU ${THROTTLE}× slower: longest task`, '< 50 ms', slow.burst?.longest, fmtLong, under50, '— (ours only)'),
    targetRow('50,000 events queued offline, then delivered (1×): longest task', '< 50 ms', slow.drain?.longest, fmtLong, under50, '— (ours only)'),
    initRow,
  ] : [];
  return [['issue 11', issue11], ['issue 6', issue6], ...(issue23[0] ? [['issue 23', issue23]] : [])];
}

const metCount = (rows) => `${rows.filter((t) => t.ok === true).length} of ${rows.length}`;

function headerSection({ machine, browserVersion, elapsed, runs }) {
  return [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench\` (bench/run.mjs) on ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}, in ${(elapsed / 1000).toFixed(0)} s. `
      + `Every tracker was measured in the same run, in the same headless Chromium, page loads interleaved round-robin; `
      + `${runs} page load${runs === 1 ? '' : 's'} per tracker, each in a fresh browser context (a first visit: empty storage). `
      + `Figures are **median (min–max)** over those loads. Absolute times drift with the machine: compare the ratios.`,
    '',
    '| machine | |',
    '|---|---|',
    `| CPU | ${machine.cpu} |`,
    `| cores | ${machine.cores} |`,
    `| memory | ${machine.memory} |`,
    `| OS | ${machine.os} |`,
    `| load average (1 min) at start / end | ${machine.load} / ${os.loadavg()[0].toFixed(1)} (other work on the machine inflates absolute times) |`,
    `| browser | ${browserVersion} (headless, playwright-core) |`,
    `| Node | ${machine.node} |`,
    `| measured | ${machine.build} |`,
    '',
  ];
}

function targetsSection(c) {
  const mark = (ok) => (ok == null ? '—' : ok ? '**met**' : '**missed**');
  return targets(c).flatMap(([issue, rows]) => [
    `## Targets (${issue})`,
    '',
    '| figure | target | ours (median) | | best peer here (median) |',
    '|---|---|---|---|---|',
    ...rows.map((t) => `| ${t.figure} | ${t.target} | ${t.value} | ${mark(t.ok)} | ${t.peer} |`),
    '',
    `Met: ${metCount(rows)}.`,
    '',
  ]);
}

/** Ours beside the peers: one row per figure, one column per tracker (medians; details in the sections below). */
function summarySection(c) {
  const { peers, med, initOver, burst, burstLongest } = c;
  const delivering = (fmt) => (peer) => (peer.delivers === false ? 'n/a' : fmt(peer));
  const rows = [
    ['init (script insertion → ready)', (peer) => fmtMs(med(peer.id, 'init'))],
    ['init − empty-script floor', (peer) => (peer.id === 'floor' ? '—' : fmtMs(initOver(peer.id)))],
    [`${fmtInt(N)} \`track()\` in a loop`, (peer) => fmtMs(med(peer.id, 'sync'))],
    [`${fmtInt(N)} \`track()\`, until the next task runs`, (peer) => fmtMs(med(peer.id, 'next'))],
    [`main-thread task time, loop → ${fmtInt(N)}th delivered`, (peer) => fmtMs(med(peer.id, 'task'))],
    [`delivery: loop end → ${fmtInt(N)}th at the collector`, delivering((peer) => fmtMs(med(peer.id, 'delivery')))],
    [`${fmtInt(LONG_N)} events in one second: delivered`, delivering((peer) => deliveredText(burst(peer.id)))],
    [`${fmtInt(LONG_N)} events in one second: last arrived, after the first \`track()\``, delivering((peer) => fmtMs(burst(peer.id)?.lastIn))],
    [`${fmtInt(LONG_N)} events in one second: longest task`, (peer) => fmtMs(burstLongest(peer.id))],
  ];
  return [
    '## Ours beside the peers (medians)',
    '',
    `One page load per tracker for the ${fmtInt(LONG_N)}-event rows; how each figure is taken is in the sections below.`,
    '',
    `| figure | ${peers.map((peer) => peer.label).join(' | ')} |`,
    `|---|${peers.map(() => '---:').join('|')}|`,
    ...rows.map(([figure, cell]) => `| ${figure} | ${peers.map(cell).join(' | ')} |`),
    '',
  ];
}

function sizeSection({ peers, sizeRows, totals }) {
  return [
    '## Size: every script file each tracker loads',
    '',
    'Bytes of each file as served (our snippet is inlined into the page, so it is listed as such); gzip at level 9, brotli at quality 11. '
      + 'Peers\' own inline snippets are not counted (the bench uses a minimal stub in their place).',
    '',
    '| tracker | file | raw | gzip -9 | brotli 11 |',
    '|---|---|---:|---:|---:|',
    ...sizeRows.map((row) => `| ${row.label} | ${row.file} | ${fmtInt(row.raw)} | ${fmtInt(row.gzip)} | ${fmtInt(row.brotli)} |`),
    '',
    '| tracker | total brotli | ours/theirs (IIFE + snippet) |',
    '|---|---:|---:|',
    ...peers.filter((peer) => totals[peer.id] && peer.id !== 'floor')
      .map((peer) => `| ${peer.label} | ${fmtKB(totals[peer.id].brotli)} | ${peer.id === 'ours' ? '—' : ratio(totals.ours?.brotli, totals[peer.id].brotli)} |`),
    '',
  ];
}

function costsSection({ peers, results, vals, med, initOver }) {
  const lines = [
    '## Init, track() and delivery',
    '',
    `- **init**: script insertion → the tracker says it is ready (ours: \`firstparty.ready\`; Segment: \`analytics.ready\`; PostHog: \`loaded\`; Amplitude: \`init().promise\`; Snowplow/Plausible: script load + constructor). Floor: an empty script file until its load event.`,
    `- **loop**: ${fmtInt(N)} \`track(name, properties)\` calls in one synchronous loop (${SETTLE_MS} ms after ready); **next task**: loop start → the next task starts (the loop plus the microtask work it queued). Floor: \`array.push\` of the same objects.`,
    `- **task time**: Chromium's main-thread \`TaskDuration\` (CDP \`Performance.getMetrics\`) from just before the loop until the ${fmtInt(N)}th distinct event reached the collector, loop included (floor: until the loop has returned).`,
    `- **loads**: page loads whose ${fmtInt(N)} events all arrived / page loads run (a tracker whose next load would take its loads past ${PEER_BUDGET / 1000} s in all is not loaded again).`,
    `- **delivery**: loop end → the ${fmtInt(N)}th distinct event at the collector (in a request it answered 2xx); **requests**: requests that carried benchmark events; **bytes**: their body bytes as sent; **other**: other requests in that span (CORS preflights, config).`,
    '',
    '| tracker | version | loads | init | init − floor | loop (1,000 track) | next task | task time | delivery | requests | bytes up | other req. |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const peer of peers) {
    const rs = results[peer.id] || [];
    const d = peer.delivers === false;
    const delivering = (key, fmt) => (d ? 'n/a' : spread(vals(peer.id, key), fmt));
    const loads = d ? `${rs.length}` : `${rs.filter((r) => r.ok).length}/${rs.length}`;
    const blockedLoop = !vals(peer.id, 'next').length && rs.some((r) => r.loopTimedOut);
    lines.push(`| ${peer.label} | ${peer.version} | ${loads} | ${spread(vals(peer.id, 'init'))} | ${peer.id === 'floor' ? '—' : fmtMs(initOver(peer.id))} | `
      + `${blockedLoop ? 'not returned' : spread(vals(peer.id, 'sync'))} | ${blockedLoop ? `> ${LOOP_TIMEOUT / 1000} s` : spread(vals(peer.id, 'next'))} | `
      + `${spread(vals(peer.id, 'task'))} | ${delivering('delivery', fmtMs)} | ${delivering('requests', fmtInt)} | ${delivering('bytes', fmtInt)} | ${delivering('other', fmtInt)} |`);
  }
  lines.push('');
  const failures = peers.flatMap((peer) => (results[peer.id] || []).filter((r) => !r.ok).map((r) => `- ${peer.label}: ${r.error}`));
  if (failures.length) {
    lines.push(`Page loads whose ${fmtInt(N)} events were not all delivered (their task time, delivery, requests and bytes are left out of the medians above; their init and loop figures are kept):`, '', ...failures, '');
  }
  return lines;
}

function ratiosSection({ peers, med, totals, burstLongest }) {
  const r = (peer, key) => ratio(med('ours', key), med(peer.id, key));
  return [
    '## Ratios: ours / theirs (medians)',
    '',
    'Below 1× means ours costs less.',
    '',
    '| vs | init | loop | next task | task time | delivery | requests | bytes up | brotli total | longest task, 10,000 in 1 s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...peers.filter((peer) => !OURS.includes(peer.id) && peer.id !== 'floor').map((peer) =>
      `| ${peer.label} | ${['init', 'sync', 'next', 'task', 'delivery', 'requests', 'bytes'].map((key) => r(peer, key)).join(' | ')} | `
      + `${ratio(totals.ours?.brotli, totals[peer.id]?.brotli)} | ${ratio(burstLongest('ours'), burstLongest(peer.id))} |`),
    `| floor (bare push / empty script) | — | ${r({ id: 'floor' }, 'sync')} | ${r({ id: 'floor' }, 'next')} | — | — | — | — | — | ${ratio(burstLongest('ours'), burstLongest('floor'))} |`,
    '',
  ];
}

function burstSection({ peers, bursts }) {
  const why = { all: '', window: `; still arriving when the ${LONG_DELIVERY_TIMEOUT / 1000} s window closed`, stalled: `; none new for ${LONG_STALL_TIMEOUT / 1000} s` };
  const lines = [
    `## ${fmtInt(LONG_N)} events tracked within one second, collector healthy`,
    '',
    `${fmtInt(LONG_N)} \`track()\` calls, ${LONG_N / LONG_TICKS} every 10 ms (a tracker that cannot keep up is stopped after ${LONG_TRACK_DEADLINE / 1000} s), `
      + `then up to ${LONG_DELIVERY_TIMEOUT / 1000} s for delivery (less once no new event has arrived for ${LONG_STALL_TIMEOUT / 1000} s: a tracker may drop what exceeds its queue). `
      + 'Every collector answers at once (ours: demo/collector.mjs; the peers: 2xx to everything). One page load per tracker. '
      + `**delivered**: distinct events in requests answered 2xx, out of ${fmtInt(LONG_N)}; **sent twice**: events that arrived again in a later request; `
      + '**refused**: requests answered otherwise (e.g. 413, a body over the collector\'s 1 MiB); **last arrived**: the first `track()` → the last new event at the collector; '
      + `**longtask**: the longest entry of the page's \`PerformanceObserver('longtask')\` (it reports only tasks over 50 ms; "none" means every task was shorter); `
      + '**trace**: the longest main-thread task in Chromium\'s performance trace from the first `track()` until the wait for delivery ended (any length).',
    '',
    '| tracker | tracked | in | delivered | sent twice | refused | last arrived | longtask entries | longest (longtask) | longest (trace) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const peer of peers) {
    const b = bursts[peer.id];
    if (!b) continue;
    if (b.error && b.tracked == null) {
      lines.push(`| ${peer.label} | failed: ${b.error} | | | | | | | | |`);
      continue;
    }
    const d = peer.delivers === false;
    const dropped = typeof b.dropped === 'number' ? ` (${fmtInt(b.dropped)} dropped, by its own \`dropped\` events)` : '';
    const delivery = d ? 'n/a | n/a | n/a | n/a' : `${deliveredText(b)}${why[b.waitEnded] || ''}${dropped} | ${fmtInt(b.duplicates)} | ${fmtInt(b.refused)} | ${b.lastIn == null ? 'none' : fmtMs(b.lastIn)}`;
    lines.push(`| ${peer.label} | ${fmtInt(b.tracked)} | ${fmtMs(b.trackMs)} | ${delivery} | ${fmtInt(b.longtaskCount)} | ${b.longtaskCount ? fmtMs(b.longtask) : 'none'} | ${fmtMs(b.traceLongest)} |`);
  }
  lines.push('');
  return lines;
}

/** The throttled runs (lib/throttled.mjs): one page load per tracker. */
function throttledSection({ peers, throttled }) {
  if (!throttled || !Object.keys(throttled.loads).length) return [];
  const lines = [
    `## A low-end phone: CPU ${THROTTLE}× slower (issue 23)`,
    '',
    `One page load per tracker with Chromium's CPU throttled ${THROTTLE}× (\`Emulation.setCPUThrottlingRate\`), a first visit (empty storage). `
      + '**first visit**: the longest task from script insertion to 3 s after ready; **the loop\'s task**: the page\'s task of 1,000 `track()` calls in one loop, with the microtasks the tracker queued in it (the floor\'s bare pushes take no long task); '
      + '**after 1,000 `track()`**: the longest task that started after that loop had returned, '
      + 'until the collector had all 1,000 (30 s at most). All from the page\'s `PerformanceObserver(\'longtask\')`: "none" means no task reached 50 ms. Goal: < 50 ms (first visit, after).',
    '',
    '| tracker | first visit: longest task | the loop\'s task | after 1,000 `track()`: longest task | delivered |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const peer of peers) {
    const t = throttled.loads[peer.id];
    if (!t) continue;
    if (t.error) lines.push(`| ${peer.label} | failed: ${t.error} | | | |`);
    else lines.push(`| ${peer.label} | ${fmtLong(t.firstVisit)} | ${fmtLong(t.loopTask)} | ${fmtLong(t.burst)} | ${peer.delivers === false ? 'n/a' : fmtInt(t.delivered)} |`);
  }
  const { burst, drain } = throttled;
  lines.push('');
  if (burst) lines.push(burst.error ? `Ours, ${fmtInt(LONG_N)} events in one second at ${THROTTLE}×: failed: ${burst.error}` : `Ours, ${fmtInt(LONG_N)} events in one second at ${THROTTLE}×: ${fmtInt(burst.delivered)} of ${fmtInt(burst.tracked)} delivered; longest task ${fmtLong(burst.longest)}.`, '');
  if (drain) lines.push(drain.error ? `Ours, 50,000 events queued offline then delivered (1×): failed: ${drain.error}` : `Ours, ${fmtInt(drain.n)} events tracked offline (1,000 a task; \`maxQueueBytes\` 64 MiB), then online (1×): ${fmtInt(drain.delivered)} delivered in ${drain.seconds == null ? '—' : drain.seconds.toFixed(1) + ' s'}; longest task from going online ${fmtLong(drain.longest)}.`, '');
  return lines;
}

function setupSection({ peers, chromeArgs, blocked }) {
  return [
    '## How each tracker was set up',
    '',
    'Each tracker talks to its own collector-like server on 127.0.0.1 (its own port: cross-origin to the page, as a tracker on its own domain is), which serves its script files, answers its API as the real service would, and counts the benchmark events (each carries `bench_run` and `bench_i` in its properties, found whatever the wire format). '
      + 'Ours is answered by demo/collector.mjs (which validates and stores every event). '
      + 'Nothing leaves loopback: Chromium\'s proxy is a local sink that refuses every request (Chromium never proxies loopback), and no host name but localhost resolves. '
      + (USE_ROUTE ? 'A playwright route also aborts every non-loopback request. ' : 'No playwright route is set: it would intercept every request, loopback included, and slow the trackers that send one request per event (BENCH_ROUTE=1 adds it). ')
      + (blocked.length ? `Requests refused: ${blocked.length} (${blocked.slice(0, 5).join(', ')}${blocked.length > 5 ? ', …' : ''}).` : 'No tracker tried to reach anything else.'),
    '',
    '| tracker | package | configuration |',
    '|---|---|---|',
    ...peers.map((peer) => `| ${peer.label} | ${peer.pkg}${peer.version !== '—' ? ' ' + peer.version : ''} | ${peer.config} |`),
    '',
    `Chromium flags: \`${chromeArgs.join(' ').replace(/127\.0\.0\.1:\d+/, '127.0.0.1:SINK_PORT')}\`. Every event: \`track('${EVENT_NAME}', {bench_run, bench_i, plan, price, currency, source})\` (Snowplow: a self-describing event with the same data; Plausible: the same props).`,
    '',
    'Reproduce: `npm run bench` (builds dist/, installs bench/ from its lockfile, runs bench/run.mjs). `BENCH_RUNS=3` for a quicker pass, `BENCH_PEERS=floor,ours` for ours alone.',
    '',
  ];
}

/** BENCHMARKS.md: the targets, ours beside the peers, then each measurement in detail. */
function buildReport(c) {
  return [headerSection, targetsSection, summarySection, sizeSection, costsSection, ratiosSection, burstSection, throttledSection, setupSection].flatMap((section) => section(c)).join('\n');
}

/** The targets on stderr too, met or not, so a run whose report goes elsewhere still says where we stand. */
function logTargets(c) {
  for (const [issue, rows] of targets(c)) {
    log(`bench: targets (${issue}): met ${metCount(rows)}`);
    for (const t of rows) log(`  ${t.ok == null ? '—     ' : t.ok ? 'met   ' : 'MISSED'} ${t.figure.replace(/`/g, '')}: ${t.value} (target ${t.target.replace(/`/g, '')}; best peer ${t.peer})`);
  }
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
      + (peer.delivers === false ? '' : `  delivered ${deliveredText(b)} (${b.waitEnded ?? '—'}), sent twice ${b.duplicates ?? '—'}, refused ${b.refused ?? '—'}, last +${fmtMs(b.lastIn)}`)
      + (b.error ? `  ERROR ${b.error}` : ''));
  }

  // A low-end phone (issue 23): one throttled load per tracker; ours also at 10,000/s and draining 50,000.
  const throttled = { loads: {}, burst: null, drain: null };
  const slowBlocked = [];
  if (process.env.BENCH_THROTTLED !== '0') {
    for (const peer of peers) {
      const t = (throttled.loads[peer.id] = await measureThrottledLoad(env, site, peer, servers[peer.id], newRun(peer, 'slow'), slowBlocked));
      log(`  ${THROTTLE}× ${peer.id.padEnd(9)} first visit ${fmtLong(t.firstVisit)}  loop's task ${fmtLong(t.loopTask)}  after 1,000 track() ${fmtLong(t.burst)}` + (t.error ? `  ERROR ${t.error}` : ''));
    }
    const ours = peers.find((p) => p.id === 'ours');
    if (ours) {
      throttled.burst = await measureThrottledBurst(env, site, ours, servers.ours, newRun(ours, 'slow-burst'), trackBurst, slowBlocked);
      log(`  ${THROTTLE}× ours      10,000/s: ${throttled.burst.delivered ?? '—'} delivered, longest ${fmtLong(throttled.burst.longest)}` + (throttled.burst.error ? `  ERROR ${throttled.burst.error}` : ''));
      throttled.drain = await measureOfflineDrain(env, site, ours, servers.ours, newRun(ours, 'drain'), slowBlocked);
      log(`  1× ours      offline 50,000: ${throttled.drain.delivered ?? '—'} delivered in ${throttled.drain.seconds?.toFixed(1) ?? '—'} s, longest ${fmtLong(throttled.drain.longest)}` + (throttled.drain.error ? `  ERROR ${throttled.drain.error}` : ''));
    }
  }

  slowBlocked.forEach((u) => blockedAll.add(`throttled: ${u}`));

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
    if (peer.id === 'ours-gzip') continue; // the same files as ours
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
  const context = reportContext({ machine, browserVersion, chromeArgs: env.args, peers, results, bursts, sizeRows, elapsed, runs: RUNS, blocked: [...blockedAll], throttled });
  const report = buildReport(context);
  console.log(report);
  logTargets(context);
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
