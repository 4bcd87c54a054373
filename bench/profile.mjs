#!/usr/bin/env node
// Where does a tracker's cost go? `node bench/profile.mjs [tracker] [n|init]`
// (default: ours, 1,000) loads the tracker as the bench does, then records a
// V8 CPU profile (100 µs sampling) of n track() calls in one loop plus the
// microtasks they queued (until the next task), or with `init`, of script
// insertion → ready, and prints the functions with the most self time. Our
// minified frames are mapped back to src/ through dist/firstparty.min.js.map.
// With `deliver` last (`profile.mjs ours 1000 deliver`) the profile runs on
// until the collector has all n events. With `first` (`profile.mjs ours
// first`), it is a first visit: script insertion → ready, and the 3 s after
// (the page view's batch, the store's first writes). PROFILE_THROTTLE=6 slows
// the CPU 6× (Chromium's Emulation.setCPUThrottlingRate: a low-end Android
// phone); the long tasks (≥ 50 ms) of the profiled window are listed too.
// With `offline` (`profile.mjs ours 50000 offline`, ours only): n events
// tracked offline (as the bench's offline drain), then the profile runs from
// going online until the collector has all n. With `burst` (`profile.mjs ours
// burst`, ours only): 10,000 track() calls in one second (100 every 10 ms, as
// the bench's burst), until the collector has them all.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPeers, REPO_ROOT, WRITE_KEY } from './lib/peers.mjs';
import { launchBrowser, LONGTASK_OBSERVER, startServers, startDemoCollector, trackBurst, trackLoop, warmConnection } from './lib/browser.mjs';
import { queueOffline } from './lib/throttled.mjs';

