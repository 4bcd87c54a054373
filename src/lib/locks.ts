/** Prefix of every Web Lock name we take. */
const PREFIX = 'firstparty-js:';

/** Web Locks, where the browser has them (all current ones, in secure contexts). */
function locks(): LockManager | undefined {
  try {
    return navigator.locks;
  } catch {
    return undefined;
  }
}

/**
 * Holds a lock named after this tab for as long as the page lives. Other tabs
 * read it through `liveTabs()` to tell a live tab's queued events (its own to
 * send) from those of a tab that has closed (anyone's to send).
 */
export function holdTabLock(tabId: string): void {
  locks()
    ?.request(PREFIX + 'tab:' + tabId, () => new Promise(() => {}))
    .catch(() => undefined);
}

/**
 * The IDs of tabs of this origin that are alive now, or `undefined` when the
 * browser cannot tell (no Web Locks).
 */
export async function liveTabs(): Promise<Set<string> | undefined> {
  try {
    const { held = [] } = await locks()!.query();
    return new Set(held.map((lock) => (lock.name || '').slice(PREFIX.length + 4)));
  } catch {
    return undefined;
  }
}

/**
 * Runs `task` holding the origin-wide flush lock, so two tabs never flush at
 * once. Resolves `false` without running it when another tab holds the lock
 * (that tab is flushing; ours retries later). Without Web Locks, runs it
 * directly: tabs then only send their own events and those left long ago
 * (see the flush in firstparty.ts).
 */
export async function withFlushLock(task: () => Promise<unknown>): Promise<boolean> {
  let ran = false;
  const run = async () => {
    ran = true;
    await task();
    return true;
  };
  try {
    return await locks()!.request(PREFIX + 'flush', { ifAvailable: true }, (lock) => !!lock && run());
  } catch (error) {
    // No Web Locks, or refused (SecurityError in an opaque origin such as a
    // sandboxed iframe): run without the lock, unless it already ran.
    if (ran) throw error;
    return run();
  }
}
