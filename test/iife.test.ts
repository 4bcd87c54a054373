/**
 * src/iife.ts: the script the snippet loads. It takes over window.firstparty,
 * loads the tracker from what the snippet's load() stored, and replays the
 * snippet's queue in order, each call with its own time and page.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Firstparty } from '../src/firstparty';
import { installCookieJar, removeCookieJar } from './helpers/cookieJar';
import { fakeFetch } from './helpers/fakeNetwork';
import { ignoreInsertedScripts, setUrl, START_URL } from './helpers/page';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

/** The built snippet (npm test builds first): its Proxy stub is what real pages have. */
const SNIPPET = readFileSync(resolve(fileURLToPath(import.meta.url), '../../dist/snippet.min.js'), 'utf8');

const KEY = 'wmc8KThQ2MxPq7Vu';
const HOST = 'http://127.0.0.1:8787';
const ENDPOINT = HOST + '/events/track/bulk';
const T0 = Date.UTC(2025, 3, 1, 10, 0, 0);

type Page = { url: string; title: string; referrer: string };
type Call = unknown[] & { t?: number; p?: Page; s?: 1 };

const LANDING: Page = { url: 'https://www.example.com/landing?utm_source=news', title: 'Landing', referrer: 'https://search.example/' };
const PRICING: Page = { url: 'https://www.example.com/pricing', title: 'Pricing', referrer: 'https://search.example/' };

/** A queued call as the snippet makes it. */
function call(args: unknown[], t = T0, p: Page = LANDING, s?: 1): Call {
  return Object.assign([...args], { t, p }, s ? { s } : {});
}

/** What the snippet leaves on window.firstparty: the calls, and load()'s arguments if it was called. */
function stub(calls: Call[], load: { key?: string; host?: string; options?: Record<string, unknown> } | null = { key: KEY, host: HOST }) {
  const queue: any = [...calls];
  if (load) {
    queue._writeKey = load.key;
    queue._host = load.host;
    queue._firstpartyOptions = load.options;
  }
  (window as any).firstparty = queue;
  return queue;
}

/** Runs src/iife.ts, as the browser runs the script when it arrives. */
async function runScript(): Promise<Firstparty & { _loaded?: boolean }> {
  vi.resetModules();
  await import('../src/iife');
  return (window as any).firstparty;
}

let net: ReturnType<typeof fakeFetch>;
let warn: ReturnType<typeof vi.spyOn>;
let jar: ReturnType<typeof installCookieJar>;
const started: Firstparty[] = [];

beforeEach(() => {
  vi.useFakeTimers({ now: T0 + 60_000, toFake: ['Date'] }); // fake-indexeddb needs real setImmediate
  warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  vi.spyOn(console, 'log').mockImplementation(() => {});
  vi.stubGlobal('indexedDB', new IDBFactory());
  net = fakeFetch();
  vi.stubGlobal('fetch', net.fetch);
  vi.spyOn(navigator, 'sendBeacon').mockReturnValue(true);
  jar = installCookieJar();
  setUrl('https://www.example.com/now');
  document.title = 'Now';
});

afterEach(async () => {
  const firstparty = (window as any).firstparty;
  if (firstparty && !Array.isArray(firstparty)) {
    started.push(firstparty);
    firstparty.debug(false);
  }
  started.splice(0).forEach((fp) => fp.destroy());
  delete (window as any).firstparty;
  vi.useRealTimers();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  removeCookieJar();
  document.title = '';
  setUrl(START_URL);
});

const names = () => net.events().map((e) => e.name);

