/**
 * Issue 7: property-based fuzz test (fast-check, fixed seed).
 *
 * Throws random values — `fc.anything()` with BigInt, dates, typed arrays,
 * sparse arrays, null-prototype objects, Maps/Sets, boxed values, plus the
 * hand-made hostile values of test/hardening/hostile.ts (circular objects,
 * throwing getters, Proxies throwing on every trap, functions, symbols, 1 MB
 * strings, 1,000-level nesting, 10,000 keys, DOM nodes, window…) — and random
 * call sequences at every public method of `createFirstparty()`, before and
 * after `load()`, with random clock jumps, page hides, offline spells, clicks,
 * a collector that fails in every way, and queues whose storage refuses or
 * hangs. It asserts:
 *
 * - no exception escapes any method, not even asynchronously (unhandled
 *   rejections, window error events, errors out of timers);
 * - every request body (fetch and sendBeacon) is valid JSON of at most
 *   65,536 bytes, `{"events": [...]}`, each event with its envelope fields of
 *   the right types (event_id, name, write_key, profile_id, session_id,
 *   properties, context, created_at, sent_at);
 * - `flush()` always settles, and the queue stays readable: `queue.all()`
 *   resolves to [key, JSON text] pairs of events.
 *
 * In `npm test` it runs with seed 42: 600 call sequences and 20,000 single
 * values, ~10–20 s. A longer run: FUZZ_RUNS=N runs N sequences and 10 × N
 * values (about 4 ms per sequence and 0.3 ms per value on the 2-core test
 * machine: N = 20,000 takes ~2–3 minutes, N = 200,000 ~20–30 minutes);
 * FUZZ_SEED picks another seed:
 *
 *   FUZZ_RUNS=200000 npx vitest run --config test/vitest.config.mjs test/fuzz.test.ts
 *
 * (vitest's per-test timeout is lifted for the long run automatically.)
 */
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFirstparty, type Firstparty } from '../src/firstparty';
import { logState } from '../src/lib/log';
import { createQueue, localStorageStore, memoryStore, type EventStore, type QueueRecord } from '../src/lib/queue';
import { bodyProblems, envelopeProblems, fakeBeacon, fakeCollector, HOST, KEY, limitOf, T0, YEAR, type Reply } from './hardening/helpers';
import { HOSTILE } from './hardening/hostile';
import { flushed } from './helpers/fakeNetwork';

const SEED = Number(process.env.FUZZ_SEED) || 42;
/** Scale: FUZZ_RUNS=N runs N call sequences and 10 × N single values. */
const LONG = Number(process.env.FUZZ_RUNS) || 0;
const SEQUENCE_RUNS = LONG || 600;
const VALUE_RUNS = LONG ? LONG * 10 : 20_000;
const TIMEOUT = LONG ? 24 * 3600_000 : 60_000;

// ---- values ----------------------------------------------------------------

/** A hostile value is generated as a marker and made fresh at call time (many are stateful). */
type Marker = { $hostile: string } | { $fn: string } | { $el: string };
const hostile = fc.constantFrom(...Object.keys(HOSTILE)).map((name): Marker => ({ $hostile: name }));

const anything = fc.anything({
  withBigInt: true,
  withDate: true,
  withTypedArray: true,
  withSparseArray: true,
  withNullPrototype: true,
  withMap: true,
  withSet: true,
  withBoxedValues: true,
  withObjectString: true,
  stringUnit: 'binary',
  maxDepth: 4,
  maxKeys: 8,
});

/** Functions the fuzz passes as callbacks, handlers, name/properties functions. */
const FUNCTIONS = ['noop', 'throw', 'returns-name', 'returns-props', 'returns-garbage', 'reenter-track', 'reenter-flush', 'reenter-reset'];
const fn = fc.constantFrom(...FUNCTIONS).map((kind): Marker => ({ $fn: kind }));

/** Elements for trackLink/trackForm: the run's pool, lists of them, and things that are not elements. */
const ELEMENTS = ['pool:0', 'pool:1', 'pool:2', 'pool:3', 'pool:4', 'array', 'nodelist', 'jquery-like', 'text-node', 'selector', 'null'];
const elements = fc.constantFrom(...ELEMENTS).map((kind): Marker => ({ $el: kind }));

