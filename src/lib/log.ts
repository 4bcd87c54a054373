/** Shared logging switches; `debug` is turned on by the `debug` option or `debug()`. */
export const logState = { debug: false };

/** A warning every site owner should see (bad input, dropped events, storage refused). */
export function warn(...args: unknown[]): void {
  try {
    console.warn('[firstparty]', ...args);
  } catch {
    // A page that replaced console with something broken must not break us.
  }
}

/** Verbose trace of every event and decision, only in debug mode. */
export function debug(...args: unknown[]): void {
  if (logState.debug) {
    try {
      console.log('[firstparty]', ...args);
    } catch {
      // See warn().
    }
  }
}
