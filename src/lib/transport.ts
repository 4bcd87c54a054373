import { retryAfterMs } from './backoff';
import { utf8Length } from './batch';

/** What became of one request. `status` 0 means a network error. */
export interface SendResult {
  status: number;
  /** Delay asked for by `Retry-After`, in ms (0 when none). */
  retryAfter: number;
  /** The response body as the Response gave it: '' until `read` resolves, and when none could be read. */
  text: string;
  /** Resolves (never rejects) once the body is read into `text`: the answer is returned at its status, before. */
  read?: Promise<unknown>;
  /**
   * The answer came after a redirect: fetch follows 307/308 with the body,
   * but turns a POST into a bodiless GET at 301/302/303, and which of them
   * it was cannot be read. So a redirected answer counts as a receipt only
   * when it is the collector's JSON 2xx (courier.ts).
   */
  redirected?: boolean;
  /** The answer's Content-Type says JSON. */
  json?: boolean;
}

/**
 * A request that has not answered within this long is abandoned and retried:
 * a hung collector must not hold the flush (and its cross-tab lock) forever.
 */
export const REQUEST_TIMEOUT_MS = 30000;

/**
 * Bytes of this page's `keepalive` requests in flight (the courier's while
 * hidden and the page-hide handover's). The browser allows 64 KiB in all and
 * refuses more only asynchronously, with a rejected fetch, which a handover
 * at page hide never sees: so whoever starts one first checks what is left.
 */
let keepaliveInFlight = 0;

/** Bytes of this page's keepalive requests in flight now (see above). */
export const keepaliveBytes = (): number => keepaliveInFlight;

/** What a request that failed without an answer becomes. */
const NO_ANSWER: SendResult = { status: 0, retryAfter: 0, text: '' };

/**
 * Starts a POST of a JSON body with `fetch` and returns its outcome to come;
 * throws only what a replaced `fetch` throws synchronously (handOff() then
 * falls back to a beacon). `keepalive` (used while the page is hidden) lets
 * the request finish if the page goes away while it is in flight; the browser
 * allows it only up to 64 KiB in flight per page, so visible pages send
 * without it, in larger bodies. `credentials` is the tracker's option
 * (default `'same-origin'`: cookies only to a path on the page's own origin,
 * so a cross-origin collector answering `Access-Control-Allow-Origin: *` is
 * not refused, as every credentialed request would be).
 * The response body is always read: Chromium counts a keepalive request
 * against the page's 64 KiB allowance until its response body is consumed, so
 * unread responses make later batches fail (seen in the browser suite).
 */
function start(url: string, body: string, keepalive: boolean, fetchImpl: typeof fetch, credentials: RequestCredentials, gzip: unknown): Promise<SendResult> {
  const controller = new AbortController();
  const send = (data: BodyInit, encoding?: string) =>
    fetchImpl(url, { method: 'POST', body: data, keepalive, credentials, headers: { 'Content-Type': 'application/json', ...(encoding && { 'Content-Encoding': encoding }) }, signal: controller.signal });
  const request = gzip && self.CompressionStream ? gzipped(body).then((data) => send(data, 'gzip')) : send(body);
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  const bytes = keepalive ? utf8Length(body) : 0;
  keepaliveInFlight += bytes;
  /** Once the body is read, or the request failed (one or the other): the timer and the keepalive bytes go. */
  const release = () => (clearTimeout(timer), (keepaliveInFlight -= bytes));
  return (async () => {
    try {
      // Raced against the abort too: a replaced fetch may ignore the signal.
      const aborted = new Promise<never>((_, reject) => controller.signal.addEventListener('abort', reject));
      const response = await Promise.race([request, aborted]);
      const headers = response.headers;
      const result: SendResult = {
        status: response.status,
        retryAfter: retryAfterMs(headers.get('Retry-After')),
        text: '',
        redirected: response.redirected,
        json: /json/.test(headers.get('Content-Type')!),
      };
      // The answer counts at its status; the body (the events a 4xx refused, the rejections a 2xx
      // reports) follows, in `read`. Waiting for it before taking a 2xx as the receipt, the next
      // page committed first in 2 of 3 pages left right after tracking (bench/copies.mjs:
      // 1,740–2,010 copies per 1,000 navigations; 525–585 not).
      result.read = Promise.race([response.text(), aborted])
        .then((text) => void (result.text = text), () => {})
        .finally(release);
      return result;
    } catch {
      release();
      return NO_ANSWER;
    }
  })();
}