const id = process.argv[2] || 'ours';
const profileInit = process.argv[3] === 'init';
const profileFirst = process.argv[3] === 'first';
const profileOffline = process.argv[4] === 'offline';
const profileBurst = process.argv[3] === 'burst';
const THROTTLE = Number(process.env.PROFILE_THROTTLE) || 1;
const profileDelivery = process.argv[4] === 'deliver' || process.argv[3] === 'deliver';
const n = Number(process.argv[3]) || 1000; // `profile.mjs ours 1000 deliver`: until all n are delivered

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Source map v3 `mappings` → per generated line, segments [col, source, line, col, name?]. */
function decodeMappings(mappings) {
  const lines = [];
  const state = [0, 0, 0, 0, 0];
  for (const line of mappings.split(';')) {
    const segments = [];
    state[0] = 0;
    for (const seg of line.split(',')) {
      if (!seg) continue;
      const values = [];
      let value = 0;
      let shift = 0;
      for (const ch of seg) {
        const digit = B64.indexOf(ch);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      const out = [];
      for (let i = 0; i < values.length; i++) {
        state[i] += values[i];
        out.push(state[i]);
      }
      segments.push(out);
    }
    lines.push(segments);
  }
  return lines;
}

function sourceMapper(mapFile) {
  if (!fs.existsSync(mapFile)) return null;
  const map = JSON.parse(fs.readFileSync(mapFile, 'utf8'));
  const lines = decodeMappings(map.mappings);
  return (line, column) => {
    const segs = lines[line] || [];
    let hit;
    for (const seg of segs) {
      if (seg[0] <= column) hit = seg;
      else break;
    }
    if (!hit || hit.length < 4) return null;
    const source = map.sources[hit[1]].replace(/^(\.\.\/)+/, '');
    return `${source}:${hit[2] + 1}${hit.length > 4 ? ' ' + map.names[hit[4]] : ''}`;
  };
}

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-profile-'));
  const collector = await startDemoCollector(dataDir, WRITE_KEY);
  const peers = (await loadPeers({ collector })).filter((p) => p.id === id);
  if (!peers.length) throw new Error(`no tracker ${id}`);
  const [peer] = peers;
  const net = await startServers(peers);
  const env = await launchBrowser();
  const mapOurs = sourceMapper(path.join(REPO_ROOT, 'dist/firstparty.min.js.map'));
  try {
    const context = await env.browser.newContext({ userAgent: env.userAgent });
    await context.addInitScript(LONGTASK_OBSERVER);
    const page = await context.newPage();
    const server = net.servers[id];
    await page.goto(`${net.site.origin}/p/${id}.html`);
    await page.evaluate(warmConnection, { origin: server.origin });
    const cdp = await context.newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
    if (THROTTLE > 1) await cdp.send('Emulation.setCPUThrottlingRate', { rate: THROTTLE });
    const slowed = THROTTLE > 1 ? `, CPU ${THROTTLE}× slower` : '';
    let profile;
    let from = 0;
    if (profileFirst) {
      from = await page.evaluate(() => performance.now());
      await cdp.send('Profiler.start');
      const ms = await page.evaluate(peer.init, { origin: server.origin, key: WRITE_KEY });
      await page.waitForTimeout(3000);
      ({ profile } = await cdp.send('Profiler.stop'));
      console.log(`${peer.label}: first visit: init ${ms.toFixed(1)} ms, then 3 s${slowed} (profiler on: slower than the bench)\n`);
    } else if (profileOffline) {
      await queueOffline(page, context, server, 'profile', n);
      await page.waitForTimeout(5000); // stored, and a failed attempt or two
      from = await page.evaluate(() => performance.now());
      await cdp.send('Profiler.start');
      const onlineWall = Date.now();
      await context.setOffline(false);
      const at = await server.waitFor('profile', n, 180_000, 30_000);
      ({ profile } = await cdp.send('Profiler.stop'));
      const delivered = at ? `all delivered ${((at - onlineWall) / 1000).toFixed(1)} s after going online` : `only ${server.stats('profile').ids.size} delivered`;
      console.log(`${peer.label}: ${n} events queued offline, then online: ${delivered}${slowed} (profiler on: slower than the bench)\n`);
    } else if (profileBurst) {
      await page.evaluate(peer.init, { origin: server.origin, key: WRITE_KEY });
      await page.waitForTimeout(3000);
      from = await page.evaluate(() => performance.now());
      await cdp.send('Profiler.start');
      const burst = await page.evaluate(trackBurst, { total: 10_000, ticks: 100, run: 'profile', name: 'Bench Event', deadline: 60_000 });
      const at = await server.waitFor('profile', burst.tracked, 120_000, 15_000);
      ({ profile } = await cdp.send('Profiler.stop'));
      const delivered = at ? `all delivered ${((at - burst.endWall) / 1000).toFixed(1)} s after the last` : `only ${server.stats('profile').ids.size} delivered`;
      console.log(`${peer.label}: ${burst.tracked} track() calls in ${(burst.ms / 1000).toFixed(2)} s: ${delivered}${slowed} (profiler on: slower than the bench)\n`);
    } else if (profileInit) {
      await cdp.send('Profiler.start');
      const ms = await page.evaluate(peer.init, { origin: server.origin, key: WRITE_KEY });
      ({ profile } = await cdp.send('Profiler.stop'));
      console.log(`${peer.label}: init (script insertion → ready) ${ms.toFixed(1)} ms${slowed} (profiler on: slower than the bench)\n`);
    } else {
      await page.evaluate(peer.init, { origin: server.origin, key: WRITE_KEY });
      await page.waitForTimeout(500 * THROTTLE);
      from = await page.evaluate(() => performance.now());
      await cdp.send('Profiler.start');
      const loop = await page.evaluate(trackLoop, { n, run: 'profile', name: 'Bench Event' });
      let delivered = '';
      if (profileDelivery) {
        const at = await server.waitFor('profile', n, 30_000, 15_000);
        delivered = at ? `, all delivered ${(at - loop.endWall).toFixed(0)} ms after the loop` : `, only ${server.stats('profile').ids.size} delivered`;
      }
      ({ profile } = await cdp.send('Profiler.stop'));
      console.log(`${peer.label}: ${n} track() calls: loop ${loop.sync.toFixed(1)} ms, until the next task ${loop.next.toFixed(1)} ms${delivered}${slowed} (profiler on: slower than the bench)\n`);
    }

    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    // Each sample's time from the profile's start, in ms (the profile starts as `from` was read, to a CDP round trip).
    const sampleAt = [];
    profile.timeDeltas.reduce((at, delta, i) => (sampleAt[i] = at + delta), profile.startTime);
    /** Self time by function and by file, of the samples within [start, end) ms from the profile's start. */
    const selfTimes = (start = -Infinity, end = Infinity) => {
      const byFunction = new Map();
      const byFile = new Map();
      let total = 0;
      profile.samples.forEach((nodeId, i) => {
        const at = (sampleAt[i] - profile.startTime) / 1000;
        if (at < start || at >= end) return;
        const us = profile.timeDeltas[i] || 0;
        const frame = nodes.get(nodeId).callFrame;
        if (frame.functionName === '(idle)' || frame.functionName === '(program)') return;
        total += us;
        const file = frame.url ? frame.url.split('/').pop() : '(native)';
        let where = `${file}:${frame.lineNumber + 1}:${frame.columnNumber + 1}`;
        let source = file;
        if (/firstparty\.min\.js/.test(frame.url) && mapOurs) {
          const mapped = mapOurs(frame.lineNumber, frame.columnNumber);
          if (mapped) {
            where = mapped;
            source = mapped.split(':')[0];
          }
        }
        const key = `${frame.functionName || '(anonymous)'}  ${frame.url ? where : '(native/builtin)'}`;
        byFunction.set(key, (byFunction.get(key) || 0) + us);
        byFile.set(source, (byFile.get(source) || 0) + us);
      });
      return { byFunction, byFile, total };
    };
    const show = (m, count, total, indent = '') =>
      [...m].sort((a, b) => b[1] - a[1]).slice(0, count).map(([k, us]) => `${indent}${(us / 1000).toFixed(1).padStart(8)} ms ${((100 * us) / total).toFixed(0).padStart(3)}%  ${k}`).join('\n');
    const { byFunction, byFile, total } = selfTimes();
    console.log(`Self time by function (of ${(total / 1000).toFixed(1)} ms sampled, idle excluded):`);
    console.log(show(byFunction, 30, total));
    console.log('\nSelf time by file:');
    console.log(show(byFile, 15, total));
    const longtasks = await page.evaluate((from) => window.__longtasks.filter(([t, d]) => t + d >= from), from);
    console.log(`\nLong tasks (≥ 50 ms) in the profiled window: ${longtasks.map(([t, d]) => `${d.toFixed(0)} ms at +${(t - from).toFixed(0)} ms`).join(', ') || 'none'}`);
    for (const [t, d] of longtasks) {
      const task = selfTimes(t - from, t - from + d);
      console.log(`\n  ${d.toFixed(0)} ms at +${(t - from).toFixed(0)} ms, its samples (${(task.total / 1000).toFixed(1)} ms):`);
      console.log(show(task.byFunction, 10, task.total, '  '));
    }
    await context.close();
  } finally {
    await env.close();
    await net.close();
    collector.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error('profile failed:', error);
  process.exit(1);
});
