/** Moves the happy-dom page to another URL (a new origin for cookies and storage). */
export function setUrl(url: string): void {
  (window as any).happyDOM.setURL(url);
}

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
