import { describe, expect, it, vi } from 'vitest';
import { AsyncEventsError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import type { MagentoCallback } from '../../src/magento/callback.ts';
import { MagentoCallbackError, type CallbackFault } from '../../src/magento/callback-error.ts';
import { describeAvailability, guardAgainstOutages, type MagentoAvailability } from '../../src/magento/outage-breaker.ts';
import type { EventDefinition } from '../../src/types.ts';

const EVENT: EventDefinition = { name: 'sales.order.created', serviceClass: 'S', serviceMethod: 'get', resources: [], source: { file: 'x.xml', line: 1 }, module: 'V_M' };

/** A Magento callback whose answer the test scripts, counting calls and how many run at once. */
function scripted() {
  let fault: CallbackFault | undefined;
  let running = 0;
  const stats = { calls: 0, maxConcurrent: 0 };
  const callback: MagentoCallback = {
    async fetchEventData(_event, args) {
      stats.calls++;
      running++;
      stats.maxConcurrent = Math.max(stats.maxConcurrent, running);
      try {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (fault) throw new MagentoCallbackError(fault, `scripted ${fault}`);
        return JSON.stringify(args);
      } finally {
        running--;
      }
    },
    close: async () => undefined,
  };
  return {
    callback,
    stats,
    setFault(next: CallbackFault | undefined) {
      fault = next;
    },
  };
}

describe('the Magento outage breaker', () => {
  it('holds callers through an outage with one probe at a time, then lets all of them through', async () => {
    const magento = scripted();
    const changes: MagentoAvailability[] = [];
    const guarded = guardAgainstOutages(magento.callback, { logger: silentLogger(), url: 'http://shop', initialDelayMs: 10, maxDelayMs: 40, onChange: (a) => changes.push(a) });
    magento.setFault('outage');
    const results = Array.from({ length: 50 }, (_, i) => guarded.fetchEventData(EVENT, { id: i }, 0));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(guarded.availability()).toMatchObject({ reachable: false, fault: 'outage' });
    expect(describeAvailability(guarded.availability())).toMatch(/^Magento unreachable since \d{4}-/);
    const maxDuringOutage = magento.stats.maxConcurrent;
    magento.stats.maxConcurrent = 0;
    const callsDuringOutage = magento.stats.calls;
    // The first 50 calls were in flight together; after that only probes went out, one at a time, with backoff.
    expect(callsDuringOutage).toBeLessThan(50 + 30);
    expect(maxDuringOutage).toBe(50);
    magento.setFault(undefined);
    expect(await Promise.all(results)).toEqual(Array.from({ length: 50 }, (_, i) => JSON.stringify({ id: i })));
    expect(guarded.availability()).toEqual({ reachable: true });
    expect(changes.map((c) => c.reachable)).toEqual([false, true]);
  });

  it('probes one caller at a time while open', async () => {
    const magento = scripted();
    const guarded = guardAgainstOutages(magento.callback, { logger: silentLogger(), url: 'http://shop', initialDelayMs: 5, maxDelayMs: 10 });
    magento.setFault('outage');
    const first = guarded.fetchEventData(EVENT, { id: 1 }, 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Open now: callers arriving later never go out together.
    magento.stats.maxConcurrent = 0;
    const later = Array.from({ length: 20 }, (_, i) => guarded.fetchEventData(EVENT, { id: 2 + i }, 0));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(magento.stats.maxConcurrent).toBe(1);
    magento.setFault(undefined);
    await Promise.all([first, ...later]);
  });

  it('names refused credentials apart, and passes permanent answers through to be parked', async () => {
    const magento = scripted();
    const guarded = guardAgainstOutages(magento.callback, { logger: silentLogger(), url: 'http://shop', initialDelayMs: 5, maxDelayMs: 10 });
    magento.setFault('credentials');
    const held = guarded.fetchEventData(EVENT, { id: 1 }, 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(describeAvailability(guarded.availability())).toMatch(/^Magento refuses the integration token since /);
    magento.setFault('permanent');
    await expect(held).rejects.toMatchObject({ fault: 'permanent', retryable: false });
    // A permanent answer is an answer: Magento is up.
    expect(guarded.availability()).toEqual({ reachable: true });
  });

  it('hands a held caller back when the shutdown signal aborts', async () => {
    const magento = scripted();
    const guarded = guardAgainstOutages(magento.callback, { logger: silentLogger(), url: 'http://shop', initialDelayMs: 60_000 });
    magento.setFault('outage');
    const controller = new AbortController();
    const held = guarded.fetchEventData(EVENT, { id: 1 }, 0, controller.signal).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 30));
    controller.abort();
    const error = await held;
    expect(error).toBeInstanceOf(AsyncEventsError);
    expect((error as AsyncEventsError).code).toBe('SHUTTING_DOWN');
  });

  it('never waits longer than a minute between probes', async () => {
    vi.useFakeTimers();
    try {
      const magento = scripted();
      const guarded = guardAgainstOutages(magento.callback, { logger: silentLogger(), url: 'http://shop', initialDelayMs: 50_000, maxDelayMs: 3_600_000 });
      magento.setFault('outage');
      const held = guarded.fetchEventData(EVENT, { id: 1 }, 0);
      // Call 1 fails at 5 ms; probe 2 goes at 50 s and fails; the next wait would be 100 s but is capped at 60 s.
      await vi.advanceTimersByTimeAsync(50_010);
      expect(magento.stats.calls).toBe(2);
      await vi.advanceTimersByTimeAsync(59_000);
      expect(magento.stats.calls).toBe(2);
      await vi.advanceTimersByTimeAsync(2_000);
      expect(magento.stats.calls).toBe(3);
      await vi.advanceTimersByTimeAsync(61_000);
      expect(magento.stats.calls).toBe(4);
      magento.setFault(undefined);
      await vi.advanceTimersByTimeAsync(61_000);
      await expect(held).resolves.toBe('{"id":1}');
    } finally {
      vi.useRealTimers();
    }
  });
});