const value = fc.oneof(
  { weight: 6, arbitrary: anything },
  { weight: 3, arbitrary: hostile },
  { weight: 2, arbitrary: fc.dictionary(fc.string({ unit: 'binary', maxLength: 12 }), fc.oneof(anything, hostile), { maxKeys: 6 }) },
  { weight: 1, arbitrary: fn },
);
const name = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.constantFrom('Signed Up', 'Form Completed', '', '   ', '\0\x1b[2J', 'x'.repeat(300)) },
  { weight: 2, arbitrary: value },
);
const properties = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(anything, hostile), { maxKeys: 8 }) },
  { weight: 2, arbitrary: value },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
const id = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), value);
const validOptions = fc.record(
  {
    flushInterval: fc.integer({ min: 1, max: 5000 }),
    maxQueue: fc.integer({ min: 1, max: 60 }),
    maxAge: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    sessionTimeout: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    maxBatchBytes: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 4000, max: 70_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 50, max: 4000 }) }),
    storage: fc.constantFrom('cookie', 'localStorage', 'memory', 'none'),
    consent: fc.constantFrom(true, true, true, false, 'pending'),
    pageviews: fc.constantFrom(false, 'history'),
    respectPrivacySignals: fc.boolean(),
    debug: fc.boolean(),
    cookieDomain: fc.constantFrom('', 'localhost', 'example.com'),
  },
  { requiredKeys: [] },
);
const options = fc.oneof(validOptions, fc.dictionary(fc.constantFrom('flushInterval', 'maxQueue', 'maxAge', 'maxBatchBytes', 'storage', 'consent', 'debug'), value), value);
const site = fc.record(
  {
    time: fc.oneof(fc.integer({ min: -2e15, max: 2e15 }), fc.double(), value),
    page: fc.oneof(fc.record({ url: fc.oneof(fc.webUrl(), fc.string()), title: fc.string(), referrer: fc.string() }), value),
  },
  { requiredKeys: [] },
);

const METHODS = [
  'load', 'track', 'page', 'pageview', 'identify', 'group', 'alias', 'setAnonymousId', 'reset', 'ready', 'flush',
  'getProfileId', 'getSessionId', 'debug', 'on', 'once', 'off', 'addSourceMiddleware', 'addIntegrationMiddleware',
  'addDestinationMiddleware', 'trackLink', 'trackClick', 'trackForm', 'trackSubmit', 'consent', 'optOut', 'optIn',
  'destroy', '_replay',
] as const;
const LIBRARY_EVENTS = fc.oneof(fc.constantFrom('track', 'sent', 'failed', 'dropped', 'ready'), fc.string({ maxLength: 8 }));
const MIDDLEWARES = ['pass', 'drop', 'throw', 'next-twice', 'next-garbage', 'next-null', 'add-property', 'unserializable', 'later'];

