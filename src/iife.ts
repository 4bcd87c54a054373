import { createFirstparty, type Firstparty } from './firstparty';
import { warn } from './lib/log';

/** What the snippet leaves on `window.firstparty` before this script loads. */
interface Stub extends Array<unknown[] & { t?: number; p?: [string, string, string] }> {
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
 * made (`t`, `p` on the call's array).
 */
function install(): void {
  const stub = window.firstparty;
  if (stub && !Array.isArray(stub)) {
    warn('firstparty-js loaded twice; the second copy does nothing');
    return;
  }
  const firstparty = createFirstparty() as Firstparty & { _loaded?: boolean };
  firstparty._loaded = true;
  window.firstparty = firstparty;
  if (!stub) return;
  if (stub._writeKey) firstparty.load(stub._writeKey, stub._host as string, stub._firstpartyOptions);
  for (const call of stub) {
    if (Array.isArray(call) && typeof call[0] === 'string') {
      const page = call.p && { url: call.p[0], title: call.p[1], referrer: call.p[2] };
      firstparty._replay(call[0], call.slice(1), { time: call.t, page });
    }
  }
}

try {
  install();
} catch (error) {
  warn('could not start', error);
}
