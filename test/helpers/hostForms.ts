/**
 * The host forms `load(writeKey, host)` documents (issues 13 and 15), shared by
 * the script's tests (test/lib/endpoint.test.ts) and the snippet's
 * (test/snippet/snippet.test.ts), so both sides are held to one table.
 */

/** The page the bases below are read on: a path host (`/fp`) means this origin. */
export const HOST_FORMS_PAGE = 'https://www.example.com/shop/item?x=1';

/** `[host, the collector base it means on HOST_FORMS_PAGE]`. */
export const HOST_FORMS: [string, string][] = [
  ['fp.example.com', 'https://fp.example.com'],
  ['https://fp.example.com', 'https://fp.example.com'],
  ['https://www.example.com/fp', 'https://www.example.com/fp'],
  ['https://www.example.com/fp/', 'https://www.example.com/fp'],
  ['/fp', 'https://www.example.com/fp'],
  ['//fp.example.com', 'https://fp.example.com'],
  ['http://127.0.0.1:8787', 'http://127.0.0.1:8787'],
];
