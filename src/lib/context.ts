/** The page an event happened on (Firstparty's `context.page` keys). */
export interface PageContext {
  url: string;
  path: string;
  title: string;
  referrer: string;
  search: string;
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

/** The parts of a page's identity a queued call remembers from its own moment. */
export interface PageSnapshot {
  url: string;
  title: string;
  referrer: string;
}

/** The page as it is right now. */
export function pageSnapshot(): PageSnapshot {
  return { url: location.href, title: document.title, referrer: document.referrer };
}

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
      page: { url: page.url, path: url.pathname, title: page.title, referrer: page.referrer, search: url.search },
      locale: navigator.language,
      timezone: timezone(),
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

function timezone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || '';
  } catch {
    return '';
  }
}
