import { describe, expect, it, vi } from 'vitest';
import { DEFAULTS, resolveOptions } from '../../src/lib/options';

describe('resolveOptions', () => {
  it('fills in the documented defaults', () => {
    const bad = vi.fn();
    expect(resolveOptions(undefined, bad)).toMatchObject({
      flushInterval: 1000,
      maxQueue: Infinity,
      maxQueueBytes: 5 * 1024 * 1024,
      maxAge: 7 * 24 * 3600 * 1000,
      sessionTimeout: 30 * 60 * 1000,
      maxBatchBytes: 65536,
      storage: 'cookie',
      credentials: 'same-origin',
      compression: false,
      serverCookie: false,
      callbackTimeout: 300,
    });
    expect(bad).not.toHaveBeenCalled();
  });

  it('takes valid values and replaces invalid ones by the default, naming them', () => {
    const bad = vi.fn();
    const resolved = resolveOptions({ flushInterval: 250, maxQueue: -1, sessionTimeout: '5', cookieDomain: 'example.com' }, bad);
    expect(resolved.flushInterval).toBe(250);
    expect(resolved.maxQueue).toBe(DEFAULTS.maxQueue);
    expect(resolved.sessionTimeout).toBe(DEFAULTS.sessionTimeout);
    expect(resolved.cookieDomain).toBe('example.com');
    expect(bad.mock.calls.map(([k]) => k).sort()).toEqual(['maxQueue', 'sessionTimeout']);
  });

  it('a bad storage or consent value becomes the strictest one (none, false), never the default', () => {
    const bad = vi.fn();
    const resolved = resolveOptions({ storage: 'None', consent: 'false' }, bad);
    expect(resolved).toMatchObject({ storage: 'none', consent: false });
    expect(bad.mock.calls).toEqual([
      ['storage', 'none'],
      ['consent', false],
    ]);
    for (const consent of ['denied', 0, 'no', null]) expect(resolveOptions({ consent }, () => {}).consent).toBe(consent === 'denied' ? 'denied' : false);
  });

  it("takes consent as true, 'granted', 'pending', false or 'denied'", () => {
    const bad = vi.fn();
    for (const consent of [true, 'granted', 'pending', false, 'denied']) expect(resolveOptions({ consent }, bad).consent).toBe(consent);
    expect(bad).not.toHaveBeenCalled();
  });

  it('takes a visible-page batch size above the 64 KiB keepalive quota (hidden pages stay within it: see courier)', () => {
    expect(resolveOptions({ maxBatchBytes: 1e6 }, () => {}).maxBatchBytes).toBe(1e6);
    expect(resolveOptions({ maxBatchBytes: 5000 }, () => {}).maxBatchBytes).toBe(5000);
  });

  it("takes compression as false or 'gzip'; anything else warns and is off", () => {
    const bad = vi.fn();
    expect(resolveOptions({ compression: 'gzip' }, bad).compression).toBe('gzip');
    expect(resolveOptions({ compression: false }, bad).compression).toBe(false);
    expect(bad).not.toHaveBeenCalled();
    for (const value of ['br', 'GZIP', true]) expect(resolveOptions({ compression: value }, bad).compression).toBe(false);
    expect(bad.mock.calls.map(([k, used]) => [k, used])).toEqual(Array(3).fill(['compression', false]));
  });

  it("takes credentials as 'same-origin', 'include' or 'omit'; anything else is the default", () => {
    const bad = vi.fn();
    for (const mode of ['same-origin', 'include', 'omit']) expect(resolveOptions({ credentials: mode }, bad).credentials).toBe(mode);
    expect(bad).not.toHaveBeenCalled();
    expect(resolveOptions({ credentials: 'Include' }, bad).credentials).toBe('same-origin');
    expect(resolveOptions({ serverCookie: 'yes', callbackTimeout: -1 }, bad)).toMatchObject({ serverCookie: false, callbackTimeout: 300 });
    expect(bad.mock.calls.map(([k]) => k)).toEqual(['credentials', 'serverCookie', 'callbackTimeout']);
  });

  it('ignores garbage option objects', () => {
    expect(resolveOptions('nonsense', () => {})).toMatchObject({ flushInterval: 1000 });
  });
});
