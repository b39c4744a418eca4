import { AsyncEventsError } from '../errors.ts';

/*
 * A subscription's `max_per_second`: deliveries beyond the rate wait for their turn (they never fail for it), spaced
 * evenly (a generic cell rate: one delivery every 1/rate seconds, no bursts), so a receiver that allows 20 a second
 * sees at most 20 in any second. Each sidecar process keeps its own schedule: with N replicas the receiver can see up
 * to N × the rate (the README says so).
 */

export interface RateLimiter {
  /** Resolves when the subscription may start its next delivery; rejects SHUTTING_DOWN when `signal` aborts first. */
  take(subscriptionId: number, perSecond: number, signal?: AbortSignal): Promise<void>;
  /** Deliveries waiting for their turn now, per subscription (health, metrics). */
  waiting(subscriptionId: number): number;
  /** Milliseconds deliveries of the subscription have waited for the rate, in all. */
  waitedMs(subscriptionId: number): number;
}

export interface RateLimiterOptions {
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export function createRateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? abortableSleep;
  const lanes = new Map<number, { nextAt: number; waiting: number; waitedMs: number }>();

  return {
    async take(subscriptionId, perSecond, signal) {
      if (!(perSecond > 0)) return;
      let lane = lanes.get(subscriptionId);
      const at = now();
      if (lane === undefined) {
        lane = { nextAt: at, waiting: 0, waitedMs: 0 };
        lanes.set(subscriptionId, lane);
      }
      const start = Math.max(at, lane.nextAt);
      lane.nextAt = start + 1000 / perSecond;
      const waitMs = start - at;
      if (waitMs <= 0) return;
      lane.waiting++;
      try {
        await sleep(waitMs, signal);
        lane.waitedMs += waitMs;
      } catch (error) {
        // The turn is given up: later deliveries need not wait for it.
        lane.nextAt -= 1000 / perSecond;
        throw error;
      } finally {
        lane.waiting--;
      }
    },
    waiting: (subscriptionId) => lanes.get(subscriptionId)?.waiting ?? 0,
    waitedMs: (subscriptionId) => lanes.get(subscriptionId)?.waitedMs ?? 0,
  };
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AsyncEventsError('SHUTTING_DOWN', 'delivery not started: shutting down'));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }, ms);
    const aborted = (): void => {
      clearTimeout(timer);
      reject(new AsyncEventsError('SHUTTING_DOWN', 'delivery not started: shutting down'));
    };
    signal?.addEventListener('abort', aborted, { once: true });
  });
}
