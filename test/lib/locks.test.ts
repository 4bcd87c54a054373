import { afterEach, describe, expect, it } from 'vitest';
import { holdTabLock, liveTabs, withFlushLock } from '../../src/lib/locks';
import { deferred, drain } from '../helpers/fakeNetwork';
import { FakeLockManager, installFakeLocks } from '../helpers/fakeLocks';

let uninstall = () => {};
afterEach(() => uninstall());

describe('without Web Locks (happy-dom has none)', () => {
  it('liveTabs() cannot tell: undefined', async () => {
    expect(await liveTabs()).toBeUndefined();
  });

  it('withFlushLock() runs the task directly', async () => {
    let ran = 0;
    expect(await withFlushLock(async () => ran++)).toBe(true);
    expect(ran).toBe(1);
  });

  it('holdTabLock() does nothing and does not throw', () => {
    expect(() => holdTabLock('tab1')).not.toThrow();
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

  it('a failing query() means "cannot tell"', async () => {
    const manager = new FakeLockManager();
    manager.query = async () => {
      throw new Error('SecurityError');
    };
    uninstall = installFakeLocks(manager).uninstall;
    expect(await liveTabs()).toBeUndefined();
  });
});
