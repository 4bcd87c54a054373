/**
 * localStorage access that never throws: it is missing in some embedded
 * webviews, throws `SecurityError` when storage is blocked (e.g. Chrome's
 * "block third-party cookies" in an iframe) and `QuotaExceededError` when full
 * (Safari private mode before 11).
 */
export function lsGet(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** Writes or (with `null`) removes a localStorage key; returns false when refused. */
export function lsSet(key: string, value: string | null): boolean {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
    return true;
  } catch {
    return false;
  }
}