describe('taking over window.firstparty', () => {
  it('replaces the snippet’s array with the library, marked _loaded', async () => {
    const queue = stub([]);
    const firstparty = await runScript();
    expect(firstparty).not.toBe(queue);
    expect(Array.isArray(firstparty)).toBe(false);
    expect(firstparty._loaded).toBe(true);
    for (const method of ['track', 'page', 'identify', 'load', 'flush', 'consent', 'optOut']) expect(typeof (firstparty as any)[method]).toBe('function');
  });

  it('loads the tracker from _writeKey, _host and _firstpartyOptions', async () => {
    stub([call(['track', 'A'])], { key: KEY, host: HOST, options: { storage: 'memory', flushInterval: 5000 } });
    const firstparty = await runScript();
    await firstparty.flush();
    expect(net.requests.map((r) => r.url)).toEqual([ENDPOINT]);
    expect(net.events()[0].write_key).toBe(KEY);
    expect(jar.writesOf('fpid')).toEqual([]); // storage: 'memory' reached the tracker
  });

  it('a bare host means https://{host}', async () => {
    stub([call(['track', 'A'])], { key: KEY, host: 'fp.example.com' });
    const firstparty = await runScript();
    await firstparty.flush();
    expect(net.requests[0].url).toBe('https://fp.example.com/events/track/bulk');
  });

  it('options reach the tracker: consent "pending" holds the replayed calls until consent(true)', async () => {
    stub([call(['track', 'Held'], T0)], { key: KEY, host: HOST, options: { consent: 'pending' } });
    const firstparty = await runScript();
    await firstparty.flush();
    expect(net.requests).toHaveLength(0);
    firstparty.consent(true);
    await firstparty.flush();
    expect(names()).toEqual(['Held']);
    expect(net.events()[0].created_at).toBe(new Date(T0).toISOString());
  });

  it('without a snippet, it creates an unloaded tracker that load() starts', async () => {
    delete (window as any).firstparty;
    const firstparty = await runScript();
    expect(firstparty._loaded).toBe(true);
    firstparty.track('Early');
    await firstparty.flush();
    expect(net.requests).toHaveLength(0);
    firstparty.load(KEY, HOST);
    await firstparty.flush();
    expect(names()).toEqual(['Early']);
  });
});

describe('the snippet’s Proxy stub', () => {
  ignoreInsertedScripts();
  afterAll(() => document.head.querySelectorAll('script').forEach((script) => script.remove()));

  it('calls made later on a reference to the stub that page code kept are forwarded to the library, in order', async () => {
    (0, eval)(SNIPPET);
    const kept = (window as any).firstparty; // e.g. `const fp = window.firstparty` in a module
    kept.load(KEY, HOST);
    kept.track('Before');
    const firstparty = await runScript();
    kept.track('After', { via: 'kept' });
    kept.page();
    await firstparty.flush();
    expect(names()).toEqual(['Before', 'After', 'Page Viewed']);
    expect(net.events()[1].properties).toEqual({ via: 'kept' });
    expect([...kept].every((call: Call) => call.s === 1)).toBe(true);
  });

  it('a call on the kept reference made during the replay (a track listener, a middleware) is sent, in call order', async () => {
    (0, eval)(SNIPPET);
    const kept = (window as any).firstparty;
    kept.load(KEY, HOST);
    kept.on('track', (event: any) => event.name === 'Signed Up' && kept.track('From Listener'));
    let first = 1;
    kept.addSourceMiddleware(({ payload, next }: any) => {
      if (first && !(first = 0)) kept.track('From Middleware');
      next(payload);
    });
    kept.track('Signed Up');
    kept.track('Next');
    const firstparty = await runScript();
    await firstparty.flush();
    expect(names()).toEqual(['From Middleware', 'Signed Up', 'From Listener', 'Next']);
    expect([...kept].every((call: Call) => call.s === 1)).toBe(true);
  });

  it('on the kept reference, load() and the getters answer from the library; JSON.stringify calls nothing', async () => {
    (0, eval)(SNIPPET);
    const kept = (window as any).firstparty;
    kept.track('Early');
    const firstparty = await runScript(); // the script arrived by its own <script>: no load() yet
    const scripts = document.querySelectorAll('script[src]').length;
    kept.load(KEY, HOST); // the library's load(), not the snippet's second script
    expect(document.querySelectorAll('script[src]')).toHaveLength(scripts);
    expect(kept.getProfileId()).toBe(firstparty.getProfileId());
    expect(kept.getSessionId()).toMatch(/^SE/);
    JSON.stringify({ kept });
    await kept.flush();
    expect(names()).toEqual(['Early']);
    expect(warn).not.toHaveBeenCalled();
  });

  it('an on("ready") waiting in the queue fires, though load() ran before the replay', async () => {
    (0, eval)(SNIPPET);
    const kept = (window as any).firstparty;
    kept.load(KEY, HOST);
    const ready = vi.fn();
    kept.on('ready', ready);
    await runScript();
    await vi.waitFor(() => expect(ready).toHaveBeenCalledTimes(1));
  });

  it('without the snippet’s load(): no load from the Proxy’s stub functions, no warning; load() later starts it', async () => {
    (0, eval)(SNIPPET);
    (window as any).firstparty.track('Early');
    const firstparty = await runScript();
    expect(warn).not.toHaveBeenCalled();
    firstparty.load(KEY, HOST);
    await firstparty.flush();
    expect(names()).toEqual(['Early']);
  });

  it('a call to a name the library lacks (a typo, or JSON.stringify(stub) calling toJSON) warns "unknown method" and the rest goes on', async () => {
    (0, eval)(SNIPPET);
    const stubbed = (window as any).firstparty;
    stubbed.load(KEY, HOST);
    stubbed.trak('Typo');
    JSON.stringify(stubbed);
    stubbed.track('Fine');
    const firstparty = await runScript();
    await firstparty.flush();
    expect(names()).toEqual(['Fine']);
    expect(warn.mock.calls.map((args: unknown[]) => args.join(' '))).toEqual(['[firstparty] unknown method: trak', '[firstparty] unknown method: toJSON']);
  });
});

