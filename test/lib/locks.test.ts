import { afterEach, describe, expect, it, vi } from 'vitest';
import { holdTabLock, liveTabs, withFlushLock } from '../../src/lib/locks';
import { deferred, drain } from '../helpers/fakeNetwork';
import { FakeLockManager, installFakeLocks } from '../helpers/fakeLocks';

let uninstall = () => {};
afterEach(() => uninstall());

describe('without Web Locks (happy-dom has none)', () => {
  it('liveTabs() tells live tabs by their heartbeats in localStorage', async () => {
    const stop = holdTabLock('beating1');
    expect(await liveTabs()).toEqual(new Set(['beating1']));
    stop();
    expect(await liveTabs()).toEqual(new Set());
  });

  it('liveTabs() cannot tell without localStorage either: undefined', async () => {
    const spy = vi.spyOn(window, 'localStorage', 'get').mockImplementation(() => {
      throw new DOMException('blocked', 'SecurityError');
    });
    try {
      expect(await liveTabs()).toBeUndefined();
    } finally {
      spy.mockRestore();
    }
  });

  it('withFlushLock() runs the task directly', async () => {
    let ran = 0;
    expect(await withFlushLock(async () => ran++)).toBe(true);
    expect(ran).toBe(1);
  });

  it('holdTabLock() does not throw, and its stop function removes the heartbeat', () => {
    let stop = () => {};
    expect(() => (stop = holdTabLock('tab1'))).not.toThrow();
    expect(localStorage.getItem('firstparty-js:tab:tab1')).not.toBeNull();
    stop();
    expect(localStorage.getItem('firstparty-js:tab:tab1')).toBeNull();
  });
});

describe('with Web Locks (fake LockManager)', () => {
  it('holdTabLock() keeps a lock named after the tab, and liveTabs() lists it', async () => {
    const fake = installFakeLocks();
    uninstall = fake.uninstall;
    holdTabLock('tabAAAA1');
    holdTabLock('tabBBBB2');
    await drain();
    expect(fake.locks.heldNames()).toEqual(['firstparty-js:tab:tabAAAA1', 'firstparty-js:tab:tabBBBB2']);
    const live = await liveTabs();
    expect(live?.has('tabAAAA1')).toBe(true);
    expect(live?.has('tabBBBB2')).toBe(true);
    expect(live?.has('tabCCCC3')).toBe(false);
    fake.locks.kill('firstparty-js:tab:tabAAAA1'); // that tab closed
    expect((await liveTabs())?.has('tabAAAA1')).toBe(false);
  });

  it('withFlushLock() lets one flush run at a time and reports a skipped one', async () => {
    const fake = installFakeLocks();
    uninstall = fake.uninstall;
    const gate = deferred<void>();
    let running = 0;
    let maxRunning = 0;
    const task = async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await gate.promise;
      running--;
    };
    const first = withFlushLock(task);
    await drain();
    expect(fake.locks.heldNames()).toContain('firstparty-js:flush');
    expect(await withFlushLock(task)).toBe(false); // another tab is flushing
    gate.resolve();
    expect(await first).toBe(true);
    expect(maxRunning).toBe(1);
    expect(fake.locks.heldNames()).not.toContain('firstparty-js:flush');
    expect(await withFlushLock(async () => {})).toBe(true);
  });

  it('a failing query() falls back to heartbeats', async () => {
    const manager = new FakeLockManager();
    manager.query = async () => {
      throw new Error('SecurityError');
    };
    uninstall = installFakeLocks(manager).uninstall;
    localStorage.setItem('firstparty-js:tab:other1', String(Date.now()));
    localStorage.setItem('firstparty-js:tab:stale1', String(Date.now() - 200000));
    expect(await liveTabs()).toEqual(new Set(['other1']));
    expect(localStorage.getItem('firstparty-js:tab:stale1')).toBeNull(); // stale beats are cleaned up
    localStorage.clear();
  });
});
