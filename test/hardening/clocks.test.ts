/**
 * Issue 7, time: a client clock that jumps backwards, or is hours or years
 * wrong, or is corrected while events wait. Queue order holds (keys are a
 * per-tab monotonic time plus a sequence), `sent_at` lets the server correct
 * `created_at`, no event is dropped for being "from the future", and sessions
 * neither expire nor stick forever because of a jump.
 *
 * Fake timers: `vi.setSystemTime()` moves `Date` only (a jump); advancing the
 * timers moves both `Date` and the timers (time really passing).
 */
import { describe, expect, it, vi } from 'vitest';
import { installFakeLocks } from '../helpers/fakeLocks';
import { flushed } from '../helpers/fakeNetwork';
import { DAY, HOUR, T0, tracker, useHardeningEnvironment, YEAR } from './helpers';

useHardeningEnvironment();

const SESSION = 30 * 60_000;

describe('queue order', () => {
  it('Date.now jumping backwards keeps call order, in the queue and on the wire', async () => {
    const { fp, net, queue } = tracker({ replies: [503] }); // first attempt fails: everything waits in the queue
    fp.track('A');
    vi.setSystemTime(T0 - HOUR);
    fp.track('B');
    vi.setSystemTime(T0 - YEAR);
    fp.track('C');
    fp.track('D');
    vi.setSystemTime(T0 + 5_000);
    fp.track('E');
    await fp.flush();
    const keys = (await queue.all()).map(([key]) => key);
    expect(keys).toHaveLength(5);
    expect([...keys].sort()).toEqual(keys);
    expect((await queue.all()).map(([, json]) => JSON.parse(json).name)).toEqual(['A', 'B', 'C', 'D', 'E']);
    await vi.advanceTimersByTimeAsync(120_000);
    await fp.flush();
    expect(net.names()).toEqual(['A', 'B', 'C', 'D', 'E']);
    // created_at tells the truth about the (wrong) clock at each call.
    expect(net.delivered().map((e) => e.created_at)).toEqual([
      new Date(T0).toISOString(),
      new Date(T0 - HOUR).toISOString(),
      new Date(T0 - YEAR).toISOString(),
      new Date(T0 - YEAR).toISOString(),
      new Date(T0 + 5_000).toISOString(),
    ]);
  });

  it('thousands of events within one millisecond keep their order', async () => {
    const { fp, net } = tracker({ options: { maxQueue: 5000 } });
    for (let i = 0; i < 2000; i++) fp.track('Burst', { i });
    await flushed(fp.flush());
    await flushed(fp.flush());
    const order = net.delivered().map((e) => e.properties.i);
    expect(order).toHaveLength(2000);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });
});

