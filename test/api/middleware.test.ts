import { describe, expect, it, vi } from 'vitest';
import type { SourceMiddleware } from '../../src/firstparty';
import { logs, names, queuedNames, settle, setup, useApiEnvironment, warnings } from './helpers';

useApiEnvironment();

describe('addSourceMiddleware(fn)', () => {
  it('sees each event before it is queued and can change it (e.g. strip PII)', async () => {
    const { fp, net } = setup();
    fp.addSourceMiddleware(({ payload, next }) => {
      const { email, ...rest } = payload.properties as Record<string, unknown>;
      next({ ...payload, name: payload.name.toUpperCase(), properties: { ...rest, has_email: !!email } });
    });
    fp.track('Signed Up', { email: 'ada@example.com', plan: 'pro' });
    await fp.flush();
    const [event] = net.events();
    expect(event.name).toBe('SIGNED UP');
    expect(event.properties).toEqual({ plan: 'pro', has_email: true });
    expect(JSON.stringify(net.requests[0].body)).not.toContain('ada@example.com');
  });

  it('sees the full event: name, write key, IDs, context, created_at', () => {
    const { fp } = setup();
    let seen: any;
    fp.addSourceMiddleware(({ payload, next }) => {
      seen = { ...payload };
      next(payload);
    });
    fp.track('A', { x: 1 });
    expect(seen).toMatchObject({ name: 'A', properties: { x: 1 }, profile_id: fp.getProfileId(), session_id: fp.getSessionId() });
    expect(seen.context.page.url).toBe(location.href);
    expect(typeof seen.created_at).toBe('string');
  });

  it('drops the event when the middleware does not call next', async () => {
    const { fp, net, queue } = setup();
    fp.addSourceMiddleware(({ payload, next }) => {
      if (payload.name !== 'Secret') next(payload);
    });
    fp.track('Secret');
    fp.track('Public');
    await settle();
    await fp.flush();
    expect(names(net.events())).toEqual(['Public']);
    expect(await queue.all()).toEqual([]);
  });

  it('drops the event on next(null), emitting `dropped`', async () => {
    const { fp, net } = setup();
    const dropped = vi.fn();
    fp.on('dropped', dropped);
    fp.addSourceMiddleware(({ payload, next }) => next(payload.name === 'Secret' ? null : payload));
    fp.track('Secret');
    fp.track('Public');
    await fp.flush();
    expect(names(net.events())).toEqual(['Public']);
    expect(dropped).toHaveBeenCalledTimes(1);
  });

  it('a throwing middleware drops the event (it may have been stripping PII) with a warning, and does not throw', async () => {
    const { fp, net } = setup();
    fp.addSourceMiddleware(({ payload, next }) => {
      if (payload.name === 'Boom') throw new Error('middleware bug');
      next(payload);
    });
    expect(() => fp.track('Boom', { email: 'ada@example.com' })).not.toThrow();
    fp.track('Fine');
    await fp.flush();
    expect(names(net.events())).toEqual(['Fine']);
    expect(warnings().some((w) => w.includes('middleware'))).toBe(true);
  });

  it('Segment-style `payload.obj` is the event; changes through it are sent, `obj` itself is not', async () => {
    const { fp, net } = setup();
    fp.addSourceMiddleware(({ payload, next }) => {
      expect(payload.obj.name).toBe('Signed Up');
      delete (payload.obj.properties as any).email;
      (payload.obj.properties as any).source = 'segment-style';
      next(payload);
    });
    fp.track('Signed Up', { email: 'ada@example.com' });
    await fp.flush();
    const [event] = net.events();
    expect(event.properties).toEqual({ source: 'segment-style' });
    expect(event).not.toHaveProperty('obj');
    expect(net.requests[0].text).not.toContain('"obj"');
  });

  it('next(payload.obj) works too, and `obj` is not sent', async () => {
    const { fp, net } = setup();
    fp.addSourceMiddleware(({ payload, next }) => next(payload.obj));
    fp.track('A');
    await fp.flush();
    expect(names(net.events())).toEqual(['A']);
    expect(net.requests[0].text).not.toContain('"obj"');
  });

  it('runs several middlewares in the order added, each seeing the previous one’s result', async () => {
    const { fp, net } = setup();
    const order: string[] = [];
    fp.addSourceMiddleware(({ payload, next }) => {
      order.push('first');
      next({ ...payload, properties: { ...payload.properties, first: true } });
    });
    fp.addSourceMiddleware(({ payload, next }) => {
      order.push('second:' + String((payload.properties as any).first));
      next({ ...payload, properties: { ...payload.properties, second: true } });
    });
    fp.track('A');
    await fp.flush();
    expect(order).toEqual(['first', 'second:true']);
    expect(net.events()[0].properties).toEqual({ first: true, second: true });
  });

  it('an asynchronous middleware may call next later', async () => {
    const { fp, net } = setup();
    fp.addSourceMiddleware(({ payload, next }) => {
      setTimeout(() => next(payload), 50);
    });
    fp.track('Later');
    await fp.flush();
    expect(net.requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(50);
    await fp.flush();
    expect(names(net.events())).toEqual(['Later']);
  });

  it('calling next twice queues the event once', async () => {
    const { fp, net, queue } = setup();
    fp.addSourceMiddleware(({ payload, next }) => {
      next(payload);
      next(payload);
    });
    fp.track('A');
    await settle();
    await fp.flush();
    expect(names(net.events())).toEqual(['A']);
    expect(await queuedNames(queue)).toEqual([]);
  });

  it('applies to every recording method (page, identify, group, alias)', async () => {
    const { fp, net } = setup();
    const seen: string[] = [];
    fp.addSourceMiddleware(({ payload, next }) => {
      seen.push(payload.name);
      next(payload);
    });
    fp.page();
    fp.identify('user-1');
    fp.group('acme');
    fp.alias('user-2');
    await fp.flush();
    expect(seen).toEqual(['Page Viewed', 'Profile Identified', 'Group Identified', 'Profile Aliased']);
    expect(names(net.events())).toEqual(seen);
  });

  it('ignores a middleware that is not a function', async () => {
    const { fp, net } = setup();
    expect(() => fp.addSourceMiddleware('strip' as unknown as SourceMiddleware)).not.toThrow();
    fp.track('A');
    await fp.flush();
    expect(names(net.events())).toEqual(['A']);
  });
});

describe('addIntegrationMiddleware / addDestinationMiddleware', () => {
  const garbage: unknown[][] = [[], [null], [() => {}], ['Google Analytics', [() => {}]], [{}], [42, 'x']];

  it.each(garbage)('never throw and change nothing (args %j)', async (...args) => {
    const { fp, net } = setup();
    expect(() => (fp.addIntegrationMiddleware as any)(...args)).not.toThrow();
    expect(() => (fp.addDestinationMiddleware as any)(...args)).not.toThrow();
    fp.track('A', { x: 1 });
    await fp.flush();
    expect(net.events()[0]).toMatchObject({ name: 'A', properties: { x: 1 } });
  });

  it('say nothing outside debug mode', () => {
    const { fp } = setup();
    fp.addIntegrationMiddleware(() => {});
    fp.addDestinationMiddleware('GA', [() => {}]);
    expect(logs()).toEqual([]);
    expect(warnings()).toEqual([]);
  });

  it('in debug mode, say once that there are no integrations', () => {
    const { fp } = setup();
    fp.debug(true);
    const before = [...logs(), ...warnings()].length;
    fp.addIntegrationMiddleware(() => {});
    fp.addIntegrationMiddleware(() => {});
    const said = [...logs(), ...warnings()].slice(before).filter((line) => /integration|middleware/i.test(line));
    expect(said).toHaveLength(1);
  });
});
