import { lsGet, lsSet } from './storage';

/** The page an event happened on (Firstparty's `context.page` keys). */
export interface PageContext {
  url: string;
  path: string;
  title: string;
  /** Left out when empty (a page opened directly, a URL without a query): 26 B an event. */
  referrer?: string;
  search?: string;
}

/** Where a visit came from: `utm_*` parameters and ad click IDs. */
export interface CampaignContext {
  source?: string;
  medium?: string;
  name?: string;
  term?: string;
  content?: string;
  /** Ad click IDs (`gclid`, `fbclid`, …), under their own parameter names. */
  [clickId: string]: string | undefined;
}

/** The `context` object of an event, in the keys Firstparty documents. */
export interface EventContext {
  page: PageContext;
  campaign?: CampaignContext;
  locale: string;
  timezone: string;
  useragent: string;
  screen: { width: number; height: number };
  library: { name: string; version: string };
  [key: string]: unknown;
}

/**
 * Ad platforms' click IDs. They sit in `context.campaign` next to the `utm_*`
 * fields, because attribution is where a marketer looks for them.
 */
const CLICK_IDS = 'gclid gbraid wbraid dclid fbclid msclkid ttclid twclid li_fat_id epik rdt_cid'.split(' ');

/** Parses `utm_*` and click IDs out of a query string; `undefined` when none. */
export function campaignFrom(search: string): CampaignContext | undefined {
  let campaign: CampaignContext | undefined;
  new URLSearchParams(search).forEach((value, key) => {
    // utm_campaign is the campaign's name in Firstparty's (and Segment's) keys.
    const field = key.startsWith('utm_') ? key.slice(4).replace('campaign', 'name') : CLICK_IDS.includes(key) && key;
    if (field && value) (campaign ||= {})[field] = value;
  });
  return campaign;
}

let cachedKey = '';
let cached: EventContext | undefined;

let cachedJson = '';
let jsonOf: EventContext | undefined;

/**
 * `JSON.stringify(event)` with the context's JSON reused while the context
 * object is the same: the context is most of an event's bytes, and stringifying
 * it for each of 1,000 events in a loop was the largest cost of `track()`.
 */
export function eventJson(event: Record<string, unknown>): string {
  const fields: string[] = [];
  for (const key of Object.keys(event)) {
    const json =
      key === 'context' && event[key] === cached ? (jsonOf === cached ? cachedJson : (cachedJson = JSON.stringify((jsonOf = cached)))) : JSON.stringify(event[key]);
    // undefined, functions and symbols are left out, as JSON.stringify does.
    if (json !== undefined) fields.push(JSON.stringify(key) + ':' + json);
  }
  return '{' + fields + '}';
}

/** The parts of a page's identity a queued call remembers from its own moment. */
export interface PageSnapshot {
  url: string;
  title: string;
  referrer: string;
}

/** The page as it is right now. */
export function pageSnapshot(): PageSnapshot {
  return { url: location.href, title: document.title, referrer: referrer ?? (referrer = document.referrer) };
}

/** A document's referrer never changes, and reading it is not free. */
let referrer: string | undefined;

/**
 * The event context at call time. Events are often tracked in bursts from one
 * page state, so the context object is reused while URL, title, referrer and
 * screen are unchanged: this keeps 1,000 `track()` calls in a loop cheap.
 * The returned object is shared and must not be mutated.
 */
export function captureContext(version: string, page: PageSnapshot = pageSnapshot()): EventContext {
  const { width, height } = screen;
  const key = [page.url, page.title, page.referrer, width, height].join('\n');
  if (key != cachedKey) {
    const url = new URL(page.url, location.href);
    cached = {
      // Empty ones are undefined, which JSON leaves out.
      page: { url: page.url, path: url.pathname, title: page.title, referrer: page.referrer || undefined, search: url.search || undefined },
      locale: navigator.language,
      timezone: timezone(false),
      useragent: navigator.userAgent,
      screen: { width, height },
      library: { name: 'firstparty-js', version },
    };
    const campaign = campaignFrom(url.search);
    if (campaign) cached.campaign = campaign;
    cachedKey = key;
  }
  return cached!;
}

/**
 * Stands in for the time zone in events captured before it is known; the
 * batch body replaces it as the event leaves (see `batchBody`).
 */
export const TIMEZONE_PENDING = '\0tz';
const TIMEZONE_KEY = 'firstparty-js:tz';
let zone: string | undefined;
/** Whether the time zone may be remembered in (and read from) localStorage: see `rememberZone`. */
let zoneStored = false;

/**
 * Lets the time zone be remembered in localStorage (`on`), or not, removing
 * what is there: only a tracker that may write localStorage (storage
 * `'cookie'` or `'localStorage'`, recording allowed) turns it on; opting out
 * or refusing consent turns it off. Off by default: `storage: 'none'` and a
 * page without consent neither read nor write it.
 */
export function rememberZone(on: boolean): void {
  if (!(zoneStored = on)) lsSet(TIMEZONE_KEY, null);
}

/**
 * The IANA time zone, e.g. `Europe/Berlin`. Where `Temporal` is (Chromium
 * 144+, Firefox 139+) it is read at call time: `Temporal.Now.timeZoneId()`
 * takes 0.2 ms with the CPU 6× slower. Elsewhere asking for it constructs an
 * `Intl.DateTimeFormat`, which loads the date formats and time zone data: 21 ms
 * the first time in a page (69 ms at 6×; Chromium 147 on the bench machine).
 * So there it is computed at most once per page, off the `track()` path (when
 * the first batch leaves), and, where the site lets us (`rememberZone`),
 * remembered in localStorage with the UTC offset it was seen with, so later
 * pages of the site know it at once (a changed offset asks again).
 */
export function timezone(compute = true): string {
  if (!zone) {
    const offset = String(new Date().getTimezoneOffset());
    const [seenOffset, seenZone] = ((zoneStored && lsGet(TIMEZONE_KEY)) || '').split(' ');
    const temporal = (globalThis as { Temporal?: { Now: { timeZoneId(): string } } }).Temporal;
    if (seenOffset === offset && seenZone) zone = seenZone;
    else if (compute || temporal) {
      try {
        zone = temporal ? temporal.Now.timeZoneId() : Intl.DateTimeFormat().resolvedOptions().timeZone;
      } catch {
        // No Intl (or a broken Temporal polyfill): the event goes without a time zone.
      }
      zone ||= '';
      if (zoneStored) lsSet(TIMEZONE_KEY, offset + ' ' + zone);
    }
  }
  return zone ?? TIMEZONE_PENDING;
}
