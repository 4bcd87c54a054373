/**
 * The snippet exactly as the README shows it, run in a page, then the script
 * it inserts "arrives" (dist/firstparty.min.js evaluated, as the browser would
 * run it) with a fake collector: the calls queued before the script loaded are
 * delivered, in order, each with the page and time of its own moment, and the
 * calls the snippet already sent itself (page hidden first) are not sent again.
 * The real-browser suite runs the same text in Chromium.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { installCookieJar, removeCookieJar } from '../helpers/cookieJar';
import { fakeFetch } from '../helpers/fakeNetwork';
import { hideAndShowPage, ignoreInsertedScripts, setUrl, START_URL } from '../helpers/page';
import { interceptHandovers } from './bounceRequests';

const file = (path: string) => fileURLToPath(new URL('../../' + path, import.meta.url));
const SNIPPET = readFileSync(file('dist/snippet.min.js'), 'utf8').trim();
const LIBRARY = readFileSync(file('dist/firstparty.min.js'), 'utf8');
const T0 = Date.UTC(2025, 3, 1, 10, 0, 0);

/**
 * The ```html block of README.md's "Install" section: `<script>` + the
 * snippet + `firstparty.load(...)` (+ `firstparty.page()`) + `</script>`,
 * taken exactly as written there.
 */
