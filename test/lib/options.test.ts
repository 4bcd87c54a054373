import { describe, expect, it, vi } from 'vitest';
import { DEFAULTS, resolveOptions } from '../../src/lib/options';

describe('resolveOptions', () => {
  it('fills in the documented defaults', () => {
    const bad = vi.fn();
    expect(resolveOptions(undefined, bad)).toMatchObject({
      flushInterval: 1000,
      maxQueue: 1000,
      maxAge: 7 * 24 * 3600 * 1000,
      sessionTimeout: 30 * 60 * 1000,
      maxBatchBytes: 65536,
      storage: 'cookie',
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

  it('never lets a batch exceed the 64 KiB keepalive cap', () => {
    expect(resolveOptions({ maxBatchBytes: 1e6 }, () => {}).maxBatchBytes).toBe(65536);
    expect(resolveOptions({ maxBatchBytes: 5000 }, () => {}).maxBatchBytes).toBe(5000);
  });

  it('ignores garbage option objects', () => {
    expect(resolveOptions('nonsense', () => {})).toMatchObject({ flushInterval: 1000 });
  });
});
