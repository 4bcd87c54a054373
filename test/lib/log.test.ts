import { afterEach, describe, expect, it, vi } from 'vitest';
import { debug, logState, warn } from '../../src/lib/log';

describe('log', () => {
  afterEach(() => {
    logState.debug = false;
    vi.restoreAllMocks();
  });

  it('warn() writes to console.warn with the library prefix', () => {
    const spy = vi.spyOn(console, 'warn').mockImplementation(() => {});
    warn('something', 42);
    expect(spy).toHaveBeenCalledWith('[firstparty]', 'something', 42);
  });

  it('debug() is silent unless debug is on', () => {
    const spy = vi.spyOn(console, 'log').mockImplementation(() => {});
    debug('hidden');
    expect(spy).not.toHaveBeenCalled();
    logState.debug = true;
    debug('shown', { a: 1 });
    expect(spy).toHaveBeenCalledWith('[firstparty]', 'shown', { a: 1 });
  });

  it('survives a broken console', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {
      throw new Error('broken');
    });
    vi.spyOn(console, 'log').mockImplementation(() => {
      throw new Error('broken');
    });
    logState.debug = true;
    expect(() => warn('x')).not.toThrow();
    expect(() => debug('x')).not.toThrow();
  });
});
