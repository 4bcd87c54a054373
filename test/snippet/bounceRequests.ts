/**
 * What the built snippet hands over when the page hides, for the snippet's
 * tests: a stand-in for `fetch` that keeps the requests whose body is a Blob
 * (the snippet's fast-bounce fallback posts a JSON Blob; the library posts
 * strings) and passes every other request on to the library's fake network
 * (test/helpers/fakeNetwork.ts), and a `sendBeacon` that accepts and keeps
 * what it is given (the library's page-hide handover, while it uses one).
 */
import { vi } from 'vitest';

/** One request handed over: its URL, fetch's init (none for a beacon), its body's type and parsed JSON. */
export interface HandedOver {
  url: string;
  init?: RequestInit;
  type: string;
  body: { events: any[] };
}

/** A request's body as text, whatever form it was given in. */
const text = async (data: unknown): Promise<string> => (data instanceof Blob ? data.text() : String(data));

/**
 * Stubs `fetch` and spies on `navigator.sendBeacon` for the current test
 * (vi.unstubAllGlobals / vi.restoreAllMocks undo it). `answer` is what the
 * snippet's requests get back (default: at once, 200).
 */
export function interceptHandovers() {
  let network: typeof fetch | undefined;
  const answer = vi.fn((): Promise<Response> => Promise.resolve({ ok: true, status: 200 } as Response));
  const fetchSpy = vi.fn((url: string, init?: RequestInit) => {
    if (init?.body instanceof Blob) return answer();
    return network ? network(url, init) : Promise.resolve({ ok: true, status: 200 } as Response);
  });
  vi.stubGlobal('fetch', fetchSpy);
  const beacon = vi.fn((_url: string, _data?: BodyInit | null) => true);
  vi.spyOn(navigator, 'sendBeacon').mockImplementation(beacon as any);

  /** The snippet's requests: fetch calls with a Blob body. */
  const bounceCalls = () => fetchSpy.mock.calls.filter(([, init]) => init?.body instanceof Blob);
  const parse = (calls: [string, RequestInit | undefined, unknown][]) =>
    Promise.all(
      calls.map(async ([url, init, data]) => {
        const body = init ? init.body : data;
        return { url, init, type: body instanceof Blob ? body.type : '', body: JSON.parse(await text(body)) } as HandedOver;
      }),
    );

  return {
    /** The fetch stand-in (every call, the library's included). */
    fetch: fetchSpy,
    /** What the snippet's requests answer: mock it to hold one (a promise that never settles) or fail. */
    answer,
    /** The sendBeacon spy. */
    beacon,
    /** Requests that are not the snippet's go to this fake network (default: answered 200, not kept). */
    useNetwork(fake: typeof fetch) {
      network = fake;
    },
    /** How many requests the snippet has made. */
    bounceCount: () => bounceCalls().length,
    /** The snippet's requests so far, parsed. */
    bounces: () => parse(bounceCalls().map(([url, init]) => [url, init, undefined])),
    /** The beacons sent so far (the library's), parsed. */
    beacons: () => parse(beacon.mock.calls.map(([url, data]) => [url, undefined, data])),
  };
}
