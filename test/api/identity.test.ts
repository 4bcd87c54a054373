import { describe, expect, it, vi } from 'vitest';
import { memoryStore } from '../../src/lib/queue';
import { names, PROFILE_ID, queuedNames, SESSION_ID, settle, setup, useApiEnvironment } from './helpers';

useApiEnvironment();

describe('getProfileId() / getSessionId()', () => {
  it('are undefined before load()', () => {
    const { fp } = setup({ noLoad: true });
    expect(fp.getProfileId()).toBeUndefined();
    expect(fp.getSessionId()).toBeUndefined();
  });

  it('give the IDs the events carry', async () => {
    const { fp, net } = setup();
    fp.track('A');
    await fp.flush();
    const [event] = net.events();
    expect(fp.getProfileId()).toMatch(PROFILE_ID);
    expect(fp.getSessionId()).toMatch(SESSION_ID);
    expect(event.profile_id).toBe(fp.getProfileId());
    expect(event.session_id).toBe(fp.getSessionId());
  });
});

describe('getSessionId() is a read, not activity', () => {
  it('polling it does not keep a session alive: the next event after 30 idle minutes starts a new one', async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const { fp, net } = setup({ options: { storage: 'memory' } });
    fp.track('A');
    const first = fp.getSessionId();
    for (let i = 0; i < 7; i++) {
      vi.advanceTimersByTime(5 * 60000);
      fp.getSessionId(); // e.g. a chat widget asking every 5 minutes
    }
    fp.track('B'); // 35 minutes after A, the last activity
    await fp.flush();
    const [a, b] = net.events();
    expect(a.session_id).toBe(first);
    expect(b.session_id).toMatch(SESSION_ID);
    expect(b.session_id).not.toBe(first);
    expect(fp.getSessionId()).toBe(b.session_id);
  });
});

describe('identify(profileId?, traits?, options?, callback?)', () => {
  it('identify(id, traits) sets the profile ID and sends Profile Identified with the traits', async () => {
    const { fp, net } = setup();
    fp.identify('user-42', { email: 'ada@example.com', plan: 'pro' });
    fp.track('After');
    await fp.flush();
    expect(fp.getProfileId()).toBe('user-42');
    const [identified, after] = net.events();
    expect(identified).toMatchObject({ name: 'Profile Identified', profile_id: 'user-42', properties: { email: 'ada@example.com', plan: 'pro' } });
    expect(after.profile_id).toBe('user-42');
  });

  it('identify(traits) keeps the profile ID and sends the traits', async () => {
    const { fp, net } = setup();
    const before = fp.getProfileId();
    fp.identify({ email: 'ada@example.com' });
    await fp.flush();
    expect(fp.getProfileId()).toBe(before);
    expect(net.events()[0]).toMatchObject({ name: 'Profile Identified', profile_id: before, properties: { email: 'ada@example.com' } });
  });

  it('identify(id) without traits sends empty properties', async () => {
    const { fp, net } = setup();
    fp.identify('user-42');
    await fp.flush();
    expect(net.events()[0]).toMatchObject({ name: 'Profile Identified', profile_id: 'user-42', properties: {} });
  });

  it('the profile ID persists for the next page (a new tracker in the same document)', async () => {
    setup().fp.identify('user-42');
    const { fp } = setup();
    expect(fp.getProfileId()).toBe('user-42');
  });

  it('calls the callback: identify(id, traits, options, callback) and identify(traits, options, callback)', async () => {
    const { fp } = setup();
    const first = vi.fn();
    const second = vi.fn();
    fp.identify('user-42', { a: 1 }, {}, first);
    fp.identify({ b: 2 }, {}, second);
    await settle();
    expect(first).toHaveBeenCalledTimes(1);
    expect(second).toHaveBeenCalledTimes(1);
  });
});

describe('setAnonymousId(id)', () => {
  it('replaces the profile ID without sending anything, and returns it', async () => {
    const { fp, net } = setup();
    expect(fp.setAnonymousId('PRanonymous000000000000000000001')).toBe('PRanonymous000000000000000000001');
    expect(fp.getProfileId()).toBe('PRanonymous000000000000000000001');
    await fp.flush();
    expect(net.requests).toHaveLength(0);
    fp.track('A');
    await fp.flush();
    expect(net.events()[0].profile_id).toBe('PRanonymous000000000000000000001');
  });

  it('setAnonymousId() returns the current profile ID', () => {
    const { fp } = setup();
    expect(fp.setAnonymousId()).toBe(fp.getProfileId());
  });
});