/** Arguments shaped like each method's, mixed with anything at all. */
const argsFor: Record<(typeof METHODS)[number], fc.Arbitrary<unknown[]>> = {
  load: fc.tuple(fc.oneof(fc.constant(KEY), id), fc.oneof(fc.constant(HOST), fc.constant(HOST + '/x?y#z'), value), fc.option(options, { nil: undefined })),
  track: fc.tuple(name, properties, fc.option(value, { nil: undefined }), fc.option(fn, { nil: undefined })),
  page: fc.array(fc.oneof(fc.string({ maxLength: 20 }), properties, fn), { maxLength: 5 }),
  pageview: fc.array(fc.oneof(fc.string({ maxLength: 20 }), properties, fn), { maxLength: 5 }),
  identify: fc.oneof(fc.tuple(id, properties, fc.option(value, { nil: undefined }), fc.option(fn, { nil: undefined })), fc.tuple(properties)),
  group: fc.tuple(id, properties, fc.option(value, { nil: undefined }), fc.option(fn, { nil: undefined })),
  alias: fc.tuple(id, fc.option(id, { nil: undefined })),
  setAnonymousId: fc.array(id, { maxLength: 1 }),
  reset: fc.array(value, { maxLength: 2 }),
  ready: fc.tuple(fc.oneof(fn, value)),
  flush: fc.array(value, { maxLength: 1 }),
  getProfileId: fc.array(value, { maxLength: 1 }),
  getSessionId: fc.array(value, { maxLength: 1 }),
  debug: fc.array(value, { maxLength: 1 }),
  on: fc.tuple(LIBRARY_EVENTS, fc.oneof(fn, value)),
  once: fc.tuple(LIBRARY_EVENTS, fc.oneof(fn, value)),
  off: fc.tuple(LIBRARY_EVENTS, fc.option(fn, { nil: undefined })),
  addSourceMiddleware: fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...MIDDLEWARES).map((kind) => ({ $middleware: kind })) }, { weight: 1, arbitrary: value })),
  addIntegrationMiddleware: fc.array(value, { maxLength: 2 }),
  addDestinationMiddleware: fc.array(value, { maxLength: 2 }),
  trackLink: fc.tuple(fc.oneof(elements, value), fc.oneof(name, fn), fc.option(fc.oneof(properties, fn), { nil: undefined })),
  trackClick: fc.tuple(fc.oneof(elements, value), fc.oneof(name, fn), fc.option(fc.oneof(properties, fn), { nil: undefined })),
  trackForm: fc.tuple(fc.oneof(elements, value), fc.oneof(name, fn), fc.option(fc.oneof(properties, fn), { nil: undefined })),
  trackSubmit: fc.tuple(fc.oneof(elements, value), fc.oneof(name, fn), fc.option(fc.oneof(properties, fn), { nil: undefined })),
  consent: fc.array(fc.oneof(fc.boolean(), value), { maxLength: 1 }),
  optOut: fc.array(value, { maxLength: 1 }),
  optIn: fc.array(value, { maxLength: 1 }),
  destroy: fc.constant([]),
  _replay: fc.tuple(fc.oneof(fc.constantFrom(...METHODS), fc.string({ maxLength: 12 })), fc.array(value, { maxLength: 4 }), site),
};

// ---- commands ----------------------------------------------------------------

type Command =
  | { call: (typeof METHODS)[number]; args: unknown[] }
  | { tick: number }
  | { clock: number }
  | { page: 'hide' | 'show' | 'pagehide' | 'offline' | 'online' }
  | { click: number }
  | { submit: number }
  | { replies: Reply[] };

const REPLIES: Reply[] = [200, 200, 200, 204, 400, 413, 408, 429, 500, 503, { status: 503, retryAfter: '2' }, { status: 429, retryAfter: 'garbage' }, 'throw', 'network-error', 'garbage', 'bad-body', 'hang'];

/** Recording methods and flush() more often; the calls that end tracking (destroy, optOut) rarely. */
const COMMON = [...METHODS.filter((m) => m !== 'destroy' && m !== 'optOut'), ...Array(8).fill('track'), 'page', 'page', 'identify', 'flush', 'flush'] as (typeof METHODS)[number][];
const callOf = (method: (typeof METHODS)[number]) => argsFor[method].map((args): Command => ({ call: method, args }));
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 60, arbitrary: fc.constantFrom(...COMMON).chain(callOf) },
  { weight: 1, arbitrary: fc.constantFrom('destroy', 'optOut').chain((m) => callOf(m as 'destroy')) },
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 90_000 }).map((tick) => ({ tick })) },
  { weight: 1, arbitrary: fc.oneof(fc.integer({ min: -3600_000, max: 3600_000 }), fc.integer({ min: -50 * YEAR, max: 50 * YEAR })).map((clock) => ({ clock })) },
  { weight: 1, arbitrary: fc.constantFrom('hide', 'show', 'pagehide', 'offline', 'online').map((p) => ({ page: p as 'hide' })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 4 }).map((click) => ({ click })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 4 }).map((submit) => ({ submit })) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...REPLIES), { maxLength: 4 }).map((replies) => ({ replies })) },
);

