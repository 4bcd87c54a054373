// @vitest-environment node
// demo/requestUrl.mjs: the request target as every demo server reads it.
import { describe, expect, it } from 'vitest';
import { requestUrl } from '../../demo/requestUrl.mjs';

const read = (url) => requestUrl({ url }, 'http://demo.invalid');

describe('requestUrl', () => {
  it('reads a path on the origin, with its query', () => {
    expect(read('/events/track/bulk?x=1').href).toBe('http://demo.invalid/events/track/bulk?x=1');
    expect(read(undefined).pathname).toBe('/');
  });

  it("keeps '//' and '//x' as paths (new URL would read them as host-less scheme-relative URLs and throw)", () => {
    expect(() => new URL('//', 'http://demo.invalid')).toThrow();
    expect(read('//').pathname).toBe('//');
    expect(read('//evil.example/x').host).toBe('demo.invalid');
    expect(read('//evil.example/x').pathname).toBe('//evil.example/x');
    expect(read('/fp//').pathname).toBe('/fp//');
  });

  it('reads an absolute-form target (as a client talking to a proxy sends) as it is', () => {
    expect(read('http://127.0.0.1:8787/js/firstparty.min.js').href).toBe('http://127.0.0.1:8787/js/firstparty.min.js');
  });
});
