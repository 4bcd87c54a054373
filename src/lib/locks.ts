import { beatingTabs, startHeartbeat } from './heartbeat';

/** Prefix of every Web Lock name we take. */
const PREFIX = 'firstparty-js:';

/** Web Locks, where the browser has them (all current ones, in secure contexts). */
export function locks(): LockManager | undefined {
  try {
    return navigator.locks;
  } catch {
    return undefined;
  }
}

/**
 * Holds a lock named after this tab for as long as the page lives. Other tabs
 * read it through `liveTabs()` to tell a live tab's queued events (its own to
 * send) from those of a tab that has closed (anyone's to send). Without Web
 * Locks, or when the browser refuses them (an opaque origin), the tab beats a
 * heartbeat in localStorage instead (see heartbeat.ts), if `mayBeat` (the
 * site lets us write to localStorage). Returns a function
 * that stops the heartbeat (the lock is released with the page).
 */
export function holdTabLock(tabId: string, mayBeat = true): () => void {
  let stop = () => {};
  const beat = () => mayBeat && (stop = startHeartbeat(tabId));
  const manager = locks();
  if (manager) manager.request(PREFIX + 'tab:' + tabId, () => new Promise(() => {})).catch(beat);
  else beat();
  return () => stop();
}

/**
 * The IDs of tabs of this origin that are alive now: from Web Locks, else
 * from heartbeats; `undefined` when neither can tell.
 */
export async function liveTabs(): Promise<Set<string> | undefined> {
  try {
    const { held = [] } = await locks()!.query();
    return new Set(held.map((lock) => (lock.name || '').slice(PREFIX.length + 4)));
  } catch {
    return beatingTabs();
  }
}

/**
 * Runs `task` holding the origin-wide flush lock, so two tabs never flush at
 * once. Resolves `false` without running it when another tab holds the lock
 * (that tab is flushing; ours retries later). Without Web Locks, runs it
 * directly: tabs then tell live tabs by their heartbeats (see liveTabs).
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
