import { afterEach, describe, expect, it, vi } from 'vitest';
import { createFirstparty } from '../src/firstparty';
import { memoryStore } from '../src/lib/queue';

function fakeFetch(statuses: number[] = []) {
  const bodies: any[] = [];
  const fn = vi.fn(async (_url: string, init: RequestInit) => {
    bodies.push(JSON.parse(init.body as string));
    const status = statuses.length ? statuses.shift()! : 200;
    return new Response('{}', { status });
  });
  return { fn: fn as unknown as typeof fetch, bodies };
}

describe('createFirstparty', () => {
  afterEach(() => vi.useRealTimers());

  it('delivers a tracked event to the bulk endpoint and removes it after a 2xx', async () => {
    const queue = memoryStore();
    const { fn, bodies } = fakeFetch();
    const fp = createFirstparty({ queue, fetch: fn });
    fp.load('wk_1234567890abcd', 'http://127.0.0.1:9999');
    fp.track('Form Completed', { plan: 'pro' });
    await fp.flush();
    expect(bodies).toHaveLength(1);
    const [event] = bodies[0].events;
    expect(event).toMatchObject({ name: 'Form Completed', write_key: 'wk_1234567890abcd', properties: { plan: 'pro' } });
    expect(event.profile_id).toMatch(/^PR[A-Za-z0-9]{30}$/);
    expect(event.event_id).toMatch(/^EV[A-Za-z0-9]{30}$/);
    expect(typeof event.sent_at).toBe('string');
    expect(await queue.all()).toEqual([]);
    fp.destroy();
  });
});
