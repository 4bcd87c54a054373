/**
 * localStorage (and, with `session`, sessionStorage) access that never
 * throws: it is missing in some embedded webviews, throws `SecurityError`
 * when storage is blocked (e.g. Chrome's "block third-party cookies" in an
 * iframe) and `QuotaExceededError` when full (Safari private mode before 11).
 */

/** Reads a localStorage key (`session`: this tab's sessionStorage); null when missing or refused. */
export function lsGet(key: string, session?: unknown): string | null {
  try {
    return (session ? sessionStorage : localStorage).getItem(key);
  } catch {
    return null;
  }
}

/** Writes or (with `null`) removes a localStorage key; returns false when refused. `session`: this tab's sessionStorage instead. */
export function lsSet(key: string, value: string | null, session?: unknown): boolean {
  try {
    const storage = session ? sessionStorage : localStorage;
    if (value === null) storage.removeItem(key);
    else storage.setItem(key, value);
    return true;
  } catch {
    return false;
  }
}
