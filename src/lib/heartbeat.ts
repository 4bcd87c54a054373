import { listen } from './listen';
import { lsGet, lsSet } from './storage';

/**
 * Tab liveness where Web Locks are missing (plain-http pages, browsers before
 * 2022): each tab writes the time into its own localStorage key every
 * `BEAT_MS`, and removes it when its page is unloaded. A tab whose beat is
 * older than `STALE_MS` is taken as closed, so another tab may send its
 * events. 20 s / 3 min: Chromium throttles the timers of pages hidden over
 * 5 minutes to one wake-up a minute ("intensive wake up throttling",
 * chromestatus 4718288976216064), so a hidden tab's beats can be 60 s apart;
 * three minutes leaves room for that and for a busy main thread.
 */
export const BEAT_MS = 20000;
export const STALE_MS = 180000;

const PREFIX = 'firstparty-js:tab:';

/**
 * Starts beating for `tabId`; returns a function that stops and removes the
 * beat. The beat is removed on `pagehide` unless the page goes into the
 * back/forward cache (`persisted`), and written again when it comes back.
 */
export function startHeartbeat(tabId: string): () => void {
  const key = PREFIX + tabId;
  const beat = () => lsSet(key, String(Date.now()));
  const onHide = (event: PageTransitionEvent) => event.persisted || lsSet(key, null);
  beat();
  const timer = setInterval(beat, BEAT_MS);
  const unlisten = listen([
    ['pagehide', onHide],
    ['pageshow', beat],
  ]);
  return () => {
    clearInterval(timer);
    unlisten();
    lsSet(key, null);
  };
}

/**
 * The tabs whose beat is fresh, or `undefined` when localStorage cannot be
 * read (then no tab can be told alive). Stale beats are removed as they are
 * found (a crashed tab never removes its own).
 */
export function beatingTabs(now = Date.now()): Set<string> | undefined {
  try {
    const live = new Set<string>();
    for (let i = localStorage.length; i--; ) {
      const key = localStorage.key(i) || '';
      if (!key.startsWith(PREFIX)) continue;
      if (Math.abs(now - Number(lsGet(key))) < STALE_MS) live.add(key.slice(PREFIX.length));
      else lsSet(key, null);
    }
    return live;
  } catch {
    return undefined;
  }
}
