// Shared by the demo tests: temp data dirs, a collector on a free port, and
// small request helpers. Not a test file itself (no .test. in the name).
import { afterEach } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { createCollector } from '../../demo/collector.mjs';

export const KEY = 'demo-write-key-01';

const made = [];

/** A fresh temp directory, removed by cleanup(). */
export function tempDir(prefix = 'fp-demo-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function cleanupDirs() {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** A collector listening on a free 127.0.0.1 port. */
export async function startCollector(options = {}) {
  const collector = createCollector({ dataDir: tempDir(), ...options });
  const server = await collector.listen(0);
  return { collector, ...server };
}

/**
 * For a test file: `start(options)` starts a collector on a free port (as
 * startCollector) and `keep(server)` adopts one started otherwise; after each
 * test all are closed and the temp dirs removed.
 */
export function collectorsPerTest() {
  const running = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.close()));
    cleanupDirs();
  });
  return {
    async start(options) {
      const c = await startCollector(options);
      running.push(c);
      return c;
    },
    keep: (server) => running.push(server),
  };
}

/** A temp dist/ directory holding `files` (name → text), for the script routes. */
export function distWith(files) {
  const dir = tempDir('fp-dist-');
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

/**
 * Opens the demo server's live stream (`/demo/stream`); `readUntil(needle)`
 * reads until the text so far contains `needle`, `text()` is what was read.
 */
export async function openStream(base, headers = {}) {
  const controller = new AbortController();
  const res = await fetch(`${base}/demo/stream`, { signal: controller.signal, headers });
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  return {
    res,
    text: () => text,
    async readUntil(needle) {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}`);
        text += decoder.decode(value, { stream: true });
      }
    },
    close: () => controller.abort(),
  };
}

/** A valid event with a unique event_id. */
let n = 0;
export function ev(overrides = {}) {
  n += 1;
  return {
    write_key: KEY,
    name: `Test Event ${n}`,
    event_id: `EV-test-${process.pid}-${Date.now()}-${n}`,
    profile_id: 'PR123456789012345678901234567890',
    session_id: 'SE123456789012345678901234567890',
    properties: { n },
    context: { page: { path: '/' } },
    created_at: new Date().toISOString(),
    ...overrides,
  };
}

/** POST JSON (or a raw string) to `url + path`. */
export async function post(url, route, body, headers = {}) {
  const res = await fetch(url + route, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { res, status: res.status, headers: res.headers, text, json };
}

/** A raw HTTP request (lets a test omit Content-Type entirely, or use any method). */
export function raw(url, { method = 'POST', route = '/events/track', headers = {}, body = '' } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url + route, { method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Resolve once `predicate()` is true, checking whenever the collector changes. */
export function until(collector, predicate, what = 'condition', timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    if (predicate()) return resolve();
    const timer = setTimeout(() => { off(); reject(new Error(`timed out waiting for ${what}`)); }, timeoutMs);
    const off = collector.subscribe(() => {
      if (predicate()) { clearTimeout(timer); off(); resolve(); }
    });
  });
}

/**
 * The JSON text of a valid event (see ev()) whose properties nest `levels`
 * objects deep, `{"a":{"a":…1}}`, so the event itself is `levels + 1` deep.
 * Built as text: JSON.stringify itself overflows at a few thousand levels.
 */
export function deepEventJson(levels, overrides = {}) {
  const { properties: _p, ...event } = ev(overrides);
  const base = JSON.stringify(event);
  return `${base.slice(0, -1)},"properties":${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}}`;
}
