import { describe, expect, it, vi } from 'vitest';
import { drain } from '../helpers/fakeNetwork';
import { setUrl } from '../helpers/page';
import { ENDPOINT, KEY, HOST, logs, names, settle, setup, T0, useApiEnvironment, warnings } from './helpers';

useApiEnvironment();

describe('load(writeKey, host, options)', () => {
  it('turns a bare collection domain into https://{host}/events/track/bulk', async () => {
    const { fp, net } = setup({ noLoad: true });
    fp.load(KEY, 'fp.example.com');
    fp.track('A');
    await fp.flush();
    expect(net.requests[0].url).toBe('https://fp.example.com/events/track/bulk');
  });

  it('uses a host with a scheme as given', async () => {
    const { fp, net } = setup();
    fp.track('A');
    await fp.flush();
    expect(net.requests[0].url).toBe(ENDPOINT);
  });

  it('calls made before load() wait, and are sent after it in order', async () => {
    const { fp, net } = setup({ noLoad: true });
    fp.track('Early');
    fp.page();
    await fp.flush();
    expect(net.requests).toHaveLength(0);
    fp.load(KEY, HOST);
    fp.track('Late');
    await fp.flush();
    expect(names(net.events())).toEqual(['Early', 'Page Viewed', 'Late']);
  });

  it('calls made before load() keep their own time and page', async () => {
    setUrl('https://www.example.com/landing');
    document.title = 'Landing';
    const { fp, net } = setup({ noLoad: true });
    fp.track('Early');
    vi.setSystemTime(T0 + 4000);
    history.pushState({}, '', '/later');
    document.title = 'Later';
    fp.load(KEY, HOST);
    await fp.flush();
    const [early] = net.events();
    expect(early.created_at).toBe(new Date(T0).toISOString());
    expect(early.context.page).toMatchObject({ path: '/landing', title: 'Landing' });
  });
});

