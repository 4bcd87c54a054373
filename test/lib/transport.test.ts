import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { beacon, handOff, keepaliveBytes, keepaliveFetch, post, REQUEST_TIMEOUT_MS } from '../../src/lib/transport';
import { fakeFetch } from '../helpers/fakeNetwork';

const URL_ = 'https://fp.example.com/events/track/bulk';

describe('post', () => {
  it("POSTs JSON with keepalive, and credentials 'same-origin' by default (no cookies cross-origin: issue 13)", async () => {
    const net = fakeFetch([200]);
    const result = await post(URL_, '{"events":[]}', true, net.fetch);
    await result.read;
    expect(result).toEqual({ status: 200, retryAfter: 0, text: '{"status":"success"}', redirected: false, json: true, read: expect.any(Promise) });
    const { url, init } = net.requests[0];
    expect(url).toBe(URL_);
    expect(init).toMatchObject({ method: 'POST', body: '{"events":[]}', keepalive: true, credentials: 'same-origin' });
    expect(new Headers(init.headers).get('Content-Type')).toBe('application/json');
  });

  it('counts a keepalive request’s bytes while it is in flight (the 64 KiB quota), not a plain one’s', async () => {
    let answer = (_: unknown) => {};
    const slow = ((_url: string, _init: RequestInit) => new Promise((resolve) => (answer = resolve))) as any;
    const pending = post(URL_, '{"events":["é"]}', true, slow);
    expect(keepaliveBytes()).toBe(17); // UTF-8 bytes, not characters
    answer({ status: 200, headers: new Headers(), text: async () => '' });
    await (await pending).read;
    expect(keepaliveBytes()).toBe(0);
    const plain = post(URL_, '{}', false, slow);
    expect(keepaliveBytes()).toBe(0);
    answer({ status: 200, headers: new Headers(), text: async () => '' });
    await plain;
  });

  it('gzip: sends the body gzipped with Content-Encoding: gzip, decoding to the same JSON', async () => {
    const net = fakeFetch([200]);
    const body = JSON.stringify({ events: Array.from({ length: 50 }, (_, i) => ({ name: 'E' + i, text: 'é€😀 the same words again' })) });
    const result = await post(URL_, body, false, net.fetch, 'same-origin', true);
    expect(result.status).toBe(200);
    const [{ init, text, wireBytes }] = net.requests;
    expect(new Headers(init.headers).get('Content-Encoding')).toBe('gzip');
    expect(new Headers(init.headers).get('Content-Type')).toBe('application/json');
    expect(text).toBe(body);
    expect(wireBytes).toBeLessThan(new TextEncoder().encode(body).length / 4);
  });

  it('gzip where CompressionStream is missing: plain JSON, no Content-Encoding', async () => {
    vi.stubGlobal('CompressionStream', undefined);
    try {
      const net = fakeFetch([200]);
      await post(URL_, '{"events":[]}', false, net.fetch, 'same-origin', true);
      expect(net.requests[0].init.body).toBe('{"events":[]}');
      expect(new Headers(net.requests[0].init.headers).has('Content-Encoding')).toBe(false);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it.each(['include', 'omit'] as const)('sends credentials %s when asked', async (mode) => {
    const net = fakeFetch([200]);
    await post(URL_, '{}', false, net.fetch, mode);
    expect(net.requests[0].init.credentials).toBe(mode);
  });

  it('sends without keepalive when asked (a visible page: no 64 KiB quota)', async () => {
    const net = fakeFetch([200]);
    await post(URL_, '{}', false, net.fetch);
    expect(net.requests[0].init.keepalive).toBe(false);
  });

  it('reports the status and Retry-After', async () => {
    const net = fakeFetch([{ status: 503, retryAfter: '7' }]);
    expect(await post(URL_, '{}', true, net.fetch)).toMatchObject({ status: 503, retryAfter: 7000 });
  });

  it('reads the response body (Chromium holds keepalive quota until it is read)', async () => {
    const text = vi.fn(async () => '{"status":"success"}');
    const fetchImpl = (async () => ({ status: 200, headers: new Headers(), text })) as unknown as typeof fetch;
    const result = await post(URL_, '{}', true, fetchImpl);
    await result.read;
    expect(result).toMatchObject({ status: 200, retryAfter: 0, text: '{"status":"success"}', redirected: undefined, json: false });
    expect(text).toHaveBeenCalledTimes(1);
  });

  it("answers a 2xx at its status, before its body (the next page may commit first: bench/copies.mjs); the keepalive bytes count until the body is read", async () => {
    let body = (_: string) => {};
    const text = () => new Promise<string>((resolve) => (body = resolve));
    const fetchImpl = (async () => ({ status: 200, headers: new Headers(), text })) as unknown as typeof fetch;
    const result = await post(URL_, '{}', true, fetchImpl);
    expect(result).toMatchObject({ status: 200, text: '' });
    expect(keepaliveBytes()).toBe(2);
    body('{"rejected":1}');
    await result.read;
    expect(result.text).toBe('{"rejected":1}');
    expect(keepaliveBytes()).toBe(0);
  });

  it('any answer is returned at its status; its body follows in `read`, which never rejects (one that cannot be read leaves text empty)', async () => {
    let body = (_: string) => {};
    const fetchImpl = (async () => ({ status: 400, headers: new Headers(), text: () => new Promise<string>((resolve) => (body = resolve)) })) as unknown as typeof fetch;
    const result = await post(URL_, '{}', false, fetchImpl);
    expect(result).toMatchObject({ status: 400, text: '' });
    body('{"rejections":[{"index":0}]}');
    await result.read;
    expect(result.text).toBe('{"rejections":[{"index":0}]}');
    const broken = (async () => ({ status: 503, headers: new Headers(), text: () => Promise.reject(new TypeError('body stream broken')) })) as unknown as typeof fetch;
    const unread = await post(URL_, '{}', true, broken);
    await unread.read;
    expect(unread).toMatchObject({ status: 503, text: '' });
    expect(keepaliveBytes()).toBe(0);
  });

  it('abandons a request that does not answer within REQUEST_TIMEOUT_MS', async () => {
    vi.useFakeTimers();
    try {
      const net = fakeFetch([new Promise<never>(() => {})]);
      let result: unknown;
      const sending = post(URL_, '{}', true, net.fetch).then((r) => (result = r));
      await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT_MS - 1);
      expect(result).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      await sending;
      expect(result).toEqual({ status: 0, retryAfter: 0, text: '' });
      expect((net.requests[0].init.signal as AbortSignal).aborted).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('turns a network error into status 0 without throwing', async () => {
    const net = fakeFetch(['network-error']);
    expect(await post(URL_, '{}', true, net.fetch)).toEqual({ status: 0, retryAfter: 0, text: '' });
    const throwsSync = (() => {
      throw new Error('sync');
    }) as unknown as typeof fetch;
    expect(await post(URL_, '{}', true, throwsSync)).toEqual({ status: 0, retryAfter: 0, text: '' });
  });
});

describe('handOff', () => {
  // happy-dom's Request has no keepalive; Chromium, Firefox 133+ and Safari do.
  beforeEach(() => vi.stubGlobal('Request', class { get keepalive() { return false; } }));
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
  });

  it('starts a keepalive fetch in the credentials mode at once, and no beacon', () => {
    const send = vi.spyOn(navigator, 'sendBeacon').mockReturnValue(true);
    const net = fakeFetch([200]);
    expect(keepaliveFetch()).toBe(true);
    expect(handOff(URL_, '{"events":[1]}', 'same-origin', net.fetch)).toBe(true);
    // Started synchronously: the page may be gone after this task.
    expect(net.requests).toHaveLength(1);
    expect(net.requests[0].init).toMatchObject({ method: 'POST', body: '{"events":[1]}', keepalive: true, credentials: 'same-origin' });
    expect(send).not.toHaveBeenCalled();
  });

  it('calls answered(true) on a 2xx read by a page that lives on, answered(false) on any other answer', async () => {
    for (const [reply, expected] of [[200, true], [204, true], [503, false], [400, false], ['network-error', false]] as const) {
      const answered = vi.fn();
      handOff(URL_, '{}', 'same-origin', fakeFetch([reply as any]).fetch, answered);
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(answered.mock.calls).toEqual([[expected]]);
    }
  });

  it('uses the page’s fetch (a wrapper passes keepalive on) when none is given', () => {
    const net = fakeFetch([200]);
    vi.stubGlobal('fetch', net.fetch);
    handOff(URL_, '{}', 'include', undefined);
    expect(net.requests[0].init).toMatchObject({ keepalive: true, credentials: 'include' });
  });

  it('falls back to sendBeacon where fetch has no keepalive (Firefox before 133)', () => {
    const send = vi.spyOn(navigator, 'sendBeacon').mockReturnValue(true);
    const net = fakeFetch([200]);
    vi.stubGlobal('Request', function Request() {});
    expect(keepaliveFetch()).toBe(false);
    vi.stubGlobal('Request', undefined);
    expect(keepaliveFetch()).toBe(false);
    expect(handOff(URL_, '{}', 'same-origin', net.fetch)).toBe(true);
    expect(send).toHaveBeenCalledTimes(1);
    expect(net.requests).toHaveLength(0);
    send.mockReturnValue(false);
    expect(handOff(URL_, '{}', 'same-origin', net.fetch)).toBe(false);
  });

  it('a fetch the page replaced with one that throws at once: the beacon carries it', () => {
    const send = vi.spyOn(navigator, 'sendBeacon').mockReturnValue(true);
    expect(handOff(URL_, '{"events":[2]}', 'same-origin', (() => { throw new TypeError('Illegal invocation'); }) as any)).toBe(true);
    expect(send).toHaveBeenCalledTimes(1);
    expect(keepaliveBytes()).toBe(0);
    send.mockReturnValue(false);
    expect(handOff(URL_, '{}', 'same-origin', (() => { throw new TypeError('Illegal invocation'); }) as any)).toBe(false);
  });

  it('never throws: a fetch that rejects is only an unanswered request', async () => {
    expect(handOff(URL_, '{}', 'same-origin', (() => Promise.reject(new TypeError('quota'))) as any)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 0));
  });
});

describe('beacon', () => {
  afterEach(() => vi.restoreAllMocks());

  it('hands an application/json Blob to navigator.sendBeacon and returns its answer', async () => {
    const send = vi.spyOn(navigator, 'sendBeacon').mockReturnValue(true);
    expect(beacon(URL_, '{"events":[1]}')).toBe(true);
    const [url, data] = send.mock.calls[0];
    expect(url).toBe(URL_);
    expect(data).toBeInstanceOf(Blob);
    expect((data as Blob).type).toBe('application/json');
    expect(await (data as Blob).text()).toBe('{"events":[1]}');
    send.mockReturnValue(false);
    expect(beacon(URL_, '{}')).toBe(false);
  });

  it('is false when sendBeacon throws or is missing', () => {
    vi.spyOn(navigator, 'sendBeacon').mockImplementation(() => {
      throw new TypeError('quota');
    });
    expect(beacon(URL_, '{}')).toBe(false);
    vi.restoreAllMocks();
    Object.defineProperty(navigator, 'sendBeacon', { value: undefined, configurable: true });
    try {
      expect(beacon(URL_, '{}')).toBe(false);
    } finally {
      delete (navigator as any).sendBeacon;
    }
  });
});
