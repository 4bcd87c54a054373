/**
 * The snippet as it ships: the BUILT text of dist/snippet.min.js (and
 * dist/snippet-lite.min.js) evaluated in the happy-dom page, the way an inline
 * <script> runs it. `npm run build` first.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { installCookieJar, removeCookieJar } from '../helpers/cookieJar';
import { hideAndShowPage, ignoreInsertedScripts, setUrl, START_URL } from '../helpers/page';
import { fakeFetch } from '../helpers/fakeNetwork';
import { IDBFactory } from 'fake-indexeddb';
import { BULK_PATH, endpointFor } from '../../src/lib/endpoint';
import { HOST_FORMS, HOST_FORMS_PAGE } from '../helpers/hostForms';
import { interceptHandovers } from './bounceRequests';

const dist = (file: string) => readFileSync(fileURLToPath(new URL('../../dist/' + file, import.meta.url)), 'utf8');
const SNIPPET = dist('snippet.min.js');
const LITE = dist('snippet-lite.min.js');
const LIBRARY = dist('firstparty.min.js');

const METHODS =
  'trackSubmit trackClick trackLink trackForm pageview identify reset group track ready alias debug page once off on addSourceMiddleware addIntegrationMiddleware setAnonymousId addDestinationMiddleware'.split(
    ' ',
  );
const KEY = 'wmc8KThQ2MxPq7Vu';
const HOST = 'fp.example.com';
const BULK = 'https://fp.example.com/events/track/bulk';
const T0 = Date.UTC(2025, 3, 1, 10, 0, 0);

/** A queued call: `[method, ...args]` with the snippet's notes. */
type Call = unknown[] & { t?: Date; p?: { url: string; title: string; referrer: string } };
type Stub = Call[] & Record<string, any>;

/** A UUID as crypto.randomUUID() makes it (version 4, RFC 9562 variant). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Runs snippet text as an inline classic script would (global scope). */
function run(text = SNIPPET): Stub {
  (0, eval)(text);
  return (window as any).firstparty;
}

let warn: ReturnType<typeof vi.spyOn>;
let sends: ReturnType<typeof interceptHandovers>;
ignoreInsertedScripts();

beforeEach(() => {
  vi.useFakeTimers({ now: T0, toFake: ['Date'] });
  warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  sends = interceptHandovers();
  setUrl('https://www.example.com/');
  document.title = 'Home';
});

afterEach(() => {
  // Earlier tests' fast-bounce listeners stay registered, and quiet: each
  // sends only while window.firstparty is its own stub.
  delete (window as any).firstparty;
  document.head.querySelectorAll('script').forEach((script) => script.remove());
  vi.useRealTimers();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  removeCookieJar();
  document.title = '';
  setUrl(START_URL);
});

const hide = hideAndShowPage;

/** The snippet's fast-bounce requests so far: URL, fetch init, Blob type and parsed body. */
const bounces = () => sends.bounces();

/** Nothing was handed over: no fetch with the snippet's body, no beacon. */
function expectNothingSent() {
  expect(sends.bounceCount()).toBe(0);
  expect(sends.beacon).not.toHaveBeenCalled();
}

/**
 * The page has these cookies (`name=value`, written with Path=/); the snippet
 * runs, loads, queues track('A') and the page hides. Returns the stub.
 */
function bounceWithCookies(...cookies: string[]): Stub {
  installCookieJar();
  for (const cookie of cookies) document.cookie = cookie + '; Path=/';
  const stub = run();
  stub.load(KEY, HOST);
  stub.track('A');
  hide();
  return stub;
}

/** The first event of the first request. */
const firstBounced = async () => (await bounces())[0].body.events[0];

const insertedScripts = () => [...document.head.querySelectorAll('script')] as HTMLScriptElement[];