function readmeBlock(): string {
  const blocks = [...readFileSync(file('README.md'), 'utf8').matchAll(/```html[^\n]*\r?\n([\s\S]*?)```/g)].map((match) => match[1]);
  const block = blocks.find((text) => /<script>/.test(text) && /firstparty\.load\(/.test(text));
  if (!block) throw new Error('README.md has no ```html block with <script> … firstparty.load(…) … </script> (section "Install")');
  return block;
}

/** The inline scripts of an HTML fragment, in order. */
function inlineScripts(html: string): string[] {
  const template = document.createElement('template');
  template.innerHTML = html;
  return [...template.content.querySelectorAll('script')].filter((script) => !script.src).map((script) => script.textContent || '');
}

/** Runs the README's block as the page would: each inline script, in order, in global scope. */
function runReadmeSnippet(): any {
  for (const source of inlineScripts(readmeBlock())) (0, eval)(source);
  return (window as any).firstparty;
}

/** The browser fetched the script the snippet inserted: run it, fire its load event. */
function scriptArrives(): HTMLScriptElement {
  const script = [...document.querySelectorAll('script[src]')].find((el) => /\/js\/firstparty\.min\.js$/.test((el as HTMLScriptElement).src)) as HTMLScriptElement;
  expect(script, 'the snippet inserted the script').toBeTruthy();
  (0, eval)(LIBRARY);
  script.dispatchEvent(new Event('load'));
  return script;
}

/** The event name each recording call turns into (other calls record nothing). */
function eventName(call: unknown[]): string | undefined {
  const [method, first] = call;
  if (method === 'track') return first as string;
  if (method === 'page' || method === 'pageview') return 'Page Viewed';
  return { identify: 'Profile Identified', group: 'Group Identified', alias: 'Profile Aliased' }[method as string];
}


let net: ReturnType<typeof fakeFetch>;
let sends: ReturnType<typeof interceptHandovers>;
// happy-dom never fetches the script; the tests run it themselves.
ignoreInsertedScripts();

beforeEach(() => {
  // Only Date is faked: fake-indexeddb (the script's queue) needs real setImmediate.
  vi.useFakeTimers({ now: T0, toFake: ['Date'] });
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  vi.stubGlobal('indexedDB', new IDBFactory());
  net = fakeFetch();
  // The snippet's own requests are kept apart; the script's go to `net`.
  sends = interceptHandovers();
  sends.useNetwork(net.fetch);
  installCookieJar();
  setUrl('https://www.example.com/');
  document.title = 'Home';
});

afterEach(() => {
  const firstparty = (window as any).firstparty;
  if (firstparty && !Array.isArray(firstparty)) firstparty.destroy();
  delete (window as any).firstparty;
  document.querySelectorAll('script').forEach((script) => script.remove());
  vi.useRealTimers();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  removeCookieJar();
  document.title = '';
  setUrl(START_URL);
});

describe('the snippet as the README shows it', () => {
  it('is the built dist/snippet.min.js, with a firstparty.load(…) line', () => {
    const scripts = inlineScripts(readmeBlock());
    expect(scripts.length).toBeGreaterThan(0);
    expect(scripts.join('\n')).toContain(SNIPPET);
    expect(scripts.join('\n')).toMatch(/firstparty\.load\(\s*["'][^"']+["']\s*,\s*["'][^"']+["']/);
  });

  it('queues calls until the script loads; then they are delivered in order, with their call-time page and timestamps', async () => {
    const stub = runReadmeSnippet();
    expect(Array.isArray(stub)).toBe(true);
    const host: string = stub._host;
    const writeKey: string = stub._writeKey;
    expect(typeof writeKey).toBe('string');

    // The visitor moves through an SPA while the script is slow to arrive.
    vi.setSystemTime(T0 + 1000);
    history.pushState({}, '', '/pricing');
    document.title = 'Pricing';
    stub.track('Plan Selected', { plan: 'pro' });
    vi.setSystemTime(T0 + 2000);
    stub.identify('user-42', { email: 'ada@example.com' });
    vi.setSystemTime(T0 + 3000);
    history.pushState({}, '', '/checkout?step=1');
    document.title = 'Checkout';
    stub.page('Checkout');
    const queued: any[] = [...stub];
    vi.setSystemTime(T0 + 10000);
    history.pushState({}, '', '/thanks');
    document.title = 'Thanks';

    expect(net.requests).toHaveLength(0);
    scriptArrives();
    expect((window as any).firstparty).not.toBe(stub); // the script took over
    await (window as any).firstparty.flush();

    const recording = queued.filter((call) => eventName(call));
    const events = net.events();
    expect(events.map((e) => e.name)).toEqual(recording.map(eventName));
    expect(events.slice(-3).map((e) => e.name)).toEqual(['Plan Selected', 'Profile Identified', 'Page Viewed']);
    // Each event carries the moment of its own call, not the moment the script ran.
    recording.forEach((call, i) => {
      expect(events[i].created_at, String(call[0])).toBe(new Date(call.t).toISOString());
      // (An empty referrer is left out.)
      expect(events[i].context.page).toMatchObject({ url: call.p.url, title: call.p.title, ...(call.p.referrer && { referrer: call.p.referrer }) });
      expect(events[i].context.page.referrer).toBe(call.p.referrer || undefined);
    });
    const [selected, identified, viewed] = events.slice(-3);
    expect(selected).toMatchObject({ properties: { plan: 'pro' }, created_at: new Date(T0 + 1000).toISOString() });
    expect(selected.context.page).toMatchObject({ url: 'https://www.example.com/pricing', path: '/pricing', title: 'Pricing' });
    expect(identified).toMatchObject({ profile_id: 'user-42', properties: { email: 'ada@example.com' } });
    expect(viewed.properties).toMatchObject({ name: 'Checkout', path: '/checkout', search: '?step=1', title: 'Checkout' });
    expect(viewed.profile_id).toBe('user-42');
    expect(viewed.created_at).toBe(new Date(T0 + 3000).toISOString());
    // Sent where the snippet was told, with its write key.
    const origin = new URL(host.includes('//') ? host : 'https://' + host).origin;
    expect(new Set(net.requests.map((r) => r.url))).toEqual(new Set([origin + '/events/track/bulk']));
    for (const event of events) expect(event.write_key).toBe(writeKey);
    expect(sends.bounceCount()).toBe(0);
  });

  it('calls the snippet already sent (page hidden before the script arrived) are not sent again', async () => {
    const stub = runReadmeSnippet();
    vi.setSystemTime(T0 + 1000);
    stub.track('Before Hide');
    hideAndShowPage(); // the visitor switches tabs and back: the snippet sends what it holds
    expect(sends.bounceCount()).toBe(1);
    const bounced = (await sends.bounces())[0].body.events.map((e: any) => e.name);
    expect(bounced).toContain('Before Hide');
    vi.setSystemTime(T0 + 2000);
    stub.track('After Hide');

    scriptArrives();
    await (window as any).firstparty.flush();
    const sent = net.events().map((e) => e.name);
    expect(sent).toEqual(['After Hide']);
    expect(net.events()[0].created_at).toBe(new Date(T0 + 2000).toISOString());
  });
});
