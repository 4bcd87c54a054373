// The trackers under test: where their script files come from, how their
// collector answers, and the in-page code that loads them (script insertion →
// ready) and defines `window.__benchTrack(name, properties)`.
//
// In-page functions are serialised by playwright: they must not close over
// anything in this module.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
export const REPO_ROOT = path.resolve(BENCH_DIR, '..');
const benchModules = path.join(BENCH_DIR, 'node_modules');
const BUILD_DIR = path.join(benchModules, '.bench-build');


/** The installed version of a bench dependency (from its own package.json). */
function versionOf(name) {
  return JSON.parse(fs.readFileSync(path.join(benchModules, name, 'package.json'), 'utf8')).version;
}

function json(body, status = 200) {
  return { status, type: 'application/json', body: JSON.stringify(body) };
}

/**
 * Plausible's npm package ships only ES modules / CommonJS: bundle it into a
 * minified IIFE (`window.Plausible`) with the root's rollup, as a site would.
 */
async function buildPlausible() {
  const out = path.join(BUILD_DIR, 'plausible.min.js');
  const { rollup } = await import('rollup');
  const { nodeResolve } = await import('@rollup/plugin-node-resolve');
  const terser = (await import('@rollup/plugin-terser')).default;
  const bundle = await rollup({
    input: path.join(benchModules, 'plausible-tracker/build/module/index.js'),
    plugins: [nodeResolve({ browser: true }), terser({ format: { comments: false } })],
    onwarn: () => {},
  });
  await bundle.write({ file: out, format: 'iife', name: 'Plausible', exports: 'default', sourcemap: false });
  await bundle.close();
  return out;
}

const SEGMENT_KEY = 'benchkey';

export const WRITE_KEY = 'demo-write-key-01';

/**
 * @typedef {object} Peer
 * @property {string} id
 * @property {string} label
 * @property {string} version
 * @property {string} pkg           npm package (or the repo for ours)
 * @property {string} config        how it is configured, for the report
 * @property {boolean} [delivers=true]  false for the floor (nothing to deliver)
 * @property {(env: object) => Promise<object>} server  options for startServer()
 * @property {Function} init        in-page: ({origin}) => Promise<number ms>
 * @property {string} [headHtml]    inline HTML for the page <head> (ours: the snippet)
 */