describe('replaying the snippet’s queue', () => {
  it('sends the queued calls in call order', async () => {
    stub([
      call(['page'], T0),
      call(['track', 'A', { n: 1 }], T0 + 1),
      call(['group', 'acme'], T0 + 2),
      call(['track', 'B'], T0 + 3),
      call(['pageview'], T0 + 4),
      call(['alias', 'user-2'], T0 + 5),
    ]);
    const firstparty = await runScript();
    await firstparty.flush();
    expect(names()).toEqual(['Page Viewed', 'A', 'Group Identified', 'B', 'Page Viewed', 'Profile Aliased']);
    expect(net.events()[1].properties).toEqual({ n: 1 });
  });

  it('each call keeps its own time and page, not the moment the script ran', async () => {
    stub([call(['page', 'Landing'], T0, LANDING), call(['track', 'Plan Selected', { plan: 'pro' }], T0 + 5000, PRICING)]);
    const firstparty = await runScript();
    await firstparty.flush();
    const [viewed, selected] = net.events();
    expect(viewed.created_at).toBe(new Date(T0).toISOString());
    expect(viewed.context.page).toMatchObject({ url: LANDING.url, path: '/landing', title: 'Landing', referrer: LANDING.referrer });
    expect(viewed.context.campaign).toEqual({ source: 'news' });
    expect(viewed.properties).toMatchObject({ url: LANDING.url, path: '/landing', search: '?utm_source=news', title: 'Landing', name: 'Landing' });
    expect(selected.created_at).toBe(new Date(T0 + 5000).toISOString());
    expect(selected.context.page).toMatchObject({ url: PRICING.url, path: '/pricing', title: 'Pricing' });
  });

  it('source middlewares apply to every queued call (added first, as analytics.js does); other calls run in their place: IDs, listeners, ready, debug', async () => {
    const ready = vi.fn();
    const sent = vi.fn();
    stub([
      call(['track', 'Before Middleware']),
      call(['addSourceMiddleware', ({ payload, next }: any) => next({ ...payload, properties: { ...payload.properties, tagged: true } })]),
      call(['track', 'After Middleware']),
      call(['setAnonymousId', 'anon-1']),
      call(['track', 'After Id']),
      call(['on', 'sent', sent]),
      call(['ready', ready]),
      call(['debug', true]),
    ]);
    const firstparty = await runScript();
    await firstparty.flush();
    const [before, after, afterId] = net.events();
    expect(names()).toEqual(['Before Middleware', 'After Middleware', 'After Id']);
    expect(before.properties).toEqual({ tagged: true });
    expect(after.properties).toEqual({ tagged: true });
    expect(before.profile_id).not.toBe('anon-1');
    expect(afterId.profile_id).toBe('anon-1');
    expect(firstparty.getProfileId()).toBe('anon-1');
    expect(sent).toHaveBeenCalled();
    expect(ready).toHaveBeenCalledTimes(1);
    firstparty.track('Logged');
    expect((console.log as any).mock.calls.some((args: unknown[]) => args[0] === '[firstparty]')).toBe(true);
  });

  it('identify() in the queue sets the profile for the calls after it', async () => {
    stub([call(['track', 'Anonymous']), call(['identify', 'user-42', { email: 'ada@example.com' }]), call(['track', 'Known'])]);
    const firstparty = await runScript();
    await firstparty.flush();
    const [anonymous, identified, known] = net.events();
    expect(anonymous.profile_id).not.toBe('user-42');
    expect(identified).toMatchObject({ name: 'Profile Identified', profile_id: 'user-42', properties: { email: 'ada@example.com' } });
    expect(known.profile_id).toBe('user-42');
  });

  it('skips the calls the snippet already sent with sendBeacon (marked s)', async () => {
    stub([call(['track', 'Beaconed'], T0, LANDING, 1), call(['page'], T0, LANDING, 1), call(['track', 'Not Yet'], T0 + 1)]);
    const firstparty = await runScript();
    await firstparty.flush();
    expect(names()).toEqual(['Not Yet']);
  });

  it('calls queued when the snippet’s load() never ran wait for load(), then keep their time', async () => {
    stub([call(['track', 'Waiting'], T0 + 7)], null);
    const firstparty = await runScript();
    await firstparty.flush();
    expect(net.requests).toHaveLength(0);
    firstparty.load(KEY, HOST);
    await firstparty.flush();
    expect(names()).toEqual(['Waiting']);
    expect(net.events()[0].created_at).toBe(new Date(T0 + 7).toISOString());
  });

  it('an unknown method or a malformed entry warns and does not stop the rest of the replay', async () => {
    const queue = stub([call(['track', 'First']), call(['noSuchMethod', 1]), call(['track', 'Second'])]);
    queue.splice(1, 0, 'not a call', null, [42]);
    let firstparty!: Firstparty;
    await expect(runScript().then((fp) => (firstparty = fp))).resolves.toBeDefined();
    await firstparty.flush();
    expect(names()).toEqual(['First', 'Second']);
    expect(warn).toHaveBeenCalled();
  });
});