const STORES = ['memory', 'idb-quota', 'idb-hangs', 'flaky', 'localStorage'] as const;
type Scenario = {
  store: (typeof STORES)[number];
  before: Command[];
  options?: Record<string, unknown>;
  after: Command[];
  beacon: boolean;
  replies: Reply[];
};
const scenario: fc.Arbitrary<Scenario> = fc.record({
  store: fc.constantFrom(...STORES),
  before: fc.array(command, { maxLength: 8 }),
  options: fc.option(validOptions, { nil: undefined }),
  after: fc.array(command, { maxLength: 30 }),
  beacon: fc.constantFrom(true, true, false),
  replies: fc.array(fc.constantFrom(...REPLIES), { maxLength: 3 }),
});

// ---- running -------------------------------------------------------------------

/** Stores that refuse in the ways browsers do. */
function makeQueue(kind: (typeof STORES)[number]): EventStore {
  const refusing: EventStore = {
    put: () => Promise.reject(new DOMException('quota', 'QuotaExceededError')),
    all: () => Promise.reject(new DOMException('quota', 'UnknownError')),
    remove: () => Promise.reject(new DOMException('quota', 'UnknownError')),
  };
  const hanging: EventStore = { put: () => new Promise(() => {}), all: () => new Promise(() => {}), remove: () => new Promise(() => {}) };
  let n = 0;
  const inner = memoryStore();
  const flaky: EventStore = {
    put: (records) => (++n % 3 ? inner.put(records) : Promise.reject(new DOMException('flaky', 'AbortError'))),
    all: () => (++n % 4 ? inner.all() : Promise.reject(new DOMException('flaky', 'AbortError'))),
    remove: (keys) => inner.remove(keys),
  };
  if (kind === 'memory') return memoryStore();
  if (kind === 'idb-quota') return createQueue([refusing, localStorageStore('fuzz:queue'), memoryStore()]);
  if (kind === 'idb-hangs') return createQueue([hanging, memoryStore()]);
  if (kind === 'flaky') return createQueue([flaky, memoryStore()]);
  return createQueue([localStorageStore('fuzz:queue'), memoryStore()]);
}

const stats = { slowest: 0, sequences: 0, commands: 0, calls: 0, values: 0, requests: 0, events: 0, beacons: 0, escaped: 0, ms: 0 };
const asyncErrors: string[] = [];
const text = (error: unknown) => {
  try {
    return error instanceof Error ? error.name + ': ' + error.message : String(error);
  } catch {
    return '[unprintable]';
  }
};

