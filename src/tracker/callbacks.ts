/**
 * A recording call's callback, run as analytics.js runs it. It is the first
 * function among the call's arguments: analytics.js takes it in the 2nd, 3rd
 * or 4th position of `track(name, properties?, options?, callback?)`, and
 * after any of the optional arguments of `page`, `identify`, `group` and
 * `alias`. It runs exactly once: when the event is stored, at once when the
 * event will not be recorded (privacy, a middleware dropping it, bad input),
 * and in any case after the timeout (300 ms by default), so that a link
 * navigating in its callback never waits longer than that, nor forever.
 * A callback that throws breaks nothing: the error is logged (guard.ts).
 */
import { guard } from '../lib/guard';

/** Runs the call's callback, if it has not run yet (any number of calls: one run). */
export type Done = () => void;

/** Does nothing: the done of a call without a callback. */
const none: Done = () => {};

/**
 * The done of a call with arguments `args`: its callback, run once, by the
 * first of a call of done() and `timeout` ms from now.
 */
export function callbackOf(args: unknown[], timeout: number): Done {
  const callback = args.find((arg) => typeof arg == 'function') as (() => void) | undefined;
  if (!callback) return none;
  let timer: ReturnType<typeof setTimeout> | 0 = setTimeout(() => done(), timeout);
  const done = () => {
    if (timer === 0) return;
    clearTimeout(timer);
    timer = 0;
    guard('callback', callback)();
  };
  return done;
}
