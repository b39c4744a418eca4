import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../src/delivery/rate-limit.ts';
import { isAsyncEventsError } from '../../src/errors.ts';

/** A clock the test moves: sleeping advances it, so start times are exact. */
function virtualClock() {
  let time = 0;
  return {
    now: () => time,
    sleep: async (ms: number) => {
      await Promise.resolve();
      time = Math.max(time, ms + time);
    },
  };
}

describe('per-subscription delivery rate', () => {
  it('spaces deliveries evenly at the rate and makes the excess wait, not fail', async () => {
    const starts: number[] = [];
    let clock = 0;
    const limiter = createRateLimiter({
      now: () => clock,
      sleep: (ms) => {
        const wake = clock + ms;
        return new Promise<void>((resolve) => setImmediate(() => resolve())).then(() => {
          clock = Math.max(clock, wake);
        });
      },
    });
    await Promise.all(
      Array.from({ length: 200 }, async () => {
        await limiter.take(1, 20);
        starts.push(clock);
      }),
    );
    // 200 deliveries at 20 a second take 10 seconds: start times 0, 50, 100 … 9950 ms.
    expect(starts.sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i * 50));
    expect(limiter.waitedMs(1)).toBeGreaterThan(0);
  });

  it('makes up a late timer at no more than twice the rate, never above the rate in any second', async () => {
    let clock = 0;
    let sleeps = 0;
    const limiter = createRateLimiter({
      now: () => clock,
      // The third sleep overshoots by 400 ms, as a timer does behind a busy event loop.
      sleep: async (ms) => {
        await Promise.resolve();
        clock += ms + (++sleeps === 3 ? 400 : 0);
      },
    });
    const starts: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        await limiter.take(1, 10);
        starts.push(clock);
      }),
    );
    const gaps = starts.slice(1).map((at, i) => at - (starts[i] ?? 0));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(50);
    for (const from of starts) expect(starts.filter((at) => at >= from && at < from + 1000).length).toBeLessThanOrEqual(10);
    // Caught up: the tenth start is where it would have been without the late timer, give or take the made-up time.
    expect(starts[9]).toBeLessThanOrEqual(1100);
    expect(starts.slice(0, 4)).toEqual([0, 100, 200, 700]);
  });

  it('keeps subscriptions apart', async () => {
    const clock = virtualClock();
    const limiter = createRateLimiter(clock);
    await limiter.take(1, 1);
    const before = clock.now();
    await limiter.take(2, 1);
    expect(clock.now()).toBe(before);
    await limiter.take(1, 1);
    expect(clock.now()).toBe(before + 1000);
  });

  it('counts waiting deliveries and gives up a turn on shutdown', async () => {
    const limiter = createRateLimiter();
    await limiter.take(3, 1);
    const controller = new AbortController();
    const waiting = limiter.take(3, 1, controller.signal);
    expect(limiter.waiting(3)).toBe(1);
    controller.abort();
    const error = await waiting.catch((e: unknown) => e);
    expect(isAsyncEventsError(error, 'SHUTTING_DOWN')).toBe(true);
    expect(limiter.waiting(3)).toBe(0);
  });

  it('does nothing without a rate', async () => {
    const limiter = createRateLimiter({ now: () => 0, sleep: () => Promise.reject(new Error('must not sleep')) });
    await limiter.take(1, 0);
    await limiter.take(1, Number.NaN);
  });
});
