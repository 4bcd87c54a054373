import { createFirstparty, type Firstparty } from './firstparty';
import { warn } from './lib/log';
import type { PageSnapshot } from './lib/context';

/** What the snippet leaves on `window.firstparty` before this script loads. */
interface Stub extends Array<unknown[] & { t?: Date | number; p?: PageSnapshot; s?: 1 }> {
  _writeKey?: string;
  _host?: string;
  _firstpartyOptions?: Record<string, unknown>;
}

declare global {
  interface Window {
    firstparty?: Stub | (Firstparty & { _loaded?: boolean });
  }
}

/**
 * Takes over `window.firstparty`: creates the tracker, loads it with what the
 * snippet's `load()` stored, then replays the calls queued before the script
 * arrived, in order, each with the time and page the snippet noted when it was
 * made (`t`, `p` on the call's array). Calls the snippet already sent itself
 * (marked `s`: the page hid before this script arrived) are not sent again,
 * and every call is marked as it is replayed, so the snippet's fast-bounce
 * fallback (still listening) never sends one of them. Source middlewares
 * queued in the snippet are added first, as Segment's analytics.js does: a
 * middleware that strips PII applies to every event, `page()` calls queued
 * before it included.
 */
function install(): void {
  const stub = window.firstparty;
  if (stub && !Array.isArray(stub)) {
    warn('loaded twice');
    return;
  }
  const firstparty = createFirstparty() as Firstparty & { _loaded?: boolean };
  firstparty._loaded = true;
  window.firstparty = firstparty;
  if (!stub) return;
  // `in`: the snippet's Proxy answers any other name with a stub function.
  if ('_writeKey' in stub) firstparty.load(stub._writeKey!, stub._host as string, stub._firstpartyOptions);
  /** Replays a call not replayed yet (with `middleware`, only a source middleware). */
  const replay = (call: Stub[number], middleware?: boolean) => {
    try {
      if (Array.isArray(call) && typeof call[0] === 'string' && !call.s && (!middleware || call[0] == 'addSourceMiddleware')) {
        call.s = 1;
        // `t` is a Date (a number from snippets before 1.0.0's Proxy stub).
        firstparty._replay(call[0], call.slice(1), { time: +call.t! || undefined, page: call.p });
      }
    } catch (error) {
      warn(error); // a frozen call array, say
    }
  };
  // Page code may have kept a reference to the stub (`const fp = window.firstparty`).
  // Calls made on it from now on, including from a listener or middleware run
  // by the replay below, come through the stub's push: forwarded, in call order.
  // Methods whose result matters answer from the library itself; `toJSON` is
  // defined (as nothing) so JSON.stringify no longer calls the Proxy's stub.
  const queued = stub.slice();
  // Defined, not assigned: where the intrinsics are frozen (SES lockdown()),
  // assigning `push` throws, as the inherited Array.prototype.push is
  // read-only (ES2023 OrdinarySetWithOwnDescriptor step 2.a), and the replay
  // below never ran. A stub that cannot take them (frozen by the page) only
  // loses the forwarding: the replay still runs.
  const methods: PropertyDescriptorMap = {
    push: { value: (...calls: Stub) => (calls.forEach((call) => replay(call)), stub.length) },
    toJSON: {},
  };
  for (const name of ['load', 'flush', 'getProfileId', 'getSessionId', 'setAnonymousId'] as const) methods[name] = { value: firstparty[name] };
  try {
    Object.defineProperties(stub, methods);
  } catch {
    // A frozen stub: calls on a kept reference are not forwarded.
  }
  queued.forEach((call) => replay(call, true));
  queued.forEach((call) => replay(call));
}

try {
  install();
} catch (error) {
  warn(error);
}
