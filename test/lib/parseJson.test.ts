import { describe, expect, it } from 'vitest';
import { parseJson } from '../../src/lib/parseJson';

describe('parseJson', () => {
  it('parses JSON', () => {
    expect(parseJson('{"a":[1,"x"]}')).toEqual({ a: [1, 'x'] });
    expect(parseJson('null')).toBeNull();
  });

  it('gives undefined, never an exception, for what is not JSON', () => {
    for (const bad of ['{"a":', 'undefined', '', "{'a':1}"]) expect(parseJson(bad)).toBeUndefined();
    expect(parseJson(Symbol('x'))).toBeUndefined(); // JSON.parse(String(symbol)) throws
  });
});
