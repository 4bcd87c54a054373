import { afterEach, describe, expect, it, vi } from 'vitest';
import { lsGet, lsSet } from '../../src/lib/storage';
import { refuseLocalStorage } from '../helpers/cookieJar';

describe('storage (localStorage that never throws)', () => {
  let restore = () => {};
  afterEach(() => {
    restore();
    vi.unstubAllGlobals();
    localStorage.clear();
  });

  it('writes, reads and removes', () => {
    expect(lsSet('k', 'v')).toBe(true);
    expect(lsGet('k')).toBe('v');
    expect(localStorage.getItem('k')).toBe('v');
    expect(lsSet('k', null)).toBe(true);
    expect(lsGet('k')).toBeNull();
  });

  it('reports a refused write with false, and a refused read as null', () => {
    localStorage.setItem('k', 'old');
    restore = refuseLocalStorage({ reads: true });
    expect(lsSet('k', 'v')).toBe(false);
    expect(lsGet('k')).toBeNull();
  });

  it('copes with localStorage missing or throwing on access', () => {
    vi.stubGlobal('localStorage', undefined);
    expect(lsSet('k', 'v')).toBe(false);
    expect(lsGet('k')).toBeNull();
  });
});
