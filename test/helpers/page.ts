import { afterAll, beforeAll, vi } from 'vitest';

/** Moves the happy-dom page to another URL (a new origin for cookies and storage). */
export function setUrl(url: string): void {
  (window as any).happyDOM.setURL(url);
}

/**
 * Makes the page hidden (a tab switch, a navigation away, an unload) and fires
 * visibilitychange; the returned function makes it visible again and fires it again.
 */
export function hidePage(): () => void {
  const state = vi.spyOn(document, 'visibilityState', 'get').mockReturnValue('hidden');
  const hidden = vi.spyOn(document, 'hidden', 'get').mockReturnValue(true);
  document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
  return () => {
    state.mockRestore();
    hidden.mockRestore();
    document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
  };
}

/** Hides the page and shows it again (see hidePage). */
export const hideAndShowPage = (): void => hidePage()();

/** The URL happy-dom starts tests at. */
export const START_URL = 'http://localhost:3000/';

/** Deletes every cookie the page can see (host-only and on each parent domain). */
export function clearCookies(): void {
  const labels = location.hostname.split('.');
  for (const pair of document.cookie.split('; ')) {
    const name = pair.split('=')[0];
    if (!name) continue;
    document.cookie = name + '=; Path=/; Max-Age=0';
    for (let i = 0; i < labels.length; i++) document.cookie = name + '=; Path=/; Max-Age=0; Domain=' + labels.slice(i).join('.');
  }
}

/**
 * For the suite it is called in: scripts a snippet inserts are taken as loaded
 * without being fetched (happy-dom fetches none, and would log a loading error
 * for each); the setting is restored after the suite.
 */
export function ignoreInsertedScripts(): void {
  let settings: { handleDisabledFileLoadingAsSuccess: boolean };
  let previous: boolean;
  beforeAll(() => {
    settings = (window as any).happyDOM.settings;
    previous = settings.handleDisabledFileLoadingAsSuccess;
    settings.handleDisabledFileLoadingAsSuccess = true;
  });
  afterAll(() => {
    settings.handleDisabledFileLoadingAsSuccess = previous;
  });
}
