import { AsyncEventsError } from '../errors.ts';

/*
 * A subscription's `max_per_second`: deliveries beyond the rate wait for their turn (they never fail for it), in
 * arrival order, spaced evenly (one every 1/rate seconds; time lost to a stalled event loop is made up at no more
 * than twice the rate), and never more than ⌈rate⌉ in any second, so a receiver that allows 20 a second sees at
 * most 20 in any second. Each sidecar process keeps its own schedule:
 * with N replicas the receiver can see up to N × the rate (the README says so).
 */

export interface RateLimiter {
  /** Resolves when the subscription may start its next delivery; rejects SHUTTING_DOWN when `signal` aborts first. */
  take(subscriptionId: number, perSecond: number, signal?: AbortSignal): Promise<void>;
  /** Deliveries waiting for their turn now, per subscription (health, metrics). */
  waiting(subscriptionId: number): number;
  /** Milliseconds deliveries of the subscription have waited for the rate, in all. */
  waitedMs(subscriptionId: number): number;
}

/** The window of the hard bound and of the lateness made up. */
const WINDOW_MS = 1000;

export interface RateLimiterOptions {
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export function createRateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? abortableSleep;
  const lanes = new Map<number, { nextAt: number; lastAt: number; recent: number[]; tail: Promise<void>; waiting: number; waitedMs: number }>();

  return {
    async take(subscriptionId, perSecond, signal) {
      if (!(perSecond > 0)) return;
      let lane = lanes.get(subscriptionId);
      if (lane === undefined) {
        lane = { nextAt: Number.NEGATIVE_INFINITY, lastAt: Number.NEGATIVE_INFINITY, recent: [], tail: Promise.resolve(), waiting: 0, waitedMs: 0 };
        lanes.set(subscriptionId, lane);
      }
      const current = lane;
      const interval = 1000 / perSecond;
      // The hard bound: never more than ⌈rate⌉ releases in any second, whatever the schedule says.
      const perWindow = Math.ceil(perSecond);
      // Turns are taken in arrival order: each delivery waits for the one before it to be released.
      const previous = current.tail;
      let release!: () => void;
      current.tail = new Promise<void>((resolve) => (release = resolve));
      const arrived = now();
      current.waiting++;
      try {
        await untilOrAbort(previous, signal);
        // Checked again on waking: a timer that fires late (a busy event loop) must not release several at once.
        for (;;) {
          const at = now();
          const oldest = current.recent.length >= perWindow ? (current.recent[current.recent.length - perWindow] ?? at) : Number.NEGATIVE_INFINITY;
          const wait = Math.max(current.nextAt - at, current.lastAt + interval / 2 - at, oldest + WINDOW_MS - at);
          if (wait <= 0) break;
          await sleep(wait, signal);
        }
        const releasedAt = now();
        // Lateness of up to a second (a stalled event loop) is made up at no more than twice the rate, so the rate
        // holds over time without a burst; an idle lane (or a longer stall) starts a new schedule.
        current.nextAt = (releasedAt - current.nextAt <= WINDOW_MS ? current.nextAt : releasedAt) + interval;
        current.lastAt = releasedAt;
        current.recent.push(releasedAt);
        if (current.recent.length > perWindow) current.recent.splice(0, current.recent.length - perWindow);
        current.waitedMs += releasedAt - arrived;
      } finally {
        current.waiting--;
        release();
      }
    },
    waiting: (subscriptionId) => lanes.get(subscriptionId)?.waiting ?? 0,
    waitedMs: (subscriptionId) => lanes.get(subscriptionId)?.waitedMs ?? 0,
  };
}

function shuttingDown(): AsyncEventsError {
  return new AsyncEventsError('SHUTTING_DOWN', 'delivery not started: shutting down');
}

/** Waits for `promise` (which never rejects), or rejects SHUTTING_DOWN when `signal` aborts first. */
function untilOrAbort(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(shuttingDown());
  return new Promise((resolve, reject) => {
    const aborted = (): void => reject(shuttingDown());
    signal.addEventListener('abort', aborted, { once: true });
    void promise.then(() => {
      signal.removeEventListener('abort', aborted);
      resolve();
    });
  });
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(shuttingDown());
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }, ms);
    const aborted = (): void => {
      clearTimeout(timer);
      reject(shuttingDown());
    };
    signal?.addEventListener('abort', aborted, { once: true });
  });
}