describe('a clock hours or years wrong', () => {
  it.each([
    ['3 hours ahead', 3 * HOUR],
    ['5 years ahead', 5 * YEAR],
    ['3 hours behind', -3 * HOUR],
    ['20 years behind', -20 * YEAR],
    ['at the epoch (a reset device)', -T0 + 1000],
  ])('%s: events are delivered, each with sent_at (the same wrong clock) to correct created_at', async (_label, offset) => {
    vi.setSystemTime(T0 + offset);
    const { fp, net } = tracker();
    fp.track('Skewed');
    await vi.advanceTimersByTimeAsync(1500);
    await fp.flush();
    const [event] = net.delivered();
    expect(event.name).toBe('Skewed');
    expect(event.created_at).toBe(new Date(T0 + offset).toISOString());
    expect(Date.parse(event.sent_at) - Date.parse(event.created_at)).toBeGreaterThanOrEqual(0);
    expect(Date.parse(event.sent_at) - Date.parse(event.created_at)).toBeLessThan(5000);
  });

  it('a clock that was ahead and is corrected back: the waiting events ("from the future") are not dropped', async () => {
    vi.setSystemTime(T0 + 2 * YEAR);
    const { fp, net } = tracker({ replies: ['network-error'] });
    fp.track('From The Future 1');
    fp.track('From The Future 2');
    await fp.flush(); // fails: they wait
    vi.setSystemTime(T0); // NTP corrects the clock
    await vi.advanceTimersByTimeAsync(120_000);
    await fp.flush();
    expect(net.names()).toEqual(['From The Future 1', 'From The Future 2']);
    for (const event of net.delivered()) expect(event.sent_at < event.created_at).toBe(true);
  });

  /** A visit whose clock was 3 years ahead leaves an event behind; the next page (clock right) opens. */
  async function leftByFutureVisit(closeTab = () => {}) {
    vi.setSystemTime(T0 + 3 * YEAR);
    const first = tracker({ replies: ['network-error'] });
    first.fp.track('Left Behind');
    await first.fp.flush();
    first.fp.destroy();
    closeTab();
    vi.setSystemTime(T0);
    return tracker({ queue: first.queue });
  }

  it('events left by a closed tab whose clock was years ahead are sent by the next page (Web Locks tell the tab is gone)', async () => {
    const { locks, uninstall } = installFakeLocks();
    try {
      // The first "tab" closes: its lifetime lock is released.
      const second = await leftByFutureVisit(() => locks.heldNames().forEach((name) => locks.kill(name)));
      await vi.advanceTimersByTimeAsync(2000);
      await second.fp.flush();
      expect(second.net.names()).toEqual(['Left Behind']);
    } finally {
      uninstall();
    }
  });

  it('events left by a closed tab whose clock was years ahead are sent by the next page within the hour (a browser without Web Locks)', async () => {
    const second = await leftByFutureVisit();
    await vi.advanceTimersByTimeAsync(HOUR); // the takeover rule waits 10 minutes, not until the clock catches up
    await second.fp.flush();
    expect(second.net.names()).toEqual(['Left Behind']);
  });

  it("a clock that was behind and is corrected forward by hours: this page's waiting events are delivered", async () => {
    vi.setSystemTime(T0 - 6 * HOUR);
    const { fp, net } = tracker({ replies: ['network-error'] });
    fp.track('Behind');
    await fp.flush();
    vi.setSystemTime(T0);
    await vi.advanceTimersByTimeAsync(120_000);
    await fp.flush();
    expect(net.names()).toEqual(['Behind']);
  });

  it("a clock years behind corrected forward (a device booting at 1970, then NTP): this page's waiting events are not dropped as expired", async () => {
    // The events are seconds old in this page's own time; only the wall
    // clock's correction makes them look years old.
    vi.setSystemTime(1000);
    const { fp, net } = tracker({ replies: ['network-error'] });
    fp.track('Booted At Epoch');
    await fp.flush();
    vi.setSystemTime(T0);
    await vi.advanceTimersByTimeAsync(120_000);
    await fp.flush();
    expect(net.names()).toEqual(['Booted At Epoch']);
  });
});

describe.each(['cookie', 'localStorage', 'memory'])('sessions and clock jumps (storage: %s)', (storage) => {
  const options = { storage };

  it('a forward jump of hours during activity does not end the session', () => {
    const { fp } = tracker({ options });
    fp.track('Before Jump');
    const session = fp.getSessionId();
    vi.advanceTimersByTime(60_000); // a minute of real activity
    fp.track('Active');
    vi.setSystemTime(Date.now() + 3 * HOUR); // the clock jumps; no time really passed
    fp.track('After Jump');
    expect(fp.getSessionId()).toBe(session);
  });

  it('a backward jump of a day during activity does not end the session', () => {
    const { fp } = tracker({ options });
    fp.track('Before Jump');
    const session = fp.getSessionId();
    vi.setSystemTime(Date.now() - DAY);
    fp.track('After Jump');
    expect(fp.getSessionId()).toBe(session);
  });

  it('after a backward jump, real inactivity beyond sessionTimeout still starts a new session (no session sticks forever)', () => {
    const { fp } = tracker({ options });
    fp.track('Before Jump');
    vi.setSystemTime(Date.now() - DAY);
    fp.track('After Jump');
    const session = fp.getSessionId();
    vi.advanceTimersByTime(SESSION + 60_000); // real inactivity
    fp.track('Much Later');
    expect(fp.getSessionId()).not.toBe(session);
  });

  it('after a forward jump, real inactivity beyond sessionTimeout still starts a new session', () => {
    const { fp } = tracker({ options });
    fp.track('Before Jump');
    vi.setSystemTime(Date.now() + 2 * HOUR);
    fp.track('After Jump');
    const session = fp.getSessionId();
    vi.advanceTimersByTime(SESSION + 60_000);
    fp.track('Much Later');
    expect(fp.getSessionId()).not.toBe(session);
  });

  it('without any jump, activity keeps the session and 30 minutes of inactivity end it (control)', () => {
    const { fp } = tracker({ options });
    fp.track('Start');
    const session = fp.getSessionId();
    for (let i = 0; i < 6; i++) {
      vi.advanceTimersByTime(20 * 60_000);
      fp.track('Active');
    }
    expect(fp.getSessionId()).toBe(session);
    vi.advanceTimersByTime(SESSION + 1000);
    fp.track('Back');
    expect(fp.getSessionId()).not.toBe(session);
  });
});