describe('reset()', () => {
  it('gives a new profile and a new session', async () => {
    const { fp, net } = setup();
    fp.identify('user-42');
    const session = fp.getSessionId();
    fp.reset();
    expect(fp.getProfileId()).toMatch(PROFILE_ID);
    expect(fp.getProfileId()).not.toBe('user-42');
    expect(fp.getSessionId()).toMatch(SESSION_ID);
    expect(fp.getSessionId()).not.toBe(session);
    fp.track('After Reset');
    await fp.flush();
    const after = net.events().find((e) => e.name === 'After Reset');
    expect(after.profile_id).toBe(fp.getProfileId());
    expect(after.session_id).toBe(fp.getSessionId());
  });

  it('keeps the queue: events recorded before it are still delivered, with the old IDs', async () => {
    const queue = memoryStore();
    const { fp, net } = setup({ queue, replies: ['network-error'] });
    fp.identify('user-42');
    fp.track('Before Reset');
    await fp.flush(); // fails: both stay queued
    expect(await queuedNames(queue)).toEqual(['Profile Identified', 'Before Reset']);
    fp.reset();
    expect(await queuedNames(queue)).toEqual(['Profile Identified', 'Before Reset']);
    fp.track('After Reset');
    await fp.flush();
    expect(net.delivered()).toEqual(['Profile Identified', 'Before Reset', 'After Reset']);
    const delivered = net.requests[1].body.events;
    expect(delivered[1].profile_id).toBe('user-42');
    expect(delivered[2].profile_id).not.toBe('user-42');
  });

  it('the new profile persists for the next page', () => {
    const first = setup().fp;
    first.identify('user-42');
    first.reset();
    const id = first.getProfileId();
    expect(setup().fp.getProfileId()).toBe(id);
  });
});

describe('group(groupId, traits?)', () => {
  it('sends Group Identified with group_id and the traits', async () => {
    const { fp, net } = setup();
    fp.group('acme', { plan: 'enterprise', seats: 40 });
    await fp.flush();
    expect(net.events()[0]).toMatchObject({
      name: 'Group Identified',
      profile_id: fp.getProfileId(),
      properties: { group_id: 'acme', plan: 'enterprise', seats: 40 },
    });
  });

  it('group(groupId) alone sends group_id only, and keeps the profile', async () => {
    const { fp, net } = setup();
    const profile = fp.getProfileId();
    fp.group('acme');
    await fp.flush();
    expect(net.events()[0].properties).toEqual({ group_id: 'acme' });
    expect(fp.getProfileId()).toBe(profile);
  });

  it('calls the callback (4th argument)', async () => {
    const { fp } = setup();
    const callback = vi.fn();
    fp.group('acme', {}, {}, callback);
    await settle();
    expect(callback).toHaveBeenCalledTimes(1);
  });
});

describe('alias(newId, previousId?)', () => {
  it('sends Profile Aliased with previous_id (the current profile) and new_id, then continues as newId', async () => {
    const { fp, net } = setup();
    const previous = fp.getProfileId();
    fp.alias('user-42');
    fp.track('After Alias');
    await fp.flush();
    expect(names(net.events())).toEqual(['Profile Aliased', 'After Alias']);
    const [aliased, after] = net.events();
    expect(aliased.properties).toEqual({ previous_id: previous, new_id: 'user-42' });
    expect(aliased.profile_id).toBe(previous);
    expect(fp.getProfileId()).toBe('user-42');
    expect(after.profile_id).toBe('user-42');
  });

  it('alias(newId, previousId) uses the given previous ID', async () => {
    const { fp, net } = setup();
    fp.alias('user-42', 'legacy-7');
    await fp.flush();
    expect(net.events()[0].properties).toEqual({ previous_id: 'legacy-7', new_id: 'user-42' });
    expect(fp.getProfileId()).toBe('user-42');
  });
});