/** A body gzipped by the browser (`CompressionStream`, off the page's JavaScript). */
const gzipped = (body: string): Promise<Blob> => new Response(new Blob([body]).stream().pipeThrough(new CompressionStream('gzip'))).blob();

/**
 * POSTs a JSON body with `fetch` (see start()), gzipped with `gzip` where
 * `CompressionStream` is (plain JSON elsewhere); never throws: a request that
 * fails, or a `fetch` that throws, is status 0. `fetchImpl` is the seam tests swap.
 */
export function post(
  url: string,
  body: string,
  keepalive: boolean,
  fetchImpl: typeof fetch = fetch,
  credentials: RequestCredentials = 'same-origin',
  gzip?: unknown,
): Promise<SendResult> {
  try {
    return start(url, body, keepalive, fetchImpl, credentials, gzip);
  } catch {
    return Promise.resolve(NO_ANSWER);
  }
}

/** Whether an answer is a receipt for the events its request carried: a 2xx, and after a redirect the collector's JSON (see SendResult). */
export const isReceipt = ({ status, redirected, json }: SendResult): boolean => status > 199 && status < 300 && (!redirected || !!json);

/**
 * Whether `fn` is the browser's own (not a page's wrapper): a wrapper may
 * wait before it calls the real `fetch`, and a page going away runs no timer,
 * so a handover through it may never leave (handover.ts).
 */
export function isNative(fn: unknown): boolean {
  try {
    return /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(fn));
  } catch {
    return false;
  }
}

/**
 * Whether `fetch` keeps a request alive past its page here: Chromium 66,
 * Safari 13, Firefox 133 (`Request.prototype.keepalive` shipped with it).
 */
export const keepaliveFetch = () => typeof Request == 'function' && 'keepalive' in Request.prototype;

/**
 * Hands a body over as the page goes away: a keepalive `fetch` in the
 * tracker's `credentials` mode where the browser has one, else `sendBeacon`
 * (which always sends cookies, so a cross-origin collector answering
 * `Access-Control-Allow-Origin: *` refuses it: Firefox before 133). The
 * request is started at once. A page that lives on (a tab switch) reads its
 * answer: `answered` runs with true on a 2xx (a receipt: the events are
 * not sent again) and false on any other outcome (handover.ts); a beacon has
 * no answer. A refused keepalive request (over the 64 KiB the page's own
 * keepalive requests share with ours) rejects in a microtask, which a
 * page going away still runs.
 * The page's own `fetch` is used, as for every request: wrappers (error
 * monitors) pass `keepalive` on; one that throws at once leaves the
 * handover to `sendBeacon`.
 */
export function handOff(url: string, body: string, credentials: RequestCredentials, fetchImpl: typeof fetch = fetch, answered?: (ok: boolean) => void): boolean {
  if (!keepaliveFetch()) return beacon(url, body);
  try {
    void start(url, body, true, fetchImpl, credentials, 0).then((result) => answered?.(isReceipt(result)));
    return true;
  } catch {
    // A fetch the page replaced with one that throws: the browser's own beacon still works.
    return beacon(url, body);
  }
}

/**
 * Hands a body to `navigator.sendBeacon` as the page goes away. Returns false
 * when the browser refuses it (no API, over its 64 KiB quota, or a throwing
 * implementation): those events stay queued for the next visit.
 * The Blob's `application/json` type makes a cross-origin beacon a CORS
 * request with a preflight, which Chromium sends (checked in the browser suite).
 */
export function beacon(url: string, body: string): boolean {
  try {
    return navigator.sendBeacon(url, new Blob([body], { type: 'application/json' }));
  } catch {
    return false;
  }
}
