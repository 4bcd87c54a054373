/**
 * A small in-memory Web Locks `LockManager` (happy-dom has none): exclusive
 * locks only, `ifAvailable`, waiting requests, and `query()` reporting held
 * names. One instance stands for the origin, so every tracker in the test
 * (every "tab") shares it. `kill(name)` releases a lock whose holder never
 * lets go, as closing a tab does.
 */
export class FakeLockManager {
  /** Every lock name ever requested, in order. */
  readonly requests: string[] = [];
  private held = new Map<string, object>();
  private waiters = new Map<string, (() => void)[]>();

  async request(name: string, optionsOrCallback: any, maybeCallback?: any): Promise<any> {
    const options = typeof optionsOrCallback === 'function' ? {} : optionsOrCallback || {};
    const callback = typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback;
    this.requests.push(name);
    if (this.held.has(name)) {
      if (options.ifAvailable) return callback(null);
      await new Promise<void>((resolve) => {
        const queue = this.waiters.get(name) || [];
        queue.push(resolve);
        this.waiters.set(name, queue);
      });
    }
    const token = {};
    this.held.set(name, token);
    try {
      return await callback({ name, mode: 'exclusive' });
    } finally {
      if (this.held.get(name) === token) this.release(name);
    }
  }

  async query(): Promise<{ held: { name: string; mode: string; clientId: string }[]; pending: unknown[] }> {
    return {
      held: [...this.held.keys()].map((name) => ({ name, mode: 'exclusive', clientId: 'fake' })),
      pending: [],
    };
  }

  /** Names held right now. */
  heldNames(): string[] {
    return [...this.held.keys()];
  }

  /** Frees a lock whatever its holder does (the holder's tab has closed). */
  kill(name: string): void {
    if (this.held.has(name)) this.release(name);
  }

  private release(name: string): void {
    this.held.delete(name);
    this.waiters.get(name)?.shift()?.();
  }
}

/** Puts a fake `navigator.locks` in place; the returned function removes it. */
export function installFakeLocks(manager = new FakeLockManager()): { locks: FakeLockManager; uninstall: () => void } {
  Object.defineProperty(navigator, 'locks', { value: manager, configurable: true });
  return { locks: manager, uninstall: () => void delete (navigator as any).locks };
}
