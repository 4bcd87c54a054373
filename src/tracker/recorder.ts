/**
 * The recorder: turns one recording call (`track`, `page`, `identify`,
 * `group`, `alias`) into an event at its call site — the name cleaned, the
 * properties repaired and copied, the page and time of the call, the IDs —
 * and passes it through the source middlewares. What comes out is handed to
 * `keep` (the outbox) with the call's callback (`site.done`), which runs at
 * once when the call records nothing. Nothing here stores or sends.
 */
import { captureContext, pageSnapshot } from '../lib/context';
import type { Identity } from '../lib/identity';
import { warn } from '../lib/log';
import { OWN_ID_LENGTH, randomId } from '../lib/randomId';
import { cleanProperties } from '../lib/toJson';
import type { CallSite, FirstpartyEvent, Properties, SourceMiddleware } from '../types';
import { VERSION } from '../version';

/** Names of the events the API methods record (Firstparty's Title Case "Object Action" style). */
export const EVENT_NAMES = {
  page: 'Page Viewed',
  identify: 'Profile Identified',
  group: 'Group Identified',
  alias: 'Profile Aliased',
};

/** What the recorder needs from the tracker. */
export interface RecorderContext {
  identity(): Identity;
  writeKey(): string;
  middlewares: SourceMiddleware[];
  /**
   * A number that changes whenever recording stops (opt-out, consent
   * withdrawn): an event whose middleware calls `next()` after such a change
   * is dropped, even if recording has resumed since (it carries the old IDs).
   */
  era(): number;
  /** Takes a finished event, and the call's done (its callback, run once the event is stored). */
  keep(event: FirstpartyEvent, done?: () => void): void;
  /** A library event for `on()` listeners. */
  report(name: string, detail?: unknown): void;
}

/** Whether `value` is a plain (non-array) object. */
export const isObject = (value: unknown): value is Properties => !!value && typeof value === 'object' && !Array.isArray(value);

/**
 * Creates the recorder; `call(method, args, site)` records one call of a
 * recording method (the arguments as the page passed them).
 */
export function createRecorder(tracker: RecorderContext) {
  /** Builds an event at its call site and passes it through the source middlewares. */
  function record(name: unknown, properties: unknown, site: CallSite): void {
    // Control characters (C0 and C1) are removed and names capped at 200 characters.
    const clean = typeof name === 'string' && name.replace(/[\0-\x1f\x7f-\x9f]/g, '').trim().slice(0, 200);
    if (!clean) return dropped(site, 'event without a name dropped:', name);
    const time = site.time || Date.now();
    const identity = tracker.identity();
    // The session first: it is what re-reads storage, so a reset() in another
    // tab gives this event the new profile together with the new session.
    const session_id = identity.sessionId(time);
    const context = captureContext(VERSION, site.page);
    runMiddlewares(
      {
        event_id: randomId('EV', OWN_ID_LENGTH),
        name: clean,
        write_key: tracker.writeKey(),
        profile_id: identity.profileId(),
        session_id,
        properties: cleanProperties(properties),
        // The context object is shared by events of one page state, and its JSON
        // cached (see eventJson): middlewares get a copy of their own, so what
        // they change is what is sent, for this event only.
        context: tracker.middlewares[0] ? JSON.parse(JSON.stringify(context)) : context,
        created_at: new Date(time).toISOString(),
      },
      0,
      site.done,
      tracker.era(),
    );
  }

  /** The call records nothing: warned about, and its callback runs now. */
  function dropped(site: CallSite, ...warning: unknown[]): void {
    warn(...warning);
    site.done?.();
  }

  function runMiddlewares(event: FirstpartyEvent, index: number, done: (() => void) | undefined, era: number): void {
    const middleware = tracker.middlewares[index];
    // A next() that arrives after an opt-out or a withdrawn consent: the event must not be kept.
    if (era !== tracker.era()) return done?.(), tracker.report('dropped', { reason: 'privacy' });
    if (!middleware) return tracker.keep(event, done);
    let called = 0;
    try {
      // Segment-style middlewares read `payload.obj`; non-enumerable, so not sent.
      Object.defineProperty(event, 'obj', { value: event, configurable: true });
      middleware({
        payload: event as FirstpartyEvent & { obj: FirstpartyEvent },
        next: (result) => {
          if (called++) return;
          if (isObject(result)) return runMiddlewares(result as FirstpartyEvent, index + 1, done, era);
          done?.();
          tracker.report('dropped', { reason: 'middleware' });
        },
      });
    } catch (error) {
      // A middleware that throws may have been about to strip PII: drop rather than leak.
      if (!called++) done?.();
      warn('middleware threw; event dropped', error);
    }
  }

  /** A usable profile ID (trimmed), or '' with a warning. Capped: a huge ID would make every later event too large to send. */
  function profileIdOf(id: unknown): string {
    const trimmed = typeof id === 'string' && id.length < 200 ? id.trim() : '';
    if (!trimmed && id != null) warn('bad profile ID:', id);
    return trimmed;
  }

  function setProfile(id: unknown): void {
    const usable = profileIdOf(id);
    if (usable) tracker.identity().setProfileId(usable);
  }

  /** page(category?, name?, properties?, options?, callback?): leading strings, then objects, then a function. */
  function page(args: unknown[], site: CallSite): void {
    const names = args.slice(0, 2).filter((arg) => typeof arg === 'string') as string[];
    if (args.some((arg, i) => arg != null && !isObject(arg) && typeof arg !== 'function' && !(i < 2 && typeof arg === 'string')))
      warn('page(): arguments ignored:', args);
    const { url, title, referrer } = site.page || pageSnapshot();
    const { pathname, search } = new URL(url, location.href);
    record(
      EVENT_NAMES.page,
      {
        url,
        path: pathname,
        search,
        title,
        referrer,
        // page(name) or page(category, name): the last string is the name.
        ...(names[1] !== undefined && names[0] && { category: names[0] }),
        ...(names[names.length - 1] && { name: names[names.length - 1] }),
        ...cleanProperties(args.filter(isObject)[0]),
      },
      site,
    );
  }

  return {
    setProfile,
    /** Records one call of `track`, `identify`, `group`, `alias`, `page` or `pageview`. */
    call(method: string, args: any[], site: CallSite): void {
      // A function is the call's callback (site.done), in whichever position: never properties or an ID.
      const [first, second] = args.map((arg) => (typeof arg == 'function' ? undefined : arg));
      const newId = typeof first === 'string' && first ? first : 0;
      if (method === 'track') return record(first, second, site);
      if (method === 'identify') {
        // identify(traits) or identify(profileId, traits, options, callback)
        if (isObject(first)) return record(EVENT_NAMES.identify, first, site);
        setProfile(first);
        return record(EVENT_NAMES.identify, second, site);
      }
      if (method === 'group') return newId ? record(EVENT_NAMES.group, { group_id: first, ...cleanProperties(second) }, site) : dropped(site, 'group() needs an ID');
      if (method === 'alias') {
        // The event says what the profile becomes: the ID as setProfile takes it, or nothing at all.
        const to = newId && profileIdOf(first);
        if (!to) return dropped(site, 'alias() needs an ID');
        record(EVENT_NAMES.alias, { previous_id: typeof second === 'string' ? second : tracker.identity().profileId(), new_id: to }, site);
        return tracker.identity().setProfileId(to);
      }
      page(args, site);
    },
  };
}

/** The recorder of one tracker. */
export type Recorder = ReturnType<typeof createRecorder>;