describe('the stub', () => {
  it('defines window.firstparty as an array with every method Firstparty’s snippet lists, plus load', () => {
    const stub = run();
    expect(Array.isArray(stub)).toBe(true);
    expect(stub).toHaveLength(0);
    for (const method of [...METHODS, 'load']) expect(typeof stub[method], method).toBe('function');
  });

  it('converts to a string as an array does (String, template literal, +, ==), and the fallback still works after', async () => {
    const stub = run();
    stub.load(KEY, HOST);
    stub.track('A');
    expect(() => [String(stub), `${stub}`, '' + stub, +(stub as any), (stub as any) == 'x']).not.toThrow();
    expect(stub).toHaveLength(1); // the conversions queued nothing
    hide();
    expect((await bounces())[0].body.events.map((e: any) => e.name)).toEqual(['A']);
  });

  it('is not a thenable: awaiting it (an async function returning it) resolves to the stub, queueing nothing', async () => {
    const stub = run();
    expect(stub.then).toBeUndefined();
    expect(await (async () => stub)()).toBe(stub);
    expect(stub).toHaveLength(0);
  });

  it('queues our own consent/optIn/optOut too, for consent managers that run first', () => {
    const stub = run();
    stub.consent(true).optOut().optIn();
    expect(stub.map((call) => call[0])).toEqual(['consent', 'optOut', 'optIn']);
  });

  it('sets SNIPPET_VERSION', () => {
    expect(run().SNIPPET_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it.each(METHODS)('%s(...) pushes [method, ...args] and returns the stub', (method) => {
    const stub = run();
    const args = ['a', { b: 1 }, 3];
    const result = stub[method](...args);
    expect(result).toBe(stub);
    expect(stub).toHaveLength(1);
    expect(Array.isArray(stub[0])).toBe(true);
    expect([...stub[0]]).toEqual([method, ...args]);
  });

  it('keeps every call, in call order, chainable', () => {
    const stub = run();
    const middleware = () => {};
    stub.track('A', { x: 1 }).page().identify('user-1', { email: 'a@example.com' });
    stub.addSourceMiddleware(middleware);
    stub.track('B');
    expect(stub.map((call) => [...call])).toEqual([
      ['track', 'A', { x: 1 }],
      ['page'],
      ['identify', 'user-1', { email: 'a@example.com' }],
      ['addSourceMiddleware', middleware],
      ['track', 'B'],
    ]);
  });

  it('notes each call’s own time (t) and page (p: url, title, referrer) at call time', () => {
    const referrer = vi.spyOn(document, 'referrer', 'get').mockReturnValue('https://search.example/?q=x');
    const stub = run();
    stub.page();
    vi.setSystemTime(T0 + 2500);
    history.pushState({}, '', '/pricing?plan=pro'); // an SPA navigates before the script arrives
    document.title = 'Pricing';
    referrer.mockReturnValue('https://www.example.com/');
    stub.track('Plan Viewed');
    expect(+stub[0].t!).toBe(T0);
    expect(stub[0].p).toEqual({ url: 'https://www.example.com/', title: 'Home', referrer: 'https://search.example/?q=x' });
    expect(+stub[1].t!).toBe(T0 + 2500);
    expect(stub[1].p).toEqual({ url: 'https://www.example.com/pricing?plan=pro', title: 'Pricing', referrer: 'https://www.example.com/' });
  });

  it('included twice: warns exactly "firstparty snippet included twice." and keeps the queue', () => {
    const stub = run();
    stub.track('Before');
    run();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith('firstparty snippet included twice.');
    expect((window as any).firstparty).toBe(stub);
    expect(stub.map((call) => [...call])).toEqual([['track', 'Before']]);
    stub.track('After');
    expect(stub.map((call) => call[1])).toEqual(['Before', 'After']);
  });

  it('does nothing when the real library is already there', () => {
    const library = { track: vi.fn(), page: vi.fn(), load: vi.fn() };
    (window as any).firstparty = library;
    run();
    expect((window as any).firstparty).toBe(library);
    expect(library).not.toHaveProperty('SNIPPET_VERSION');
    expect(library).not.toHaveProperty('invoked');
    expect(Object.keys(library)).toEqual(['track', 'page', 'load']);
    expect(warn).not.toHaveBeenCalled();
    expect(insertedScripts()).toHaveLength(0);
  });

  it('the loader-only build defines the same stub', () => {
    const stub = run(LITE);
    for (const method of [...METHODS, 'load']) expect(typeof stub[method], method).toBe('function');
    expect(stub.track('A', { x: 1 })).toBe(stub);
    expect([...stub[0]]).toEqual(['track', 'A', { x: 1 }]);
    expect(+stub[0].t!).toBe(T0);
    expect(stub[0].p).toEqual({ url: 'https://www.example.com/', title: 'Home', referrer: '' });
    expect(stub.SNIPPET_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('load(writeKey, host, options)', () => {
  it('stores _writeKey, _host and _firstpartyOptions', () => {
    const stub = run();
    const options = { flushInterval: 5000 };
    stub.load(KEY, HOST, options);
    expect(stub._writeKey).toBe(KEY);
    expect(stub._host).toBe(HOST);
    expect(stub._firstpartyOptions).toBe(options);
  });

  it('inserts one script with src https://{host}/js/firstparty.min.js', () => {
    run().load(KEY, HOST);
    const scripts = insertedScripts();
    expect(scripts).toHaveLength(1);
    expect(scripts[0].src).toBe('https://fp.example.com/js/firstparty.min.js');
  });

  it('uses a host with a scheme as given', () => {
    run().load(KEY, 'http://127.0.0.1:8787');
    expect(insertedScripts()[0].src).toBe('http://127.0.0.1:8787/js/firstparty.min.js');
  });

  it('options.libraryPath overrides the script path', () => {
    run().load(KEY, HOST, { libraryPath: '/static/fp.js' });
    expect(insertedScripts()[0].src).toBe('https://fp.example.com/static/fp.js');
  });

  it('keeps the calls queued before it', () => {
    const stub = run();
    stub.track('Early');
    stub.load(KEY, HOST);
    stub.page();
    expect(stub.map((call) => call[0])).toEqual(['track', 'page']);
  });

  it('the loader-only build gives the script the snippet’s CSP nonce, and options.integrity with crossorigin', () => {
    const own = document.createElement('script');
    own.nonce = 'n0nce';
    vi.spyOn(document, 'currentScript', 'get').mockReturnValue(own);
    run(LITE).load(KEY, HOST, { integrity: 'sha384-abc' });
    const [script] = insertedScripts();
    expect(script.nonce).toBe('n0nce');
    expect(script.integrity).toBe('sha384-abc');
    expect(script.crossOrigin).toBe('anonymous');
  });

  it('load(writeKey) without a host does not throw into the page', () => {
    const stub = run();
    expect(() => stub.load(KEY)).not.toThrow();
  });
});

describe('the fast-bounce fallback (dist/snippet.min.js)', () => {
  it('hiding the page before the script loaded sends the queued track/page calls once, in one request', async () => {
    const stub = run();
    stub.load(KEY, HOST);
    stub.track('Signed Up', { plan: 'pro' });
    vi.setSystemTime(T0 + 1000);
    history.pushState({}, '', '/welcome');
    document.title = 'Welcome';
    stub.page();
    hide();
    expect(sends.fetch).toHaveBeenCalledTimes(1);
    const [sent] = await bounces();
    expect(sent.url).toBe(BULK);
    expect(sent.type).toBe('application/json');
    expect(sent.body.events).toEqual([
      {
        event_id: expect.stringMatching(UUID),
        name: 'Signed Up',
        write_key: KEY,
        properties: { plan: 'pro' },
        context: { page: { url: 'https://www.example.com/', title: 'Home', referrer: '' } },
        created_at: new Date(T0).toISOString(),
      },
      expect.objectContaining({
        name: 'Page Viewed',
        write_key: KEY,
        context: { page: { url: 'https://www.example.com/welcome', title: 'Welcome', referrer: '' } },
        created_at: new Date(T0 + 1000).toISOString(),
      }),
    ]);
  });

  it('posts with a keepalive fetch: POST, a JSON Blob (Content-Type application/json), fetch’s default credentials, never sendBeacon', async () => {
    const stub = run();
    stub.load(KEY, HOST);
    stub.track('A');
    hide();
    const [{ url, init }] = await bounces();
    // Read back as the browser reads the init: a Request built from it.
    const request = new Request(url, init);
    expect(request.method).toBe('POST');
    expect(init!.method).toBe('POST');
    expect(init!.keepalive).toBeTruthy(); // 1: true to WebIDL
    expect(request.headers.get('Content-Type')).toBe('application/json');
    // 'same-origin' (the default): no cookies to a collector on another
    // origin, so one answering `Access-Control-Allow-Origin: *` accepts it.
    expect(init!.credentials).toBeUndefined();
    expect(request.credentials).toBe('same-origin');
    expect(sends.beacon).not.toHaveBeenCalled();
  });

  it('takes the calls it sent out of the queue, and only those: calls made later stay for the script or the next hide', () => {
    const stub = run();
    stub.load(KEY, HOST);
    stub.track('A');
    stub.page();
    hide();
    stub.track('B');
    expect(stub.map((call) => [...call])).toEqual([['track', 'B']]);
  });

  it('gives every event its own event_id, a UUID from crypto.randomUUID()', async () => {
    const stub = run();
    stub.load(KEY, HOST);
    stub.track('A');
    stub.track('B');
    stub.page();
    hide();
    stub.track('C');
    hide();
    const ids = (await bounces()).flatMap(({ body }) => body.events.map((e: any) => e.event_id));
    expect(ids).toHaveLength(4);
    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(4);
  });

  it('where crypto.randomUUID is missing (a plain-http page) it sends nothing: the calls wait for the script, so every event has an event_id', async () => {
    vi.spyOn(crypto, 'randomUUID' as any, 'get').mockReturnValue(undefined);
    const stub = run();
    stub.load(KEY, HOST);
    stub.track('A');
    hide();
    expect(await bounces()).toEqual([]);
    expect(stub).toHaveLength(1);
  });

  it('a page call’s properties are the page fields of its moment and its properties object (name and category are left to the script: bytes)', async () => {
    const stub = run();
    stub.load(KEY, HOST);
    history.pushState({}, '', '/docs/install?ref=nav');
    document.title = 'Install';
    stub.page('Docs', 'Install', { plan: 'pro' });
    hide();
    const [sent] = await bounces();
    expect(sent.body.events[0].properties).toEqual({
      url: 'https://www.example.com/docs/install?ref=nav',
      title: 'Install',
      referrer: '',
      plan: 'pro',
    });
  });

  it('takes profile_id from the fpid cookie when there is one', async () => {
    bounceWithCookies('other=1', 'fpid=PR123456789012345678901234567890');
    expect((await firstBounced()).profile_id).toBe('PR123456789012345678901234567890');
  });

  it('sends no profile_id on a first visit (no fpid cookie): the collector creates one', async () => {
    bounceWithCookies();
    expect(await firstBounced()).not.toHaveProperty('profile_id');
  });

  it('does not take another cookie whose name merely ends in fpid for the profile (FPID, xfpid, legacy_fpid)', async () => {
    bounceWithCookies('FPID=GoogleServerSide', 'xfpid=NotOurs', 'legacy_fpid=NotOursEither', 'fpid=PR123456789012345678901234567890');
    expect((await firstBounced()).profile_id).toBe('PR123456789012345678901234567890');
  });

  it('takes a profile ID set by identify() whole, dashes and all', async () => {
    bounceWithCookies('fpid=550e8400-e29b-41d4-a716-446655440000');
    expect((await firstBounced()).profile_id).toBe('550e8400-e29b-41d4-a716-446655440000');
  });

  it.each(['auth0|5f7c8ec7c33c6c004bbafe82', 'ada@example.com', 'Zoë Ünal', 'a;b=c, d%e+f'])(
    'decodes the cookie as the script does: %j (written with encodeURIComponent) arrives as it was',
    async (id) => {
      bounceWithCookies('fpid=' + encodeURIComponent(id));
      expect((await firstBounced()).profile_id).toBe(id);
    },
  );

  it('sends nothing when the fpid cookie is not valid percent-encoding; the calls stay for the script', () => {
    const stub = bounceWithCookies('fpid=100%');
    expectNothingSent();
    expect(stub).toHaveLength(1);
  });

  it('sends the same profile_id the script then sends for the same visitor', async () => {
    installCookieJar();
    vi.stubGlobal('indexedDB', new IDBFactory());
    const net = fakeFetch();
    sends.useNetwork(net.fetch);
    document.cookie = 'fpid=' + encodeURIComponent('auth0|5f7c8ec7c33c6c004bbafe82') + '; Path=/';
    const stub = run();
    stub.load(KEY, HOST);
    stub.track('Before Script');
    hide();
    stub.track('After Hide');
    (0, eval)(LIBRARY); // the script arrives
    const library = (window as any).firstparty;
    await library.flush();
    const bounced = (await bounces())[0].body.events[0];
    const sent = net.requests.flatMap((r) => r.body.events);
    expect(sent.map((e) => e.name)).toEqual(['After Hide']);
    expect(bounced.profile_id).toBe('auth0|5f7c8ec7c33c6c004bbafe82');
    expect(sent[0].profile_id).toBe(bounced.profile_id);
    library.destroy();
  });

  it('sends pageview() calls as Page Viewed too', async () => {
    const stub = run();
    stub.load(KEY, HOST);
    stub.pageview();
    hide();
    expect((await bounces())[0].body.events.map((e: any) => e.name)).toEqual(['Page Viewed']);
  });

  describe('privacy: sends nothing where the script might not', () => {
    it('under Global Privacy Control', () => {
      (navigator as any).globalPrivacyControl = true;
      try {
        const stub = run();
        stub.load(KEY, HOST);
        stub.track('A');
        hide();
        expectNothingSent();
      } finally {
        delete (navigator as any).globalPrivacyControl;
      }
    });

    it('after an earlier visit’s optOut() (the fp_optout cookie)', () => {
      bounceWithCookies('fp_optout=1');
      expectNothingSent();
    });

    it.each([['pending'], [false]])('with the consent option %s', (consent) => {
      const stub = run();
      stub.load(KEY, HOST, { consent });
      stub.track('A');
      hide();
      expectNothingSent();
    });

    it('sends with consent: true, or other options', async () => {
      const stub = run();
      stub.load(KEY, HOST, { consent: true, pageviews: 'history' });
      stub.track('A');
      hide();
      expect((await bounces())[0].body.events.map((e: any) => e.name)).toEqual(['A']);
    });

    it.each([
      ['optOut', []],
      ['consent', [false]],
      ['addSourceMiddleware', [() => {}]], // may strip PII: only the script applies it
      ['identify', ['user-1']], // the events would carry the wrong profile
      ['reset', []],
    ])('while a %s() call waits for the script', (method, args) => {
      const stub = run();
      stub.load(KEY, HOST);
      stub.track('A');
      stub[method](...args);
      hide();
      expectNothingSent();
      expect(stub).toHaveLength(2);
    });
  });

  it('a host with a scheme is used as given for the request', async () => {
    const stub = run();
    stub.load(KEY, 'http://127.0.0.1:8787');
    stub.track('A');
    hide();
    expect((await bounces())[0].url).toBe('http://127.0.0.1:8787/events/track/bulk');
  });

  it('sends nothing twice: a second hide sends only calls made since', async () => {
    const stub = run();
    stub.load(KEY, HOST);
    stub.track('First');
    hide();
    hide();
    expect(sends.bounceCount()).toBe(1);
    stub.track('Second');
    hide();
    expect(sends.bounceCount()).toBe(2);
    expect((await bounces())[1].body.events.map((e: any) => e.name)).toEqual(['Second']);
  });

  it('sends nothing while offline; the calls stay queued for later', async () => {
    const online = vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(false);
    const stub = run();
    stub.load(KEY, HOST);
    stub.track('A');
    hide();
    expectNothingSent();
    expect(stub).toHaveLength(1);
    online.mockReturnValue(true);
    hide();
    expect((await bounces())[0].body.events.map((e: any) => e.name)).toEqual(['A']);
  });

  it('sends nothing once the script has taken over (window.firstparty is no longer the stub)', async () => {
    vi.stubGlobal('indexedDB', new IDBFactory());
    const net = fakeFetch();
    sends.useNetwork(net.fetch);
    const stub = run();
    stub.load(KEY, HOST);
    stub.track('A');
    stub.identify('user-1');
    (0, eval)(LIBRARY); // the script arrives
    const library = (window as any).firstparty;
    expect(library).not.toBe(stub);
    hide();
    // Whatever goes out now, by any way, is the library's own (`EV` event
    // IDs), never the snippet's (UUIDs).
    const handed = [...(await bounces()), ...(await sends.beacons())].flatMap(({ body }) => body.events);
    for (const event of [...handed, ...net.events()]) expect(event.event_id).toMatch(/^EV/);
    library.destroy();
  });

  it('sends nothing once another script has taken over window.firstparty, even one that marks nothing (an older release, Firstparty’s own)', () => {
    const stub = run();
    stub.load(KEY, HOST);
    stub.track('A');
    (window as any).firstparty = { track() {} };
    hide();
    expectNothingSent();
  });

  it('takes the calls out as it hands them to fetch, before any answer: a request still in flight is not sent again', async () => {
    sends.answer.mockReturnValueOnce(new Promise(() => {})); // never answered
    const stub = run();
    stub.load(KEY, HOST);
    stub.track('A');
    hide();
    expect(stub).toHaveLength(0);
    stub.track('B');
    hide();
    expect((await bounces()).map(({ body }) => body.events.map((e: any) => e.name))).toEqual([['A'], ['B']]);
  });

  it('a call other than track/page blocks the fallback for good, also once later track calls are queued', () => {
    const stub = run();
    stub.load(KEY, HOST);
    stub.track('A');
    hide();
    stub.group('g-1');
    stub.track('B');
    hide();
    stub.track('C');
    hide();
    expect(sends.bounceCount()).toBe(1);
    expect(stub.map((call) => call[0])).toEqual(['group', 'track', 'track']);
  });

  it('sends nothing when no track/page call is queued', () => {
    const stub = run();
    stub.load(KEY, HOST);
    stub.identify('user-1');
    stub.ready(() => {});
    hide();
    expectNothingSent();
  });

  it('sends nothing while the page stays visible', () => {
    const stub = run();
    stub.load(KEY, HOST);
    stub.track('A');
    document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
    expectNothingSent();
  });

  it('sends nothing before load() (no host to send to)', () => {
    const stub = run();
    stub.track('A');
    hide();
    expectNothingSent();
  });

  it('a rejected fetch (the page lives on after a tab switch) reaches the page as no unhandled rejection', async () => {
    // A plain function, not a vi.fn: a spy observes the promises it returns, which marks them handled.
    let calls = 0;
    vi.stubGlobal('fetch', () => (calls++, Promise.reject(new TypeError('Failed to fetch'))));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const stub = run();
      stub.load(KEY, HOST);
      stub.track('A');
      hide();
      expect(calls).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a throwing fetch does not throw into the page', () => {
    // A real fetch never throws (every failure is a rejected promise); a page
    // may have replaced it with one that does.
    sends.fetch.mockImplementation(() => {
      throw new TypeError('Illegal invocation');
    });
    const errors: unknown[] = [];
    const onError = (event: ErrorEvent) => errors.push(event.error);
    addEventListener('error', onError);
    const stub = run();
    stub.load(KEY, HOST);
    stub.track('A');
    expect(() => hide()).not.toThrow();
    removeEventListener('error', onError);
    expect(errors).toEqual([]);
    // Taken out as fetch was called (its third argument): given to a fetch
    // that threw, these calls are lost, as they would be to a failed request.
    expect(sends.fetch).toHaveBeenCalledTimes(1);
    expect(stub).toHaveLength(0);
  });
});

describe('host forms: the snippet and the script agree (src/lib/endpoint.ts is the script’s rule)', () => {
  // Every documented form, and more trailing slashes (a bare host's, a
  // path's, two of them) and a bare host with a port.
  const FORMS: [string, string][] = [
    ...HOST_FORMS,
    ['fp.example.com/', 'https://fp.example.com'],
    ['/fp/', 'https://www.example.com/fp'],
    ['https://www.example.com/fp//', 'https://www.example.com/fp'],
    ['localhost:8787', 'https://localhost:8787'],
  ];

  beforeEach(() => setUrl(HOST_FORMS_PAGE));

  it.each(FORMS)('%s: the script, the fast-bounce request and the script’s batches all under %s', async (host, base) => {
    vi.stubGlobal('indexedDB', new IDBFactory());
    const net = fakeFetch();
    sends.useNetwork(net.fetch);
    const stub = run();
    stub.load(KEY, host);
    stub.track('Bounced');
    hide();
    stub.track('Delivered');
    // Relative URLs are resolved against the page, as the browser does for
    // the script's src and for fetch.
    expect(new URL(insertedScripts()[0].getAttribute('src')!, location.href).href).toBe(base + '/js/firstparty.min.js');
    const [sent] = await bounces();
    expect(new URL(sent.url, location.href).href).toBe(base + BULK_PATH);
    (0, eval)(LIBRARY); // the script arrives and loads from _host
    const library = (window as any).firstparty;
    await library.flush();
    expect(net.requests.map((r) => r.url)).toEqual([base + BULK_PATH]);
    expect(endpointFor(host)).toBe(base + BULK_PATH);
    library.destroy();
  });
});

describe('the loader-only build (dist/snippet-lite.min.js)', () => {
  it('loads the script the same way', () => {
    const stub = run(LITE);
    stub.load(KEY, HOST, { libraryPath: '/x.js' });
    expect(stub._writeKey).toBe(KEY);
    expect(insertedScripts()[0].src).toBe('https://fp.example.com/x.js');
  });

  it('drops a trailing slash from the host too', () => {
    run(LITE).load(KEY, 'https://www.example.com/fp/');
    expect(insertedScripts()[0].src).toBe('https://www.example.com/fp/js/firstparty.min.js');
  });

  it('has no fast-bounce fallback: hiding sends nothing', () => {
    const stub = run(LITE);
    stub.load(KEY, HOST);
    stub.track('A');
    stub.page();
    hide();
    expectNothingSent();
    expect(stub).toHaveLength(2);
  });

  describe('under Trusted Types (a fake trustedTypes; real Chromium: test/browser/hardening.test.mjs)', () => {
    /** A TrustedScriptURL stand-in: only these may be assigned to a script's src once enforcement is on. */
    class TrustedURL {
      constructor(readonly url: string) {}
      toString() {
        return this.url;
      }
    }
    /**
     * Enforces `require-trusted-types-for 'script'` on script.src: a string
     * goes through `defaultPolicy` (none: TypeError, as Chromium throws);
     * `allowed` is the list of policy names (`trusted-types`), null for none.
     */
    function enforce({ allowed = null as string[] | null, defaultPolicy }: { allowed?: string[] | null; defaultPolicy?: (url: string) => string } = {}) {
      const created: string[] = [];
      vi.stubGlobal('trustedTypes', {
        createPolicy(name: string, rules: { createScriptURL(url: string): string }) {
          if (allowed && !allowed.includes(name)) throw new TypeError(`Failed to execute 'createPolicy': Policy "${name}" disallowed.`);
          created.push(name);
          return { createScriptURL: (url: string) => new TrustedURL(rules.createScriptURL(url)) };
        },
      });
      const src = Object.getOwnPropertyDescriptor(HTMLScriptElement.prototype, 'src')!;
      vi.spyOn(HTMLScriptElement.prototype, 'src', 'set').mockImplementation(function (this: HTMLScriptElement, value: unknown) {
        if (!(value instanceof TrustedURL)) {
          if (!defaultPolicy) throw new TypeError("Failed to set the 'src' property on 'HTMLScriptElement': This document requires 'TrustedScriptURL' assignment.");
          value = defaultPolicy(String(value));
        }
        src.set!.call(this, String(value));
      });
      return created;
    }

    it('loads the script through a policy named firstparty, the URL unchanged', () => {
      const created = enforce({ allowed: ['firstparty'] });
      const stub = run(LITE);
      expect(() => stub.load(KEY, HOST)).not.toThrow();
      expect(created).toEqual(['firstparty']);
      expect(insertedScripts()[0].src).toBe('https://fp.example.com/js/firstparty.min.js');
      expect(warn).not.toHaveBeenCalled();
    });

    it('no policy can be made, no default policy: load() does not throw, one warning, the calls stay queued', () => {
      enforce({ allowed: [] });
      const stub = run(LITE);
      stub.page();
      expect(() => stub.load(KEY, HOST)).not.toThrow();
      stub.track('A');
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][0]).toBe('firstparty');
      expect(String(warn.mock.calls[0][1])).toMatch(/TrustedScriptURL/);
      expect(insertedScripts()[0].src).toBe('');
      expect(stub.map((call) => call[0])).toEqual(['page', 'track']);
    });

    it('no policy can be made, a default policy allow-listing the URL: loaded through it', () => {
      enforce({ allowed: ['default'], defaultPolicy: (url) => url });
      run(LITE).load(KEY, HOST);
      expect(insertedScripts()[0].src).toBe('https://fp.example.com/js/firstparty.min.js');
      expect(warn).not.toHaveBeenCalled();
    });

    it("a default policy refusing the URL (its TypeError): kept from the page, one warning", () => {
      enforce({
        allowed: ['default'],
        defaultPolicy: (url) => {
          throw new TypeError('not on the allow-list: ' + url);
        },
      });
      expect(() => run(LITE).load(KEY, HOST)).not.toThrow();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][1])).toMatch(/allow-list/);
    });
  });

  it('is smaller than the full snippet, and sends nothing itself (no fetch, no beacon)', () => {
    expect(LITE.length).toBeLessThan(SNIPPET.length);
    expect(LITE).not.toMatch(/fetch|sendBeacon/);
    expect(SNIPPET).toContain('fetch(');
    expect(SNIPPET).not.toContain('sendBeacon');
  });
});
