/**
 * Consent and opt-out: whether this tab may record, and whether events may
 * leave. It owns the state; the tracker does the work through two callbacks.
 * - Consent is a yes only when it is one (`true`, `'granted'`); a `consent()`
 *   call made before `load()` outlives the `consent` option.
 * - Global Privacy Control and the visitor's opt-out (`fp_optout`, set by
 *   `optOut()` in this tab or any other of the site) block recording whatever
 *   the consent. Another tab's opt-out is heard at once through the `storage`
 *   event, and found before every send in any case (`mayLeave()`), so a tab
 *   whose storage event is late, or that runs on another subdomain (the
 *   cookie is site-wide, localStorage is not), sends nothing either.
 * - Every "no" — an opt-out, a refusal (`consent(false)` or anything not a
 *   yes), the privacy signal — calls `forget()`: held calls, the queue and
 *   the IDs go. A consent not (yet) given at load forgets nothing: it is not
 *   an answer.
 * - The era: a number that changes at every stop, so that an event still in
 *   a middleware when recording stopped is dropped (see recorder.ts).
 */
import { listen } from '../lib/listen';
import { warn } from '../lib/log';
import type { ResolvedOptions } from '../lib/options';
import { hasPrivacySignal, isOptedOut, OPT_OUT, setOptedOut } from '../lib/privacy';

export interface ConsentDependencies {
  /** Recording may start, or start again: the IDs, delivery, the held calls. */
  allow(): void;
  /** Recording stops on a "no": held calls, queued events and IDs go. */
  forget(): void;
  /** The cookie Domain, for the opt-out cookie. */
  domain(): string;
}

/** A yes only when it is one: `true`, or `'granted'` (the word of Google's Consent Mode and most consent managers). */
export const isYes = (value: unknown): boolean => value === true || value === 'granted';

/** Creates the consent state of one tracker. */
export function createConsent({ allow, forget, domain }: ConsentDependencies) {
  /** `undefined` until load() or a consent() call says. */
  let consent: boolean | 'pending' | undefined;
  let loaded = false;
  /** Global Privacy Control, read at load (browsers fix it per page). */
  let signal = false;
  /** Opted out, here or in another tab. */
  let out = false;
  let era = 0;

  const recording = () => loaded && !signal && !out && consent === true;

  /** Applies an opt-out made here or in another tab. */
  function optedOut(): void {
    out = true;
    era++;
    forget();
  }

  /** Another tab opted out (or back in): this tab follows at once. */
  function onStorage({ key }: StorageEvent): void {
    if (key !== OPT_OUT && key !== null) return;
    if (isOptedOut()) out || optedOut();
    else if (out) {
      out = false;
      if (recording()) allow();
    }
  }

  return {
    /** Whether calls are recorded now. */
    recording,
    /** Whether calls are discarded now (as opposed to held, until load() or consent). */
    blocks: () => signal || out || consent === false,
    /** Why nothing is recorded, for debug mode. */
    reason: () => (signal ? 'Global Privacy Control' : out ? 'opted out' : 'no consent'),
    era: () => era,

    /**
     * Takes the options (the `consent` option counts unless consent() was
     * called before) and the privacy signal and opt-out as they are now;
     * returns a function that stops listening to other tabs.
     */
    load(options: ResolvedOptions): () => void {
      loaded = true;
      // A refusal given before load() is acted on now that the queue and the cookie Domain are known.
      const refused = consent === false;
      consent ??= options.consent === 'pending' ? 'pending' : isYes(options.consent);
      signal = options.respectPrivacySignals && hasPrivacySignal();
      out = isOptedOut();
      const unlisten = listen([['storage', onStorage]]);
      if (signal || out || refused) forget();
      else if (recording()) allow();
      return unlisten;
    },

    /**
     * Whether events may leave now: recording is allowed, and no tab has
     * opted out since (the flag is read afresh: a cookie and a localStorage
     * read, once per request, never per event). An opt-out found here is
     * applied at once, as if heard of.
     */
    mayLeave(): boolean {
      if (recording() && isOptedOut()) optedOut();
      return recording();
    },

    /** consent(value): a yes starts recording; anything else is a refusal. */
    consent(value: unknown): void {
      if (isYes(value)) {
        const was = recording();
        consent = true;
        if (!was && recording()) allow();
        return;
      }
      if (value !== false && value !== 'denied') warn('consent(): not a yes, taken as a refusal:', value);
      consent = false;
      era++;
      forget();
    },

    optOut(): void {
      setOptedOut(true, domain());
      optedOut();
    },

    /** Undoes an opt-out (this tab's, or another's not yet heard of); a visitor who had not opted out is left as is. */
    optIn(): void {
      if (!out && isOptedOut()) optedOut();
      if (!out) return;
      setOptedOut(false, domain());
      out = false;
      if (recording()) allow();
    },
  };
}

/** The consent state of one tracker. */
export type Consent = ReturnType<typeof createConsent>;
