import { describe, expect, it } from 'vitest';
import { createDeliveryLimiter } from '../../src/delivery/limiter.ts';

/* A chain waits a bounded time for its subscription's lane: a lane that turns over takes it, a held one does not. */

function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('delivery limiter lanes', () => {
  it('gives up on a lane held for longer than the wait, without running the task, and leaves other lanes free', async () => {
    const limiter = createDeliveryLimiter({ global: 10, perSubscription: 1 });
    const held = gate();
    const running = limiter.run(1, () => held.promise);
    let ran = false;
    const result = await limiter.runWithin(1, 50, async () => {
      ran = true;
    });
    expect(result).toEqual({ ran: false });
    expect(ran).toBe(false);
    expect(await limiter.runWithin(2, 0, async () => 'other lane')).toEqual({ ran: true, value: 'other lane' });
    held.open();
    await running;
    // The slot given up was not lost: the lane takes one task again at once.
    expect(await limiter.runWithin(1, 0, async () => 'free again')).toEqual({ ran: true, value: 'free again' });
  });

  it('takes a slot that frees within the wait, in arrival order', async () => {
    const limiter = createDeliveryLimiter({ global: 10, perSubscription: 1 });
    const held = gate();
    const running = limiter.run(1, () => held.promise);
    const order: string[] = [];
    const first = limiter.runWithin(1, 60_000, async () => order.push('first'));
    const second = limiter.runWithin(1, 60_000, async () => order.push('second'));
    held.open();
    await running;
    expect(await first).toMatchObject({ ran: true });
    expect(await second).toMatchObject({ ran: true });
    expect(order).toEqual(['first', 'second']);
    expect(limiter.active).toBe(0);
  });

  it('rejects a waiting task with SHUTTING_DOWN when the shutdown signal aborts', async () => {
    const limiter = createDeliveryLimiter({ global: 10, perSubscription: 1 });
    const held = gate();
    const running = limiter.run(1, () => held.promise);
    const controller = new AbortController();
    const waiting = limiter.runWithin(1, 60_000, async () => 'never', controller.signal);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    held.open();
    await running;
  });
});
