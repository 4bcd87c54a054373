/**
 * Callbacks as analytics.js runs them (issue 15): taken in any position the
 * method accepts, always run exactly once — when the event is stored, at
 * once when it will not be recorded, and at the latest after the timeout
 * (`callbackTimeout`, 300 ms; `timeout(ms)`) — and a throwing one breaks nothing.
 */
import { describe, expect, it, vi } from 'vitest';
import { names, settle, setGlobalPrivacyControl, setup, useApiEnvironment, warnings } from './helpers';

useApiEnvironment();

describe('callback positions', () => {
  it.each([
    ['track(name, cb)', (fp: any, cb: () => void) => fp.track('A', cb)],
    ['track(name, props, cb)', (fp: any, cb: () => void) => fp.track('A', { a: 1 }, cb)],
    ['track(name, props, options, cb)', (fp: any, cb: () => void) => fp.track('A', { a: 1 }, {}, cb)],
    ['page(cb)', (fp: any, cb: () => void) => fp.page(cb)],
    ['page(name, cb)', (fp: any, cb: () => void) => fp.page('Home', cb)],
    ['page(category, name, props, options, cb)', (fp: any, cb: () => void) => fp.page('Docs', 'Install', {}, {}, cb)],
    ['identify(id, cb)', (fp: any, cb: () => void) => fp.identify('user-1', cb)],
    ['identify(traits, cb)', (fp: any, cb: () => void) => fp.identify({ plan: 'pro' }, cb)],
    ['identify(id, traits, options, cb)', (fp: any, cb: () => void) => fp.identify('user-1', { plan: 'pro' }, {}, cb)],
    ['group(id, cb)', (fp: any, cb: () => void) => fp.group('acme', cb)],
    ['group(id, traits, cb)', (fp: any, cb: () => void) => fp.group('acme', { seats: 3 }, cb)],
    ['alias(to, cb)', (fp: any, cb: () => void) => fp.alias('user-2', cb)],
    ['alias(to, from, options, cb)', (fp: any, cb: () => void) => fp.alias('user-2', 'user-1', {}, cb)],
  ])('%s: runs once, when the event is stored (before the timeout)', async (_, make) => {
    const { fp, net } = setup();
    const callback = vi.fn();
    make(fp, callback);
    expect(callback).not.toHaveBeenCalled();
    await settle();
    expect(callback).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1000);
    await fp.flush();
    expect(callback).toHaveBeenCalledTimes(1);
    // The function is never taken for properties or traits.
    expect(net.events()).toHaveLength(1);
    expect(JSON.stringify(net.events()[0].properties)).not.toContain('function');
    expect(warnings()).toEqual([]);
  });
});

describe('the callback runs at once when nothing will be recorded', () => {
  it('Global Privacy Control', () => {
    setGlobalPrivacyControl(true);
    const { fp } = setup();
    const callback = vi.fn();
    fp.track('A', {}, callback);
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it('after optOut()', () => {
    const { fp } = setup();
    fp.optOut();
    const callback = vi.fn();
    fp.track('A', callback);
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it('consent refused: at once; held calls, when the refusal discards them', () => {
    const { fp } = setup({ options: { consent: 'pending' } });
    const held = vi.fn();
    fp.track('Held', held);
    expect(held).not.toHaveBeenCalled();
    fp.consent(false);
    expect(held).toHaveBeenCalledTimes(1);
    const refused = vi.fn();
    fp.track('After', refused);
    expect(refused).toHaveBeenCalledTimes(1);
  });

  it('a middleware drops the event (next(null), no next within the timeout, or a throw)', async () => {
    const { fp } = setup();
    const callbacks = [vi.fn(), vi.fn(), vi.fn()];
    fp.addSourceMiddleware(({ payload, next }) => {
      if (payload.name == 'Null') next(null);
      if (payload.name == 'Throw') throw new Error('middleware bug');
    });
    fp.track('Null', callbacks[0]);
    fp.track('Throw', callbacks[1]);
    expect(callbacks[0]).toHaveBeenCalledTimes(1);
    expect(callbacks[1]).toHaveBeenCalledTimes(1);
    fp.track('Never', callbacks[2]);
    expect(callbacks[2]).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(300);
    expect(callbacks[2]).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['track without a name', (fp: any, cb: () => void) => fp.track('', {}, cb)],
    ['track with a non-string name', (fp: any, cb: () => void) => fp.track(42, cb)],
    ['group without an ID', (fp: any, cb: () => void) => fp.group(undefined, {}, {}, cb)],
    ['alias without an ID', (fp: any, cb: () => void) => fp.alias('', cb)],
  ])('bad input: %s', (_, make) => {
    const { fp } = setup();
    const callback = vi.fn();
    make(fp, callback);
    expect(callback).toHaveBeenCalledTimes(1);
  });
});

describe('the timeout', () => {
  it('runs the callback after 300 ms when the event is not stored by then (before load())', async () => {
    const { fp, net } = setup({ noLoad: true });
    const callback = vi.fn();
    fp.track('Early', callback);
    await vi.advanceTimersByTimeAsync(299);
    expect(callback).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(callback).toHaveBeenCalledTimes(1);
    // The event is still recorded when the library loads, and the callback does not run again.
    fp.load('wk_1234567890abcd', 'http://127.0.0.1:9999');
    await fp.flush();
    expect(names(net.events())).toEqual(['Early']);
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it('is the callbackTimeout option, or timeout(ms)', async () => {
    const { fp } = setup({ options: { consent: 'pending', callbackTimeout: 1000 } });
    const callback = vi.fn();
    fp.track('A', callback);
    await vi.advanceTimersByTimeAsync(999);
    expect(callback).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(callback).toHaveBeenCalledTimes(1);
    fp.timeout(50);
    const second = vi.fn();
    fp.track('B', second);
    await vi.advanceTimersByTimeAsync(50);
    expect(second).toHaveBeenCalledTimes(1);
    fp.timeout('soon' as any);
    expect(warnings().some((w) => w.includes('timeout() needs a number'))).toBe(true);
  });

  it('a throwing callback is warned about, and breaks neither the event nor the next callback', async () => {
    const { fp, net } = setup();
    const next = vi.fn();
    expect(() =>
      fp.track('A', () => {
        throw new Error('site bug');
      }),
    ).not.toThrow();
    fp.track('B', next);
    await settle();
    await fp.flush();
    expect(names(net.events())).toEqual(['A', 'B']);
    expect(next).toHaveBeenCalledTimes(1);
    expect(warnings().some((w) => w.includes('callback() failed'))).toBe(true);
  });
});