/** @returns {Promise<Peer[]>} */
export async function loadPeers({ collector, distDir = path.join(REPO_ROOT, 'dist') }) {
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  const dist = distDir;
  const snippet = fs.readFileSync(path.join(dist, 'snippet.min.js'), 'utf8');
  const rootPkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
  const segmentUmd = path.join(benchModules, '@segment/analytics-next/dist/umd');
  const posthogDist = path.join(benchModules, 'posthog-js/dist');
  const plausibleFile = await buildPlausible();

  /** @type {Peer[]} */
  const peers = [
    {
      id: 'floor',
      label: 'floor (empty script; bare array push)',
      version: '—',
      pkg: '—',
      config: 'init: an empty script file inserted, until its load event; track: `array.push({name, properties})` of the same objects',
      delivers: false,
      server: async () => ({ files: { '/empty.js': path.join(BUILD_DIR, 'empty.js') } }),
      init: ({ origin }) =>
        new Promise((resolve, reject) => {
          const sink = (window.__sink = []);
          const t0 = performance.now();
          const s = document.createElement('script');
          s.src = origin + '/empty.js';
          s.onload = () => {
            window.__benchTrack = (name, properties) => sink.push({ name, properties });
            resolve(performance.now() - t0);
          };
          s.onerror = () => reject(new Error('empty.js failed to load'));
          document.head.append(s);
        }),
    },
    {
      id: 'ours',
      label: 'firstparty-js (ours)',
      version: rootPkg.version,
      pkg: 'dist/firstparty.min.js + dist/snippet.min.js',
      config: 'snippet inlined; `firstparty.load(writeKey, collectorOrigin)` with default options; served and collected by demo/collector.mjs',
      headHtml: `<script>${snippet}</script>`,
      server: async () => ({ delegate: collector.handle }),
      init: ({ origin, key }) =>
        new Promise((resolve) => {
          const t0 = performance.now();
          // window.__benchOptions: the ours-gzip row's load options (set in its page's head).
          window.firstparty.load(key, origin, window.__benchOptions);
          window.firstparty.ready(() => {
            window.__benchTrack = (name, properties) => window.firstparty.track(name, properties);
            // What the library itself says it dropped (queue limits), for the burst report.
            window.__benchDropped = 0;
            window.firstparty.on('dropped', (e) => (window.__benchDropped += (e && (e.count || (e.events && e.events.length))) || 0));
            resolve(performance.now() - t0);
          });
        }),
    },
    {
      id: 'segment',
      label: 'Segment analytics-next',
      version: versionOf('@segment/analytics-next'),
      pkg: '@segment/analytics-next (dist/umd/standalone.js, the CDN analytics.min.js)',
      config: 'snippet-style stub (`_writeKey`, `_cdn` = local server); CDN settings served locally with only the Segment.io destination (apiHost local, metrics sampleRate 0); default (non-batching) delivery',
      server: async ({ origin }) => ({
        files: {
          [`/analytics.js/v1/${SEGMENT_KEY}/analytics.min.js`]: path.join(segmentUmd, 'standalone.js'),
          '/analytics-next/bundles/': segmentUmd,
        },
        api: (req, url) => {
          if (url.pathname === `/v1/projects/${SEGMENT_KEY}/settings`) {
            return json({
              integrations: {
                'Segment.io': { apiKey: SEGMENT_KEY, apiHost: origin.replace(/^https?:\/\//, '') + '/v1', protocol: 'http' },
              },
              plan: {},
              edgeFunction: {},
              analyticsNextEnabled: true,
              middlewareSettings: {},
              enabledMiddleware: {},
              metrics: { sampleRate: 0 },
              legacyVideoPluginsEnabled: false,
              remotePlugins: [],
            });
          }
          return json({ success: true });
        },
      }),
      init: ({ origin }) =>
        new Promise((resolve, reject) => {
          const a = (window.analytics = []);
          a.methods = ['trackSubmit', 'trackClick', 'trackLink', 'trackForm', 'pageview', 'identify', 'reset', 'group', 'track', 'ready', 'alias', 'debug', 'page', 'screen', 'once', 'off', 'on', 'addSourceMiddleware', 'addIntegrationMiddleware', 'setAnonymousId', 'addDestinationMiddleware', 'register'];
          a.factory = (m) =>
            function () {
              const args = Array.prototype.slice.call(arguments);
              args.unshift(m);
              a.push(args);
              return a;
            };
          for (const m of a.methods) a[m] = a.factory(m);
          a._writeKey = 'benchkey';
          a._cdn = origin;
          a.SNIPPET_VERSION = '5.2.1';
          const t0 = performance.now();
          a.ready(() => {
            window.__benchTrack = (name, properties) => window.analytics.track(name, properties);
            resolve(performance.now() - t0);
          });
          const s = document.createElement('script');
          s.async = true;
          s.src = origin + '/analytics.js/v1/benchkey/analytics.min.js';
          s.onerror = () => reject(new Error('analytics.min.js failed to load'));
          document.head.append(s);
        }),
    },
    {
      id: 'posthog',
      label: 'PostHog',
      version: versionOf('posthog-js'),
      pkg: 'posthog-js (dist/array.js, the snippet-loaded bundle)',
      config: 'snippet-style stub; `api_host` local; autocapture, pageview/pageleave capture, session recording, surveys and feature flags off; user-agent filter off (headless); client rate limit raised from 10 events/s (bursts of 100), which otherwise drops 878 of the 1,000 events',
      server: async () => ({
        files: { '/static/': posthogDist },
        api: (req, url) => {
          if (/^\/(e|i\/v0\/e|batch|capture|track)\/?$/.test(url.pathname)) return json({ status: 1 });
          if (/flags|decide/.test(url.pathname)) return json({ featureFlags: {}, featureFlagPayloads: {}, errorsWhileComputingFlags: false });
          if (url.pathname.endsWith('.js')) return { status: 404, type: 'text/plain', body: 'not found' };
          return json({});
        },
      }),
      init: ({ origin }) =>
        new Promise((resolve, reject) => {
          const ph = (window.posthog = []);
          ph._i = [];
          ph.__SV = 1;
          ph.init = (key, config, name) => ph._i.push([key, config, name]);
          const t0 = performance.now();
          ph.init('phc_bench', {
            api_host: origin,
            autocapture: false,
            capture_pageview: false,
            capture_pageleave: false,
            disable_session_recording: true,
            disable_surveys: true,
            advanced_disable_flags: true,
            opt_out_useragent_filter: true,
            // The default client-side rate limit (10/s, bursts of 100) drops most of 1,000 events.
            rate_limiting: { events_per_second: 1e6, events_burst_limit: 1e6 },
            loaded: () => {
              window.__benchTrack = (name, properties) => window.posthog.capture(name, properties);
              resolve(performance.now() - t0);
            },
          });
          const s = document.createElement('script');
          s.async = true;
          s.crossOrigin = 'anonymous';
          s.src = origin + '/static/array.js';
          s.onerror = () => reject(new Error('array.js failed to load'));
          document.head.append(s);
        }),
    },
    {
      id: 'amplitude',
      label: 'Amplitude Browser SDK 2',
      version: versionOf('@amplitude/analytics-browser'),
      pkg: '@amplitude/analytics-browser (lib/scripts/amplitude-min.js, the CDN script)',
      config: '`amplitude.init(key, {serverUrl: local, autocapture: false, fetchRemoteConfig: false})`; default batching (30 events / 1 s)',
      server: async () => ({
        files: { '/amplitude-min.js': path.join(benchModules, '@amplitude/analytics-browser/lib/scripts/amplitude-min.js') },
        api: (req, url, body) => {
          let n = 0;
          try { n = JSON.parse(body.toString('utf8')).events.length; } catch { /* not ours to judge */ }
          return json({ code: 200, events_ingested: n, payload_size_bytes: body.length, server_upload_time: Date.now() });
        },
      }),
      init: ({ origin }) =>
        new Promise((resolve, reject) => {
          const t0 = performance.now();
          const s = document.createElement('script');
          s.async = true;
          s.src = origin + '/amplitude-min.js';
          s.onload = () => {
            window.amplitude
              .init('benchkey0123456789abcdef01234567', { serverUrl: origin + '/2/httpapi', autocapture: false, fetchRemoteConfig: false })
              .promise.then(() => {
                window.__benchTrack = (name, properties) => window.amplitude.track(name, properties);
                resolve(performance.now() - t0);
              }, reject);
          };
          s.onerror = () => reject(new Error('amplitude-min.js failed to load'));
          document.head.append(s);
        }),
    },
    {
      id: 'snowplow',
      label: 'Snowplow browser tracker',
      version: versionOf('@snowplow/browser-tracker'),
      pkg: '@snowplow/browser-tracker (dist/index.umd.min.js, dependencies bundled)',
      config: "`newTracker('sp', local, {appId})` with defaults (POST, bufferSize 1, localStorage queue); `trackSelfDescribingEvent` with the properties as data",
      server: async () => ({
        files: { '/sp.js': path.join(benchModules, '@snowplow/browser-tracker/dist/index.umd.min.js') },
        api: () => ({ status: 200, type: 'text/plain', body: 'ok' }),
      }),
      init: ({ origin }) =>
        new Promise((resolve, reject) => {
          const t0 = performance.now();
          const s = document.createElement('script');
          s.async = true;
          s.src = origin + '/sp.js';
          s.onload = () => {
            const sp = window.snowplowBrowserTracking;
            sp.newTracker('sp', origin, { appId: 'bench' });
            window.__benchTrack = (name, properties) =>
              sp.trackSelfDescribingEvent({ event: { schema: 'iglu:com.example/bench_event/jsonschema/1-0-0', data: { name, ...properties } } });
            resolve(performance.now() - t0);
          };
          s.onerror = () => reject(new Error('sp.js failed to load'));
          document.head.append(s);
        }),
    },
    {
      id: 'plausible',
      label: 'Plausible (plausible-tracker)',
      version: versionOf('plausible-tracker'),
      pkg: 'plausible-tracker, bundled to a minified IIFE with rollup + terser',
      config: '`Plausible({domain, apiHost: local, trackLocalhost: true})`; `trackEvent(name, {props})` (one request per event, no queue)',
      server: async () => ({
        files: { '/plausible.js': plausibleFile },
        api: () => ({ status: 202, type: 'text/plain', body: 'ok' }),
      }),
      init: ({ origin }) =>
        new Promise((resolve, reject) => {
          const t0 = performance.now();
          const s = document.createElement('script');
          s.async = true;
          s.src = origin + '/plausible.js';
          s.onload = () => {
            const p = window.Plausible({ domain: 'bench.example', apiHost: origin, trackLocalhost: true });
            window.__benchTrack = (name, properties) => p.trackEvent(name, { props: properties });
            resolve(performance.now() - t0);
          };
          s.onerror = () => reject(new Error('plausible.js failed to load'));
          document.head.append(s);
        }),
    },
  ];
  // Ours again, with the opt-in gzip of visible batches (its bytes up; kept out of the peer comparisons).
  const ours = peers.find((peer) => peer.id === 'ours');
  peers.splice(peers.indexOf(ours) + 1, 0, {
    ...ours,
    id: 'ours-gzip',
    label: "firstparty-js (ours), compression: 'gzip'",
    config: "as ours, with `{compression: 'gzip'}`: visible pages' batches gzipped by CompressionStream (the express send and hidden pages' keepalive requests stay plain JSON)",
    headHtml: `<script>window.__benchOptions = { compression: 'gzip' };</script>` + ours.headHtml,
  });
  fs.writeFileSync(path.join(BUILD_DIR, 'empty.js'), '');
  return peers;
}