/** Runs one scenario; returns every violation found (empty: all good). */
async function runScenario(s: Scenario): Promise<string[]> {
  const violations: string[] = [];
  vi.setSystemTime(T0);
  localStorage.clear();
  const queue = makeQueue(s.store);
  const net = fakeCollector([...s.replies]);
  const beacons = fakeBeacon(s.beacon);
  const fp: Firstparty = createFirstparty({ queue, fetch: net.fetch, sendBeacon: beacons.send });
  const container = document.createElement('div');
  const pool = [document.createElement('div'), document.createElement('button'), document.createElement('form'), document.createElement('span'), document.createElement('a')];
  pool.forEach((el) => container.append(el));
  pool[2].addEventListener('submit', (e) => e.preventDefault());
  document.body.append(container);
  let reentering = 0;
  const restores: (() => void)[] = [];

  const make = (v: unknown, depth = 0): unknown => {
    if (!v || typeof v !== 'object' || Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype) return v;
    const m = v as any;
    if (typeof m.$hostile === 'string' && Object.keys(m).length === 1) return HOSTILE[m.$hostile]();
    if (typeof m.$fn === 'string' && Object.keys(m).length === 1) return makeFunction(m.$fn);
    if (typeof m.$el === 'string' && Object.keys(m).length === 1) return makeElements(m.$el);
    if (typeof m.$middleware === 'string' && Object.keys(m).length === 1) return makeMiddleware(m.$middleware);
    // A plain record may hold markers a level or two down.
    if (depth > 1) return v;
    const out: any = {};
    for (const key of Object.keys(m)) out[key] = make(m[key], depth + 1);
    return out;
  };
  const makeFunction = (kind: string) =>
    function fuzzFunction(...args: unknown[]) {
      if (kind === 'throw') throw new Error('callback throws');
      if (kind === 'returns-name') return 'From Function';
      if (kind === 'returns-props') return { from: 'function', args: args.length };
      if (kind === 'returns-garbage') return HOSTILE['throwing Proxy']();
      if (reentering) return;
      reentering++;
      try {
        if (kind === 'reenter-track') fp.track('Reentrant', { kind });
        if (kind === 'reenter-flush') fp.flush();
        if (kind === 'reenter-reset') fp.reset();
      } finally {
        reentering--;
      }
    };
  const makeElements = (kind: string): unknown => {
    if (kind.startsWith('pool:')) return pool[+kind.slice(5)];
    if (kind === 'array') return [...pool, null, 'x'];
    if (kind === 'nodelist') return container.querySelectorAll('*');
    if (kind === 'jquery-like') return { 0: pool[0], 1: pool[2], length: 2 };
    if (kind === 'text-node') return document.createTextNode('t');
    if (kind === 'selector') return 'a.buy';
    return null;
  };
  const makeMiddleware = (kind: string) => (context: any) => {
    const { payload, next } = context;
    if (kind === 'pass') return next(payload);
    if (kind === 'drop') return;
    if (kind === 'throw') throw new Error('middleware throws');
    if (kind === 'next-twice') return next(payload), next(payload);
    if (kind === 'next-garbage') return next(42);
    if (kind === 'next-null') return next(null);
    if (kind === 'add-property') return (payload.properties = { ...payload.properties, added: 'by middleware' }), next(payload);
    if (kind === 'unserializable') return (payload.properties = { ...payload.properties, big: 10n }), next(payload);
    if (kind === 'later') setTimeout(() => next(payload), 10);
  };

  const guardAsync = (label: string, result: unknown) => {
    if (result && typeof (result as any).then === 'function') {
      (result as Promise<unknown>).then(undefined, (error) => violations.push(label + ' rejected: ' + text(error)));
    }
  };
  const advance = async (ms: number) => {
    try {
      await vi.advanceTimersByTimeAsync(ms);
    } catch (error) {
      violations.push('an error escaped from a timer: ' + text(error));
    }
  };

  async function run(cmd: Command) {
    stats.commands++;
    if ('call' in cmd) {
      stats.calls++;
      let args: unknown[];
      try {
        args =
          cmd.call === '_replay'
            ? [make(cmd.args[0]), (cmd.args[1] as unknown[]).map((v) => make(v)), make(cmd.args[2])]
            : cmd.args.map((v) => make(v));
      } catch (error) {
        return; // building the value itself failed (not the library's business)
      }
      stats.values += args.length;
      try {
        guardAsync(cmd.call, (fp as any)[cmd.call](...args));
      } catch (error) {
        violations.push(`${cmd.call}() threw: ${text(error)}`);
      }
    } else if ('tick' in cmd) await advance(cmd.tick);
    else if ('clock' in cmd) vi.setSystemTime(Date.now() + cmd.clock);
    else if ('replies' in cmd) net.state.replies.push(...cmd.replies);
    else if ('click' in cmd) pool[cmd.click].dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true }));
    else if ('submit' in cmd) pool[2].dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    else if (cmd.page === 'hide' || cmd.page === 'show') {
      const hidden = cmd.page === 'hide';
      vi.spyOn(document, 'visibilityState', 'get').mockReturnValue(hidden ? 'hidden' : 'visible');
      vi.spyOn(document, 'hidden', 'get').mockReturnValue(hidden);
      document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
    } else if (cmd.page === 'pagehide') window.dispatchEvent(new Event('pagehide'));
    else if (cmd.page === 'offline' || cmd.page === 'online') {
      vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(cmd.page === 'online');
      window.dispatchEvent(new Event(cmd.page));
    }
  }

  try {
    for (const cmd of s.before) await run(cmd);
    try {
      fp.load(KEY, HOST, s.options as any);
    } catch (error) {
      violations.push('load() threw: ' + text(error));
    }
    for (const cmd of s.after) await run(cmd);

    // Heal the world: collector answers 200, online, visible, a sane clock.
    net.state.replies.length = 0;
    vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(true);
    vi.spyOn(document, 'visibilityState', 'get').mockReturnValue('visible');
    vi.spyOn(document, 'hidden', 'get').mockReturnValue(false);
    window.dispatchEvent(new Event('online'));
    let settled = false;
    let flushResult: unknown;
    try {
      flushResult = fp.flush();
    } catch (error) {
      violations.push('flush() threw: ' + text(error));
    }
    Promise.resolve(flushResult).then(
      () => (settled = true),
      (error) => violations.push('flush() rejected: ' + text(error)),
    );
    for (let i = 0; i < 40 && !settled; i++) await advance(30_000);
    if (!settled) violations.push('flush() never settled');

    // Every body that left: valid JSON within 64 KiB, each event with its envelope.
    net.requests.forEach((r, i) => bodyProblems(r.text, limitOf(r)).forEach((p) => violations.push(`fetch ${i}: ${p}`)));
    beacons.calls.forEach((c, i) => bodyProblems(c.text).forEach((p) => violations.push(`beacon ${i}: ${p}`)));
    stats.requests += net.requests.length;
    stats.beacons += beacons.calls.length;
    stats.events += net.events().length;

    // The queue stays readable.
    let records: unknown;
    let read = false;
    queue.all().then(
      (r) => ((records = r), (read = true)),
      (error) => violations.push('queue.all() rejected: ' + text(error)),
    );
    for (let i = 0; i < 10 && !read; i++) await advance(6000);
    if (!read) violations.push('queue.all() never settled');
    else if (!Array.isArray(records)) violations.push('queue.all() is not an array');
    else
      for (const record of records as QueueRecord[]) {
        if (!Array.isArray(record) || record.length !== 2 || typeof record[0] !== 'string' || typeof record[1] !== 'string') {
          violations.push('queue record is not [string, string]: ' + text(record));
          continue;
        }
        try {
          envelopeProblems(JSON.parse(record[1]), { stored: true }).forEach((p) => violations.push('queued event: ' + p));
        } catch (error) {
          violations.push('queued record is not JSON: ' + record[1].slice(0, 80));
        }
      }
  } finally {
    try {
      fp.destroy();
    } catch (error) {
      violations.push('destroy() threw: ' + text(error));
    }
    restores.forEach((restore) => restore());
    container.remove();
    vi.restoreAllMocks();
    silenceConsole();
    logState.debug = false;
    vi.clearAllTimers();
  }
  if (asyncErrors.length) violations.push(...asyncErrors.splice(0));
  stats.escaped += violations.length;
  return violations;
}