describe('where the intrinsics are frozen (SES lockdown() style)', () => {
  ignoreInsertedScripts();
  afterAll(() => document.head.querySelectorAll('script').forEach((script) => script.remove()));

  /**
   * Makes Array.prototype.push read-only for `fn`, as a frozen Array.prototype
   * has it (freezing the real one would freeze the test runner's too):
   * assigning `push` on an array then throws in strict code.
   */
  async function withReadOnlyPush(fn: () => Promise<void>) {
    const descriptor = Object.getOwnPropertyDescriptor(Array.prototype, 'push')!;
    Object.defineProperty(Array.prototype, 'push', { ...descriptor, writable: false });
    try {
      await fn();
    } finally {
      Object.defineProperty(Array.prototype, 'push', descriptor);
    }
  }

  it('replays the queue, and a kept reference to the stub still forwards', async () => {
    await withReadOnlyPush(async () => {
      (0, eval)(SNIPPET);
      const kept = (window as any).firstparty;
      expect(() => {
        'use strict';
        ([] as any).push = () => 0;
      }).toThrow(TypeError); // the page really is locked this way
      kept.load(KEY, HOST);
      kept.page();
      kept.track('Queued');
      const firstparty = await runScript();
      kept.track('Kept');
      firstparty.track('Later');
      await firstparty.flush();
      expect(names()).toEqual(['Page Viewed', 'Queued', 'Kept', 'Later']);
    });
  });

  it('a frozen stub: the replay still runs (only the forwarding is lost), nothing thrown', async () => {
    Object.freeze(stub([call(['page']), call(['track', 'A'])]));
    const firstparty = await runScript();
    await firstparty.flush();
    expect(names()).toEqual(['Page Viewed', 'A']);
  });
});

describe('loaded twice', () => {
  it('warns, keeps the first library object, and does not double-send', async () => {
    stub([call(['track', 'Once'])]);
    const first = await runScript();
    const before = warn.mock.calls.length;
    const second = await runScript();
    expect(second).toBe(first);
    expect((window as any).firstparty).toBe(first);
    const warned = warn.mock.calls.slice(before).map((args: unknown[]) => args.join(' '));
    expect(warned.some((text: string) => /loaded twice/.test(text))).toBe(true);
    first.track('Then');
    await first.flush();
    expect(names()).toEqual(['Once', 'Then']);
  });
});