describe('ready(callback)', () => {
  it('called before load(): runs once load() happens, not before', () => {
    const { fp } = setup({ noLoad: true });
    const callback = vi.fn();
    fp.ready(callback);
    expect(callback).not.toHaveBeenCalled();
    fp.load(KEY, HOST);
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it('called after load(): runs (asynchronously), once', async () => {
    const { fp } = setup();
    const callback = vi.fn();
    fp.ready(callback);
    await drain();
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it('several callbacks run in order; a throwing one does not stop the others', () => {
    const { fp } = setup({ noLoad: true });
    const order: number[] = [];
    fp.ready(() => order.push(1));
    fp.ready(() => {
      throw new Error('site bug');
    });
    fp.ready(() => order.push(3));
    expect(() => fp.load(KEY, HOST)).not.toThrow();
    expect(order).toEqual([1, 3]);
  });

  it('emits `ready` on load', () => {
    const { fp } = setup({ noLoad: true });
    const ready = vi.fn();
    fp.on('ready', ready);
    fp.load(KEY, HOST);
    expect(ready).toHaveBeenCalledTimes(1);
  });

  it('on/once(`ready`) added after load hears it at once (as ready() does), once', async () => {
    const { fp } = setup();
    const on = vi.fn();
    const once = vi.fn();
    fp.on('ready', on);
    fp.once('ready', once);
    await settle();
    expect(on).toHaveBeenCalledTimes(1);
    expect(once).toHaveBeenCalledTimes(1);
  });
});

describe('debug(on?)', () => {
  it('debug() logs every event to the console; debug(false) stops it', async () => {
    const { fp } = setup();
    fp.track('Quiet');
    expect(logs().filter((l) => l.includes('Quiet'))).toEqual([]);
    fp.debug();
    fp.track('Loud');
    expect(logs().some((l) => l.startsWith('[firstparty]') && l.includes('Loud'))).toBe(true);
    fp.debug(false);
    const before = logs().length;
    fp.track('Quiet Again');
    await fp.flush();
    expect(logs().length).toBe(before);
  });

  it('logs decisions too: a delivery, and an event not recorded', async () => {
    const { fp } = setup();
    fp.debug(true);
    fp.track('A');
    await fp.flush();
    expect(logs().some((l) => l.includes('sent'))).toBe(true);
    fp.optOut();
    fp.track('B');
    expect(logs().some((l) => l.includes('not recorded'))).toBe(true);
  });

  it('the `debug: true` option turns it on at load', () => {
    const { fp } = setup({ options: { debug: true } });
    fp.track('Loud');
    expect(logs().some((l) => l.includes('Loud'))).toBe(true);
  });
});

describe('on / once / off for the library events', () => {
  it('`track` gets each event as it is recorded', () => {
    const { fp } = setup();
    const handler = vi.fn();
    fp.on('track', handler);
    fp.track('A', { x: 1 });
    expect(handler).toHaveBeenCalledTimes(1);
    expect(handler.mock.calls[0][0]).toMatchObject({ name: 'A', properties: { x: 1 } });
  });

  it('`sent` after the collector answers 2xx, with the count', async () => {
    const { fp } = setup();
    const handler = vi.fn();
    fp.on('sent', handler);
    fp.track('A');
    fp.track('B');
    expect(handler).not.toHaveBeenCalled();
    await fp.flush();
    expect(handler).toHaveBeenCalledWith(expect.objectContaining({ status: 200, count: 2 }));
  });

  it('`failed` after a 5xx, with the retry delay', async () => {
    const { fp } = setup({ replies: [503] });
    const sent = vi.fn();
    const failed = vi.fn();
    fp.on('sent', sent);
    fp.on('failed', failed);
    fp.track('A');
    await fp.flush();
    expect(failed).toHaveBeenCalledWith(expect.objectContaining({ status: 503, count: 1, retryIn: expect.any(Number) }));
    expect(sent).not.toHaveBeenCalled();
  });

  it('`dropped` when the collector refuses a batch (4xx)', async () => {
    const { fp } = setup({ replies: [400] });
    const dropped = vi.fn();
    fp.on('dropped', dropped);
    fp.track('A');
    await fp.flush();
    expect(dropped).toHaveBeenCalledWith(expect.objectContaining({ status: 400, reason: 'refused' }));
  });

  it('`dropped` when a middleware drops an event', () => {
    const { fp } = setup();
    const dropped = vi.fn();
    fp.on('dropped', dropped);
    fp.addSourceMiddleware(({ next }) => next(null));
    fp.track('A');
    expect(dropped).toHaveBeenCalledWith(expect.objectContaining({ reason: 'middleware' }));
  });

  it('once() runs its handler for the first event only', () => {
    const { fp } = setup();
    const handler = vi.fn();
    fp.once('track', handler);
    fp.track('A');
    fp.track('B');
    expect(handler).toHaveBeenCalledTimes(1);
    expect(handler.mock.calls[0][0].name).toBe('A');
  });

  it('off(name, handler) removes that handler only', () => {
    const { fp } = setup();
    const removed = vi.fn();
    const kept = vi.fn();
    fp.on('track', removed);
    fp.on('track', kept);
    fp.off('track', removed);
    fp.track('A');
    expect(removed).not.toHaveBeenCalled();
    expect(kept).toHaveBeenCalledTimes(1);
  });

  it('off(name, handler) also removes a once() handler before it runs', () => {
    const { fp } = setup();
    const handler = vi.fn();
    fp.once('track', handler);
    fp.off('track', handler);
    fp.track('A');
    expect(handler).not.toHaveBeenCalled();
  });

  it('off(name) removes every handler of that event, and only of that event', async () => {
    const { fp } = setup();
    const a = vi.fn();
    const b = vi.fn();
    const sent = vi.fn();
    fp.on('track', a);
    fp.on('track', b);
    fp.on('sent', sent);
    fp.off('track');
    fp.track('A');
    await fp.flush();
    expect(a).not.toHaveBeenCalled();
    expect(b).not.toHaveBeenCalled();
    expect(sent).toHaveBeenCalledTimes(1);
  });

  it('a throwing handler warns and does not stop tracking', async () => {
    const { fp, net } = setup();
    fp.on('track', () => {
      throw new Error('site bug');
    });
    expect(() => fp.track('A')).not.toThrow();
    await fp.flush();
    expect(names(net.events())).toEqual(['A']);
    expect(warnings().some((w) => w.includes('handler threw'))).toBe(true);
  });
});

describe('flush()', () => {
  it('returns a promise that resolves once the queued events are sent', async () => {
    const { fp, net, queue } = setup();
    fp.track('A');
    const result = fp.flush();
    expect(result).toBeInstanceOf(Promise);
    await expect(result).resolves.toBeUndefined();
    expect(names(net.events())).toEqual(['A']);
    expect(await queue.all()).toEqual([]);
  });

  it('resolves (never rejects) when delivery fails, before load(), and offline', async () => {
    const failing = setup({ replies: ['network-error'] });
    failing.fp.track('A');
    await expect(failing.fp.flush()).resolves.toBeUndefined();

    await expect(setup({ noLoad: true }).fp.flush()).resolves.toBeUndefined();

    // Offline is a hint, not proof: the attempt is made, fails, and flush() still resolves.
    const offline = setup({ replies: ['network-error'] });
    vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(false);
    offline.fp.track('B');
    await expect(offline.fp.flush()).resolves.toBeUndefined();
    expect(offline.net.requests).toHaveLength(1);
  });

  it('sends on its own too: at once once stored, when nothing is in flight, well within flushInterval', async () => {
    const { fp, net } = setup({ options: { flushInterval: 3000 } });
    await settle();
    fp.track('A');
    // A few ms (fake timers run a 0 ms timer set in a timer's callback only once the clock moves).
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(1);
      await drain();
    }
    expect(names(net.events())).toEqual(['A']);
  });
});
