import { describe, expect, it, vi } from 'vitest';
import { ENDPOINT, KEY, names, PROFILE_ID, queuedNames, SESSION_ID, settle, setup, T0, useApiEnvironment } from './helpers';

useApiEnvironment();

describe('track(name, properties?, options?, callback?)', () => {
  it('sends the event with its name, properties, write key and IDs to the bulk endpoint', async () => {
    const { fp, net } = setup();
    fp.track('Form Completed', { plan: 'pro', seats: 3 });
    await fp.flush();
    expect(net.requests).toHaveLength(1);
    expect(net.requests[0].url).toBe(ENDPOINT);
    const [event] = net.events();
    expect(event).toMatchObject({ name: 'Form Completed', write_key: KEY, properties: { plan: 'pro', seats: 3 } });
    expect(event.profile_id).toMatch(PROFILE_ID);
    expect(event.session_id).toMatch(SESSION_ID);
    expect(event.created_at).toBe(new Date(T0).toISOString());
  });

  it('sends empty properties when none are given', async () => {
    const { fp, net } = setup();
    fp.track('Button Clicked');
    await fp.flush();
    expect(net.events()[0].properties).toEqual({});
  });

  it('calls the callback (4th argument) once the event is stored, not before', async () => {
    const { fp, queue } = setup();
    let storedWhenCalled: string[] | undefined;
    const callback = vi.fn(() => {
      void queuedNames(queue).then((stored) => (storedWhenCalled = stored));
    });
    fp.track('Signed Up', { plan: 'pro' }, {}, callback);
    expect(callback).not.toHaveBeenCalled();
    await settle();
    expect(callback).toHaveBeenCalledTimes(1);
    expect(storedWhenCalled).toEqual(['Signed Up']);
  });

  it('a throwing callback does not stop the event or throw into the page', async () => {
    const { fp, net } = setup();
    expect(() =>
      fp.track('A', {}, {}, () => {
        throw new Error('site bug');
      }),
    ).not.toThrow();
    await fp.flush();
    expect(names(net.events())).toEqual(['A']);
  });

  it('emits `track` for each event, in call order', async () => {
    const { fp } = setup();
    const seen: string[] = [];
    fp.on('track', (event) => seen.push(event.name));
    fp.track('A');
    fp.track('B');
    expect(seen).toEqual(['A', 'B']);
  });
});
