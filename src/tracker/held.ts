/**
 * The calls held while the library waits for `load()` or for consent: each
 * with its moment and page, in call order, at most `MAX_HELD` of them (the
 * oldest go, with a warning), released in call order in slices of at most
 * `SLICE_MS`, so that however many there are, releasing them is no long task.
 */
import { pageSnapshot } from '../lib/context';
import { debug, warn } from '../lib/log';
import type { CallSite } from '../types';
import { SLICE_MS } from './outbox';

/**
 * Most calls held; beyond it the oldest go, with a warning. A page makes a
 * few calls a page view, so 1,000 is hours of a visit with the consent banner
 * unanswered, in about 1 MB (a held call keeps its arguments and page), and
 * released in about six slices. Unbounded, 200,000 held calls took 160 MB
 * and 4.5 s of main thread to release.
 */
export const MAX_HELD = 1000;

/** One held call: the method, its arguments, where and when it was made. */
export type HeldCall = [method: string, args: any[], site: CallSite];

/**
 * Creates the holding place of one tracker: `run` carries out a released
 * call, while `allowed()` says recording is.
 */
export function createHeld(run: (...call: HeldCall) => void, allowed: () => boolean) {
  let calls: HeldCall[] = [];
  let dropped = 0;

  /** Runs the held calls, in order, for up to SLICE_MS; more slices follow in later tasks. */
  function release(): void {
    const start = performance.now();
    while (calls[0] && allowed()) {
      if (performance.now() - start > SLICE_MS) return void setTimeout(release);
      run(...calls.shift()!);
    }
  }

  return {
    release,
    /** Whether calls are held (a new call must wait behind them, to keep the order). */
    any: (): boolean => !!calls[0],
    /** Holds a call; one held now notes its own moment and page, as the snippet does. */
    hold(method: string, args: any[], site: CallSite): void {
      if (calls.push([method, args, site.time ? site : { ...site, time: Date.now(), page: pageSnapshot() }]) > MAX_HELD) {
        calls.shift()![2].done?.();
        (dropped++ ? debug : warn)('over ' + MAX_HELD + ' calls held: the oldest dropped');
      }
    },
    /** Discards every held call (their callbacks run now: nothing will be recorded); returns how many there were. */
    clear: (): number => calls.splice(0).map(([, , site]) => site.done?.()).length,
  };
}