function silenceConsole() {
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  vi.spyOn(console, 'log').mockImplementation(() => {});
}

const onRejection = (reason: unknown) => asyncErrors.push('unhandled rejection: ' + text(reason));
const onUncaught = (error: unknown) => asyncErrors.push('uncaught exception: ' + text(error));
const onWindowError = (event: Event) => asyncErrors.push('window error event: ' + text((event as ErrorEvent).error ?? (event as ErrorEvent).message));
const onWindowRejection = (event: Event) => asyncErrors.push('window unhandledrejection: ' + text((event as PromiseRejectionEvent).reason));

beforeAll(() => {
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onUncaught);
  window.addEventListener('error', onWindowError);
  window.addEventListener('unhandledrejection', onWindowRejection);
});
afterAll(() => {
  process.off('unhandledRejection', onRejection);
  process.off('uncaughtException', onUncaught);
  window.removeEventListener('error', onWindowError);
  window.removeEventListener('unhandledrejection', onWindowRejection);
  console.info(
    `fuzz (seed ${SEED}): ${stats.sequences} call sequences, ${stats.commands} commands (${stats.calls} method calls), ` +
      `${stats.values} random/hostile values, ${stats.requests} fetch requests (${stats.events} events), ${stats.beacons} beacons, ` +
      `${stats.escaped} violations, ${(stats.ms / 1000).toFixed(1)} s (slowest sequence ${Math.round(stats.slowest)} ms)`,
  );
});
beforeEach(() => {
  vi.useFakeTimers({ now: T0, toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
  silenceConsole();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  localStorage.clear();
});

describe('fuzz: random values and call sequences at every public method', () => {
  it(`call sequences before and after load() (${SEQUENCE_RUNS} runs)`, { timeout: TIMEOUT }, async () => {
    const start = performance.now();
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        stats.sequences++;
        const t0 = performance.now();
        const violations = await runScenario(s);
        stats.slowest = Math.max(stats.slowest, performance.now() - t0);
        if (violations.length) throw new Error(violations.slice(0, 8).join('\n'));
      }),
      { seed: SEED, numRuns: SEQUENCE_RUNS, endOnFailure: true },
    );
    stats.ms += performance.now() - start;
  });

  it(`single values at every recording method (${VALUE_RUNS} runs)`, { timeout: TIMEOUT }, async () => {
    const start = performance.now();
    const escaped: string[] = [];
    // Every record is checked as it is stored (cheap, and it names the value that
    // caused a problem); the request bodies every 200 values, after a flush.
    const inner = memoryStore();
    const queue: EventStore = {
      ...inner,
      put(records) {
        for (const record of records) {
          if (typeof record[1] !== 'string') escaped.push('stored a non-string record');
          else
            try {
              envelopeProblems(JSON.parse(record[1]), { stored: true }).forEach((p) => escaped.push('stored event: ' + p));
            } catch {
              escaped.push('stored a record that is not JSON');
            }
        }
        return inner.put(records);
      },
    };
    const net = fakeCollector();
    const beacons = fakeBeacon(true);
    const fp = createFirstparty({ queue, fetch: net.fetch, sendBeacon: beacons.send });
    fp.load(KEY, HOST);
    let count = 0;
    const make = (v: unknown): unknown => {
      const m = v as any;
      if (m && typeof m === 'object' && typeof m.$hostile === 'string') return HOSTILE[m.$hostile]();
      if (m && typeof m === 'object' && typeof m.$fn === 'string') return () => 'fn';
      return v;
    };
    const calls: ((v: unknown) => unknown)[] = [
      (v) => fp.track('Value', { v }),
      (v) => fp.track('Value As Properties', v as any),
      (v) => fp.track(v as any),
      (v) => fp.track('Value As Options', {}, v, v as any),
      (v) => fp.page(v),
      (v) => fp.page('Category', 'Name', { v }),
      (v) => fp.identify(v as any, { v }),
      (v) => fp.group(v as any, v as any),
      (v) => fp.alias(v as any),
      (v) => fp._replay('track', ['Replayed', { v }], { time: Date.now(), page: undefined }),
    ];
    await fc.assert(
      fc.asyncProperty(value, fc.integer({ min: 0, max: calls.length - 1 }), async (v, which) => {
        stats.values++;
        let made: unknown;
        try {
          made = make(v);
        } catch {
          return;
        }
        try {
          calls[which](made);
        } catch (error) {
          escaped.push(`call ${which} threw: ${text(error)}`);
        }
        // identify()/alias() keep the ID for later events: reset, so one value does not decide all the others.
        if (which === 6 || which === 8) fp.reset();
        for (let i = 0; i < 5; i++) await Promise.resolve(); // the write to the queue happens a microtask later
        let problems: string[] = [];
        if (++count % 200 === 0) {
          // Under fake timers: a flush of more than one request starts the others a 0 ms timer later.
          await flushed(fp.flush());
          problems = net.requests.flatMap((r, i) => bodyProblems(r.text, limitOf(r)).map((p) => `request ${i}: ${p}`));
          net.requests.length = 0;
        }
        const found = [...escaped.splice(0), ...asyncErrors.splice(0), ...problems];
        if (found.length) throw new Error(found.slice(0, 8).join('\n'));
      }),
      { seed: SEED, numRuns: VALUE_RUNS, endOnFailure: true },
    );
    await flushed(fp.flush());
    const problems = net.requests.flatMap((r) => bodyProblems(r.text, limitOf(r)));
    expect(problems).toEqual([]);
    expect(escaped).toEqual([]);
    expect(asyncErrors).toEqual([]);
    for (const [key, json] of await queue.all()) {
      expect(typeof key).toBe('string');
      expect(envelopeProblems(JSON.parse(json), { stored: true })).toEqual([]);
    }
    fp.destroy();
    stats.ms += performance.now() - start;
  });
});
