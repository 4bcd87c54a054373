import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BULK_PATH, collectorBase, endpointFor } from '../../src/lib/endpoint';
import { HOST_FORMS, HOST_FORMS_PAGE } from '../helpers/hostForms';
import { setUrl, START_URL } from '../helpers/page';

beforeEach(() => setUrl(HOST_FORMS_PAGE));
afterEach(() => setUrl(START_URL));

describe('collectorBase', () => {
  it.each(HOST_FORMS)('%s → %s', (host, base) => {
    expect(collectorBase(host)).toBe(base);
  });

  it('reads a path and a scheme-relative host against the page (location), with its scheme', () => {
    setUrl('http://shop.example.org:8080/a/b/c');
    expect(collectorBase('/fp')).toBe('http://shop.example.org:8080/fp');
    expect(collectorBase('/')).toBe('http://shop.example.org:8080');
    expect(collectorBase('//fp.example.com')).toBe('http://fp.example.com');
  });

  it('means https for a bare host, a bare host with a port, and a bare host with a path', () => {
    expect(collectorBase('localhost:8787')).toBe('https://localhost:8787');
    expect(collectorBase('fp.example.com:8443')).toBe('https://fp.example.com:8443');
    expect(collectorBase('www.example.com/fp/')).toBe('https://www.example.com/fp');
  });

  it('normalizes what the URL parser normalizes: case, default ports, whitespace, several trailing slashes', () => {
    expect(collectorBase('HTTPS://FP.Example.COM:443/')).toBe('https://fp.example.com');
    expect(collectorBase(' fp.example.com \n')).toBe('https://fp.example.com');
    expect(collectorBase('https://www.example.com/fp///')).toBe('https://www.example.com/fp');
    expect(collectorBase('http://[::1]:8787')).toBe('http://[::1]:8787');
  });

  it('drops a query, a fragment and credentials: a path is appended to the result', () => {
    expect(collectorBase('https://user:secret@www.example.com/fp/?utm=x#top')).toBe('https://www.example.com/fp');
  });

  it.each([
    ['javascript:alert(1)'],
    ['javascript://fp.example.com/%0aalert(1)'],
    ['JavaScript:/x'],
    ['data:text/javascript,alert(1)'],
    ['ftp://fp.example.com'],
    ['chrome-extension://abc/'],
    [''],
    ['   '],
    ['//'],
    ['http://'],
    ['https://'],
    ['not a host !!'],
    ['exa mple.com'],
    ['fp.example.com:99999'],
    ['http://[::1'],
  ])('refuses %j', (host) => {
    expect(collectorBase(host)).toBe('');
  });

  it('refuses what is not a string, and never throws', () => {
    const throwing = new Proxy(
      {},
      {
        get: () => {
          throw new Error('boom');
        },
      },
    );
    for (const host of [undefined, null, 42, {}, [], new URL('https://fp.example.com'), throwing]) expect(collectorBase(host)).toBe('');
  });
});

describe('endpointFor', () => {
  it.each(HOST_FORMS)('%s → %s/events/track/bulk', (host, base) => {
    expect(endpointFor(host)).toBe(base + BULK_PATH);
  });

  it('is empty for a refused host', () => {
    for (const host of ['', 'javascript:alert(1)', undefined, 42]) expect(endpointFor(host)).toBe('');
  });
});
